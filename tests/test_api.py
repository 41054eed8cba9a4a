"""api.py: safe_exec, safe_eval, compile_restricted / Script.run / Formula,
the compile cache, errors as the host sees them, concurrent runs."""

from __future__ import annotations

import threading
import traceback
import warnings

import pytest

import safecompile
from safecompile import (
    AccessDenied,
    CompileRejected,
    Formula,
    ImportDenied,
    LimitExceeded,
    Limits,
    Policy,
    Result,
    SafeCompileError,
    Script,
    ScriptError,
    Usage,
    Violation,
    compile_restricted,
    expose,
    safe_eval,
    safe_exec,
)


def test_public_names_are_exported():
    for name in (
        "safe_exec",
        "safe_eval",
        "compile_restricted",
        "Policy",
        "Limits",
        "expose",
        "SafeCompileError",
        "CompileRejected",
        "AccessDenied",
        "LimitExceeded",
        "ScriptError",
    ):
        assert name in safecompile.__all__
        assert hasattr(safecompile, name)


def test_every_public_error_is_a_safecompile_error():
    for error in (
        CompileRejected,
        AccessDenied,
        ImportDenied,
        LimitExceeded,
        ScriptError,
    ):
        assert issubclass(error, SafeCompileError)


# --- safe_exec ------------------------------------------------------------------------


def test_safe_exec_returns_output_namespace_and_usage():
    result = safe_exec(
        "total = sum(range(5))\nprint('total', total)\ndef f():\n    return 1"
    )
    assert isinstance(result, Result)
    assert result.output == "total 10\n"
    assert result.namespace["total"] == 10
    assert callable(result.namespace["f"])
    assert isinstance(result.usage, Usage)
    assert result.usage.output == len("total 10\n")
    assert result.usage.steps > 0
    assert result.usage.seconds >= 0


def test_safe_exec_namespace_leaves_out_grants_and_dunders():
    result = safe_exec("seen = rate * 2", {"rate": 0.5})
    assert result.namespace == {"seen": 1.0}


def test_a_rebound_grant_is_part_of_the_namespace():
    assert safe_exec("rate = 3", {"rate": 0.5}).namespace == {"rate": 3}


def test_safe_exec_accepts_utf8_bytes():
    assert safe_exec("print('caf\u00e9')".encode()).output == "café\n"


# --- safe_eval and formulas ------------------------------------------------------------


def test_safe_eval_returns_the_value_of_the_expression():
    assert (
        safe_eval("price * qty * (1 + vat)", {"price": 10, "qty": 3, "vat": 0.5})
        == 45.0
    )
    assert safe_eval("max(values) - min(values)", {"values": [3, 9, 4]}) == 6
    assert safe_eval("[x * 2 for x in values if x]", {"values": [0, 1, 2]}) == [2, 4]


def test_safe_eval_refuses_statements():
    with pytest.raises(CompileRejected) as caught:
        safe_eval("x = 1")
    assert [v.code for v in caught.value.violations] == ["SC001"]


def test_a_compiled_formula_runs_with_different_inputs():
    formula = compile_restricted("a + b * 2", mode="eval")
    assert isinstance(formula, Formula)
    assert formula.inputs == {"a", "b"}
    assert formula.run({"a": 1, "b": 2}) == 5
    assert formula.run({"a": "x", "b": "y"}) == "xyy"
    run = formula.run
    assert [run({"a": i, "b": i}) for i in range(3)] == [0, 3, 6]


@pytest.mark.parametrize(
    "expression",
    [
        "9 ** 9 ** 9",
        "1 << 10 ** 10",
        "(lambda: pow(10, 10 ** 9))()",
        "[n for n in [pow(10, 10 ** 6 + 1)]]",
    ],
)
def test_formulas_keep_their_operand_guards(expression):
    with pytest.raises(LimitExceeded) as caught:
        safe_eval(expression)
    assert caught.value.limit == "operand"


