"""guards/builtins.py: the per-run builtins: what is missing, what is
restricted (type, print, range and the iterating builtins), what still works."""

from __future__ import annotations

import builtins
import math
import textwrap
from fractions import Fraction

import pytest

from safecompile import (
    AccessDenied,
    LimitExceeded,
    Limits,
    Policy,
    ScriptError,
    safe_eval,
    safe_exec,
)
from safecompile.guards.access import guards_for
from safecompile.guards.budget import RunBudget
from safecompile.guards.builtins import (
    IMPLEMENTATION_IMPORTS,
    implementation_import,
    make_builtins,
)

NEVER_OFFERED = (
    "open",
    "exec",
    "eval",
    "compile",
    "globals",
    "locals",
    "vars",
    "input",
    "breakpoint",
    "help",
    "exit",
    "quit",
    "memoryview",
    "id",
    "copyright",
    "credits",
    "license",
    "__loader__",
    "__spec__",
    "aiter",
    "anext",
)

#: A policy that lets the static rule about code builtins through, so the
#: run-time builtins are what is tested.
UNCHECKED = Policy().ignoring(["SC105"])


def output(source: str, **kwargs) -> str:
    return safe_exec(textwrap.dedent(source), **kwargs).output


def one_run_builtins() -> dict:
    return make_builtins(RunBudget(Limits()), guards_for("script"), lambda *a: None, {})


@pytest.mark.parametrize("name", NEVER_OFFERED)
def test_builtins_of_a_run_do_not_offer(name):
    assert name not in one_run_builtins()


@pytest.mark.parametrize("name", NEVER_OFFERED[:14])
def test_a_script_reading_a_missing_builtin_gets_a_name_error(name):
    with pytest.raises(ScriptError) as caught:
        safe_exec(f"x = {name}", policy=UNCHECKED)
    assert caught.value.type_name == "NameError"


def test_every_run_gets_its_own_builtins():
    first, second = one_run_builtins(), one_run_builtins()
    assert first is not second
    assert first["print"] is not second["print"]
    assert first["len"] is builtins.len


def test_builtins_offer_the_everyday_names():
    table = one_run_builtins()
    for name in (
        "abs",
        "all",
        "any",
        "bool",
        "dict",
        "enumerate",
        "filter",
        "float",
        "int",
        "isinstance",
        "len",
        "list",
        "map",
        "max",
        "min",
        "print",
        "range",
        "repr",
        "reversed",
        "round",
        "set",
        "sorted",
        "str",
        "sum",
        "super",
        "tuple",
        "type",
        "zip",
        "ValueError",
        "KeyError",
        "ExceptionGroup",
        "StopIteration",
        "Exception",
    ):
        assert name in table, name


def test_extra_builtins_from_the_policy_are_offered_to_the_script():
    policy = Policy(builtins={"tax_rate": 0.2, "currencies": ["EUR", "USD"]})
    assert (
        output("print(tax_rate, currencies)", policy=policy) == "0.2 ['EUR', 'USD']\n"
    )


# --- type -----------------------------------------------------------------------


def test_type_with_one_argument_returns_the_type():
    assert (
        output("""
print(type(1), type('s') is str, type([]) == list)
class A:
    pass
print(type(A()) is A)
""")
        == "<class 'int'> True True\nTrue\n"
    )


@pytest.mark.parametrize(
    "call",
    [
        "type('X', (), {})",
        "type('X', (object,), {'f': 1})",
        "type()",
        "class A:\n    pass\ntype(A)",
        "type(int)",
        "type(type(1))",
        "import enum\nclass Color(enum.Enum):\n    RED = 1\ntype(Color)",
    ],
)
def test_type_refuses_three_arguments_and_never_hands_out_a_metaclass(call):
    with pytest.raises(AccessDenied):
        safe_exec(call)


def test_class_keywords_are_refused_at_run_time_too():
    policy = Policy().ignoring(["SC202"])
    with pytest.raises(AccessDenied):
        safe_exec("class A(metaclass=type):\n    pass", policy=policy)
    with pytest.raises(AccessDenied):
        safe_exec("class A(flag=True):\n    pass", policy=policy)


@pytest.mark.parametrize("base", ["len", "1", "'text'", "print"])
def test_classes_derive_from_classes_only(base):
    with pytest.raises(AccessDenied):
        safe_exec(f"class A({base}):\n    pass")


def test_classes_may_derive_from_builtin_and_stdlib_classes():
    assert (
        output("""
import collections
class Tags(list):
    pass
class Bag(collections.Counter):
    pass
class Oops(ValueError):
    pass
t = Tags([1])
t.append(2)
print(t, Bag('aab')['a'], isinstance(Oops(), ValueError))
""")
        == "[1, 2] 2 True\n"
    )


# --- print ------------------------------------------------------------------------


def test_print_output_is_captured_not_written_to_the_host(capsys):
    result = safe_exec(
        "print('hello', 42, sep=', ', end='!\\n')\nprint()\nprint('a', 'b', sep=None)"
    )
    assert result.output == "hello, 42!\n\na b\n"
    assert capsys.readouterr() == ("", "")


def test_print_to_a_file_is_refused():
    with pytest.raises(AccessDenied):
        safe_exec(
            "class W:\n    def write(self, s):\n        pass\nprint('x', file=W())"
        )


def test_print_calls_the_scripts_own_str():
    assert (
        output("""
class Money:
    def __str__(self):
        return '1.00 EUR'
print(Money(), [1, 'a'], {'k': None}, flush=True)
""")
        == "1.00 EUR [1, 'a'] {'k': None}\n"
    )


def test_print_refuses_non_string_separators():
    with pytest.raises(ScriptError) as caught:
        safe_exec("print(1, 2, sep=3)")
    assert caught.value.type_name == "TypeError"


