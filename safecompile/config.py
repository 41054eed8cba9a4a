"""Configuration from TOML: ``[tool.safecompile]`` in pyproject.toml, or a policy file.

One loader feeds both the command line (``safecompile check``/``run``/``show``)
and :func:`policy_from_toml` (``Policy.from_toml``).

Keys (the same in ``[tool.safecompile]`` of a ``pyproject.toml`` and at the
top level of a standalone policy file given with ``--policy FILE``)::

    modules      = ["..."]        # extra importable modules; each needs a reviewed
                                  # view (safecompile.guards.modules.known_modules())
    ignore       = ["SC3", ...]   # rule codes or prefixes: compile_restricted does
                                  # not enforce them and `check` does not report them
    select       = ["SC1", ...]   # `check` only: report only these codes/prefixes
    exclude      = ["gen/*", ...] # `check` only: glob patterns of paths not to check,
                                  # relative to the directory of the file that sets them
    script-name  = "report"       # the script's __name__
    [limits]                      # ([tool.safecompile.limits] in pyproject.toml)
    steps = 1_000_000             # steps, recursion, operand: whole numbers
    time = 2.5                    # seconds
    memory = "64 MiB"             # memory, output, source: bytes, or a size string
                                  # with B, KB, MB, GB, KiB, MiB or GiB
    output = "unlimited"          # any limit: "unlimited" switches it off

``builtins``, ``sources`` and ``isolation`` cannot be loaded from TOML: builtins
and source modules are host values the host passes as ``Policy(builtins=...,
sources=...)`` in Python, and process isolation is chosen by the host too.
Unknown keys are an error (a misspelt key would otherwise loosen nothing and
tighten nothing, silently).

Discovery works like ruff's: for each checked path, the nearest
``pyproject.toml`` found walking up from the path's directory that has a
``[tool.safecompile]`` table (a ``pyproject.toml`` without one is skipped).
``--policy FILE`` replaces discovery; ``--no-config`` switches it off.
"""

from __future__ import annotations

import difflib
import fnmatch
import math
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .limits import Limits
from .policy import Policy

__all__ = [
    "Config",
    "ConfigError",
    "Resolver",
    "Selection",
    "find_pyproject",
    "load_file",
    "load_table",
    "parse_codes",
    "parse_limit",
    "parse_limits_option",
    "policy_from_toml",
]

LimitValue = int | float | None

#: The keys a configuration table may hold.
KEYS: tuple[str, ...] = ("exclude", "ignore", "limits", "modules", "script-name", "select")

#: Keys that exist on Policy but are host values, with the reason given to users.
_NOT_LOADABLE: dict[str, str] = {
    "builtins": "builtins are host values; pass Policy(builtins={...}) in Python",
    "sources": "source modules are host text; pass Policy(sources={...}) in Python",
    "isolation": "process isolation is chosen by the host in Python (Policy(isolation=...))",
}

LIMIT_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Limits))
_WHOLE_LIMITS = frozenset({"steps", "recursion", "operand"})
_BYTE_LIMITS = frozenset({"memory", "output", "source"})
_UNITS: dict[str, int] = {
    "b": 1,
    "kb": 1000, "mb": 1000**2, "gb": 1000**3,
    "kib": 1024, "mib": 1024**2, "gib": 1024**3,
}
_SIZE = re.compile(r"\s*(\d[\d_]*)\s*([a-zA-Z]*)\s*")
_CODE = re.compile(r"SC\d{0,3}")
_UNLIMITED = frozenset({"unlimited", "none"})


class ConfigError(ValueError):
    """A configuration file or option is invalid; the message says where and why."""


def _suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


# --- values -----------------------------------------------------------------------


