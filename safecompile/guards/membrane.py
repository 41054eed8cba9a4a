"""The membrane between host and script: plain data by value, the rest proxied.

Plain data (``None``, ``bool``, ``int``, ``float``, ``complex``, ``str``,
``bytes``, ``datetime.date/time/datetime/timedelta``, ``decimal.Decimal``,
``fractions.Fraction``, and lists, tuples, dicts, sets and frozensets of
plain data; exact types, never subclasses) crosses by value; mutable
containers are copied both ways.  Any other host object reaches the script as
a ``Proxy``: only the names its class declared with ``expose`` (or its
``Grant``) pass, and what they return is plain data or proxied again.  What
the script passes into a host callable must be plain data or a proxy of a
host object: a script object never reaches host code, so trusted code never
compares, hashes or formats a hostile object (Pedroni's boundary problem).
"""

from __future__ import annotations

import _thread
import builtins
import decimal
import sys
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType, ModuleType

from .. import names
from ..errors import AccessDenied, SafeCompileError
from . import impl

TYPE_CHECKING = False
if TYPE_CHECKING:
    import datetime
    from typing import Any, Final
else:
    # The C types themselves: the datetime module re-exports them (``from
    # _datetime import *``), so these are the classes of every date, time,
    # datetime, timedelta and timezone, and the module itself is not loaded
    # with the library.  Without the C module, the module.
    try:
        import _datetime as datetime
    except ImportError:  # pragma: no cover - CPython has the C module
        import datetime

#: Immutable values that hold no other object: plain by their exact type.
SCALARS: Final[frozenset[type]] = frozenset(
    {
        type(None), bool, int, float, complex, str, bytes,
        datetime.date, datetime.timedelta, decimal.Decimal,
    }
)
#: Immutable values that hold other objects a script can choose (a tzinfo,
#: a timezone's name, a Fraction's numerator): plain when those parts are
#: (holder_ok), else a script object could ride in on them.
#: fractions.Fraction joins them once that module is loaded (fraction_class).
HOLDERS: frozenset[type] = frozenset(
    {datetime.time, datetime.datetime, datetime.timezone}
)
CONTAINERS: Final[frozenset[type]] = frozenset({list, tuple, dict, set, frozenset})


class _Unloaded:
    """Stands for ``fractions.Fraction`` while that module is not loaded:
    never instantiated, so nothing is an instance of it."""

    __slots__ = ()


NO_FRACTION: Final[type] = _Unloaded
_fraction: type = _Unloaded


def fraction_class() -> type:
    """``fractions.Fraction`` once the fractions module is loaded, else
    ``NO_FRACTION``; the first call that finds the class adds it to HOLDERS.

    SAFETY: the library does not import ``fractions`` (startup time).
    ``Fraction`` is a Python class made by running fractions.py, which is
    in ``sys.modules`` from the start of that run:
    before the module is there, no Fraction (nor subclass instance) exists,
    so "is this a Fraction?" may be answered no.  The guards that must
    recognise a Fraction (the operand guards, ``type()``, ``sum()`` in
    formulas) ask here whenever the class is not known yet, so they never
    miss one; a Fraction whose type is not yet in HOLDERS is not plain data
    and would be proxied, never let through.  HOLDERS learns the class when
    a view is built and before each run (so values keep crossing by value)
    and on the membrane's not-plain path.  Once found the class is kept, as
    the library kept it when it imported the module up front."""
    global _fraction, HOLDERS
    if _fraction is _Unloaded:
        module = sys.modules.get("fractions")
        kind = getattr(module, "Fraction", None) if module is not None else None
        if isinstance(kind, type):
            HOLDERS = HOLDERS | {kind}
            _fraction = kind
    return _fraction


def holder_ok(value: Any) -> bool:
    """Whether a value of a HOLDERS type holds only plain parts.  Reads
    C-level fields of exact stdlib types only: no script code runs."""
    kind = type(value)
    if kind is _fraction:
        return type(value.numerator) is int and type(value.denominator) is int
    if kind is datetime.timezone:
        return type(value.tzname(None)) is str
    if kind is datetime.datetime or kind is datetime.time:
        zone = value.tzinfo
        return zone is None or (type(zone) is datetime.timezone and holder_ok(zone))
    return False

