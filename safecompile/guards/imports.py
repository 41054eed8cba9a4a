"""The guarded import: allowed modules as read-only views, host source modules.

Per-run state (the seeded ``random`` instance, ``decimal``'s context, the
budget that ``itertools`` and ``math.factorial`` charge) is found through
``CURRENT``, the run that is executing in this context, so the views
themselves are built once per process and shared.
"""

from __future__ import annotations

import _thread
import functools
import importlib
import itertools
import math
import re
from _contextvars import ContextVar
from collections.abc import Callable, Iterable, Iterator
from types import FunctionType

from ..errors import AccessDenied, ImportDenied
from ..names import FORMAT_METHODS, forbidden_attribute, shown
from .access import guards_for
from .membrane import fraction_class
from .modules import ModuleView, allowed_names, make_view
from .typing_view import TypeForm

TYPE_CHECKING = False
if TYPE_CHECKING:
    import random
    from typing import Any

    from ..runtime import RunState

#: ``Name`` or ``module.Name`` at the start of a string annotation (what
#: dataclasses looks for in one).
_ANNOTATION_NAME = re.compile(r"\s*(?:(\w+)\s*\.)?\s*(\w+)")

#: The run executing in the current context (set by the runtime).
CURRENT: ContextVar[RunState] = ContextVar("safecompile_current_run")


def current() -> RunState:
    try:
        return CURRENT.get()
    except LookupError:
        raise AccessDenied("this function can only be used inside a safecompile run") from None


# --- replacements for names whose module version is unsafe -------------------------


def _per_run_random(name: str) -> Callable[..., Any]:
    def method(*args: Any, **kwargs: Any) -> Any:
        return getattr(current().rng(), name)(*args, **kwargs)

    method.__name__ = method.__qualname__ = name
    return method