def parse_limit(name: str, value: object, where: str) -> LimitValue:
    """Return the limit ``name`` as Limits holds it, or raise ConfigError.

    ``value`` is a TOML value or command-line text: a number, a size string
    for byte limits (``"64 MiB"``), or ``"unlimited"``.
    """
    if name not in LIMIT_NAMES:
        raise ConfigError(
            f"{where}: unknown limit {name!r}{_suggest(name, LIMIT_NAMES)}; "
            f"limits are {', '.join(LIMIT_NAMES)}"
        )
    label = f"{where}: limit {name!r}"
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in _UNLIMITED:
            return None
        if name == "time":
            try:
                value = float(text.removesuffix("s"))
            except ValueError:
                raise ConfigError(f"{label} must be a number of seconds or 'unlimited', not {value!r}") from None
        else:
            value = _parse_size(name, text, label)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{label} must be a number or 'unlimited', not {type(value).__name__}")
    if name == "time":
        seconds = float(value)
        if not math.isfinite(seconds) or seconds <= 0:
            raise ConfigError(f"{label} must be a positive number of seconds (use 'unlimited' for none)")
        return seconds
    if isinstance(value, float):
        if not value.is_integer():
            raise ConfigError(f"{label} must be a whole number, not {value!r}")
        value = int(value)
    if value < 0:
        raise ConfigError(f"{label} must not be negative (use 'unlimited' for none)")
    return value


def _parse_size(name: str, text: str, label: str) -> int:
    match = _SIZE.fullmatch(text)
    if match is None:
        raise ConfigError(f"{label} must be a whole number or 'unlimited', not {text!r}")
    number, unit = int(match.group(1)), match.group(2).lower()
    if not unit:
        return number
    if name not in _BYTE_LIMITS:
        raise ConfigError(f"{label} is a count; units like {match.group(2)!r} apply to memory, output and source only")
    if unit not in _UNITS:
        raise ConfigError(f"{label}: unknown size unit {match.group(2)!r}; use B, KB, MB, GB, KiB, MiB or GiB")
    return number * _UNITS[unit]


def parse_limits_option(text: str, where: str = "--limit") -> dict[str, LimitValue]:
    """Parse ``"steps=1000,time=2,memory=64MiB"`` (the ``--limit`` option)."""
    limits: dict[str, LimitValue] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        name, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"{where}: expected NAME=VALUE, got {item.strip()!r} (for example steps=100000,time=2)")
        name = name.strip()
        limits[name] = parse_limit(name, value, where)
    return limits


def parse_codes(values: Iterable[object], where: str) -> tuple[str, ...]:
    """Rule codes or code prefixes (``SC1``, ``SC101``), comma-separated or listed.

    Each must be a prefix of at least one registered code, so that a typo is an
    error rather than a filter that silently matches nothing.
    """
    from .rules import REGISTRY

    codes: list[str] = []
    for value in values:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: rule codes must be strings, not {type(value).__name__}")
        for token in value.split(","):
            code = token.strip().upper()
            if not code:
                continue
            if not _CODE.fullmatch(code) or not any(known.startswith(code) for known in REGISTRY):
                raise ConfigError(
                    f"{where}: {token.strip()!r} is not a rule code or the prefix of one "
                    "(codes look like SC101; `safecompile explain --all` lists them)"
                )
            if code not in codes:
                codes.append(code)
    return tuple(codes)