def test_the_pow_builtin_keeps_its_operand_guard_on_the_formula_fast_path():
    with pytest.raises(LimitExceeded) as caught:
        safe_eval("pow(10, 10 ** 6 + 1)")
    assert caught.value.limit == "operand"


def test_formulas_report_script_errors_as_script_errors():
    with pytest.raises(ScriptError) as caught:
        safe_eval("a / b", {"a": 1, "b": 0})
    assert caught.value.type_name == "ZeroDivisionError"


def test_formula_inputs_cannot_shadow_emitted_names():
    formula = compile_restricted("a ** 2", mode="eval")
    with pytest.raises((AccessDenied, TypeError)):
        formula.run({"a": 2, "__sc_pow__": lambda a, b: 0})


FAST_PATH_LEAKS = {
    "str": ("str(v)", "SECRET"),
    "subscript": ("v['_token']", "TOKEN"),
    "dict": ("dict(v)", "TOKEN"),
    "iteration": ("sorted(v)", "_token"),
    "len": ("len(v)", 2),
}


class _Vault:
    """A host class that exposes nothing but ``label``."""

    def __init__(self) -> None:
        self.label = "vault"
        self._items = {"k": "v", "_token": "TOKEN"}

    def __str__(self) -> str:
        return "Vault(SECRET)"

    def __getitem__(self, key: str) -> str:
        return self._items[key]

    def __iter__(self):
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def keys(self):
        return self._items.keys()


expose(_Vault, "label")


def _assert_refused_or_clean(evaluate, secret):
    """The expression is refused, or its value holds nothing the class did not expose."""
    try:
        value = evaluate()
    except AccessDenied:
        return
    assert secret not in repr(value)
    assert value != secret


@pytest.mark.parametrize(
    ("expression", "secret"), FAST_PATH_LEAKS.values(), ids=FAST_PATH_LEAKS.keys()
)
def test_an_expression_the_slow_path_runs_reaches_no_undeclared_protocol_of_a_host_object(
    expression, secret
):
    slow = (
        f"[{expression} for _ in [1]][0]"  # a comprehension keeps it off the fast path
    )
    _assert_refused_or_clean(lambda: safe_eval(slow, {"v": _Vault()}), secret)


@pytest.mark.parametrize(
    ("expression", "secret"), FAST_PATH_LEAKS.values(), ids=FAST_PATH_LEAKS.keys()
)
def test_a_fast_path_formula_reaches_no_undeclared_protocol_of_a_host_object(
    expression, secret
):
    formula = compile_restricted(expression, mode="eval")
    _assert_refused_or_clean(lambda: formula.run({"v": _Vault()}), secret)
    _assert_refused_or_clean(lambda: safe_eval(expression, {"v": _Vault()}), secret)


# --- compile_restricted and Script -------------------------------------------------


def test_a_compiled_script_runs_many_times_with_different_grants():
    script = compile_restricted("print(greeting, name)", filename="hello.py")
    assert isinstance(script, Script)
    assert script.filename == "hello.py"
    assert script.mode == "exec"
    assert script.run({"greeting": "hi", "name": "a"}).output == "hi a\n"
    assert script.run({"greeting": "yo", "name": "b"}).output == "yo b\n"


def test_compile_restricted_refuses_unknown_modes_and_non_str_filenames():
    with pytest.raises(ValueError, match="mode"):
        compile_restricted("x", mode="single")
    with pytest.raises(TypeError):
        compile_restricted("x = 1", filename=b"name.py")


def test_advisory_findings_compile_and_are_listed_as_warnings():
    script = compile_restricted("try:\n    import os\nexcept ImportError:\n    pass")
    assert [v.code for v in script.warnings] == ["SC301"]
    assert script.run().output == ""


def test_run_time_limits_override_the_policys_per_call():
    script = compile_restricted("while True:\n    pass")
    with pytest.raises(LimitExceeded) as caught:
        script.run(limits={"steps": 1000})
    assert caught.value.limit == "steps"
    with pytest.raises(LimitExceeded):
        script.run(limits=Limits(steps=500, time=None))
    with pytest.raises(TypeError):
        script.run(limits={"stepz": 1})