#: Deepest plain-data nesting that crosses the membrane.
MAX_DEPTH: Final = 100

#: Protocol hooks a host class may expose besides public names.
EXPOSABLE_DUNDERS: Final[frozenset[str]] = frozenset(
    {"__call__", "__getitem__", "__len__", "__iter__", "__contains__", "__str__"}
)


class NotPlain(Exception):
    """Raised inside the copy when a value is not plain data."""


def _all_scalars(items: Iterable[Any]) -> bool:
    # set(map(type, ...)) runs in C: one pass, no Python frame per item.
    return set(map(type, items)) <= SCALARS


def copy_plain(value: Any, depth: int = 0, memo: dict[tuple[int, int], Any] | None = None) -> Any:
    """A deep copy of plain data, or NotPlain.

    ``memo`` maps (id, depth) of each container copied to its copy: a part
    shared at one depth is copied once (and stays shared), so data that
    shares its parts (``a = [a, a]`` sixty times) costs its size, not its
    number of paths."""
    kind = type(value)
    if kind in SCALARS:
        return value
    if kind in HOLDERS:
        if holder_ok(value):
            return value
        raise NotPlain(kind.__name__)
    if depth >= MAX_DEPTH:
        raise NotPlain("nested too deeply")
    if memo is None:
        memo = {}
    key = (id(value), depth)
    done = memo.get(key)
    if done is not None:
        return done
    copy: Any
    if kind is list:
        copy = list(value) if _all_scalars(value) else [copy_plain(item, depth + 1, memo) for item in value]
    elif kind is tuple:
        copy = value if _all_scalars(value) else tuple([copy_plain(item, depth + 1, memo) for item in value])
    elif kind is dict:
        if _all_scalars(value) and _all_scalars(value.values()):
            copy = dict(value)
        else:
            copy = {copy_plain(k, depth + 1, memo): copy_plain(v, depth + 1, memo) for k, v in value.items()}
    elif kind is set:
        copy = set(value) if _all_scalars(value) else {copy_plain(item, depth + 1, memo) for item in value}
    elif kind is frozenset:
        copy = value if _all_scalars(value) else frozenset([copy_plain(item, depth + 1, memo) for item in value])
    else:
        if _fraction is _Unloaded and fraction_class() is kind:
            return copy_plain(value, depth, memo)  # a Fraction: fractions was loaded since
        raise NotPlain(kind.__name__)
    memo[key] = copy
    return copy


def is_plain(value: Any, depth: int = 0) -> bool:
    """Whether ``value`` is plain data (exact types, deep); copies nothing.

    The guards' ``is_plain`` (C, or its pure twin) with this module's
    ``SCALARS`` and ``MAX_DEPTH``."""
    if impl.is_plain(value, SCALARS, MAX_DEPTH - depth):
        return True
    try:  # the slower check that also looks inside HOLDERS values
        copy_plain(value, depth)
    except (NotPlain, RecursionError):
        return False
    return True


# --- declarations -------------------------------------------------------------


class Checker:
    """What scripts may do with instances of one host class."""

    __slots__ = ("construct", "readable", "writable")

    def __init__(self, readable: Iterable[str] = (), writable: Iterable[str] = (),
                 construct: bool = False) -> None:
        readable = frozenset(readable)
        writable = frozenset(writable)
        for name in readable | writable:
            if type(name) is not str:
                raise TypeError("exposed names must be str")
            if names.is_private(name) and name not in EXPOSABLE_DUNDERS:
                raise ValueError(f"{name!r} cannot be exposed: underscore names are never exposed to scripts")
            if names.is_internal_attribute(name):
                raise ValueError(f"{name!r} cannot be exposed: it names interpreter internals")
        self.readable = readable
        self.writable = writable
        self.construct = construct

    def allows(self, name: str) -> bool:
        return name in self.readable


_OPAQUE: Final = Checker()
_CALLABLE: Final = Checker(readable=("__call__",))
_registry: dict[type, Checker] = {}
_registry_lock = _thread.allocate_lock()
_EXPOSED_MARK: Final = "_sc_exposed"