def _string_list(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{where} must be a list of strings")
    return tuple(value)


# --- the configuration record ---------------------------------------------------------


@dataclass(frozen=True)
class Config:
    """One configuration table, validated; ``origin`` says where it came from."""

    origin: str = "defaults"
    root: Path | None = None
    modules: frozenset[str] = frozenset()
    limits: Mapping[str, LimitValue] = field(default_factory=lambda: MappingProxyType({}))
    ignore: tuple[str, ...] = ()
    select: tuple[str, ...] | None = None
    exclude: tuple[str, ...] = ()
    script_name: str | None = None

    def policy(self, base: Policy | None = None) -> Policy:
        """``base`` (default ``Policy()``) with this configuration applied."""
        policy = base if base is not None else Policy()
        if self.modules:
            policy = policy.with_modules(*sorted(self.modules))
        if self.limits:
            policy = policy.with_limits(**self.limits)
        if self.ignore:
            policy = policy.ignoring(self.ignore)
        if self.script_name is not None:
            policy = replace(policy, script_name=self.script_name)
        return policy

    def with_limits(self, limits: Mapping[str, LimitValue]) -> Config:
        """A copy whose limits have ``limits`` applied on top."""
        return replace(self, limits=MappingProxyType({**self.limits, **limits}))

    def excludes(self, path: Path) -> bool:
        """Whether one of this configuration's ``exclude`` patterns matches ``path``."""
        return bool(self.exclude) and matches_any(path, self.exclude, self.root or Path.cwd())


def load_table(table: Mapping[str, Any], origin: str = "<mapping>", root: Path | None = None) -> Config:
    """Validate one configuration table (top-level keys) into a Config."""
    if not isinstance(table, Mapping):
        raise ConfigError(f"{origin}: the configuration must be a table, not {type(table).__name__}")
    config = Config(origin=origin, root=root)
    changes: dict[str, Any] = {}
    for key, value in table.items():
        where = f"{origin}: {key!r}"
        if key in _NOT_LOADABLE:
            raise ConfigError(f"{origin}: {key!r} cannot be set from TOML: {_NOT_LOADABLE[key]}")
        if key == "tool":
            raise ConfigError(
                f"{origin}: unknown key 'tool': pass the [tool.safecompile] table "
                "(or the path of the pyproject.toml), not the whole pyproject"
            )
        if key == "modules":
            changes["modules"] = _modules(_string_list(value, where), where)
        elif key == "limits":
            if not isinstance(value, Mapping):
                raise ConfigError(f"{where} must be a table (for example limits = {{ steps = 100000 }})")
            changes["limits"] = MappingProxyType(
                {name: parse_limit(str(name), item, f"{origin}: limits") for name, item in value.items()}
            )
        elif key in ("ignore", "select"):
            if not isinstance(value, list):
                raise ConfigError(f"{where} must be a list of rule codes or prefixes")
            changes[key] = parse_codes(value, where)
        elif key == "exclude":
            changes["exclude"] = _string_list(value, where)
        elif key == "script-name":
            if not isinstance(value, str) or not value.isidentifier():
                raise ConfigError(f"{where} must be a Python identifier")
            changes["script_name"] = value
        else:
            raise ConfigError(
                f"{origin}: unknown key {key!r}{_suggest(str(key), KEYS)}; "
                f"known keys are {', '.join(KEYS)}"
            )
    return replace(config, **changes)


def _modules(names: tuple[str, ...], where: str) -> frozenset[str]:
    from .guards.modules import known_modules

    known = known_modules()
    for name in names:
        if name not in known:
            raise ConfigError(
                f"{where}: module {name!r} cannot be allowed: safecompile has no reviewed "
                f"view of it{_suggest(name, known)}; modules with a view: {', '.join(sorted(known))}"
            )
    return frozenset(names)


# --- files ------------------------------------------------------------------------------


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the configuration: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: invalid TOML: the file is not UTF-8 text") from None


def _tool_table(data: Mapping[str, Any]) -> Any:
    tool = data.get("tool")
    return tool.get("safecompile") if isinstance(tool, Mapping) else None


def load_file(path: str | os.PathLike[str]) -> Config:
    """Load a configuration file.

    A file named ``pyproject.toml`` is read at its ``[tool.safecompile]`` table
    (which must exist); any other file holds the keys at its top level.
    """
    path = Path(path)
    data = _read_toml(path)
    root = Path(os.path.abspath(path)).parent
    if path.name == "pyproject.toml":
        table = _tool_table(data)
        if table is None:
            raise ConfigError(f"{path}: no [tool.safecompile] table")
        return load_table(table, f"{path} [tool.safecompile]", root)
    return load_table(data, str(path), root)


def find_pyproject(start: str | os.PathLike[str]) -> Path | None:
    """The nearest pyproject.toml with a ``[tool.safecompile]`` table, upward from ``start``."""
    return Resolver().find(start)


def policy_from_toml(source: str | os.PathLike[str] | Mapping[str, Any],
                     base: Policy | None = None) -> Policy:
    """A Policy from a TOML file path, or from an already parsed table.

    A path named ``pyproject.toml`` is read at ``[tool.safecompile]``, any other
    path at its top level; a mapping holds the keys at its top level.  The
    lint-only keys (``select``, ``exclude``) are validated and do not change the
    Policy.  Raises ConfigError for unknown keys or invalid values.
    """
    if isinstance(source, Mapping):
        config = load_table(source)
    elif isinstance(source, str | os.PathLike):
        config = load_file(source)
    else:
        raise TypeError(f"policy_from_toml takes a path or a mapping, not {type(source).__name__}")
    return config.policy(base)


class Resolver:
    """The configuration of each path: discovered (cached per directory) or fixed.

    With ``explicit`` (``--policy FILE``) every path gets that file's
    configuration; with ``discover=False`` (``--no-config``) the defaults.
    """

    def __init__(self, explicit: str | os.PathLike[str] | None = None, *, discover: bool = True) -> None:
        self._fixed: Config | None = None
        if explicit is not None:
            self._fixed = load_file(explicit)
        elif not discover:
            self._fixed = Config()
        self._configs: dict[Path, Config] = {}
        self._nearest: dict[Path, Path | None] = {}

    def for_path(self, path: str | os.PathLike[str]) -> Config:
        """The configuration that applies to ``path`` (a file or a folder)."""
        if self._fixed is not None:
            return self._fixed
        found = self.find(path)
        if found is None:
            return Config()
        config = self._configs.get(found)
        if config is None:
            config = self._configs[found] = load_file(found)
        return config

    def find(self, path: str | os.PathLike[str]) -> Path | None:
        """The nearest pyproject.toml with a ``[tool.safecompile]`` table, upward from ``path``."""
        directory = Path(os.path.abspath(path))
        if not os.path.isdir(directory):  # os.path: an unreadable path is not an error here
            directory = directory.parent
        return self._find_from(directory)

    def _find_from(self, directory: Path) -> Path | None:
        missing: list[Path] = []
        found: Path | None = None
        folder: Path | None = directory
        while folder is not None:
            if folder in self._nearest:
                found = self._nearest[folder]
                break
            candidate = folder / "pyproject.toml"
            if os.path.isfile(candidate) and _tool_table(_read_toml(candidate)) is not None:
                found = candidate
                self._nearest[folder] = found
                break
            missing.append(folder)
            folder = folder.parent if folder.parent != folder else None
        for folder_without in missing:
            self._nearest[folder_without] = found
        return found


# --- paths and codes -----------------------------------------------------------------------


def matches_any(path: Path, patterns: Iterable[str], base: Path) -> bool:
    """Whether a glob of ``patterns`` matches ``path``.

    A pattern matches the path relative to ``base`` (POSIX separators), any of
    its leading folders (``build`` matches ``build/x.py``), or the name of the
    file or of any folder on the way (``.venv``, ``*_pb2.py``).  ``*`` also
    crosses ``/``.
    """
    patterns = tuple(patterns)
    if not patterns:
        return False
    absolute = Path(os.path.abspath(path))
    try:
        relative = absolute.relative_to(os.path.abspath(base))
    except ValueError:
        relative = absolute
    parts = relative.parts
    candidates = {relative.as_posix(), *parts}
    candidates.update("/".join(parts[:index]) for index in range(1, len(parts)))
    return any(fnmatch.fnmatchcase(candidate, pattern)
               for pattern in patterns for candidate in candidates)


@dataclass(frozen=True)
class Selection:
    """Which rule codes ``check`` reports: ``select`` (None = all) minus ``ignore``."""

    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = ()

    def wants(self, code: str) -> bool:
        if any(code.startswith(prefix) for prefix in self.ignore):
            return False
        return self.select is None or any(code.startswith(prefix) for prefix in self.select)
