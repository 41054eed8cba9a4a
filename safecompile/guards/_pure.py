"""Pure-Python twin of the native guards (``_native``): same names, same behaviour.

Selected with ``SAFECOMPILE_PURE=1``; the twin test drives both with the same
operations and compares results and exceptions.
"""

from __future__ import annotations

import itertools
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from types import FrameType, FunctionType, MethodType, ModuleType

from ..names import INTERNAL_NAMES, INTERNAL_PREFIXES, shown

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: How many ticks pass between two reads of the clock.
CLOCK_EVERY = 256

#: Larger recursion limits are refused: no Python stack gets that deep, and
#: ``sys._getframe(base + limit)`` in ``enter`` needs a C int.
_MAX_RECURSION_LIMIT = 1_000_000_000


def _stack_depth() -> int:
    depth = 0
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        depth += 1
        frame = frame.f_back
    return depth


class Budget:
    """A step counter with a deadline and a recursion bound.

    ``steps_limit``/``recursion_limit`` below 0 mean unlimited; ``deadline``
    is a ``time.monotonic()`` instant (``inf`` for none).  ``limit_error`` is
    the exception class raised: ``limit_error(limit, allowed, used)``.
    Once spent, every ``tick``/``enter``/``raise_if_spent`` raises again.
    """

    __slots__ = (
        "_base",
        "_clock",
        "_deadline",
        "_denied",
        "_error",
        "_owner",
        "_recursion",
        "_spent",
        "_started",
        "_steps",
        "_steps_limit",
    )

    def __init__(self, steps_limit: int, deadline: float, recursion_limit: int,
                 limit_error: type[BaseException], owner_module: str = "",
                 denied: Callable[[str], BaseException] | None = None) -> None:
        # The same checks, in the same order and with the same messages, as
        # the C twin's constructor.
        if not isinstance(steps_limit, int):
            raise TypeError(
                f"steps_limit must be an int, not {type(steps_limit).__name__}"
            )
        if not isinstance(deadline, (int, float)):
            raise TypeError(f"deadline must be a float, not {type(deadline).__name__}")
        deadline = float(deadline)  # OverflowError for a huge int
        if not isinstance(recursion_limit, int):
            raise TypeError(
                f"recursion_limit must be an int, not {type(recursion_limit).__name__}"
            )
        if recursion_limit > _MAX_RECURSION_LIMIT:
            raise OverflowError(
                f"recursion_limit must be at most {_MAX_RECURSION_LIMIT}"
            )
        error: object = limit_error  # checked as any object, like the C twin does
        if not (isinstance(error, type) and issubclass(error, BaseException)):
            raise TypeError(
                f"limit_error must be an exception class, not {type(limit_error).__name__}"
            )
        # enter_method's owner and error maker (helper "native proxy")
        if type(owner_module) is not str:
            raise TypeError(f"owner_module must be a str, not {type(owner_module).__name__}")
        if denied is not None and not callable(denied):
            raise TypeError(f"denied must be callable or None, not {type(denied).__name__}")
        self._steps = 0
        self._steps_limit = steps_limit if steps_limit >= 0 else sys.maxsize
        self._deadline = deadline
        self._started = time.monotonic()
        self._recursion = recursion_limit
        self._base = _stack_depth()
        self._clock = CLOCK_EVERY
        self._spent: tuple[str, Any, Any] | None = None
        self._error = limit_error
        self._owner = owner_module
        self._denied = denied

    @property
    def steps(self) -> int:
        return self._steps

    @property
    def spent(self) -> tuple[str, Any, Any] | None:
        return self._spent

    def spend(self, limit: str, allowed: Any, used: Any) -> None:
        """Mark the budget spent (first reason wins) without raising."""
        if self._spent is None:
            self._spent = (limit, allowed, used)

    def raise_if_spent(self) -> None:
        if self._spent is not None:
            raise self._error(*self._spent)

    def tick(self) -> None:
        """Count one step; read the clock every CLOCK_EVERY steps."""
        if self._spent is not None:
            raise self._error(*self._spent)
        self._steps += 1
        if self._steps > self._steps_limit:
            self.spend("steps", self._steps_limit, self._steps)
            raise self._error(*self._spent)  # type: ignore[misc]
        self._clock -= 1
        if self._clock <= 0:
            self._clock = CLOCK_EVERY
            now = time.monotonic()
            if now > self._deadline:
                self.spend("time", round(self._deadline - self._started, 3),
                           round(now - self._started, 3))
                raise self._error(*self._spent)  # type: ignore[misc]

    def enter(self) -> None:
        """A function entry: one step and the recursion bound."""
        self._entered()

    def enter_site(self, site: None) -> None:
        """``enter()`` as the compiler emits it: ``enter_site(None)`` (the C
        twin's call is then one the interpreter specialises)."""
        if site is not None:
            raise TypeError("Budget.enter_site() takes None")
        self._entered()

    def _entered(self) -> None:
        """The body of enter, enter_site and enter_method, called by them:
        the frame being entered is two below this one (the C twin adds no
        frame, so depths count from the caller of enter*)."""
        self.tick()
        if self._recursion < 0:
            return
        try:
            sys._getframe(self._base + self._recursion + 1)
        except ValueError:
            return
        self.spend("recursion", self._recursion, self._recursion + 1)
        raise self._error(*self._spent)  # type: ignore[misc]

    def iterate(self, iterable: Iterable[Any]) -> Iterator[Any]:
        """An iterator over ``iterable`` that ticks once per item."""
        return _TickIter(self, iter(iterable))

    def renew(self, deadline: float) -> None:
        """Start again, in place: no steps, not spent, a new deadline (and
        the caller's depth as the base)."""
        if not isinstance(deadline, (int, float)):
            raise TypeError(f"must be real number, not {type(deadline).__name__}")
        deadline = float(deadline)
        if deadline != deadline:
            raise ValueError("deadline must not be nan")
        self._steps = 0
        self._clock = CLOCK_EVERY
        self._base = _stack_depth()
        self._deadline = deadline
        self._started = time.monotonic()
        self._spent = None

    def loop(self, site: None) -> Iterator[tuple[()]]:
        """A while loop's iterator (``for () in loop(None)``): ticks once
        per item and yields ``()`` for ever."""
        if site is not None:
            raise TypeError("Budget.loop() takes None")
        return _TickIter(self, itertools.repeat(()))

    # -- enter_method (helper "native proxy") --------------------------------

    def enter_method(self, obj: Any) -> None:
        """A method entry: ``enter()``, then ``obj`` (the method's first
        argument) must belong to the script (``owner_module``).

        Called from the method's frame, it counts the same depth as
        ``enter()`` called from there."""
        self._entered()
        if self._owns(obj):
            return
        message = (
            f"a method of a script class was called with an object of type "
            f"{_shown_type(obj)} as its first argument; scripts may only call "
            f"methods on their own objects (use @staticmethod for functions that "
            f"take other values)"
        )
        if self._denied is None:
            raise TypeError(message)
        raise self._denied(message)

    def _owns(self, obj: Any) -> bool:
        kind = type(obj)
        if kind is FunctionType:
            module = obj.__module__
        elif kind is MethodType:
            return False
        else:
            # issubclass of the real type: a __class__ attribute cannot claim
            # to be a type; the type's own namespace, not an inherited name.
            owner_type = obj if issubclass(kind, type) else kind
            module = _type_dict(owner_type).get("__module__")
        return type(module) is str and module == self._owner


