"""runtime.py and guards/budget.py: budgets that end a run (and stay spent),
how a run ends, and what the host gets back (plain data and handles)."""

from __future__ import annotations

import sys
import textwrap

import pytest

from safecompile import (
    AccessDenied,
    LimitExceeded,
    Policy,
    SafeCompileError,
    ScriptError,
    compile_restricted,
    safe_exec,
)
from safecompile.runtime import ScriptObject


def limit_of(source: str, **limits) -> str:
    with pytest.raises(LimitExceeded) as caught:
        safe_exec(textwrap.dedent(source), limits=limits or None)
    return caught.value.limit


# --- each budget ends a run ----------------------------------------------------------


def test_an_endless_loop_runs_out_of_steps():
    assert limit_of("while True:\n    pass", steps=10_000) == "steps"


def test_the_default_step_budget_ends_an_endless_loop():
    assert limit_of("n = 0\nwhile True:\n    n += 1") in ("steps", "time")


def test_unbounded_recursion_runs_out_of_recursion():
    assert limit_of("def f(n):\n    return f(n + 1)\nf(0)") == "recursion"


def test_recursion_deeper_than_the_limit_is_refused_and_within_it_allowed():
    source = (
        "def depth(n):\n    return 0 if n == 0 else 1 + depth(n - 1)\nprint(depth(N))"
    )
    assert safe_exec(source.replace("N", "150")).output == "150\n"
    assert limit_of(source.replace("N", "150"), recursion=100) == "recursion"


_DEPTH_SOURCES = {
    "function": "def depth(n):\n    return 0 if n == 0 else 1 + depth(n - 1)\nr = depth(N)",
    "lambda": "depth = lambda n: 0 if n == 0 else 1 + depth(n - 1)\nr = depth(N)",
    "method": (
        "class A:\n    def depth(self, n):\n"
        "        return 0 if n == 0 else 1 + self.depth(n - 1)\nr = A().depth(N)"
    ),
}


def _deepest(script, limit: int) -> int:
    """The largest N for which the script's recursion stays within ``limit``."""
    for n in range(limit + 5):
        try:
            script.run({"N": n}, limits={"recursion": limit})
        except LimitExceeded as exc:
            tripped = exc.limit
            break
    else:
        raise AssertionError("the recursion limit never tripped")
    assert tripped == "recursion"
    return n - 1


def test_the_recursion_bound_is_the_same_for_every_kind_of_function_and_every_run():
    # The first runs of a script go through the interpreter's generic call
    # path, later runs through specialised calls (a METH_O call of the
    # function-entry guard takes one C recursion guard on both, which 3.11's
    # depth counter sees): the bound must not move with them.
    bounds = set()
    for source in _DEPTH_SOURCES.values():
        script = compile_restricted(source)
        bounds |= {_deepest(script, 30) for _ in range(4)}
        bounds.add(_deepest(compile_restricted(source), 30))
    assert len(bounds) == 1
    (bound,) = bounds
    assert 25 <= bound <= 30


def test_mutual_recursion_and_recursion_through_methods_are_bounded():
    assert (
        limit_of("""
class Node:
    def visit(self):
        return self.visit()
Node().visit()
""")
        == "recursion"
    )
    assert (
        limit_of("def a():\n    return b()\ndef b():\n    return a()\na()")
        == "recursion"
    )
    assert limit_of("f = lambda: f()\nf()") == "recursion"


def test_a_print_flood_runs_out_of_output_and_keeps_what_fit():
    with pytest.raises(LimitExceeded) as caught:
        safe_exec("while True:\n    print('x' * 99)", limits={"output": 1000})
    assert caught.value.limit == "output"
    assert caught.value.output == ("x" * 99 + "\n") * 10


