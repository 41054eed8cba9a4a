"""Attribute guards: the one door every dynamic attribute path goes through.

Static ``x.name`` reads whose name the rules allow compile to plain loads
(see transformers/attributes.py for the argument); everything that decides
by value comes here: underscore names, ``format``/``format_map``, writes,
deletes, ``getattr``/``hasattr``/``setattr``/``delattr``, ``dir``, and the
guarded ``operator.attrgetter``/``methodcaller``.

Names are checked by exact type (``type(name) is str``) before anything else,
so a ``str`` subclass with a lying ``startswith`` or ``__contains__`` never
reaches a decision.  Decisions are made on (type, name) before the attribute
is touched, so a property of a refused name never runs.
"""

from __future__ import annotations

import _string  # type: ignore[import-not-found]
import collections
import decimal
import functools
import sys
from collections.abc import Callable
from types import (
    BuiltinFunctionType,
    BuiltinMethodType,
    FunctionType,
    MethodType,
    ModuleType,
)

from .. import names
from ..errors import AccessDenied

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Final

_MISSING: Final = object()

#: Instances of these foreign (non-script) classes may have attributes set:
#: each instance is private to the run that created it (a decimal context
#: from ``localcontext()``/``Context()``, a text wrapper's options).
WRITABLE_FOREIGN: Final[tuple[type, ...]] = (decimal.Context,)


def _writable_foreign(obj: object) -> bool:
    """Whether ``obj`` is a WRITABLE_FOREIGN instance or a text wrapper.

    SAFETY: ``textwrap`` is not imported with the library (startup time).
    ``TextWrapper`` is a Python class of that module: no instance of it (or
    of a subclass) exists before the module has been imported, and then it
    is in ``sys.modules``.  Without the module the answer is False, which
    only refuses a write."""
    if isinstance(obj, WRITABLE_FOREIGN):
        return True
    textwrap = sys.modules.get("textwrap")
    return textwrap is not None and isinstance(obj, textwrap.TextWrapper)


def type_name(obj: object) -> str:
    """Name of ``obj``'s type for messages (never its repr)."""
    kind = type(obj)
    if isinstance(obj, ModuleType):
        return "module"
    if kind.__name__ == "Proxy":
        from .membrane import is_proxy, type_name_of_target

        if is_proxy(obj):
            return type_name_of_target(obj)
    return kind.__qualname__


def _check_name(name: object, op: str) -> str:
    if type(name) is not str:
        raise AccessDenied(
            f"{op}: attribute name must be a str, not {type(name).__name__}"
        )
    return name


class Ownership:
    """Tells the script's own objects from everything else.

    A script's classes (and namedtuple/Enum classes it creates) get
    ``__module__`` from the script's ``__name__``; scripts cannot write
    dunders, so they cannot forge it.  Host objects never arrive unwrapped
    (the membrane proxies them), so a host class that happens to share the
    module name is still only seen through its proxy.
    """

    __slots__ = ("module",)

    def __init__(self, module: str) -> None:
        self.module = module

    def owns(self, obj: object) -> bool:
        kind = type(obj)
        if kind is FunctionType:
            module = getattr(obj, "__module__", None)
        elif isinstance(obj, type):
            module = obj.__dict__.get("__module__")
        elif kind is MethodType:
            return False
        else:
            # Builtin types keep no "__module__" in their dict: never the script's.
            module = kind.__dict__.get("__module__")
        return type(module) is str and module == self.module

    def writable(self, obj: object) -> bool:
        if self.owns(obj):
            return True
        return _writable_foreign(obj)


def _is_exception_group(obj: object) -> bool:
    if isinstance(obj, type):
        return issubclass(obj, BaseExceptionGroup)
    return isinstance(obj, BaseExceptionGroup)


def _check_field_names(template: str, depth: int = 0) -> None:
    """Refuse format fields that read dunder, internal or private attributes."""
    for _literal, field, spec, _conversion in _string.formatter_parser(template):
        if field is None:
            continue
        _first, rest = _string.formatter_field_name_split(field)
        for is_attr, key in rest:
            if is_attr:
                key_str = str(key)
                reason = names.forbidden_attribute(key_str)
                if reason is None and names.is_private(key_str):
                    reason = "format fields may not read underscore attributes"
                if reason is not None:
                    raise AccessDenied(
                        f"format field {names.shown(field)} reads attribute {names.shown(key_str)}: {reason}"
                    )
        if spec and depth < 2:
            _check_field_names(spec, depth + 1)


