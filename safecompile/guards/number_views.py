"""``decimal`` and ``fractions`` for scripts: sizes inside the operand budget.

libmpdec does its expensive work in single C calls that no tick and no
watchdog can interrupt, and their cost grows with the context's precision
and with the numbers' exponents and lengths, not with anything the step
counter sees.  Measured on this project's CI machine (CPython 3.11):

- ``ln``/``exp``/a fractional ``power`` at precision 5,000: 0.4-1.3 s; at
  10,000: 2.5-8.4 s; at 20,000: 10-36 s (about precision ** 2.3);
- ``int(Decimal("1e100000"))``: 0.3 s, quadratic in the exponent, so the
  default ``Emax`` of 999,999 allowed about 30 s;
- ``Decimal("1e-20000000").as_integer_ratio()``: 23 s;
  ``Decimal(3 ** 1600000)``: 10 s (int to Decimal is quadratic too).

So, while the run has an operand budget (``Limits.operand`` not None):

- a context's ``prec`` is at most ``MAX_PRECISION`` and its exponent range
  within ``MAX_EXPONENT`` (``Emax``/``Emin``), whether set by attribute, by
  ``Context(...)`` or by ``localcontext(...)``; the run's current context
  and its ``DefaultContext``/``BasicContext``/``ExtendedContext`` start
  inside these bounds;
- ``Decimal(value)``, exact and context-free, refuses a value whose
  adjusted exponent or number of digits is beyond ``MAX_EXPONENT``, and an
  int argument of more digits is refused before it is converted.

Arithmetic results obey the context (``Overflow`` past ``Emax``), so every
Decimal a script makes stays inside the bounds.  What is left, and only
isolation stops: a Decimal operation with an int operand of more than about
10^5 digits (the int is converted exactly first, quadratic in C).

``Fraction(...)`` (Python code in ``fractions``) computes ``10 ** exponent``
for a string such as ``"1e-100000000"`` (minutes of C) and a gcd, quadratic,
of its int arguments: the view refuses an exponent past the operand budget
and ints past a quarter of it (``RunBudget.check_quadratic``) first.

``Decimal``, ``Context`` and ``Fraction`` in the views are classes whose
``isinstance`` and ``issubclass`` answer for the real ones, so
``isinstance(x, Decimal)`` holds for every Decimal, made by the script or
not, and ``type()`` in scripts answers the view class for the real one
(``VIEW_OF``), so ``type(d)(...)`` is checked too.  Scripts cannot
subclass ``Decimal`` or ``Fraction``.
"""

from __future__ import annotations

import _thread
import decimal
import functools

from ..errors import AccessDenied
from .imports import CURRENT, current
from .membrane import fraction_class

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: Largest context precision scripts may use: a fractional power at this
#: precision costs about 0.8 s of one C call.
MAX_PRECISION = 4000
#: Largest exponent magnitude (``Emax``, ``-Emin``, a constructed Decimal's
#: adjusted exponent and its number of digits): ``int()`` of such a
#: Decimal costs about 0.3 s.
MAX_EXPONENT = 100_000

_BOUNDED_SETTINGS = frozenset({"prec", "Emax", "Emin"})


def _bounded() -> bool:
    """Whether the bounds apply: inside a run that has an operand budget.
    Outside a run (the host calling a view class it got from a namespace
    through a handle runs inside one) the classes behave as the real ones."""
    run = CURRENT.get(None)
    return run is not None and run.limits.operand is not None


def _exceed(what: str, allowed: int, used: int, why: str) -> BaseException:
    return current().budget.exceed(
        "operand", allowed, used,
        f"{what} is {used}, more than the {allowed} scripts may use: {why}",
    )


def check_setting(name: str, value: Any) -> None:
    """Refuse a context setting outside the bounds (``prec``, ``Emax``, ``Emin``)."""
    if name not in _BOUNDED_SETTINGS or not isinstance(value, int) or not _bounded():
        return  # the real Context rejects non-ints itself
    value = int.__index__(value)  # the C value: an int subclass cannot under-report
    if name == "prec" and value > MAX_PRECISION:
        raise _exceed("decimal precision", MAX_PRECISION, value,
                      "ln, exp and power cost grows with precision ** 2.3 in one C call")
    if name == "Emax" and value > MAX_EXPONENT:
        raise _exceed("decimal Emax", MAX_EXPONENT, value,
                      "int() of a Decimal costs time quadratic in its exponent")
    if name == "Emin" and value < -MAX_EXPONENT:
        raise _exceed("decimal -Emin", MAX_EXPONENT, -value,
                      "exact conversions cost time quadratic in the exponent")


def bounded_context(context: decimal.Context) -> decimal.Context:
    """``context`` with its precision and exponent range brought inside the bounds."""
    context.prec = min(context.prec, MAX_PRECISION)
    context.Emax = min(context.Emax, MAX_EXPONENT)
    context.Emin = max(context.Emin, -MAX_EXPONENT)
    return context


def _check_decimal(value: decimal.Decimal) -> decimal.Decimal:
    if not value.is_finite():
        return value
    adjusted = value.adjusted()
    if abs(adjusted) > MAX_EXPONENT:
        raise _exceed("the Decimal's exponent", MAX_EXPONENT, abs(adjusted),
                      "converting it to an int or a ratio costs time quadratic in its exponent")
    digits = adjusted - int(value.as_tuple().exponent) + 1
    if digits > MAX_EXPONENT:
        raise _exceed("the Decimal's number of digits", MAX_EXPONENT, digits,
                      "converting it to an int costs time quadratic in its length")
    return value