@pytest.mark.parametrize(
    "source",
    [
        "x = 9 ** 9 ** 9",
        "x = 1 << 10 ** 10",
        "import math\nx = math.factorial(10 ** 8)",
        "x = pow(3, 10 ** 10)",
        "x = 2\nx **= 10 ** 9",
        "x = [2]\nx[0] <<= 10 ** 10",
        "import math\nx = math.comb(10 ** 8, 5 * 10 ** 7)",
        "import operator\nx = operator.pow(10, 10 ** 8)",
        "from fractions import Fraction\nx = Fraction(3, 2) ** 10 ** 8",
    ],
)
def test_huge_integer_results_are_refused_before_they_are_computed(source):
    assert limit_of(source) == "operand"


def test_operands_within_the_limit_compute_normally():
    assert (
        safe_exec(
            "import math\nprint(len(str(2 ** 10000)), 1 << 100, math.factorial(20))"
        ).output
        == "3011 1267650600228229401496703205376 2432902008176640000\n"
    )


def test_a_tiny_time_limit_ends_a_run():
    assert limit_of("while True:\n    pass", time=0.05, steps=None) == "time"


def test_memory_hungry_scripts_run_out_of_memory():
    limit = limit_of("x = bytearray(50 * 1024 * 1024)", memory=10 * 1024 * 1024)
    assert limit in ("memory", "operand")


# --- budgets stay spent ------------------------------------------------------------


STICKY = {
    "except BaseException": """
        while True:
            try:
                while True:
                    pass
            except BaseException:
                pass
    """,
    "bare except": """
        while True:
            try:
                while True:
                    pass
            except:
                pass
    """,
    "finally": """
        def spin():
            try:
                while True:
                    pass
            finally:
                while True:
                    pass
        spin()
    """,
    "recursion retry": """
        def deep(n):
            try:
                return deep(n + 1)
            except BaseException:
                return deep(n + 1)
        deep(0)
    """,
    "generator close": """
        def gen():
            try:
                yield 1
            finally:
                while True:
                    pass
        g = gen()
        next(g)
        try:
            while True:
                pass
        except BaseException:
            g.close()
    """,
    "exception handler in a loop": """
        count = 0
        while True:
            try:
                for i in range(10 ** 9):
                    pass
            except Exception:
                count += 1
    """,
}


@pytest.mark.parametrize("source", STICKY.values(), ids=STICKY.keys())
def test_a_spent_budget_cannot_be_swallowed_by_the_script(source):
    assert limit_of(source, steps=20_000, time=10) in ("steps", "recursion")


def test_a_swallowed_limit_does_not_let_the_script_print_afterwards():
    with pytest.raises(LimitExceeded) as caught:
        safe_exec(
            textwrap.dedent("""
            try:
                while True:
                    pass
            except BaseException:
                pass
            print("after")
        """),
            limits={"steps": 1000},
        )
    assert "after" not in caught.value.output


@pytest.mark.parametrize(
    "exception", ["SystemExit", "KeyboardInterrupt", "GeneratorExit", "BaseException"]
)
def test_base_exceptions_end_the_run_as_library_errors(exception):
    with pytest.raises(SafeCompileError):
        safe_exec(f"raise {exception}('bye')")


def test_a_script_catching_its_own_exceptions_goes_on():
    assert (
        safe_exec(
            "try:\n    1 / 0\nexcept ZeroDivisionError:\n    print('caught')"
        ).output
        == "caught\n"
    )


def test_each_run_gets_a_fresh_budget():
    script = compile_restricted("for i in range(900):\n    pass\nprint('done')")
    for _ in range(3):
        assert script.run(limits={"steps": 1000}).output == "done\n"


# --- what the host gets back ------------------------------------------------------------


def test_plain_data_comes_back_as_plain_data():
    namespace = safe_exec(
        textwrap.dedent("""
        import decimal, datetime
        number, text, items = 1, 'a', [1, (2, 'b'), {'k': {3}}]
        when = datetime.date(2024, 1, 2)
        money = decimal.Decimal('1.50')
        nothing = None
    """)
    ).namespace
    assert namespace["items"] == [1, (2, "b"), {"k": {3}}]
    assert type(namespace["items"]) is list
    assert (namespace["number"], namespace["text"], namespace["nothing"]) == (
        1,
        "a",
        None,
    )
    assert str(namespace["money"]) == "1.50"
    assert namespace["when"].year == 2024