@functools.lru_cache(maxsize=2048)
def check_format_template(template: str) -> None:
    """Refuse a ``str.format`` template whose fields walk forbidden attributes."""
    _check_field_names(template)


def _plain_text(value: object) -> str:
    if type(value) is str:
        return value
    if isinstance(value, str):
        # A str subclass cannot change what its characters are.
        return str.__str__(value)
    raise TypeError(f"format template must be str, not {type(value).__name__}")


def safe_format(template: str, /, *args: Any, **kwargs: Any) -> str:
    """``str.format`` whose fields may not walk into guarded attributes."""
    text = _plain_text(template)
    check_format_template(text)
    return text.format(*args, **kwargs)


def safe_format_map(template: str, mapping: Any, /) -> str:
    """``str.format_map`` whose fields may not walk into guarded attributes."""
    text = _plain_text(template)
    check_format_template(text)
    return text.format_map(mapping)


_SAFE_FORMATTERS: Final = {"format": safe_format, "format_map": safe_format_map}


def _user_string_formatter(name: str) -> Callable[..., str]:
    safe = _SAFE_FORMATTERS[name]

    def format_user_string(self: Any, /, *args: Any, **kwargs: Any) -> str:
        # UserString.format/format_map call str.format on their ``data``.
        return safe(self.data, *args, **kwargs)

    format_user_string.__name__ = format_user_string.__qualname__ = name
    return format_user_string


#: Library functions that hand a caller's template to ``str.format``.
_FORMAT_CARRIERS: Final[dict[Any, Callable[..., str]]] = {
    collections.UserString.format: _user_string_formatter("format"),
    collections.UserString.format_map: _user_string_formatter("format_map"),
}


def safe_formatter(value: Any, name: str) -> Any:
    """``value`` (just read as attribute ``name``) with ``str.format`` guarded.

    SAFETY: decides by what was read, not by the object it was read from,
    so every spelling that reaches the builtin formatter is covered:
    ``s.format``, ``str.format``, ``super(S, s).format``, ``super(S, S).format``,
    a str subclass's inherited method, and the library methods that call
    ``str.format`` on their own data (``collections.UserString``).
    """
    plain = getattr(str, name)
    safe = _SAFE_FORMATTERS[name]
    if value is plain:
        return safe
    kind = type(value)
    if kind is BuiltinMethodType:
        owner = getattr(value, "__self__", None)
        if isinstance(owner, str) and value == plain.__get__(owner):
            return functools.partial(safe, owner)
        return value
    if kind is MethodType:
        carrier = _FORMAT_CARRIERS.get(value.__func__)
        if carrier is not None:
            return functools.partial(carrier, value.__self__)
        return value
    if kind is FunctionType:
        return _FORMAT_CARRIERS.get(value, value)
    return value