def test_the_policys_limits_apply_to_every_run():
    policy = Policy().with_limits(steps=100)
    with pytest.raises(LimitExceeded):
        safe_exec("for i in range(1000):\n    pass", policy=policy)


# --- the compile cache ------------------------------------------------------------


def test_the_same_source_and_policy_return_the_same_compiled_code():
    first = compile_restricted("x = 41 + 1")
    second = compile_restricted("x = 41 + 1")
    assert first._compiled is second._compiled


def test_a_different_policy_or_filename_compiles_again():
    base = compile_restricted("x = 41 + 1")
    other_policy = compile_restricted(
        "x = 41 + 1", policy=Policy(modules=frozenset({"math"}))
    )
    other_name = compile_restricted("x = 41 + 1", filename="other.py")
    other_mode = compile_restricted("41 + 1", mode="eval")
    assert other_policy._compiled is not base._compiled
    assert other_name._compiled is not base._compiled
    assert other_mode._compiled is not base._compiled


def test_policies_differing_only_in_run_time_limits_share_compiled_code():
    base = compile_restricted("y = 1")
    faster = compile_restricted("y = 1", policy=Policy().with_limits(steps=10))
    assert faster._compiled is base._compiled


def test_a_cached_script_refused_once_is_refused_again():
    for _ in range(2):
        with pytest.raises(CompileRejected):
            compile_restricted("x = ().__class__")


# --- errors as the host sees them ----------------------------------------------------


def test_compile_rejected_reports_every_violation_at_once():
    source = "import os\nx = ().__class__\ny = __builtins__\nexec('1')\nclass A(metaclass=M):\n    pass\n"
    with pytest.raises(CompileRejected) as caught:
        safe_exec(source, filename="report.py")
    error = caught.value
    assert [(v.lineno, v.code) for v in error.violations] == [
        (2, "SC102"),
        (3, "SC101"),
        (4, "SC105"),
        (5, "SC202"),
    ]
    assert error.filename == "report.py"
    assert all(isinstance(v, Violation) and v.fix for v in error.violations)


def test_compile_rejected_message_lists_each_violation_with_its_position():
    with pytest.raises(CompileRejected) as caught:
        safe_exec("x = 1\ny = x.__class__\n", filename="report.py")
    assert str(caught.value) == (
        "source rejected (1 violation)\n"
        "report.py:2:5: SC102 attribute '__class__' is a dunder; scripts may not use dunder attributes"
    )


def test_violation_records_where_and_how_to_fix():
    with pytest.raises(CompileRejected) as caught:
        safe_exec("value = obj.__dict__")
    violation = caught.value.violations[0]
    assert (
        violation.lineno,
        violation.col,
        violation.end_lineno,
        violation.end_col,
    ) == (1, 9, 1, 21)
    assert str(violation).startswith("1:9: SC102 ")


def test_script_error_carries_type_name_output_and_a_cause_from_the_script():
    with pytest.raises(ScriptError) as caught:
        safe_exec("print('before')\nraise KeyError('missing')", filename="report.py")
    error = caught.value
    assert error.type_name == "KeyError"
    assert error.output == "before\n"
    assert type(error.__cause__) is KeyError
    assert str(error) == "KeyError: 'missing' (line 2)"


def test_script_error_traceback_shows_only_script_frames_with_the_script_filename():
    source = "def inner():\n    return {}['k']\n\ndef outer():\n    return inner()\n\nouter()\n"
    with pytest.raises(ScriptError) as caught:
        safe_exec(source, filename="report.py")
    frames = traceback.extract_tb(caught.value.__cause__.__traceback__)
    assert [(f.filename, f.lineno, f.name) for f in frames] == [
        ("report.py", 7, "<module>"),
        ("report.py", 5, "outer"),
        ("report.py", 2, "inner"),
    ]
    text = "".join(traceback.format_exception(caught.value.__cause__))
    assert "safecompile" not in text


