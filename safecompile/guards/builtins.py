"""The builtins of one run: a minimal allowlist, fresh for every run.

Never offered: ``open``, ``exec``, ``eval``, ``compile``, ``globals``,
``locals``, ``vars``, ``input``, ``breakpoint``, ``help``, ``exit``,
``quit``, ``memoryview``, ``id`` and the site helpers.  ``getattr`` and
friends are the attribute guard; ``type`` takes one argument and never hands
out a metaclass; ``print`` writes to the run's capped output; ``range``,
``iter``, ``map``, ``filter``, ``zip``, ``enumerate``, ``reversed`` and
``sum`` tick the step budget per item.  The dict is built per run, and no
script can name it (``__builtins__`` is a dunder), so it is read-only to the
script.
"""

from __future__ import annotations

import builtins as _builtins
import collections.abc
import importlib
import math
import sys
from collections.abc import Callable, Iterable, Iterator

from ..errors import AccessDenied
from ..names import shown
from . import impl
from .access import AttributeGuards, type_name
from .budget import RunBudget
from .membrane import NO_FRACTION, fraction_class
from .number_views import view_of

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_PLAIN_BUILTINS = ["abs", "all", "any", "ascii", "bin", "bool", "bytearray", "bytes", "callable", "chr", "classmethod", "complex", "dict", "divmod", "float", "format", "frozenset", "hash", "hex", "int", "isinstance", "issubclass", "len", "list", "max", "min", "next", "object", "oct", "ord", "property", "repr", "round", "set", "slice", "sorted", "staticmethod", "str", "super", "tuple", "NotImplemented", "Ellipsis"]


def _exception_names() -> list[str]:
    return sorted(
        name for name, value in vars(_builtins).items()
        if isinstance(value, type) and issubclass(value, BaseException)
        and not name.startswith("_")
    )


EXCEPTION_NAMES = _exception_names()

#: Modules CPython's C code imports through the frame's ``__import__`` while
#: a script runs (``date.strftime`` imports ``time``, ``strptime`` imports
#: ``_strptime``).  They are imported for the C caller only: scripts cannot
#: name ``__import__``, and their own imports are rewritten to the guard.
IMPLEMENTATION_IMPORTS = frozenset(
    {"time", "_strptime", "locale", "calendar", "encodings", "unicodedata", "_datetime"}
)


def implementation_import(name: str, globals: Any = None, locals: Any = None,
                          fromlist: Any = (), level: int = 0) -> Any:
    """``__import__`` for the interpreter's own imports during a run."""
    if type(name) is not str or level != 0 or name.split(".")[0] not in IMPLEMENTATION_IMPORTS:
        raise ImportError(f"import of {shown(name)} is not allowed in scripts")
    module = importlib.import_module(name)
    if fromlist or "." not in name:
        return module
    return importlib.import_module(name.split(".")[0])


def _safe_type(*args: Any) -> type:
    """type(obj): one argument only, and never a metaclass."""
    if len(args) != 1:
        raise AccessDenied("type() takes exactly one argument in scripts; classes are made with 'class'")
    kind = type(args[0])
    if issubclass(kind, type):
        raise AccessDenied(
            f"type() of a class is not available to scripts (the class is a {kind.__name__})"
        )
    # Decimal, Context, Fraction: the view class, whose constructor checks sizes
    return view_of(kind) or kind