# --- iterating builtins tick the step budget ---------------------------------------


@pytest.mark.parametrize(
    "loop",
    [
        "for i in range(10**9):\n    pass",
        "sum(range(10**9))",
        "list(map(abs, range(10**9)))",
        "list(filter(None, range(10**9)))",
        "list(zip(range(10**9), range(10**9)))",
        "list(enumerate(range(10**9)))",
        "list(reversed(range(10**9)))",
        "max(iter(range(10**9)))",
        "n = [0]\nlist(iter(lambda: n.append(1), 2))",
        "import itertools\nsum(itertools.repeat(1, 10**9))",
        "import itertools\nfor x in itertools.count():\n    pass",
        "sorted(iter(range(10**9)))",
        "[i for i in range(10**9)]",
    ],
)
def test_iterating_builtins_and_loops_are_bounded_by_the_step_budget(loop):
    with pytest.raises(LimitExceeded) as caught:
        safe_exec(loop, limits={"steps": 20_000})
    assert caught.value.limit == "steps"


def test_range_behaves_like_range():
    assert output("""
r = range(2, 20, 3)
print(list(r), len(r), r[1], r[-1], 5 in r, r.index(8), r.count(5), r[1:3])
print(isinstance(r, range), r == range(2, 20, 3), bool(range(0)), list(reversed(range(3))))
print(r.start, r.stop, r.step, repr(range(3)), hash(range(3)) == hash(range(3)))
""") == (
        "[2, 5, 8, 11, 14, 17] 6 5 17 True 2 1 range(5, 11, 3)\n"
        "True True False [2, 1, 0]\n2 20 3 range(0, 3) True\n"
    )


def test_range_attributes_are_read_only():
    with pytest.raises(AccessDenied):
        safe_exec("r = range(3)\nr.start = 5")


# --- the interpreter's own imports --------------------------------------------------


def test_c_code_can_import_what_it_needs_while_a_script_runs():
    assert (
        output("""
import datetime
print(datetime.date(2024, 3, 1).strftime('%Y/%m/%d'))
print(datetime.datetime.strptime('2024-03-01', '%Y-%m-%d').year)
""")
        == "2024/03/01\n2024\n"
    )


@pytest.mark.parametrize(
    "name", ["os", "sys", "subprocess", "builtins", "importlib", "os.path"]
)
def test_the_implementation_import_refuses_other_modules(name):
    with pytest.raises(ImportError):
        implementation_import(name)


def test_the_implementation_import_refuses_relative_imports():
    with pytest.raises(ImportError):
        implementation_import("time", None, None, (), 1)


def test_the_implementation_import_serves_only_its_own_list():
    assert {"time", "_strptime"} <= IMPLEMENTATION_IMPORTS
    assert implementation_import("time").__name__ == "time"


# --- operand guards for single C calls: quadratic integer functions, round() ------------


from operand_runs import limited as _limited  # noqa: E402  (tests/guards/operand_runs.py)
from operand_runs import namespace as _namespace  # noqa: E402


@pytest.mark.parametrize("source", [
    "import math\ng = math.gcd(3 ** 1600000, 7 ** 1100000)",
    "import math\ng = math.lcm(3 ** 1600000, 2)",
    "import math\nr = math.isqrt(int.from_bytes(b'\\xff' * 20000000, 'big'))",
    "from math import gcd\nclass I(int):\n    pass\ng = gcd(I(3 ** 1600000), 5)",
    "x = pow(2 ** 1600000 - 3, 3, 2 ** 1600000 + 1)",
])
def test_quadratic_integer_work_on_huge_numbers_is_refused(source: str) -> None:
    error = _limited(source)
    assert "quadratic" in str(error)


def test_quadratic_integer_functions_at_ordinary_sizes() -> None:
    ns = _namespace("""
        import math
        g = math.gcd(2 ** 1000 * 3, 6 ** 500)
        l = math.lcm(4, 6, 10)
        r = math.isqrt(10 ** 5000)
        m = pow(3, 65537, 2 ** 4096 - 1)
    """)
    assert ns["g"] == math.gcd(2 ** 1000 * 3, 6 ** 500)
    assert ns["l"] == 60
    assert ns["r"] == 10 ** 2500
    assert ns["m"] == pow(3, 65537, 2 ** 4096 - 1)


def test_quadratic_bound_follows_the_operand_limit() -> None:
    _limited("import math\ng = math.gcd(10 ** 300, 7)", operand=1000)
    assert _namespace("import math\ng = math.gcd(10 ** 300, 7)", operand=2000)["g"] == 1


# --- round ------------------------------------------------------------------------


@pytest.mark.parametrize("source", [
    "x = round(1, -100000000)",
    "from fractions import Fraction\nx = round(Fraction(1, 3), 100000000)",
    "import decimal\nx = round(decimal.Decimal(1), 100000000)",
])
def test_round_to_a_huge_power_of_ten_is_refused(source: str) -> None:
    _limited(source)


def test_round_at_ordinary_sizes_and_in_formulas() -> None:
    ns = _namespace("""
        from fractions import Fraction
        a = round(2.675, 2)
        b = round(1234567, -3)
        c = round(Fraction(22, 7), 5)
        d = round(7.5)
        e = round(1.5, 10 ** 9)
    """)
    assert ns == {**ns, "a": round(2.675, 2), "b": 1235000, "c": round(Fraction(22, 7), 5), "d": 8, "e": 1.5}
    assert safe_eval("round(x, 2)", {"x": 3.14159}) == 3.14
    with pytest.raises(LimitExceeded):
        safe_eval("round(x, -n)", {"x": 1, "n": 10 ** 8})