def _ticking(function: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
    """An itertools constructor whose iterator ticks the run's budget per item."""

    def constructor(*args: Any, **kwargs: Any) -> Iterator[Any]:
        return current().budget.iterate(function(*args, **kwargs))

    # Names and docstring copied by hand: functools.wraps also reads
    # __annotations__, which on 3.12+ stores an empty dict in the class's
    # own __dict__, changing the host's itertools classes.
    constructor.__name__ = function.__name__
    constructor.__qualname__ = function.__qualname__
    constructor.__doc__ = function.__doc__
    return constructor


def _tee(iterable: Iterable[Any], n: int = 2) -> tuple[Iterator[Any], ...]:
    iterate = current().budget.iterate
    return tuple(iterate(it) for it in itertools.tee(iterable, n))


def _chain() -> Callable[..., Iterator[Any]]:
    chain = _ticking(itertools.chain)

    def from_iterable(iterable: Iterable[Iterable[Any]]) -> Iterator[Any]:
        return current().budget.iterate(itertools.chain.from_iterable(iterable))

    chain.from_iterable = from_iterable  # type: ignore[attr-defined]
    return chain


def _operand(name: str) -> Callable[..., Any]:
    def checked(*args: Any, **kwargs: Any) -> Any:
        return current().operand[name](*args, **kwargs)

    checked.__name__ = checked.__qualname__ = name
    return checked


def _own_target(function: Callable[..., Any], what: str) -> Callable[..., Any]:
    """Wrap a stdlib decorator that changes the class or function it is given."""

    def owned(target: Any, *args: Any, **kwargs: Any) -> Any:
        if not current().ownership.owns(target):
            raise AccessDenied(
                f"{what} may only be applied to the script's own classes and functions"
            )
        return function(target, *args, **kwargs)

    owned.__name__ = owned.__qualname__ = getattr(function, "__name__", what)
    owned.__doc__ = function.__doc__
    return owned


class _Deferred:
    """What dataclasses sees, during ``dataclass()``, in place of a string
    annotation that names no ClassVar, InitVar or KW_ONLY: an ordinary
    field's type, shown as the string was."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return repr(self.text)


def _special_form(value: Any, dataclasses: Any) -> Any:
    """The real object dataclasses recognises for ``value`` (a script's
    annotation or the value a string annotation names), or None."""
    import typing

    if type(value) is TypeForm and value._sc_name == "ClassVar":
        return typing.ClassVar
    if value is dataclasses.KW_ONLY:
        return value
    if value is dataclasses.InitVar or type(value) is dataclasses.InitVar:
        return value
    return None


def _named(text: str, namespace: dict[str, Any]) -> Any:
    """What ``Name`` or ``module.Name`` at the start of a string annotation
    names in ``namespace``: the test dataclasses applies to strings (it looks
    in ``sys.modules[cls.__module__]``, which a script is not in)."""
    match = _ANNOTATION_NAME.match(text)
    if match is None:
        return None
    module, name = match.groups()
    if module is None:
        return namespace.get(name)
    owner = namespace.get(module)
    if type(owner) is not ModuleView:  # never a host object
        return None
    return vars(owner).get(name)


def _dataclass(cls: Any = None, /, **kwargs: Any) -> Any:
    import dataclasses  # loaded with the view (stdlib_view imports it)

    def wrap(target: Any) -> Any:
        run = current()
        if not run.ownership.owns(target):
            raise AccessDenied("dataclass() may only decorate the script's own classes")
        annotations = vars(target).get("__annotations__")
        if type(annotations) is not dict:
            return dataclasses.dataclass(target, **kwargs)
        # dataclasses tells ClassVar, InitVar and KW_ONLY apart by identity,
        # and resolves string annotations (``from __future__ import
        # annotations``) through sys.modules[cls.__module__], which a script
        # is not in: without help it fails on every string annotation and
        # takes typing's stand-in ClassVar for a field.  So, for the call
        # only, each such annotation is replaced by the real object it names
        # (or a _Deferred), and put back afterwards, on the class, its fields
        # and its __init__.
        namespace = run.globals if target.__module__ == run.policy.script_name else {}
        originals: dict[str, Any] = {}
        for name, value in annotations.items():
            named = _named(value, namespace) if type(value) is str else value
            special = _special_form(named, dataclasses)
            if special is not None:
                originals[name] = value
                annotations[name] = special
            elif type(value) is str:
                originals[name] = value
                annotations[name] = _Deferred(value)
        try:
            made = dataclasses.dataclass(target, **kwargs)
        finally:
            annotations.update(originals)
        if originals:
            for field in vars(made).get("__dataclass_fields__", {}).values():
                if field.name in originals:
                    field.type = originals[field.name]
            init = vars(made).get("__init__")
            if type(init) is FunctionType:
                shown_types = init.__annotations__
                for name in shown_types.keys() & originals.keys():
                    shown_types[name] = originals[name]
        return made

    return wrap if cls is None else wrap(cls)


def _dataclass_fields(obj: Any, what: str) -> tuple[Any, ...]:
    """The fields of ``obj``, an instance of one of the script's own
    dataclasses whose field names a script could read itself; else refused.

    SAFETY: ``dataclasses.replace`` reads every field with the real
    ``getattr``; a field name is any string the class's annotations hold.
    Only the script's own instances pass, and only names the attribute guard
    would let through on them (no dunder, no interpreter internal, not
    ``format``/``format_map``, which turn a str subclass into a formatter)."""
    import dataclasses  # loaded with the view (stdlib_view imports it)

    if isinstance(obj, type) or not dataclasses.is_dataclass(obj) or not current().ownership.owns(obj):
        raise AccessDenied(f"{what}() works on instances of the script's own dataclasses only")
    found = tuple(type(obj).__dataclass_fields__.values())  # type: ignore[union-attr]
    for field in found:
        name = field.name
        if type(name) is not str or forbidden_attribute(name) or name in FORMAT_METHODS:
            raise AccessDenied(f"{what}(): the field {shown(name)} is not available to scripts")
    return found


def _to_data(value: Any, factory: Callable[[Any], Any], as_dict: bool) -> Any:
    """``asdict``/``astuple``'s recursion, without ``copy.deepcopy``: values
    that are not dataclasses or containers are kept as they are (deepcopy
    would run ``__reduce_ex__``/``__deepcopy__`` hooks and ``setattr``)."""
    import dataclasses  # loaded with the view (stdlib_view imports it)

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = _dataclass_fields(value, "asdict" if as_dict else "astuple")
        items = [(f.name, _to_data(getattr(value, f.name), factory, as_dict)) for f in fields]
        return factory(items if as_dict else [item for _, item in items])
    kind = type(value)
    if kind is list:
        return [_to_data(item, factory, as_dict) for item in value]
    if kind is tuple:
        return tuple(_to_data(item, factory, as_dict) for item in value)
    if kind is dict:
        return {_to_data(k, factory, as_dict): _to_data(v, factory, as_dict) for k, v in value.items()}
    return value


def _asdict(obj: Any, *, dict_factory: Callable[[Any], Any] = dict) -> Any:
    _dataclass_fields(obj, "asdict")
    return _to_data(obj, dict_factory, True)


def _astuple(obj: Any, *, tuple_factory: Callable[[Any], Any] = tuple) -> Any:
    _dataclass_fields(obj, "astuple")
    return _to_data(obj, tuple_factory, False)


def _replace(obj: Any, /, **changes: Any) -> Any:
    import dataclasses  # loaded with the view (stdlib_view imports it)

    _dataclass_fields(obj, "replace")
    return dataclasses.replace(obj, **changes)


def _fields(class_or_instance: Any) -> tuple[Any, ...]:
    import dataclasses  # loaded with the view (stdlib_view imports it)

    target = class_or_instance if isinstance(class_or_instance, type) else type(class_or_instance)
    if not (dataclasses.is_dataclass(target) and current().ownership.owns(target)):
        raise AccessDenied("fields() works on the script's own dataclasses only")
    return dataclasses.fields(class_or_instance)


def _update_wrapper(wrapper: Any, wrapped: Any, assigned: Any = functools.WRAPPER_ASSIGNMENTS,
                    updated: Any = functools.WRAPPER_UPDATES) -> Any:
    if assigned != functools.WRAPPER_ASSIGNMENTS or updated != functools.WRAPPER_UPDATES:
        raise AccessDenied("update_wrapper() with custom attribute lists is not available to scripts")
    owns = current().ownership.owns
    if not (owns(wrapper) and owns(wrapped)):
        raise AccessDenied("update_wrapper() works on the script's own functions only")
    return functools.update_wrapper(wrapper, wrapped)


def _wraps(wrapped: Any, assigned: Any = functools.WRAPPER_ASSIGNMENTS,
           updated: Any = functools.WRAPPER_UPDATES) -> Callable[[Any], Any]:
    def decorate(wrapper: Any) -> Any:
        return _update_wrapper(wrapper, wrapped, assigned, updated)

    return decorate


@functools.cache
def _template_class() -> type:
    """``string.Template`` for scripts, made once with the first string view
    (string imports re, which the library does not load up front)."""
    import string

    class _Template(string.Template):
        """``string.Template`` whose subclasses keep the stock patterns.

        A subclass's ``pattern``/``idpattern``/``braceidpattern`` is compiled
        and matched by CPython's ``re``, which no budget can interrupt: a
        backtracking pattern would hold the host for hours.  ``delimiter`` and
        ``flags`` stay open (the delimiter is escaped)."""

        def __init_subclass__(cls, **kwargs: Any) -> None:
            for name in ("pattern", "idpattern", "braceidpattern"):
                if name in vars(cls):
                    raise AccessDenied(
                        f"a Template subclass may not set {name}: CPython's re cannot be "
                        "interrupted; set delimiter, or use the re module's sub()"
                    )
            super().__init_subclass__(**kwargs)

    _Template.__module__ = "string"
    _Template.__qualname__ = _Template.__name__ = "Template"
    return _Template


class _PerRun:
    """A view value computed for the current run when read."""

    __slots__ = ("factory",)

    def __init__(self, factory: Callable[[], Any]) -> None:
        self.factory = factory


def _per_run_context(name: str) -> _PerRun:
    return _PerRun(lambda: current().decimal_templates()[name])


def _replacements(module: str, script_name: str) -> dict[str, Any]:
    attribute_guards = guards_for(script_name)
    if module == "random":
        return {name: _per_run_random(name) for name in allowed_names("random") or () if name != "Random"}
    if module == "itertools":
        table: dict[str, Any] = {}
        for name in allowed_names("itertools") or ():
            value = getattr(itertools, name)
            if callable(value):
                table[name] = _ticking(value)
        table["tee"] = _tee
        table["chain"] = _chain()
        return table
    if module == "re":
        from . import regex

        return regex.view_values()
    if module == "string":
        return {"Template": _template_class()}
    if module == "math":
        return {name: _operand(name) for name in ("factorial", "comb", "perm", "prod", "gcd", "lcm", "isqrt")}
    if module == "operator":
        return {"attrgetter": attribute_guards.attrgetter,
                "methodcaller": attribute_guards.methodcaller,
                "pow": _operand("pow"), "ipow": _operand("pow"),
                "mul": _operand("mul"), "imul": _operand("mul"),
                "lshift": _operand("lshift"), "ilshift": _operand("lshift")}
    if module == "functools":
        return {"total_ordering": _own_target(functools.total_ordering, "total_ordering()"),
                "update_wrapper": _update_wrapper, "wraps": _wraps}
    if module == "dataclasses":
        # dataclasses recognises ClassVar annotations only once typing is
        # loaded (sys.modules.get("typing")); the library no longer imports
        # typing itself, so the view loads it to keep dataclass() as it was.
        import typing  # noqa: F401

        return {"dataclass": _dataclass, "asdict": _asdict, "astuple": _astuple,
                "replace": _replace, "fields": _fields}
    if module == "enum":
        from . import enum_view

        return enum_view.view_values()
    if module == "typing":
        from . import typing_view

        return typing_view.view_values(allowed_names("typing") or frozenset())
    if module == "decimal":
        from . import number_views

        table = {name: _per_run_context(name)
                 for name in ("DefaultContext", "BasicContext", "ExtendedContext")}
        table.update(number_views.decimal_values())
        return table
    if module == "fractions":
        from . import number_views

        return number_views.fractions_values()
    return {}


_views: dict[tuple[str, str], Any] = {}
_views_lock = _thread.allocate_lock()


def stdlib_view(module: str, script_name: str) -> Any:
    """The shared view of an allowed stdlib module for scripts named ``script_name``."""
    key = (module, script_name)
    view = _views.get(key)
    if view is not None:
        return view
    offered = allowed_names(module)
    if offered is None:
        raise ImportDenied(f"import of module {shown(module)} is not allowed in scripts")
    real = importlib.import_module(module)
    replacements = _replacements(module, script_name)
    values: dict[str, Any] = {}
    dynamic: dict[str, Callable[[], Any]] = {}
    for name in sorted(offered):
        value = replacements.get(name, getattr(real, name))
        if isinstance(value, _PerRun):
            dynamic[name] = value.factory
        else:
            values[name] = _harden(value)
    view = make_view(module, values, dynamic)
    fraction_class()  # HOLDERS knows Fraction if this module loaded fractions
    with _views_lock:
        return _views.setdefault(key, view)


_MUTABLE = (dict, list, set, bytearray)


def _harden(value: Any) -> Any:
    """A class whose public class attributes hold shared mutable tables gets a
    private subclass holding frozen copies (e.g. TextWrapper's translation
    table), so item writes through the class cannot change the host's."""
    if not isinstance(value, type) or value.__module__ == "builtins":
        return value
    frozen: dict[str, Any] = {}
    for klass in value.__mro__:
        for attr, item in vars(klass).items():
            if attr.startswith("_") or attr in frozen or not isinstance(item, _MUTABLE):
                continue
            if isinstance(item, dict):
                from types import MappingProxyType

                frozen[attr] = MappingProxyType(dict(item))
            elif isinstance(item, set):
                frozen[attr] = frozenset(item)
            else:
                frozen[attr] = tuple(item)
    if not frozen:
        return value
    frozen.update({"__module__": value.__module__, "__qualname__": value.__qualname__,
                   "__doc__": value.__doc__})
    return type(value.__name__, (value,), frozen)


def is_own_function(value: object) -> bool:
    return type(value) is FunctionType


def math_module() -> Any:
    return math


def random_class() -> type[random.Random]:
    import random

    return random.Random