def test_script_objects_come_back_as_handles():
    namespace = safe_exec(
        textwrap.dedent("""
        class Money:
            def __init__(self, cents):
                self.cents = cents
            def __repr__(self):
                return f'Money({self.cents})'
            def __str__(self):
                return f'{self.cents / 100:.2f}'
            def __eq__(self, other):
                return self.cents == other.cents
            def __hash__(self):
                return hash(self.cents)
            def __len__(self):
                return 1
            def __iter__(self):
                return iter([self.cents])
        def double(x):
            return [x * 2]
        price = Money(150)
        other = Money(150)
        both = [price, 3]
    """)
    ).namespace
    price = namespace["price"]
    assert type(price) is ScriptObject
    assert repr(price) == "Money(150)"
    assert str(price) == "1.50"
    assert f"{price}" == "1.50"
    assert price == namespace["other"]
    assert hash(price) == hash(namespace["other"])
    assert len(price) == 1
    assert list(price) == [150]
    assert price.cents == 150
    assert namespace["double"](21) == [42]
    assert type(namespace["both"][0]) is ScriptObject


def test_a_handles_repr_runs_under_a_fresh_budget_and_an_endless_one_is_stopped():
    script = compile_restricted(
        textwrap.dedent("""
        class Trap:
            def __repr__(self):
                while True:
                    pass
            def __str__(self):
                return str(self.spin())
            def spin(self):
                return self.spin()
        trap = Trap()
        def forever():
            while True:
                pass
    """)
    )
    namespace = script.run(limits={"steps": 10_000}).namespace
    with pytest.raises(LimitExceeded) as caught:
        repr(namespace["trap"])
    assert caught.value.limit == "steps"
    with pytest.raises(LimitExceeded) as caught:
        str(namespace["trap"])
    assert caught.value.limit == "recursion"
    with pytest.raises(LimitExceeded):
        namespace["forever"]()
    with pytest.raises(
        LimitExceeded
    ):  # and again: each call gets a fresh, finite budget
        namespace["forever"]()


def test_a_handle_call_passes_arguments_through_the_membrane():
    namespace = safe_exec(
        "def grow(items):\n    items.append(1)\n    return items"
    ).namespace
    host_list = [0]
    assert namespace["grow"](host_list) == [0, 1]
    assert host_list == [0]


def test_a_handle_hides_underscore_attributes_and_script_errors_stay_script_errors():
    namespace = safe_exec(
        textwrap.dedent("""
        class Box:
            def __init__(self):
                self._secret = 1
            def fail(self):
                raise ValueError('nope')
        box = Box()
    """)
    ).namespace
    with pytest.raises(AttributeError):
        namespace["box"]._secret  # noqa: B018
    with pytest.raises(ScriptError) as caught:
        namespace["box"].fail()
    assert caught.value.type_name == "ValueError"


def test_a_handle_refuses_comparison_with_host_objects():
    namespace = safe_exec(
        "class A:\n    def __eq__(self, other):\n        return True\na = A()"
    ).namespace
    assert namespace["a"] == 1
    with pytest.raises(AccessDenied):
        namespace["a"] == object()  # noqa: B015


def test_a_handle_of_a_spent_run_still_answers_under_its_own_budget():
    with pytest.raises(LimitExceeded):
        safe_exec("while True:\n    pass", limits={"steps": 100})
    script = compile_restricted("def f():\n    return 1")
    namespace = script.run(limits={"steps": 100}).namespace
    assert [namespace["f"]() for _ in range(300)] == [1] * 300