def expose(target: Any, *attrs: str, writable: Iterable[str] = (), construct: bool = False) -> Any:
    """Declare what scripts may read or call on a host class.

    ``expose(Account, "name", "balance")`` declares names;
    ``@expose`` on a method marks that method.  Everything undeclared is
    denied.  Returns ``target`` so both forms work as decorators.
    """
    if isinstance(target, type):
        marked = {
            attr for klass in target.__mro__ for attr, value in vars(klass).items()
            if getattr(value, _EXPOSED_MARK, False) is True
        }
        with _registry_lock:
            previous = _registry.get(target)
            readable = set(attrs) | marked | (previous.readable if previous else set())
            writes = set(writable) | (previous.writable if previous else set())
            _registry[target] = Checker(readable | writes, writes,
                                        construct or bool(previous and previous.construct))
        return target
    if callable(target) and not attrs:
        try:
            setattr(target, _EXPOSED_MARK, True)
        except (AttributeError, TypeError):
            raise TypeError("@expose marks functions defined in a class body") from None
        return target
    raise TypeError("expose() takes a class and attribute names, or decorates a method")


def checker_for(cls: type) -> Checker:
    """The declared checker of ``cls`` (nearest declared class in its MRO)."""
    for klass in cls.__mro__:
        found = _registry.get(klass)
        if found is not None:
            return found
    return _OPAQUE


class Grant:
    """One host object granted with its own declaration (overrides its class's)."""

    __slots__ = ("checker", "obj", "script_objects")

    def __init__(self, obj: Any, allow: Iterable[str] = (), writable: Iterable[str] = (),
                 *, call: bool = False, construct: bool = False,
                 script_objects: bool = False) -> None:
        readable = set(allow)
        if call:
            readable.add("__call__")
        self.obj = obj
        self.checker = Checker(readable | set(writable), writable, construct)
        #: Calls through this grant may receive the script's own objects (as
        #: ScriptObjectHandle); otherwise only plain data and host objects.
        self.script_objects = script_objects


# --- exceptions ---------------------------------------------------------------


def sanitize_exception(exc: BaseException) -> BaseException:
    """A copy of a host-raised exception that carries no host objects.

    The copy has the nearest builtin exception type, only plain scalar
    arguments (others replaced by their type name), no traceback and no
    ``obj``/``name`` attributes.
    """
    if isinstance(exc, SafeCompileError):
        return exc.with_traceback(None)
    kind: type[BaseException] = Exception
    for klass in type(exc).__mro__:
        if getattr(builtins, klass.__name__, None) is klass and issubclass(klass, Exception):
            kind = klass
            break
    args = [arg if type(arg) in SCALARS else f"<{type(arg).__name__}>" for arg in exc.args]
    try:
        clean = kind(*args)
    except Exception:
        clean = Exception(*args)
    clean.__cause__ = None
    clean.__context__ = None
    clean.__suppress_context__ = True
    return clean


# --- the proxy ----------------------------------------------------------------
# The Proxy type itself is native (``_native.Proxy``) or its pure twin
# (``_pure.Proxy``); both call back into this module through MEMBRANE for
# every value that crosses, so the crossing rules live in one place.


class _Membrane:
    """The callbacks a Proxy uses for values crossing the boundary."""

    __slots__ = ()

    def out(self, value: Any) -> Any:
        return wrap_out(value)

    def into(self, value: Any) -> Any:
        return wrap_in(value)

    def sanitize(self, exc: BaseException) -> BaseException:
        return sanitize_exception(exc)

    def denied(self, message: str) -> BaseException:
        return AccessDenied(message)


class _ScriptObjectsMembrane(_Membrane):
    """The callbacks of a proxy whose calls opted in to script objects."""

    __slots__ = ()

    def into(self, value: Any) -> Any:
        return wrap_in(value, script_objects=True)


MEMBRANE: Final = _Membrane()
SCRIPT_OBJECTS_MEMBRANE: Final = _ScriptObjectsMembrane()
Proxy: Final[type] = impl.Proxy
_TAKES_MARK: Final = "_sc_takes_script_objects"


