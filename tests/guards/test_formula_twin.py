"""The formula fast path in C (``_memory.Formula``) and its pure twin (the
Python ``run`` of ``runtime.make_fast_formula``) give the same results and
the same errors for the same inputs; the C one holds no references it should
not and leaks nothing."""

from __future__ import annotations

import decimal
import gc
import sys
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from safecompile import LimitExceeded, compile_restricted
from safecompile.errors import AccessDenied, SafeCompileError
from safecompile.guards import IMPLEMENTATION
from safecompile.policy import Policy
from safecompile.runtime import _memory, make_fast_formula

pytestmark = pytest.mark.skipif(
    IMPLEMENTATION != "c" or _memory is None, reason="needs the C guards and the memory hook"
)

EXPRESSIONS = [
    "a * b + c / 2 if a > 0 else -c",
    "a ** b",
    "a << b",
    "max(a, b, c) - min(a, c)",
    "s * b",
    "round(a / b, 2) if b else None",
    "abs(a) + len(s)",
]


class Host:
    """A host object: never part of the fast path."""

    def __init__(self, value: int) -> None:
        self.value = value


def _pair(expression: str) -> tuple[Any, Any]:
    formula = compile_restricted(expression, mode="eval")
    native = formula.run
    assert type(native).__name__ == "Formula"
    return native, _pure_of(formula)


def _pure_of(formula: Any) -> Any:
    """The pure-Python run of the same compiled formula."""
    import safecompile.runtime as runtime

    saved = runtime.IMPLEMENTATION
    runtime.IMPLEMENTATION = "pure"  # type: ignore[misc]
    try:
        return make_fast_formula(formula._compiled, Policy(), formula._run)
    finally:
        runtime.IMPLEMENTATION = saved  # type: ignore[misc]


def _outcome(run: Any, values: Any) -> tuple[Any, ...]:
    try:
        value = run(values)
    except Exception as exc:  # the twins must raise the same, whatever it is
        return ("raised", type(exc).__name__, str(exc))
    if type(value) is int:  # may be too long to print: compare its size and low bits
        return ("ok", "int", value.bit_length(), value & 0xFFFF_FFFF)
    return ("ok", repr(value))


VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=False),
    st.text(max_size=5),
    st.sampled_from([10**7, 64, 2**20, -3]),
    st.builds(Host, st.integers()),
    st.lists(st.integers(), max_size=3),
    st.builds(decimal.Decimal, st.integers()),
)
MAPPINGS = st.fixed_dictionaries(
    {}, optional=dict.fromkeys(("a", "b", "c", "s", "__sc_pow__"), VALUES)
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(EXPRESSIONS), MAPPINGS)
@example("a << b", {"a": True, "b": 14285})  # an int too long for repr()
def test_the_c_formula_and_its_pure_twin_agree(expression, values):
    native, pure = _pair(expression)
    assert _outcome(native, values) == _outcome(pure, values)


def test_the_c_formula_takes_the_same_inputs_as_eval():
    native, _ = _pair("a * b + c / 2 if a > 0 else -c")
    row = {"a": 3, "b": 4.5, "c": 7}
    assert native(row) == eval("a * b + c / 2 if a > 0 else -c", {}, row)
    assert native({"a": -1, "b": 0, "c": 2}) == -2


def test_the_c_formula_sends_everything_unusual_to_its_twin():
    native, _ = _pair("a + 1")
    with pytest.raises(SafeCompileError, match="NameError"):
        native()
    with pytest.raises(SafeCompileError, match="NameError"):
        native(None)
    assert native({"a": 1}, limits={"steps": 100}) == 2  # keyword: the full path
    assert native(_Mapping({"a": 2})) == 3  # not a dict: the twin
    with pytest.raises(TypeError):
        native({"a": 1}, {"a": 2})
    with pytest.raises(AccessDenied):
        _pair("a ** 2")[0]({"a": 1, "__sc_pow__": 1})


class _Mapping:
    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def keys(self) -> Any:
        return self._data.keys()


def test_the_c_formula_enforces_the_memory_budget():
    native, _ = _pair("s * b")
    with pytest.raises(LimitExceeded) as caught:
        native({"s": "x", "b": 10**10})
    assert caught.value.limit == "memory"
    assert native({"s": "ab", "b": 2}) == "abab"


def test_the_c_formula_leaks_no_references_or_memory():
    native, _ = _pair("a * b if a > 0 else s")
    row = {"a": 3, "b": 4, "s": "x"}
    bad = {"a": 0, "b": 1, "s": None}
    failing = {"a": "x", "b": 2.5, "s": ""}
    for _ in range(2000):
        native(row)
        native(bad)
        with pytest.raises(SafeCompileError):
            native(failing)
    gc.collect()
    blocks = sys.getallocatedblocks()
    counts = [sys.getrefcount(x) for x in (row, bad, failing, native)]
    for _ in range(20000):
        native(row)
        native(bad)
        with pytest.raises(SafeCompileError):
            native(failing)
    gc.collect()
    assert [sys.getrefcount(x) for x in (row, bad, failing, native)] == counts
    assert sys.getallocatedblocks() - blocks < 200


def test_the_c_formula_type_refuses_bad_construction():
    code = compile("1", "<f>", "eval")
    good = (code, {}, ("a",), (), (int,), -1, print, print)
    assert type(_memory.Formula(*good)).__name__ == "Formula"
    for index, bad in ((0, "1"), (1, []), (2, ["a"]), (2, (1,)), (3, (b"x",)), (4, (1,)), (6, 1)):
        args = list(good)
        args[index] = bad
        with pytest.raises(TypeError):
            _memory.Formula(*args)
    with pytest.raises(ValueError, match="at most"):
        _memory.Formula(code, {}, (), (), (int,) * 17, -1, print, print)
