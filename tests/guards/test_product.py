"""Product: the ``a * b`` guard's fast path, C and pure twins alike."""

from __future__ import annotations

from fractions import Fraction
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safecompile.guards import _native, _pure


class Slow(Exception):
    pass


def slow(*args: Any, **kwargs: Any) -> Any:
    raise Slow(args, kwargs)


@pytest.fixture(params=[_native, _pure], ids=["native", "pure"])
def impl(request: pytest.FixtureRequest) -> ModuleType:
    module: ModuleType = request.param
    return module


def outcome(impl: ModuleType, limit: int, *args: Any, **kwargs: Any) -> Any:
    try:
        return ("value", impl.Product(limit, slow)(*args, **kwargs))
    except Slow as exc:
        return ("slow", exc.args)


@pytest.mark.parametrize(("args", "fast"), [
    ((3, 4), True), ((2.5, 4), True), ((4, 2.5), True), ((1.5, 2.0), True),
    ((2 ** 40, 2 ** 40), False),            # 82 bits > 64
    ((2 ** 31, 2 ** 31), True),             # 64 bits
    (("ab", 3), False), ((3, [1]), False), ((True, 3), False), ((2.5, "x"), False),
    ((Fraction(1, 2), 2), False), ((3,), False),
])
def test_the_fast_path_takes_exact_ints_within_the_limit_and_floats(
    impl: ModuleType, args: tuple[Any, ...], fast: bool
) -> None:
    kind, value = outcome(impl, 64, *args)
    assert kind == ("value" if fast else "slow")
    if fast:
        assert value == args[0] * args[1]
        assert type(value) is type(args[0] * args[1])


def test_keywords_and_a_negative_limit(impl: ModuleType) -> None:
    assert outcome(impl, 64, 2, b=3)[0] == "slow"
    assert outcome(impl, -1, 2 ** 100, 2 ** 100) == ("value", 2 ** 200)


def test_the_slow_callable_and_the_limit_are_checked(impl: ModuleType) -> None:
    with pytest.raises(TypeError):
        impl.Product(64, 3)
    with pytest.raises(TypeError):
        impl.Product("64", slow)


class IntChild(int):
    pass


SCALARS = st.one_of(st.integers(-(2 ** 80), 2 ** 80), st.floats(allow_nan=False), st.booleans(),
                    st.text(max_size=3), st.builds(IntChild, st.integers(-5, 5)),
                    st.fractions(max_denominator=5))


@given(left=SCALARS, right=SCALARS, limit=st.integers(-1, 200))
def test_the_twins_agree(left: Any, right: Any, limit: int) -> None:
    def run(module: ModuleType) -> Any:
        try:
            return outcome(module, limit, left, right)
        except Exception as exc:  # the outcome is what is compared
            return ("error", type(exc))

    # repr: 0 * inf is nan on both sides, and nan != nan
    assert repr(run(_native)) == repr(run(_pure))