#: ``type.__dict__`` of a class, whatever its metaclass says.
_type_dict = type.__dict__["__dict__"].__get__


def _shown_type(obj: Any) -> str:
    """The type name enter_method's message shows (``access.type_name``):
    "module" for modules (module views included), the target's type for a
    proxy, else the qualname of the object's type."""
    if isinstance(obj, ModuleType):
        return "module"
    if type(obj) is Proxy:
        return type_name_of_target(obj)
    return str(type(obj).__qualname__)


class _TickIter:
    __slots__ = ("_budget", "_it")

    def __init__(self, budget: Budget, it: Iterator[Any]) -> None:
        self._budget = budget
        self._it = it

    def __iter__(self) -> _TickIter:
        return self

    def __next__(self) -> Any:
        self._budget.tick()
        return next(self._it)

    def __length_hint__(self) -> int:
        return 0


# --- the proxy ----------------------------------------------------------------

_NEW_TOKEN = object()


def _target(proxy: Proxy) -> Any:
    return object.__getattribute__(proxy, "_sc_target")


def _checker(proxy: Proxy) -> Any:
    return object.__getattribute__(proxy, "_sc_checker")


def _membrane(proxy: Proxy) -> Any:
    return object.__getattribute__(proxy, "_sc_membrane")


def _is_private(name: str) -> bool:
    return name.startswith("_")


def _is_internal(name: str) -> bool:
    return name.startswith(INTERNAL_PREFIXES) or name in INTERNAL_NAMES


def _deny(op: str, proxy: Proxy, name: str = "", why: str = "not exposed to scripts") -> BaseException:
    what = f" {shown(name)}" if name else ""
    error: BaseException = _membrane(proxy).denied(
        f"cannot {op}{what} of {type_name_of_target(proxy)}: {why}")
    return error


