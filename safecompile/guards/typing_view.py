"""The ``typing`` module of scripts: inert stand-ins, never the real objects.

A script uses ``typing`` to write annotations.  The real objects are not
inert: a generic alias forwards every public attribute to its origin class
(``typing.Mapping.register(list)`` changes the host's ``collections.abc``;
``typing.List[int].mro`` reaches ``list``), ``get_origin(typing.Type)`` is the
real ``type`` (three-argument ``type()``, class keywords), and a subclass of
``typing._GenericAlias`` forwards reads such as ``gi_frame`` without the
attribute guard.  So the view offers stand-ins: each can be subscripted,
combined with ``|``, printed and used as an annotation or a class base
(``Generic[T]``, ``Protocol``), and has no other attribute.  ``cast``,
``assert_type``, ``NewType`` and ``TypeVar`` keep their run-time behaviour.
``TypedDict`` bases make a ``dict`` subclass.
"""

from __future__ import annotations

from ..errors import AccessDenied

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NoReturn


class TypeForm:
    """A ``typing`` name as a script sees it: an annotation, nothing more."""

    __slots__ = ("_sc_args", "_sc_base", "_sc_name")
    _sc_name: str
    _sc_args: tuple[Any, ...]
    _sc_base: tuple[type, ...]

    def __init__(self, name: str, args: tuple[Any, ...] = (), base: tuple[type, ...] = ()) -> None:
        object.__setattr__(self, "_sc_name", name)
        object.__setattr__(self, "_sc_args", args)
        object.__setattr__(self, "_sc_base", base)

    def __getitem__(self, args: Any) -> TypeForm:
        if type(args) is not tuple:
            args = (args,)
        return TypeForm(self._sc_name, args, self._sc_base)

    def __or__(self, other: Any) -> TypeForm:
        return TypeForm("Union", (self, other))

    def __ror__(self, other: Any) -> TypeForm:
        return TypeForm("Union", (other, self))

    def __call__(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError(f"typing.{self._sc_name} cannot be called in scripts (it is an annotation)")

    def __mro_entries__(self, bases: tuple[Any, ...]) -> tuple[type, ...]:
        # `class Stack(Generic[T])` makes a plain class; `TypedDict` a dict.
        return self._sc_base

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AccessDenied(f"typing.{self._sc_name} is read-only")

    def __delattr__(self, name: str) -> NoReturn:
        raise AccessDenied(f"typing.{self._sc_name} is read-only")

    def __reduce__(self) -> NoReturn:
        raise AccessDenied("typing stand-ins cannot be pickled or copied")

    def __repr__(self) -> str:
        if not self._sc_args:
            return f"typing.{self._sc_name}"
        shown = ", ".join(_shown(arg) for arg in self._sc_args)
        return f"typing.{self._sc_name}[{shown}]"


def _shown(arg: Any) -> str:
    if type(arg) is TypeForm:
        return repr(arg)
    if type(arg) is type:
        return arg.__qualname__
    if arg is None:
        return "None"
    if type(arg) is list:
        return "[" + ", ".join(_shown(a) for a in arg) + "]"
    if type(arg) in (str, int, bool, float):
        return repr(arg)
    return "..."


def _cast(typ: Any, value: Any) -> Any:
    return value


def _assert_type(value: Any, typ: Any) -> Any:
    return value


def _assert_never(value: Any) -> NoReturn:
    raise AssertionError("Expected code to be unreachable")


def _type_var(name: Any, *constraints: Any, **kwargs: Any) -> TypeForm:
    if type(name) is not str:
        raise TypeError("TypeVar name must be a str")
    return TypeForm(name)


def _new_type(name: Any, typ: Any) -> Any:
    if type(name) is not str:
        raise TypeError("NewType name must be a str")

    def new_type(value: Any) -> Any:
        return value

    new_type.__name__ = new_type.__qualname__ = name
    return new_type


#: Names whose stand-in is not a plain TypeForm.
_SPECIAL: dict[str, Any] = {
    "cast": _cast,
    "assert_type": _assert_type,
    "assert_never": _assert_never,
    "TypeVar": _type_var,
    "ParamSpec": _type_var,
    "TypeVarTuple": _type_var,
    "NewType": _new_type,
    "TYPE_CHECKING": False,
    "TypedDict": TypeForm("TypedDict", base=(dict,)),
}


def view_values(offered: frozenset[str]) -> dict[str, Any]:
    """The stand-in of every offered ``typing`` name."""
    return {name: _SPECIAL[name] if name in _SPECIAL else TypeForm(name) for name in offered}
