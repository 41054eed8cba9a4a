"""Policy: what a script may import, which builtins it gets, its budgets."""

from __future__ import annotations

import sys
from types import MappingProxyType

from ._records import FACTORY, Record, install
from .limits import Limits

TYPE_CHECKING = False
if TYPE_CHECKING:
    import os
    from collections.abc import Iterable, Mapping
    from typing import Any, Literal

#: Modules a script may import under the default policy.  Each is seen
#: through a read-only view with a per-name allowlist (guards/imports.py).
DEFAULT_MODULES: frozenset[str] = frozenset(
    {
        "math", "cmath", "decimal", "fractions", "statistics", "random",
        "string", "re", "json", "datetime", "itertools", "functools",
        "collections", "heapq", "bisect", "textwrap", "operator",
        "dataclasses", "enum", "typing",
    }
)


def _frozen_sources(sources: Mapping[str, str] | None) -> Mapping[str, str]:
    items = dict(sources or {})
    for name, text in items.items():
        if type(name) is not str or not name.isidentifier():
            raise TypeError("Policy.sources keys must be module names (identifiers)")
        if type(text) is not str:
            raise TypeError("Policy.sources values must be source text (str)")
    return MappingProxyType(items)



#: Module names behind the module views besides the standard library's.
_VIEWED_PACKAGES: frozenset[str] = frozenset({"regex", "_regex", "_regex_core", "safecompile"})


def _names_a_module(name: str) -> bool:
    """Whether ``name`` is (the top level of) a module a value could come from."""
    if name in sys.stdlib_module_names or name in _VIEWED_PACKAGES:
        return True
    return any(loaded.partition(".")[0] == name for loaded in list(sys.modules))


class Policy(Record):
    """What scripts compiled and run under it may do.

    modules: importable modules (names from the views the library knows;
        see ``safecompile.guards.imports.KNOWN_MODULES``).
    sources: restricted-source modules the host offers by name; each is
        compiled like a script under this same policy.
    builtins: extra names added to the builtins of every run (host values;
        they cross the membrane like grants).
    limits: the budgets of every run.
    script_name: the script's ``__name__`` (also the ``__module__`` of its
        classes).
    ignore: rule codes (or prefixes) that ``compile_restricted`` does not
        enforce; empty by default.
    isolation: ``"none"`` or ``"process"``.
    """

    # A frozen record (was a frozen dataclass; see _records.py); instances
    # keep a __dict__ (and weak references) as before.
    modules: frozenset[str]
    sources: Mapping[str, str]
    builtins: Mapping[str, Any]
    limits: Limits
    script_name: str
    ignore: frozenset[str]
    isolation: Literal["none", "process"]

    def __init__(self, modules: frozenset[str] = DEFAULT_MODULES,
                 sources: Mapping[str, str] = FACTORY, builtins: Mapping[str, Any] = FACTORY,
                 limits: Limits = FACTORY, script_name: str = "script",
                 ignore: frozenset[str] = frozenset(),
                 isolation: Literal["none", "process"] = "none") -> None:
        if sources is FACTORY:
            sources = MappingProxyType({})
        if builtins is FACTORY:
            builtins = MappingProxyType({})
        if limits is FACTORY:
            limits = Limits()
        self._set_fields(locals())
        self.__post_init__()

    def __post_init__(self) -> None:
        object.__setattr__(self, "modules", frozenset(self.modules))
        object.__setattr__(self, "ignore", frozenset(self.ignore))
        object.__setattr__(self, "sources", _frozen_sources(self.sources))
        object.__setattr__(self, "builtins", MappingProxyType(dict(self.builtins)))
        if not isinstance(self.limits, Limits):
            raise TypeError("Policy.limits must be a Limits instance")
        if type(self.script_name) is not str or not self.script_name.isidentifier():
            raise TypeError("Policy.script_name must be an identifier")
        if _names_a_module(self.script_name):
            # SAFETY: ownership is decided by ``__module__ == script_name``;
            # a script named like a module would own that module's classes.
            raise ValueError(
                f"Policy.script_name {self.script_name!r} is the name of a module; the "
                "script would count as the owner of that module's classes and "
                "functions. Choose a name no module uses (the default is 'script')."
            )
        if self.isolation not in ("none", "process"):
            raise ValueError("Policy.isolation must be 'none' or 'process'")

    @classmethod
    def from_toml(cls, source: str | os.PathLike[str] | Mapping[str, Any]) -> Policy:
        """A policy from a TOML file or parsed table (see safecompile.config)."""
        from .config import policy_from_toml  # lazy: keeps `import safecompile` light

        return policy_from_toml(source, base=cls())

    def cache_key(self) -> tuple[Any, ...]:
        """What compiled code depends on (limits and builtins do not change it)."""
        return (
            self.modules,
            tuple(sorted(self.sources.items())),
            self.ignore,
            self.script_name,
            self.limits.source,
        )

    def with_modules(self, *names: str) -> Policy:
        """Return a copy that also allows importing ``names``."""
        return _replace(self, modules=self.modules | frozenset(names))

    def with_limits(self, **limits: Any) -> Policy:
        """Return a copy whose limits have ``limits`` applied."""
        return _replace(self, limits=self.limits.merged(**limits))

    def ignoring(self, codes: Iterable[str]) -> Policy:
        """Return a copy that does not enforce the rule ``codes`` (or prefixes)."""
        return _replace(self, ignore=self.ignore | frozenset(codes))

    def ignores(self, code: str) -> bool:
        """Return whether the rule ``code`` is switched off by this policy."""
        return any(code.startswith(prefix) for prefix in self.ignore)


def _empty_mapping() -> Mapping[str, Any]:
    return MappingProxyType({})


install(Policy, {"sources": _empty_mapping, "builtins": _empty_mapping, "limits": Limits})


def _replace(policy: Policy, **changes: Any) -> Policy:
    result: Policy = policy.__replace__(**changes)
    return result


DEFAULT_POLICY = Policy()

