"""The decimal and fractions views (guards/number_views.py): precision,
exponents and lengths inside the operand budget, for work one C call does
and no tick can interrupt.  Each refusal comes before the work (so it is
quick), and the same feature at an ordinary size works as in plain Python."""

from __future__ import annotations

import decimal
from fractions import Fraction

import pytest
from operand_runs import limited, namespace  # tests/guards/operand_runs.py

from safecompile import AccessDenied, LimitExceeded, ScriptError, safe_exec
from safecompile.guards.number_views import MAX_EXPONENT, MAX_PRECISION

# --- decimal: precision ----------------------------------------------------------------


@pytest.mark.parametrize("source", [
    "import decimal\ndecimal.getcontext().prec = 200000\nx = decimal.Decimal(2).ln()",
    "import decimal\nsetattr(decimal.getcontext(), 'prec', 10 ** 7)",
    "import decimal\nc = decimal.Context(prec=100000)",
    "import decimal\nc = decimal.Context(100000)",
    "import decimal\nwith decimal.localcontext(prec=100000):\n    pass",
    "import decimal\nclass P(int):\n    pass\ndecimal.getcontext().prec = P(10 ** 6)",
    "import decimal\nc = decimal.getcontext().copy()\nc.prec = 50000",
    "from decimal import ExtendedContext\nExtendedContext.prec = 50000",
])
def test_precision_past_the_cap_is_refused(source: str) -> None:
    error = limited(source)
    assert "decimal precision" in str(error)
    assert f"{MAX_PRECISION}" in str(error)


def test_precision_up_to_the_cap_works() -> None:
    ns = namespace(f"""
        import decimal
        decimal.getcontext().prec = {MAX_PRECISION}
        x = decimal.Decimal(2).sqrt()
        with decimal.localcontext(prec=50) as ctx:
            y = +decimal.Decimal(1) / 7
        c = decimal.Context(prec=100)
        z = c.divide(decimal.Decimal(1), decimal.Decimal(3))
    """)
    assert ns["x"] == decimal.Context(prec=MAX_PRECISION).sqrt(decimal.Decimal(2))
    assert ns["y"] == decimal.Context(prec=50).divide(decimal.Decimal(1), decimal.Decimal(7))
    assert str(ns["z"]) == "0." + "3" * 100


def test_without_an_operand_budget_precision_is_the_host_s_business() -> None:
    ns = safe_exec("import decimal\ndecimal.getcontext().prec = 20000\np = decimal.getcontext().prec",
                   limits={"operand": None}).namespace
    assert ns["p"] == 20000


# --- decimal: exponents and lengths -----------------------------------------------------


@pytest.mark.parametrize("source", [
    "import decimal\nn = int(decimal.Decimal('7' * 10000000))",
    "import decimal\nr = decimal.Decimal('1e-20000000').as_integer_ratio()",
    "import decimal\nn = int(decimal.Decimal('1e999999'))",
    "import decimal\nd = decimal.Decimal(3 ** 1600000)",
    "import decimal\nd = decimal.Decimal((0, (1,), 999999))",
    "import decimal\ndecimal.getcontext().Emax = 999999",
    "import decimal\ndecimal.getcontext().Emin = -999999",
    "import decimal\nc = decimal.Context(Emax=10 ** 9)",
])
def test_huge_exponents_and_lengths_are_refused(source: str) -> None:
    limited(source)


def test_arithmetic_overflows_at_the_bounded_emax() -> None:
    with pytest.raises(ScriptError, match="Overflow"):
        safe_exec("import decimal\nx = decimal.Decimal('1e99999') * decimal.Decimal('1e99999')")


def test_ordinary_decimals_work_as_in_python() -> None:
    ns = namespace(f"""
        from decimal import Decimal, getcontext, ROUND_HALF_UP
        a = Decimal("12.345").quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        b = Decimal.from_float(0.1)
        c = Decimal(10) ** 50
        d = int(Decimal("1e{MAX_EXPONENT - 1}")) == 10 ** {MAX_EXPONENT - 1}
        e = isinstance(a, Decimal) and isinstance(Decimal(1) + 1, Decimal)
        f = Decimal((0, (1, 2, 3), -2))
        g = getcontext().Emax
        h = Decimal(2 ** 1000)
        i = Decimal.quantize(Decimal("1.005"), Decimal("0.01"))
    """)
    with decimal.localcontext(decimal.Context()):  # the host's own context keeps its flags
        check_ordinary(ns)