def make_proxy(target: Any, checker: Checker, script_objects: bool = False) -> Any:
    membrane = SCRIPT_OBJECTS_MEMBRANE if script_objects else MEMBRANE
    return impl.make_proxy(target, checker, membrane)


def takes_script_objects(function: Any) -> Any:
    """Let a host function or method receive the script's own objects.

    Without this (or ``Grant(..., script_objects=True)``), a script that
    passes one of its objects to host code gets AccessDenied: host code
    comparing, hashing or formatting it would run the script's code.  With
    it, the object arrives as a ScriptObjectHandle: opaque, usable only
    while the run that made it is going on, its methods running as part of
    that run (its budgets, its guards).
    """
    try:
        setattr(function, _TAKES_MARK, True)
    except (AttributeError, TypeError):
        raise TypeError("@takes_script_objects marks Python functions and methods") from None
    return function


def _takes_script_objects(value: Any) -> bool:
    function = getattr(value, "__func__", value)  # a bound method: its function
    return getattr(function, _TAKES_MARK, False) is True


def unwrap(proxy: Any) -> Any:
    """The host object behind ``proxy`` (host side only; never given to scripts)."""
    return impl.unwrap(proxy)


def is_proxy(value: object) -> bool:
    return type(value) is Proxy


def type_name_of_target(proxy: Any) -> str:
    target = impl.unwrap(proxy)
    if isinstance(target, type):
        return f"class {target.__qualname__}"
    return type(target).__qualname__


# --- crossing -------------------------------------------------------------------


def admit(value: Any) -> Any:
    """A grant as the script will see it."""
    if isinstance(value, Grant):
        return make_proxy(value.obj, value.checker, value.script_objects)
    if is_proxy(value):
        return value
    try:
        return copy_plain(value)
    except NotPlain:
        pass
    if isinstance(value, ModuleType):
        raise TypeError(
            "modules cannot be granted to scripts; let the policy allow the import, "
            "or grant the functions you mean to share"
        )
    if isinstance(value, type):
        return make_proxy(value, checker_for(value))
    if callable(value) and _is_plain_function(value):
        return make_proxy(value, _CALLABLE, _takes_script_objects(value))
    return make_proxy(value, checker_for(type(value)))


def _is_plain_function(value: Any) -> bool:
    kind = type(value).__name__
    return kind in ("function", "builtin_function_or_method", "method", "functools.partial", "partial")


def wrap_out(value: Any) -> Any:
    """A value a host attribute or call produced, as the script will see it."""
    if is_proxy(value):
        return value
    if isinstance(value, ScriptObjectHandle):  # the script's own object, back
        return object.__getattribute__(value, "_sc_obj")
    try:
        return copy_plain(value)
    except NotPlain:
        pass
    if isinstance(value, ModuleType):
        return make_proxy(value, _OPAQUE)
    if callable(value) and _is_plain_function(value):
        # A bound method of an exposed attribute, or a function it returned.
        return make_proxy(value, _CALLABLE, _takes_script_objects(value))
    if isinstance(value, type):
        return make_proxy(value, checker_for(value))
    return make_proxy(value, checker_for(type(value)))


def wrap_in(value: Any, script_objects: bool = False) -> Any:
    """A value the script passes to host code: a proxy's target, or plain data
    (or, where the host opted in, a handle of the script's object)."""
    if is_proxy(value):
        return impl.unwrap(value)
    if isinstance(value, ScriptObjectHandle):
        return value
    if script_objects:
        return _into_with_handles(value, 0)
    try:
        return copy_plain(value)
    except NotPlain as exc:
        raise AccessDenied(
            f"cannot pass a {type(value).__name__} to host code: only plain data "
            f"(numbers, strings, lists, dicts, ...) and host objects cross ({exc})"
        ) from None


if TYPE_CHECKING:
    ExportHook = Callable[[Any], Any]
FROZEN: Final[Mapping[str, Any]] = MappingProxyType({})


# --- script objects in host hands -------------------------------------------------