def test_no_script_code_runs_in_the_host_after_the_run(monkeypatch):
    import gc

    late: list[str] = []
    monkeypatch.setattr(
        "sys.unraisablehook",
        lambda report: late.append(type(report.exc_value).__name__),
    )
    result = safe_exec(
        textwrap.dedent("""
        def gen():
            try:
                yield 1
            finally:
                raise ValueError('ran after the run')
        g = gen()
        next(g)
    """)
    )
    del result
    gc.collect()
    assert late == []


def test_the_script_name_is_the_policys():
    assert (
        safe_exec(
            "class A:\n    pass\nprint(repr(A))", policy=Policy(script_name="report")
        ).output
        == "<class 'report.A'>\n"
    )


def test_generators_still_behave_like_python_generators():
    source = textwrap.dedent("""
        log = []
        def inner(n):
            try:
                for i in range(n):
                    yield i
            finally:
                log.append('inner closed')
        def outer():
            yield from inner(3)
            for x in inner(2):
                yield x * 10
        class Box:
            def __init__(self, items):
                self.items = items
            def each(self):
                for item in self.items:
                    yield item
        twice = lambda n: (yield n * 2)
        print(list(outer()), list(Box([1, 2]).each()), list(twice(4)))
        print('ok', Box.each is Box.each, log)
        g = inner(5)
        print(next(g), next(g))
    """)
    result = safe_exec(source)
    assert result.output == (
        "[0, 1, 2, 0, 10] [1, 2] [8]\n"
        "ok True ['inner closed', 'inner closed']\n0 1\n"
    )
    # the suspended `g` was closed when the run ended, inside the run
    assert result.namespace["log"] == ["inner closed", "inner closed", "inner closed"]


@pytest.mark.parametrize("loop", [
    "for i in range(n):\n        yield i",
    "i = 0\n    while i < n:\n        yield i\n        i += 1",
    "yield from [i for i in range(n)]",
    "for i in map(int, range(n)):\n        yield i",
])
def test_a_generator_s_loop_goes_on_across_handle_calls(loop):
    # Each next() from the host is a run of its own with a fresh budget; the
    # loop's ticking iterator, made in the first, must tick the current one.
    namespace = safe_exec(f"def numbers(n):\n    {loop}\n").namespace
    assert list(namespace["numbers"](4)) == [0, 1, 2, 3]


def test_a_generator_returned_to_the_host_is_iterable_and_closed_under_a_budget():
    import gc

    namespace = safe_exec(textwrap.dedent("""
        log = []
        def numbers(n):
            i = 0
            try:
                while i < n:
                    yield i
                    i += 1
            finally:
                log.append('closed')
                if i < n:  # closed early: loops until the budget stops it
                    while True:
                        pass
    """), limits={"steps": 10_000}).namespace
    assert list(namespace["numbers"](3)) == [0, 1, 2]
    late: list[str] = []
    previous = sys.unraisablehook
    sys.unraisablehook = lambda report: late.append(type(report.exc_value).__name__)
    try:
        generator = namespace["numbers"](5)
        assert next(iter(generator)) == 0
        del generator  # closed now, under a fresh budget: the endless loop is stopped
        gc.collect()
    finally:
        sys.unraisablehook = previous
    assert late == []
    assert len(namespace["log"]) == 2


def test_a_finally_block_that_runs_past_the_budget_at_the_end_fails_the_run():
    with pytest.raises(LimitExceeded):
        safe_exec(
            "def g():\n    try:\n        yield 1\n    finally:\n        while True:\n            pass\n"
            "it = g()\nnext(it)",
            limits={"steps": 1000},
        )


def test_a_handle_cannot_be_used_from_inside_its_own_run():
    holder: list = []

    def callback():
        return holder[0]()  # a handle of the run that is calling us

    namespace = safe_exec(
        "def outer():\n    return callback()\ndef inner():\n    return 1",
        {"callback": callback},
    ).namespace
    holder.append(namespace["inner"])
    with pytest.raises(AccessDenied, match="same run is running"):
        namespace["outer"]()
    # outside a run of its own, the same handle works, with a fresh budget
    assert namespace["inner"]() == 1
