"""What the public record classes (Limits, Usage, Violation, Policy) share.

They were ``@dataclass(frozen=True)`` classes; the ``dataclasses`` module
(and ``inspect``, ``dis``, ``tokenize``, ``re`` with it) cost more than a
third of ``import safecompile``.  They are now written by hand with the
same behaviour: ``__init__`` by position or keyword, ``__repr__``,
``__eq__`` (same class, equal fields), ``__hash__`` (of the fields),
immutability (``dataclasses.FrozenInstanceError``), ``__match_args__``,
``copy.replace`` (3.13), pickling; and ``dataclasses.fields``/``replace``/
``asdict``/``is_dataclass`` still work on them: ``__dataclass_fields__``
and ``__dataclass_params__`` are computed, with ``dataclasses``, on first
use.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from dataclasses import Field
    from typing import Any, ClassVar, NoReturn

#: The default of a field without one, and of a field made by its factory.
_REQUIRED: Any = object()
FACTORY: Any = object()


def frozen(name: str, deleting: bool = False) -> NoReturn:
    """Raise what a frozen dataclass raises on a field write or delete."""
    from dataclasses import FrozenInstanceError

    raise FrozenInstanceError(f"cannot {'delete' if deleting else 'assign to'} field {name!r}")


class DataclassInfo:
    """``__dataclass_fields__`` / ``__dataclass_params__`` of a record class,
    made on first read from ``cls._record_fields``: (name, annotation,
    default or _REQUIRED, factory or None) per field."""

    def __init__(self, which: str) -> None:
        self.which = which

    def __get__(self, instance: object, owner: type) -> Any:
        import dataclasses

        specs: list[tuple[Any, ...]] = []
        for name, annotation, default, factory in owner._record_fields:  # type: ignore[attr-defined]
            if factory is not None:
                specs.append((name, annotation, dataclasses.field(default_factory=factory)))
            elif default is not _REQUIRED:
                specs.append((name, annotation, dataclasses.field(default=default)))
            else:
                specs.append((name, annotation))
        shadow = dataclasses.make_dataclass(owner.__name__, specs, frozen=True)
        fields = shadow.__dataclass_fields__  # type: ignore[attr-defined]
        params = shadow.__dataclass_params__  # type: ignore[attr-defined]
        type.__setattr__(owner, "__dataclass_fields__", fields)
        type.__setattr__(owner, "__dataclass_params__", params)
        return fields if self.which == "fields" else params


def field_values(record: Any) -> tuple[Any, ...]:
    return tuple(getattr(record, name) for name in record._record_names)


def install(cls: type, factories: dict[str, Callable[[], Any]] | None = None) -> None:
    """Add the shared record methods and dataclass metadata to ``cls``.

    The fields are the parameters of ``cls.__init__``, in order, with its
    defaults and (string) annotations; ``factories`` names the fields whose
    default (``FACTORY``) is made by a factory, for ``dataclasses.fields``."""
    init: Any = vars(cls)["__init__"]
    code = init.__code__
    names = code.co_varnames[1:code.co_argcount]
    defaults = init.__defaults__ or ()
    first_default = len(names) - len(defaults)
    factories = factories or {}
    fields = tuple(
        (name, init.__annotations__.get(name, "Any"),
         defaults[index - first_default] if index >= first_default else _REQUIRED,
         factories.get(name))
        for index, name in enumerate(names)
    )
    cls._record_class = cls  # type: ignore[attr-defined]
    cls._record_fields = fields  # type: ignore[attr-defined]
    cls._record_names = names  # type: ignore[attr-defined]
    cls.__match_args__ = names  # type: ignore[attr-defined,misc]
    cls.__dataclass_fields__ = DataclassInfo("fields")  # type: ignore[attr-defined]
    cls.__dataclass_params__ = DataclassInfo("params")  # type: ignore[attr-defined]


class Record:
    """Methods of a frozen record; subclasses write ``__init__`` (setting
    fields with ``object.__setattr__``) and call ``install``."""

    __slots__ = ()
    _record_names: tuple[str, ...] = ()
    _record_class: type = object
    if TYPE_CHECKING:  # what dataclasses.fields/replace/asdict accept (set by install)
        __dataclass_fields__: ClassVar[dict[str, Field[Any]]]

    def _set_fields(self, values: dict[str, Any]) -> None:
        """Set every field from ``values`` (``__init__``'s ``locals()``)."""
        for name in self._record_names:
            object.__setattr__(self, name, values[name])

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._record_names)
        return f"{type(self).__qualname__}({inner})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return field_values(self) == field_values(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(field_values(self))

    def __setattr__(self, name: str, value: object) -> None:
        if type(self) is self._record_class or name in self._record_names:
            frozen(name)
        super().__setattr__(name, value)

    def __delattr__(self, name: str) -> None:
        if type(self) is self._record_class or name in self._record_names:
            frozen(name, deleting=True)
        super().__delattr__(name)

    def __replace__(self, **changes: Any) -> Any:
        """``copy.replace`` (3.13) and ``dataclasses.replace``: a copy with
        ``changes``."""
        values = {name: getattr(self, name) for name in self._record_names}
        values.update(changes)
        return type(self)(**values)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), field_values(self))