class AttributeGuards:
    """The attribute guards of scripts whose ``__name__`` is ``module``."""

    def __init__(self, module: str) -> None:
        self.ownership = Ownership(module)
        owns = self.ownership.owns
        writable = self.ownership.writable

        def read_check(obj: object, name: str, op: str) -> None:
            reason = names.forbidden_attribute(name)
            if reason is None and name[:1] == "_" and not owns(obj):
                reason = "underscore attributes belong to the object's own code"
            if reason is not None:
                raise AccessDenied(
                    f"cannot {op} attribute {names.shown(name)} of {type_name(obj)}: {reason}"
                )

        def guarded_getattr(obj: object, name: object, default: Any = _MISSING) -> Any:
            """getattr(obj, name[, default]) through the attribute guard."""
            text = _check_name(name, "getattr")
            read_check(obj, text, "read")
            if default is _MISSING:
                value = getattr(obj, text)
            else:
                value = getattr(obj, text, default)
            if text in names.FORMAT_METHODS:
                return safe_formatter(value, text)
            return value

        def guarded_hasattr(obj: object, name: object) -> bool:
            """hasattr(obj, name): False for attributes scripts may not read."""
            text = _check_name(name, "hasattr")
            try:
                read_check(obj, text, "read")
            except AccessDenied:
                return False
            return hasattr(obj, text)

        def guarded_setattr(obj: object, name: object, value: Any) -> None:
            """setattr(obj, name, value): only on the script's own objects."""
            text = _check_name(name, "setattr")
            reason = names.forbidden_attribute(text)
            if reason is None and not writable(obj):
                reason = "only the script's own objects can be changed"
            if reason is None and text in names.EXCEPTION_GROUP_TRUSTED and _is_exception_group(obj):
                reason = "except* relies on the builtin method"  # CVE-2025-22153
            if reason is not None:
                raise AccessDenied(
                    f"cannot set attribute {names.shown(text)} of {type_name(obj)}: {reason}"
                )
            if isinstance(obj, decimal.Context):
                from .number_views import check_setting

                check_setting(text, value)
            setattr(obj, text, value)

        def guarded_delattr(obj: object, name: object) -> None:
            """delattr(obj, name): only on the script's own objects."""
            text = _check_name(name, "delattr")
            reason = names.forbidden_attribute(text)
            if reason is None and not writable(obj):
                reason = "only the script's own objects can be changed"
            if reason is not None:
                raise AccessDenied(
                    f"cannot delete attribute {names.shown(text)} of {type_name(obj)}: {reason}"
                )
            delattr(obj, text)

        def guarded_dir(*args: Any) -> list[str]:
            """dir(obj) without dunders, internals or others' private names."""
            if len(args) != 1:
                raise AccessDenied("dir() needs exactly one argument in scripts")
            obj = args[0]
            mine = owns(obj)
            return [
                name for name in dir(obj)
                if type(name) is str
                and names.forbidden_attribute(name) is None
                and (mine or not names.is_private(name))
            ]

        self.getattr = guarded_getattr
        self.hasattr = guarded_hasattr
        self.setattr = guarded_setattr
        self.delattr = guarded_delattr
        self.dir = guarded_dir
        self.attrgetter = _make_attrgetter(guarded_getattr)
        self.methodcaller = _make_methodcaller(guarded_getattr)


def _make_attrgetter(getter: Callable[..., Any]) -> type:
    class attrgetter:
        """operator.attrgetter through the attribute guard."""

        __slots__ = ("_paths",)
        _paths: tuple[tuple[str, ...], ...]

        def __init__(self, attr: str, *attrs: str) -> None:
            paths = []
            for dotted in (attr, *attrs):
                text = _check_name(dotted, "attrgetter")
                paths.append(tuple(text.split(".")))
            object.__setattr__(self, "_paths", tuple(paths))

        def __call__(self, obj: object) -> Any:
            results = []
            for path in self._paths:
                value = obj
                for part in path:
                    value = getter(value, part)
                results.append(value)
            return results[0] if len(results) == 1 else tuple(results)

    return attrgetter


def _make_methodcaller(getter: Callable[..., Any]) -> type:
    class methodcaller:
        """operator.methodcaller through the attribute guard."""

        __slots__ = ("_args", "_kwargs", "_name")
        _name: str
        _args: tuple[Any, ...]
        _kwargs: dict[str, Any]

        def __init__(self, name: str, /, *args: Any, **kwargs: Any) -> None:
            object.__setattr__(self, "_name", _check_name(name, "methodcaller"))
            object.__setattr__(self, "_args", args)
            object.__setattr__(self, "_kwargs", kwargs)

        def __call__(self, obj: object) -> Any:
            return getter(obj, self._name)(*self._args, **self._kwargs)

    return methodcaller


_guards: dict[str, AttributeGuards] = {}


def guards_for(module: str) -> AttributeGuards:
    """The (shared, stateless) attribute guards for scripts named ``module``."""
    found = _guards.get(module)
    if found is None:
        found = _guards.setdefault(module, AttributeGuards(module))
    return found


def is_builtin_callable(obj: object) -> bool:
    return type(obj) is BuiltinFunctionType