class _RealInstances(type):
    """Metaclass of the view's classes: isinstance/issubclass answer for the
    real class, and its public class attributes (``Decimal.from_float``,
    ``Fraction.from_decimal``) are the real class's."""

    _real: type

    def __getattr__(cls, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(cls._real, name)

    def __instancecheck__(cls, instance: Any) -> bool:
        return isinstance(instance, cls._real)

    def __subclasscheck__(cls, subclass: Any) -> bool:
        return isinstance(subclass, type) and issubclass(subclass, cls._real)


class Context(decimal.Context, metaclass=_RealInstances):
    """``decimal.Context`` with precision and exponent range inside the operand budget."""

    __slots__ = ()
    _real = decimal.Context

    def __init__(self, prec: Any = None, rounding: Any = None, Emin: Any = None, Emax: Any = None,
                 capitals: Any = None, clamp: Any = None, flags: Any = None, traps: Any = None) -> None:
        for name, value in (("prec", prec), ("Emax", Emax), ("Emin", Emin)):
            check_setting(name, value)
        super().__init__(prec, rounding, Emin, Emax, capitals, clamp, flags, traps)


class _DecimalType(_RealInstances):
    def __call__(cls, value: Any = "0", context: Any = None) -> decimal.Decimal:
        if _bounded():
            if isinstance(value, int):
                digits = int(int.bit_length(int.__index__(value)) * 0.30103) + 1
                if digits > MAX_EXPONENT:
                    raise _exceed("the int's number of digits", MAX_EXPONENT, digits,
                                  "converting it to a Decimal costs time quadratic in its length")
            elif isinstance(value, str) and len(value) > 2 * MAX_EXPONENT + 100:
                raise _exceed("the Decimal string's length", 2 * MAX_EXPONENT + 100, len(value),
                              "converting it to an int costs time quadratic in its length")
            return _check_decimal(decimal.Decimal(value, context))
        return decimal.Decimal(value, context)


class Decimal(metaclass=_DecimalType):
    """``decimal.Decimal``: ``Decimal(value)`` makes a real Decimal, refused
    when its exponent or length is beyond the operand budget's bounds."""

    __slots__ = ()
    _real = decimal.Decimal

    def __init_subclass__(cls, **kwargs: Any) -> None:
        raise AccessDenied("scripts may not subclass Decimal: use it as it is, or wrap a value in a class of your own")


def _exponent_of(text: str) -> int:
    """The magnitude of a Fraction string's exponent (``"1.5e-300"``: 300), 0 if none."""
    cut = max(text.rfind("e"), text.rfind("E"))
    if cut < 0:
        return 0
    digits = text[cut + 1:].strip().lstrip("+-").replace("_", "")
    if not digits.isdigit():
        return 0  # not a number: Fraction() says so itself
    return int(digits) if len(digits) <= 15 else 10 ** 15


_fraction_lock = _thread.allocate_lock()


def fraction_view() -> type:
    with _fraction_lock:
        return _fraction_view()


@functools.cache
def _fraction_view() -> type:
    """The view's ``Fraction`` class, made on first use (``fractions`` is not
    loaded with the library: see membrane.fraction_class).  The class is made once, before the run that
    imports fractions (the view is built then), or by ``type()`` on a
    Fraction, which exists only once the module is loaded."""
    import fractions

    class _FractionType(_RealInstances):
        def __call__(cls, numerator: Any = 0, denominator: Any = None) -> fractions.Fraction:
            if _bounded():
                run = current()
                if isinstance(numerator, str):
                    run.budget.check_bits(int(_exponent_of(numerator) / 0.30103), "the Fraction's power of ten")
                for number in (numerator, denominator):
                    if isinstance(number, int):
                        run.budget.check_quadratic(int.bit_length(int.__index__(number)), "Fraction()")
            if denominator is None:
                return fractions.Fraction(numerator)
            return fractions.Fraction(numerator, denominator)

    class Fraction(metaclass=_FractionType):
        """``fractions.Fraction``: ``Fraction(...)`` makes a real Fraction, refused
        when making it would compute a power of ten or a gcd past the operand
        budget."""

        __slots__ = ()
        _real = fractions.Fraction

        def __init_subclass__(cls, **kwargs: Any) -> None:
            raise AccessDenied("scripts may not subclass Fraction: use it as it is, or wrap a value in a class of your own")

    Fraction.__module__ = "fractions"
    Fraction.__qualname__ = "Fraction"
    VIEW_OF[fractions.Fraction] = Fraction
    return Fraction


def localcontext(ctx: Any = None, **kwargs: Any) -> Any:
    """``decimal.localcontext``, with settings inside the bounds."""
    for name, value in kwargs.items():
        check_setting(name, value)
    return decimal.localcontext(ctx, **kwargs)


for _value in (Context, Decimal, localcontext):
    _value.__module__ = "decimal"
del _value

#: What ``type()`` answers scripts for these real classes (and, once made,
#: fractions.Fraction: see fraction_view and view_of).
VIEW_OF: dict[type, type] = {decimal.Decimal: Decimal, decimal.Context: Context}


def view_of(kind: type) -> type | None:
    """The view class ``type()`` answers for the real class ``kind``, if any."""
    view = VIEW_OF.get(kind)
    if view is None and kind is fraction_class():
        view = fraction_view()
    return view


def __getattr__(name: str) -> Any:
    if name == "Fraction":
        return fraction_view()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def decimal_values() -> dict[str, Any]:
    return {"Context": Context, "Decimal": Decimal, "localcontext": localcontext}


def fractions_values() -> dict[str, Any]:
    return {"Fraction": fraction_view()}