def test_script_error_of_a_script_exception_class_names_its_type():
    with pytest.raises(ScriptError) as caught:
        safe_exec("class Oops(Exception):\n    pass\nraise Oops('bad')")
    assert caught.value.type_name == "Oops"
    assert "bad" in str(caught.value)


@pytest.mark.parametrize(
    "exception", ["SystemExit", "KeyboardInterrupt", "GeneratorExit"]
)
def test_base_exceptions_raised_by_a_script_never_escape_the_run(exception):
    with pytest.raises(SafeCompileError):
        safe_exec(f"raise {exception}()")


def test_access_denied_names_the_operation_and_type_but_no_value():
    with pytest.raises(AccessDenied) as caught:
        safe_exec("secret = 'hunter2'\nsecret._x")
    message = str(caught.value)
    assert "'_x'" in message
    assert "str" in message
    assert "hunter2" not in message


def test_limit_exceeded_names_the_limit_its_allowance_and_the_usage():
    with pytest.raises(LimitExceeded) as caught:
        safe_exec("while True:\n    pass", limits={"steps": 1000})
    error = caught.value
    assert (error.limit, error.allowed) == ("steps", 1000)
    assert error.used > 1000
    assert str(error).startswith("steps limit exceeded (limit 1000, used ")


# --- compile warnings do not touch the host ---------------------------------------------


def test_compiling_a_script_emits_no_warning_into_the_host():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compile_restricted("x = 1\nprint(x is 1)\n")
    assert caught == []


# --- concurrent runs ---------------------------------------------------------------


def test_a_compiled_script_runs_from_eight_threads_at_once_with_separate_outputs():
    script = compile_restricted(
        "import random\nrandom.seed(seed)\ntotal = 0\nfor i in range(3000):\n"
        "    total += step\nprint(name, total, random.randint(1, 10**9))"
    )
    expected = {
        i: script.run({"seed": i, "step": i, "name": f"t{i}"}).output for i in range(8)
    }
    barrier = threading.Barrier(8)
    outputs: dict[int, str] = {}
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            barrier.wait()
            outputs[i] = script.run({"seed": i, "step": i, "name": f"t{i}"}).output
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert outputs == expected
    assert all(outputs[i].startswith(f"t{i} {3000 * i} ") for i in range(8))


def test_a_limit_in_one_thread_does_not_stop_another():
    script = compile_restricted("n = 0\nwhile n < limit:\n    n += 1\nprint(n)")
    results: dict[str, object] = {}

    def worker(name: str, limit: int) -> None:
        try:
            results[name] = script.run({"limit": limit}, limits={"steps": 5000}).output
        except LimitExceeded as exc:
            results[name] = exc.limit

    threads = [
        threading.Thread(target=worker, args=("small", 100)),
        threading.Thread(target=worker, args=("huge", 10**9)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {"small": "100\n", "huge": "steps"}


def test_a_formula_with_decimal_inputs_leaves_the_hosts_decimal_context_alone():
    import decimal

    run = compile_restricted("a / b", mode="eval").run
    with decimal.localcontext() as host:
        host.prec = 5
        host.clear_flags()
        value = run({"a": decimal.Decimal(1), "b": decimal.Decimal(3)})
        assert host.flags[decimal.Inexact] == 0
        assert host.prec == 5
    # the run's own context: 28 digits, whatever the host's precision
    assert len(str(value)) == len("0.") + 28


def test_formula_inputs_leave_out_builtins_including_the_policys_own():
    assert compile_restricted("max(a, len(s)) + k", mode="eval").inputs == {"a", "s", "k"}
    policy = Policy(builtins={"tax": lambda amount: amount * 0.2})
    assert compile_restricted("tax(net) + net", mode="eval", policy=policy).inputs == {"net"}
    # a name is an input when no builtin of the run has it, even if it looks like one
    assert compile_restricted("tax(net)", mode="eval").inputs == {"tax", "net"}