def _into_with_handles(value: Any, depth: int, memo: dict[tuple[int, int], Any] | None = None) -> Any:
    """wrap_in for hosts that opted in: plain data copied, the script's
    objects (also inside lists, tuples and str-keyed dicts) as handles.
    ``memo`` as in copy_plain: shared parts are converted once."""
    if is_proxy(value):
        return impl.unwrap(value)
    if isinstance(value, ScriptObjectHandle):
        return value
    try:
        return copy_plain(value)
    except NotPlain:
        pass
    kind = type(value)
    if depth < MAX_DEPTH and kind in (list, tuple, dict):
        if memo is None:
            memo = {}
        key = (id(value), depth)
        if key in memo:
            return memo[key]
        converted: Any = None
        if kind is list:
            converted = [_into_with_handles(item, depth + 1, memo) for item in value]
        elif kind is tuple:
            converted = tuple(_into_with_handles(item, depth + 1, memo) for item in value)
        elif all(type(k) in SCALARS for k in value):
            converted = {k: _into_with_handles(item, depth + 1, memo) for k, item in value.items()}
        if converted is not None:
            memo[key] = converted
            return converted
    return ScriptObjectHandle(value)



def _running() -> Any:
    from .imports import CURRENT  # lazy: imports depends on this module

    return CURRENT.get(None)


class ScriptObjectHandle:
    """A script's object as host code that opted in receives it.

    Opaque: what host code can do is call it, read its public attributes,
    compare, hash, format and iterate it; each runs the script's code as part
    of the run that made the handle (inside that run only: afterwards every
    use is AccessDenied), with host values going in through the membrane
    (proxied) and values coming out as plain data or further handles.  The
    script's exceptions reach host code as ScriptError.
    """

    __slots__ = ("_sc_obj", "_sc_run")

    def __init__(self, obj: Any) -> None:
        object.__setattr__(self, "_sc_obj", obj)
        object.__setattr__(self, "_sc_run", _running())

    def _use(self, function: Callable[..., Any], *args: Any) -> Any:
        run = object.__getattribute__(self, "_sc_run")
        if run is None or _running() is not run:
            raise AccessDenied("a script object can only be used while the run that made it is going on")
        obj = object.__getattribute__(self, "_sc_obj")
        try:
            return function(obj, *args)
        except (SafeCompileError, StopIteration):
            raise
        except Exception as exc:
            from ..errors import ScriptError

            raise ScriptError(f"{type(exc).__name__} in the script's object", type(exc).__name__) from None

    def _out(self, value: Any) -> Any:
        return _into_with_handles(value, 0)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        inside = [wrap_out(arg) for arg in args]  # handles turn back into the objects
        inside_kw = {key: wrap_out(value) for key, value in kwargs.items()}
        return self._out(self._use(lambda obj: obj(*inside, **inside_kw)))

    def __getattr__(self, name: str) -> Any:
        if type(name) is not str or name[:1] == "_" or names.forbidden_attribute(name) is not None:
            raise AccessDenied(f"script objects do not offer {names.shown(str(name))} to host code")
        return self._out(self._use(getattr, name))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AccessDenied("script objects cannot be changed by host code")

    def __delattr__(self, name: str) -> None:
        raise AccessDenied("script objects cannot be changed by host code")

    def __repr__(self) -> str:
        return str.__str__(self._use(_text, repr))

    def __str__(self) -> str:
        return str.__str__(self._use(_text, str))

    def __format__(self, spec: str) -> str:
        return str.__str__(self._use(_text, lambda obj: format(obj, spec)))

    def __bool__(self) -> bool:
        return bool(self._use(lambda obj: bool(obj)))

    def __len__(self) -> int:
        return int(self._use(lambda obj: len(obj)))

    def __hash__(self) -> int:
        return int(self._use(lambda obj: hash(obj)))

    def __eq__(self, other: object) -> bool:
        inside = wrap_out(other)
        return bool(self._use(lambda obj: obj == inside))

    def __ne__(self, other: object) -> bool:
        inside = wrap_out(other)
        return bool(self._use(lambda obj: obj != inside))

    def __iter__(self) -> Any:
        iterator = self._use(iter)
        while True:
            try:
                item = self._use(next, iterator)
            except StopIteration:
                return
            yield self._out(item)


def _text(obj: Any, function: Callable[[Any], Any]) -> str:
    text = function(obj)
    if type(text) is not str:
        raise TypeError("__repr__/__str__/__format__ returned a non-string")
    return text