def type_name_of_target(proxy: Proxy) -> str:
    target = _target(proxy)
    if isinstance(target, type):
        return f"class {target.__qualname__}"
    return type(target).__qualname__


class Proxy:
    """A host object as the script sees it; the target is not reachable.

    Whatever the target raises (an ``Exception``) reaches the script as
    ``raise membrane.sanitize(exc) from None``, raised after the ``except``
    block so that the host exception is nobody's ``__context__``; other
    ``BaseException`` types pass unchanged.  The C twin does the same.
    """

    __slots__ = ("_sc_checker", "_sc_membrane", "_sc_target")

    def __new__(cls, *args: Any, **kwargs: Any) -> Proxy:
        if len(args) != 4 or args[0] is not _NEW_TOKEN:
            raise TypeError("cannot create 'Proxy' instances")
        self = object.__new__(cls)
        object.__setattr__(self, "_sc_target", args[1])
        object.__setattr__(self, "_sc_checker", args[2])
        object.__setattr__(self, "_sc_membrane", args[3])
        return self

    def __init_subclass__(cls, **kwargs: Any) -> None:
        raise TypeError("type 'Proxy' is not an acceptable base type")

    def __getattribute__(self, name: str) -> Any:
        if type(name) is not str:
            raise _membrane(self).denied("attribute name must be a str")
        if name == "__class__":
            return Proxy
        if _is_private(name) or _is_internal(name):
            raise _deny("read attribute", self, name, "underscore attributes of host objects are not available")
        if name not in _checker(self).readable:
            raise _deny("read attribute", self, name)
        target = _target(self)
        membrane = _membrane(self)
        try:
            value = getattr(target, name)
        except Exception as exc:
            failure = exc
        else:
            return membrane.out(value)
        raise membrane.sanitize(failure) from None

    def __setattr__(self, name: str, value: Any) -> None:
        if type(name) is not str or _is_private(name) or name not in _checker(self).writable:
            raise _deny("set attribute", self, name if type(name) is str else "")
        membrane = _membrane(self)
        inside = membrane.into(value)
        try:
            setattr(_target(self), name, inside)
        except Exception as exc:
            failure = exc
        else:
            return
        raise membrane.sanitize(failure) from None

    def __delattr__(self, name: str) -> None:
        raise _deny("delete attribute", self, name if type(name) is str else "")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        target = _target(self)
        checker = _checker(self)
        allowed = checker.construct if isinstance(target, type) else "__call__" in checker.readable
        if not allowed:
            raise _deny("call", self)
        membrane = _membrane(self)
        call_args = [membrane.into(arg) for arg in args]
        call_kwargs = {key: membrane.into(value) for key, value in kwargs.items()}
        try:
            result = target(*call_args, **call_kwargs)
        except Exception as exc:
            failure = exc
        else:
            return membrane.out(result)
        raise membrane.sanitize(failure) from None

    def __getitem__(self, key: Any) -> Any:
        if "__getitem__" not in _checker(self).readable:
            raise _deny("subscript", self)
        membrane = _membrane(self)
        try:
            result = _target(self)[membrane.into(key)]
        except Exception as exc:
            failure = exc
        else:
            return membrane.out(result)
        raise membrane.sanitize(failure) from None

    def __setitem__(self, key: Any, value: Any) -> None:
        raise _deny("assign items", self)

    def __delitem__(self, key: Any) -> None:
        raise _deny("delete items", self)

    def __len__(self) -> int:
        if "__len__" not in _checker(self).readable:
            raise _deny("take len()", self)
        try:
            return len(_target(self))
        except Exception as exc:
            failure = exc
        raise _membrane(self).sanitize(failure) from None

    def __iter__(self) -> Any:
        if "__iter__" not in _checker(self).readable:
            raise _deny("iterate", self)
        membrane = _membrane(self)
        try:
            items = list(iter(_target(self)))
        except Exception as exc:
            failure = exc
        else:
            return iter([membrane.out(item) for item in items])
        raise membrane.sanitize(failure) from None

    def __contains__(self, item: Any) -> bool:
        if "__contains__" not in _checker(self).readable:
            raise _deny("test membership", self)
        membrane = _membrane(self)
        inside = membrane.into(item)
        try:
            return inside in _target(self)
        except Exception as exc:
            failure = exc
        raise membrane.sanitize(failure) from None

    def __bool__(self) -> bool:
        return True

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Proxy) and _target(self) is _target(other)

    def __ne__(self, other: object) -> bool:
        # Proxy.__eq__, not self.__eq__: that would be an attribute read
        return not Proxy.__eq__(self, other)

    def __hash__(self) -> int:
        return hash((Proxy, id(_target(self))))

    def __repr__(self) -> str:
        return f"<{type_name_of_target(self)} (host object)>"

    def __str__(self) -> str:
        if "__str__" not in _checker(self).readable:
            # Proxy.__repr__, not self.__repr__: that would be an attribute read
            return Proxy.__repr__(self)
        try:
            text = str(_target(self))
        except Exception as exc:
            failure = exc
        else:
            return str.__str__(text)
        raise _membrane(self).sanitize(failure) from None

    def __format__(self, spec: str) -> str:
        return format(Proxy.__str__(self), spec)

    def __reduce__(self) -> Any:
        raise _deny("pickle or copy", self)

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise _deny("pickle or copy", self)

    def __dir__(self) -> list[str]:
        return sorted(name for name in _checker(self).readable if not name.startswith("_"))