def check_ordinary(ns: dict[str, object]) -> None:
    assert ns["a"] == decimal.Decimal("12.35")
    assert ns["b"] == decimal.Decimal.from_float(0.1)
    assert ns["c"] == decimal.Decimal(10) ** 50
    assert ns["d"] is True
    assert ns["e"] is True
    assert ns["f"] == decimal.Decimal("1.23")
    assert ns["g"] == MAX_EXPONENT
    assert ns["h"] == decimal.Decimal(2 ** 1000)
    assert ns["i"] == decimal.Decimal("1.00")


def test_decimal_cannot_be_subclassed_by_scripts() -> None:
    with pytest.raises(AccessDenied, match="subclass Decimal"):
        safe_exec("from decimal import Decimal\nclass D(Decimal):\n    pass")


def test_the_host_decimal_contexts_are_untouched() -> None:
    def state() -> list[tuple[int, int, int]]:
        return [(c.prec, c.Emax, c.Emin) for c in (decimal.getcontext(), decimal.DefaultContext,
                                                   decimal.BasicContext, decimal.ExtendedContext)]

    before = state()
    with pytest.raises(LimitExceeded):
        safe_exec("import decimal\ndecimal.getcontext().Emax = 10 ** 9")
    safe_exec("import decimal\ndecimal.getcontext().prec = 100\ndecimal.DefaultContext.prec = 7")
    assert state() == before


# --- fractions ------------------------------------------------------------------------


@pytest.mark.parametrize("source", [
    "from fractions import Fraction\nx = Fraction('1e-100000000')",
    "from fractions import Fraction\nx = Fraction('1E+' + '9' * 4000)",
    "from fractions import Fraction\nx = Fraction(' 1.5e-1_000_000_0 ')",
    "from fractions import Fraction\nx = Fraction(3 ** 1600000, 7)",
    "from fractions import Fraction\nx = Fraction(7, 3 ** 1600000)",
    "from fractions import Fraction\nF = type(Fraction(1, 3))\nx = F('1e-100000000')",
    "import decimal\nD = type(decimal.Decimal(1))\nx = D('7' * 10000000)",
    "import decimal\nC = type(decimal.getcontext())\nc = C(prec=100000)",
])
def test_fractions_and_types_of_views_are_checked(source: str) -> None:
    limited(source)


def test_ordinary_fractions_work_as_in_python() -> None:
    ns = namespace("""
        from fractions import Fraction
        x = Fraction('1.5e3') + Fraction(1, 3) + Fraction(2.5) + Fraction('3/7') + Fraction(' -2 ')
        y = isinstance(x, Fraction) and type(x) is Fraction
        w = Fraction.from_float(0.5)
        v = Fraction(10 ** 1000, 3 ** 500).limit_denominator(100)
    """)
    assert ns["x"] == Fraction("1.5e3") + Fraction(1, 3) + Fraction(2.5) + Fraction("3/7") - 2
    assert ns["y"] is True
    assert ns["w"] == Fraction(1, 2)
    assert ns["v"] == Fraction(10 ** 1000, 3 ** 500).limit_denominator(100)


def test_fraction_cannot_be_subclassed_by_scripts() -> None:
    with pytest.raises(AccessDenied, match="subclass Fraction"):
        safe_exec("from fractions import Fraction\nclass F(Fraction):\n    pass")


def test_outside_a_run_the_view_classes_behave_as_the_real_ones() -> None:
    # The host may hold a view class (a namespace's Decimal); outside a run
    # there is no script and no operand budget to apply.
    from safecompile.guards.number_views import Decimal as ViewDecimal
    from safecompile.guards.number_views import Fraction as ViewFraction

    assert ViewDecimal("1e999999999") == decimal.Decimal("1e999999999")
    assert ViewFraction("3/4") == Fraction(3, 4)
    assert isinstance(decimal.Decimal(1), ViewDecimal)
    assert issubclass(Fraction, ViewFraction)
