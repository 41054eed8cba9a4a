"""The ``enum`` module of scripts: the functional API names members safely.

``Enum("E", [("__reduce_ex__", hook)])`` would define a dunder hook without
a ``def``, past the static rules (DESIGN.md §4: hooks cannot arrive that
way): the copy and pickle protocols would then run the script's function
with the host's objects.  The view offers subclasses of the real enum
classes whose metaclass checks member names given to the functional API
(no name starting with ``_``) and names the new class after the script, as
the functional API does for a caller's module.  Class syntax is unchanged:
the rules check its names statically.
"""

from __future__ import annotations

import enum
import types
from collections.abc import Mapping

from ..errors import AccessDenied
from ..names import shown

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _checked_names(names: Any) -> Any:
    """``names`` as a fresh list/dict/str whose member names are exact,
    public ``str``s; refused otherwise."""
    if type(names) is str:
        for name in names.replace(",", " ").split():
            _check(name)
        return names
    if isinstance(names, Mapping):
        items = list(names.items()) if type(names) is dict else None
        if items is None:
            raise AccessDenied("enum members may be given as a str, a list or a dict")
        for name, _ in items:
            _check(name)
        return dict(items)
    members = list(names)  # iterated once: what is checked is what is used
    for member in members:
        if type(member) is str:
            _check(member)
        elif type(member) in (tuple, list) and len(member) == 2:
            _check(member[0])
        else:
            raise AccessDenied("enum members may be names or (name, value) pairs")
    return members


def _check(name: Any) -> None:
    if type(name) is not str:
        raise AccessDenied("enum member names must be str")
    if name.startswith("_"):
        raise AccessDenied(
            f"enum member name {shown(name)} is not available to scripts: names starting "
            "with '_' would define hooks of the class"
        )


class ScriptEnumType(enum.EnumType):
    """EnumType whose functional API checks member names."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if len(args) < 2 and "names" not in kwargs:
            return super().__call__(*args, **kwargs)  # a lookup by value
        if "module" in kwargs or "qualname" in kwargs:
            raise AccessDenied("the enum functional API takes no module= or qualname= in scripts")
        if len(args) >= 2:
            args = (args[0], _checked_names(args[1]), *args[2:])
        else:
            kwargs["names"] = _checked_names(kwargs["names"])
        from .imports import current

        kwargs["module"] = current().policy.script_name
        return super().__call__(*args, **kwargs)


def _script_class(real: type) -> type:
    def body(namespace: dict[str, Any]) -> None:
        namespace["__module__"] = "enum"
        namespace["__qualname__"] = real.__qualname__

    return types.new_class(real.__name__, (real,), {"metaclass": ScriptEnumType}, body)


_CLASSES = ("Enum", "IntEnum", "StrEnum", "Flag", "IntFlag")
_made: dict[str, type] = {}


def view_values() -> dict[str, Any]:
    """The view's replacements: the enum base classes with the checked metaclass."""
    if not _made:
        for name in _CLASSES:
            real = getattr(enum, name, None)
            if isinstance(real, type):
                _made.setdefault(name, _script_class(real))
    return dict(_made)