class SafeRange:
    """``range`` whose iteration ticks the run's step budget per item."""

    __slots__ = ("_iterate", "_range")
    _range: range
    _iterate: Callable[[Iterable[int]], Iterator[int]]

    def __init__(self, *args: Any) -> None:
        object.__setattr__(self, "_range", _builtins.range(*args))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("'range' object attributes are read-only")

    @property
    def start(self) -> int:
        return self._range.start

    @property
    def stop(self) -> int:
        return self._range.stop

    @property
    def step(self) -> int:
        return self._range.step

    def __len__(self) -> int:
        return len(self._range)

    def __getitem__(self, index: Any) -> Any:
        value = self._range[index]
        if type(value) is _builtins.range:
            return _wrap_range(value, self._iterate)
        return value

    def __contains__(self, value: object) -> bool:
        return self.count(value) > 0

    def __iter__(self) -> Iterator[int]:
        iterate: Callable[[Iterable[int]], Iterator[int]] = self._iterate
        return iterate(self._range)

    def __reversed__(self) -> Iterator[int]:
        iterate: Callable[[Iterable[int]], Iterator[int]] = self._iterate
        return iterate(reversed(self._range))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SafeRange):
            return self._range == other._range
        if type(other) is _builtins.range:
            return self._range == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._range)

    def __repr__(self) -> str:
        return repr(self._range)

    def __bool__(self) -> bool:
        return bool(self._range)

    # range answers `in`, count() and index() in O(1) for ints only; for
    # anything else (0.5, a Fraction, a script object with __eq__) CPython
    # compares every item in C, 10**18 of them for range(10**18), without a
    # tick.  Integral floats are answered as their int; other values are
    # compared item by item through the ticking iterator.

    def _as_int(self, value: Any) -> Any:
        if type(value) is float and value.is_integer():
            return int(value)
        return value

    def index(self, value: Any) -> int:
        value = self._as_int(value)
        if type(value) in (int, bool):
            return self._range.index(value)
        for position, item in enumerate(self):
            if item == value:
                return position
        raise ValueError(f"{shown(repr(value)) if type(value) in (float, str) else 'value'} is not in range")

    def count(self, value: Any) -> int:
        value = self._as_int(value)
        if type(value) in (int, bool):
            return self._range.count(value)
        return sum(1 for item in self if item == value)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        raise TypeError("type 'range' is not an acceptable base type")


SafeRange.__name__ = SafeRange.__qualname__ = "range"
SafeRange.__module__ = "builtins"
# random.sample, statistics and others accept Sequences, as they accept range.
collections.abc.Sequence.register(SafeRange)


def _wrap_range(real: range, iterate: Callable[[Iterable[int]], Iterator[int]]) -> SafeRange:
    obj = object.__new__(SafeRange)
    object.__setattr__(obj, "_range", real)
    object.__setattr__(obj, "_iterate", iterate)
    return obj


class RangeBuiltin:
    """The ``range`` of one run: makes SafeRanges ticking that run's budget."""

    __slots__ = ("_iterate",)

    def __init__(self, iterate: Callable[[Iterable[int]], Iterator[int]]) -> None:
        self._iterate = iterate

    def __call__(self, *args: Any) -> SafeRange:
        return _wrap_range(_builtins.range(*args), self._iterate)

    def __instancecheck__(self, obj: object) -> bool:
        return isinstance(obj, SafeRange | _builtins.range)

    def __repr__(self) -> str:
        return "<class 'range'>"


#: int, and fractions.Fraction once that module is loaded: the numbers
#: whose products and powers the operand guards size.
_INT_ONLY: tuple[type, ...] = (int,)
_INTEGRAL = _INT_ONLY
_MODULES = sys.modules


def _note_fraction() -> None:
    """Put fractions.Fraction in _INTEGRAL if that module is loaded.

    SAFETY: see membrane.fraction_class: before the module is in
    sys.modules no Fraction exists.  Every check below that must see a
    Fraction first calls this while _INTEGRAL is _INT_ONLY and the module is
    loaded, so the tuple it reads holds the class whenever one can exist."""
    global _INTEGRAL
    kind = fraction_class()
    if kind is not NO_FRACTION:
        _INTEGRAL = (int, kind)


def _bits(value: Any) -> int:
    """The size of an int or Fraction (from C-level fields: a subclass's own
    bit_length or numerator cannot under-report it)."""
    if isinstance(value, int):
        return int.bit_length(value)
    fraction = fraction_class()
    return int.bit_length(int(fraction.numerator.fget(value))) + int.bit_length(  # type: ignore[attr-defined]
        int(fraction.denominator.fget(value)))  # type: ignore[attr-defined]


def _modular_power_bits(exponent_bits: int, mod_bits: int) -> int:
    """The work of ``pow(b, e, m)`` as the size of the product that costs as
    much, for the operand budget: about two products of ``m``-sized numbers
    per bit of ``e``, each costing ``n ** 1.585`` (Karatsuba) in 64-bit
    words.  A 4096-bit RSA-style power is about 1.0M bits (300k digits);
    ``pow(3, 2 ** 30, 10 ** 400000 + 1)``, 28 s of C, about 15M bits."""
    words = max(mod_bits, 64) / 64
    work = 2 * max(exponent_bits, 1) * words ** 1.585
    return int(2 * 64 * (work / 4) ** (1 / 1.585))