def make_proxy(target: Any, checker: Any, membrane: Any) -> Proxy:
    """A proxy of ``target``: ``checker`` has ``readable``/``writable``
    (sets of names) and ``construct``; ``membrane`` has ``out(value)``,
    ``into(value)``, ``sanitize(exc)`` and ``denied(message)``."""
    return Proxy(_NEW_TOKEN, target, checker, membrane)


def unwrap(proxy: Any) -> Any:
    """The target of ``proxy`` (host side only)."""
    if type(proxy) is not Proxy:
        raise TypeError("not a Proxy")
    return _target(proxy)


# --- plain data (helper "native proxy") ------------------------------------------


def is_plain(value: Any, scalars: frozenset[type], max_depth: int) -> bool:
    """Whether ``value`` is plain data: its exact type is in ``scalars``, or
    it is an exact list, tuple, dict, set or frozenset, nested less than
    ``max_depth`` deep, whose items (dict keys and values) are plain."""
    if type(scalars) is not frozenset:
        raise TypeError(f"scalars must be a frozenset, not {type(scalars).__name__}")
    if not isinstance(max_depth, int):
        raise TypeError(f"max_depth must be an int, not {type(max_depth).__name__}")
    return _is_plain(value, scalars, max_depth, 0, {})


def _is_plain(value: Any, scalars: frozenset[type], max_depth: int, depth: int,
              seen: dict[int, int]) -> bool:
    """``seen``: id of each container found plain -> the deepest depth it was
    found plain at (plain there means plain anywhere shallower), so shared
    parts are checked once, not once per path (the C twin's plain_check)."""
    kind = type(value)
    if kind in scalars:
        return True
    if depth >= max_depth:
        return False
    items: Iterable[Any]
    if kind is list or kind is tuple or kind is set or kind is frozenset:
        items = value
    elif kind is dict:
        items = value.values()
    else:
        return False
    known = seen.get(id(value))
    if known is not None and known >= depth:
        return True
    if kind is dict and not all(_is_plain(key, scalars, max_depth, depth + 1, seen) for key in value):
        return False
    # set(map(type, ...)) runs in C: the common flat container in one pass
    if not (set(map(type, items)) <= scalars
            or all(_is_plain(item, scalars, max_depth, depth + 1, seen) for item in items)):
        return False
    seen[id(value)] = depth
    return True


# --- the a * b guard's fast path ---------------------------------------------------


class Product:
    """``Product(limit_bits, slow)(a, b)``: ``a * b`` when both are exact
    ints whose bit lengths add up to at most ``limit_bits`` (< 0: no limit),
    or when either is an exact float and the other an exact int or float;
    ``slow(a, b)`` for everything else.  The twin of the C Product."""

    __slots__ = ("_limit_bits", "_slow")

    def __init__(self, limit_bits: int, slow: Callable[..., Any]) -> None:
        if not isinstance(limit_bits, int):
            raise TypeError(f"limit_bits must be an int, not {type(limit_bits).__name__}")
        if not callable(slow):
            raise TypeError(f"slow must be callable, not {type(slow).__name__}")
        self._limit_bits = limit_bits
        self._slow = slow

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if len(args) == 2 and not kwargs:
            left, right = args
            kinds = (type(left), type(right))
            if float in kinds:
                if kinds[0] in (int, float) and kinds[1] in (int, float):
                    return left * right
            elif kinds == (int, int) and (
                self._limit_bits < 0 or left.bit_length() + right.bit_length() <= self._limit_bits
            ):
                return left * right
        return self._slow(*args, **kwargs)