def _operand_guards(budget: RunBudget) -> dict[str, Callable[..., Any]]:
    check_bits = budget.check_bits

    def int_power_bits(base: Any, exponent: Any) -> int | None:
        # Exact values read in C: an int subclass's own __int__, __abs__ or
        # bit_length cannot under-report; an integral Fraction exponent is
        # a whole power too.
        if _INTEGRAL is _INT_ONLY and "fractions" in _MODULES:
            _note_fraction()
        if not isinstance(exponent, int):
            if not isinstance(exponent, _INTEGRAL):
                return None
            fraction = fraction_class()
            if fraction.denominator.fget(exponent) != 1:  # type: ignore[attr-defined]
                return None
            exponent = fraction.numerator.fget(exponent)  # type: ignore[attr-defined]
            if not isinstance(exponent, int):
                return None
        power = int.__index__(exponent)
        if power <= 1:
            return None
        if isinstance(base, _INTEGRAL):
            size = _bits(base)
        else:
            return None
        if size <= 1:
            return None
        return size * power

    def guarded_pow(base: Any, exponent: Any, mod: Any = None) -> Any:
        """``base ** exponent`` and ``pow()``, refused before a huge result is computed."""
        if mod is None:
            bits = int_power_bits(base, exponent)
            if bits is not None:
                check_bits(bits, "the power")
            return _builtins.pow(base, exponent)
        if isinstance(exponent, int) and isinstance(mod, int):
            # each step reduces modulo mod: a division, quadratic in its size
            budget.check_quadratic(int.bit_length(int.__index__(mod)), "pow() with a modulus")
            check_bits(_modular_power_bits(int.bit_length(exponent), int.bit_length(mod)),
                       "the modular power's work")
        return _builtins.pow(base, exponent, mod)

    operand_limit = budget.limits.operand
    # bits of the largest result the budget allows (check_bits decides)
    limit_bits = None if operand_limit is None else int(operand_limit / 0.30103)

    def guarded_mul(left: Any, right: Any) -> Any:
        """``left * right``: a product of big integers (or fractions) is
        refused before it is computed; repeated squaring would otherwise
        spend minutes in one uninterruptible C call.  Sequence repetition
        is bounded by the memory budget."""
        if limit_bits is not None:
            if type(left) is int and type(right) is int:
                if left.bit_length() + right.bit_length() > limit_bits:
                    check_bits(left.bit_length() + right.bit_length(), "the product")
            else:
                if _INTEGRAL is _INT_ONLY and "fractions" in _MODULES:
                    _note_fraction()
                if isinstance(left, _INTEGRAL) and isinstance(right, _INTEGRAL):
                    # int.bit_length and Fraction's C-level fields: a subclass's
                    # own bit_length or numerator cannot under-report the size.
                    check_bits(_bits(left) + _bits(right), "the product")
        return left * right

    def guarded_lshift(value: Any, shift: Any) -> Any:
        """``value << shift``, refused before a huge result is computed."""
        if isinstance(value, int) and isinstance(shift, int) and value and shift > 0:
            check_bits(abs(value).bit_length() + shift, "the shift")
        return value << shift

    def guarded_prod(iterable: Any, /, *, start: Any = 1) -> Any:
        """``math.prod``: the product of ints/fractions refused before it is
        computed when their sizes add up past the operand budget."""
        items = list(budget.iterate(iterable))
        if limit_bits is not None:
            if _INTEGRAL is _INT_ONLY and "fractions" in _MODULES:
                _note_fraction()
            numbers = [item for item in [start, *items] if isinstance(item, _INTEGRAL)]
            if len(numbers) > 1:
                check_bits(sum(_bits(item) for item in numbers), "the product")
        return math.prod(items, start=start)

    def guarded_factorial(n: Any) -> int:
        if isinstance(n, int) and n > 1:
            digits = (math.lgamma(n + 1) / math.log(10))
            check_bits(int(digits / 0.30103), "factorial()")
        return math.factorial(n)

    def guarded_comb(n: Any, k: Any) -> int:
        if isinstance(n, int) and isinstance(k, int) and 0 <= k <= n:
            digits = (math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)) / math.log(10)
            check_bits(int(digits / 0.30103), "comb()")
        return math.comb(n, k)

    def guarded_perm(n: Any, k: Any = None) -> int:
        if isinstance(n, int) and n > 1:
            kk = n if k is None else k
            if isinstance(kk, int) and 0 <= kk <= n:
                digits = (math.lgamma(n + 1) - math.lgamma(n - kk + 1)) / math.log(10)
                check_bits(int(digits / 0.30103), "perm()")
        return math.perm(n, k)

    check_quadratic = budget.check_quadratic

    def quadratic(function: Callable[..., int], name: str) -> Callable[..., int]:
        def guarded(*numbers: Any) -> int:
            for number in numbers:
                if isinstance(number, int):
                    check_quadratic(int.bit_length(int.__index__(number)), f"{name}()")
            return function(*numbers)

        guarded.__name__ = guarded.__qualname__ = name
        guarded.__doc__ = function.__doc__
        return guarded

    def guarded_round(number: Any, ndigits: Any = None) -> Any:
        """round(number[, ndigits]): an ndigits past the operand budget is
        refused before ``10 ** ndigits`` is computed (int and Fraction
        rounding compute it exactly)."""
        if ndigits is None:
            return _builtins.round(number)
        if isinstance(ndigits, int) and not isinstance(number, float):
            check_bits(int(abs(int.__index__(ndigits)) / 0.30103), "round()'s power of ten")
        return _builtins.round(number, ndigits)

    return {
        "round": guarded_round,
        "gcd": quadratic(math.gcd, "gcd"),
        "lcm": quadratic(math.lcm, "lcm"),
        "isqrt": quadratic(math.isqrt, "isqrt"),
        "pow": guarded_pow,
        "mul": impl.Product(-1 if limit_bits is None else limit_bits, guarded_mul),
        "prod": guarded_prod,
        "lshift": guarded_lshift,
        "factorial": guarded_factorial,
        "comb": guarded_comb,
        "perm": guarded_perm,
    }


def make_builtins(
    budget: RunBudget,
    guards: AttributeGuards,
    build_class: Callable[..., Any],
    extra: dict[str, Any],
) -> dict[str, Any]:
    """The builtins dict of one run."""
    table: dict[str, Any] = {name: getattr(_builtins, name) for name in _PLAIN_BUILTINS}
    for name in EXCEPTION_NAMES:
        table[name] = getattr(_builtins, name)
    iterate = budget.iterate
    write = budget.write
    operand = _operand_guards(budget)

    def safe_print(*args: Any, sep: Any = " ", end: Any = "\n", file: Any = None,
                   flush: bool = False) -> None:
        """print() to the run's output."""
        if file is not None:
            raise AccessDenied("print(file=...) is not available to scripts; output goes to the run's output")
        if sep is None:
            sep = " "
        if end is None:
            end = "\n"
        if type(sep) is not str or type(end) is not str:
            raise TypeError("sep and end must be None or str")
        write(sep.join([str(arg) for arg in args]) + end)

    def safe_iter(*args: Any) -> Iterator[Any]:
        """iter(obj) or iter(callable, sentinel); the two-argument form ticks."""
        if len(args) == 2:
            return iterate(_builtins.iter(*args))
        return _builtins.iter(*args)

    def safe_map(function: Any, *iterables: Any) -> Iterator[Any]:
        return iterate(_builtins.map(function, *iterables))

    def safe_filter(function: Any, iterable: Any) -> Iterator[Any]:
        return iterate(_builtins.filter(function, iterable))

    def safe_zip(*iterables: Any, strict: bool = False) -> Iterator[Any]:
        return iterate(_builtins.zip(*iterables, strict=strict))

    def safe_enumerate(iterable: Any, start: int = 0) -> Iterator[Any]:
        return iterate(_builtins.enumerate(iterable, start))

    def safe_reversed(sequence: Any) -> Iterator[Any]:
        return iterate(_builtins.reversed(sequence))

    def safe_sum(iterable: Any, /, start: Any = 0) -> Any:
        return _builtins.sum(iterate(iterable), start)

    for function, name in (
        (safe_print, "print"), (safe_iter, "iter"), (safe_map, "map"),
        (safe_filter, "filter"), (safe_zip, "zip"), (safe_enumerate, "enumerate"),
        (safe_reversed, "reversed"), (safe_sum, "sum"),
    ):
        function.__name__ = function.__qualname__ = name
        table[name] = function

    table.update(
        range=RangeBuiltin(iterate),
        type=_safe_type,
        getattr=guards.getattr,
        hasattr=guards.hasattr,
        setattr=guards.setattr,
        delattr=guards.delattr,
        dir=guards.dir,
        pow=operand["pow"],
        round=operand["round"],
        __build_class__=build_class,
        __import__=implementation_import,
    )
    table.update(extra)
    return table


def operand_guards(budget: RunBudget) -> dict[str, Callable[..., Any]]:
    """The operand-size guards of one run (``**``, ``<<``, math functions)."""
    return _operand_guards(budget)


def describe(obj: object) -> str:
    return type_name(obj)
