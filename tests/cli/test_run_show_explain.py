"""``safecompile run``, ``show`` and ``explain`` end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from safecompile.rules import all_rules

ROOT = Path(__file__).resolve().parents[2]


def sc(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "SAFECOMPILE_PURE": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "safecompile", *args],
        cwd=cwd, input=stdin, capture_output=True, text=True, env=environ, timeout=120, check=False,
    )


def script(tmp_path: Path, text: str, name: str = "job.py") -> str:
    (tmp_path / name).write_text(text)
    return name


# --- run ---------------------------------------------------------------------------------


def test_run_prints_the_output_and_a_usage_line(tmp_path: Path) -> None:
    name = script(tmp_path, "total = 0\nfor i in range(10):\n    total += i\nprint(total)\n")
    result = sc("run", name, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "45\n"
    assert result.stderr.startswith("safecompile: ran job.py in ")
    assert " steps, peak memory " in result.stderr
    assert sc("run", name, "-q", cwd=tmp_path).stderr == ""


def test_run_with_grants_from_json(tmp_path: Path) -> None:
    name = script(tmp_path, "print(greeting, len(items), settings['currency'])\n")
    (tmp_path / "grants.json").write_text(json.dumps(
        {"greeting": "hello", "items": [1, 2, 3], "settings": {"currency": "EUR"}}
    ))
    result = sc("run", name, "--grants", "grants.json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hello 3 EUR\n"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[1, 2]", "expected a JSON object mapping grant names to values, not a JSON list"),
        ("{nope", "invalid JSON at line 1 column 2"),
        ('{"__builtins__": 1}', "grant names must be identifiers"),
    ],
)
def test_run_with_bad_grants_is_a_usage_error(tmp_path: Path, content: str, message: str) -> None:
    name = script(tmp_path, "print(1)\n")
    (tmp_path / "grants.json").write_text(content)
    result = sc("run", name, "--grants", "grants.json", cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_run_with_missing_grants_file(tmp_path: Path) -> None:
    name = script(tmp_path, "print(1)\n")
    result = sc("run", name, "--grants", "nothere.json", cwd=tmp_path)
    assert result.returncode == 2
    assert "--grants nothere.json: cannot read the file" in result.stderr


def test_run_of_a_missing_file_exits_2(tmp_path: Path) -> None:
    result = sc("run", "nothere.py", cwd=tmp_path)
    assert result.returncode == 2
    assert "nothere.py: cannot read the file" in result.stderr


def test_script_error_prints_a_traceback_of_the_scripts_own_lines(tmp_path: Path) -> None:
    name = script(tmp_path, (
        "class OrderError(Exception):\n"
        "    pass\n"
        "def check(order):\n"
        "    raise OrderError('order ' + str(order) + ' is empty')\n"
        "print('before')\n"
        "check(42)\n"
    ))
    result = sc("run", name, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == "before\n"
    # 3.13 adds caret lines under the failing expression; they are Python's own.
    lines = [line for line in result.stderr.splitlines(keepends=True) if line.strip(" ~^\n")]
    assert "".join(lines) == (
        "Traceback (most recent call last):\n"
        '  File "job.py", line 6, in <module>\n'
        "    check(42)\n"
        '  File "job.py", line 4, in check\n'
        "    raise OrderError('order ' + str(order) + ' is empty')\n"
        "OrderError: order 42 is empty\n"
    )
    assert "safecompile/" not in result.stderr  # no host frames, no host paths


def test_script_error_from_a_builtin_operation(tmp_path: Path) -> None:
    name = script(tmp_path, "values = {}\nprint(values['missing'])\n")
    result = sc("run", name, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("Traceback (most recent call last):\n")
    assert "    print(values['missing'])\n" in result.stderr
    assert result.stderr.endswith("KeyError: 'missing'\n")


def test_rejected_script_prints_the_violations(tmp_path: Path) -> None:
    name = script(tmp_path, "print(().__class__)\n")
    result = sc("run", name, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("job.py:1:7: SC102 attribute '__class__' is a dunder")
    assert "\n  fix: " in result.stderr
    assert result.stderr.endswith("job.py: rejected (1 violation); nothing ran\n")


def test_access_denied_prints_the_guards_message(tmp_path: Path) -> None:
    name = script(tmp_path, "print('start')\nname = '_' + '_class__'\nprint(getattr(1, name))\n")
    result = sc("run", name, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == "start\n"
    assert result.stderr.startswith("AccessDenied: cannot read attribute '__class__' of int")


def test_denied_import_at_run_time(tmp_path: Path) -> None:
    name = script(tmp_path, "import os\n")
    result = sc("run", name, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("ImportDenied: import of module 'os' is not allowed")


def test_limit_exceeded_names_the_limit_and_how_to_raise_it(tmp_path: Path) -> None:
    name = script(tmp_path, "print('working')\nwhile True:\n    pass\n")
    result = sc("run", name, "--limit", "steps=1000", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == "working\n"
    assert result.stderr.startswith("LimitExceeded: steps limit exceeded (limit 1000, used ")
    assert "--limit steps=VALUE" in result.stderr


def test_limit_option_is_repeatable_and_checked(tmp_path: Path) -> None:
    name = script(tmp_path, "def f(n):\n    return f(n + 1)\nf(0)\n")
    result = sc("run", name, "--limit", "steps=100000", "--limit", "recursion=20", cwd=tmp_path)
    assert result.returncode == 1
    assert "recursion limit exceeded (limit 20" in result.stderr
    bad = sc("run", name, "--limit", "stpes=5", cwd=tmp_path)
    assert bad.returncode == 2
    assert "unknown limit 'stpes' (did you mean 'steps'?)" in bad.stderr


def test_output_limit(tmp_path: Path) -> None:
    name = script(tmp_path, "for i in range(1000):\n    print('x' * 50)\n")
    result = sc("run", name, "--limit", "output=1KiB", cwd=tmp_path)
    assert result.returncode == 1
    assert "output limit exceeded" in result.stderr


def test_isolate_runs_the_script_in_a_worker_process(tmp_path: Path) -> None:
    name = script(tmp_path, "print(6 * 7)\n")
    result = sc("run", name, "--isolate", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "42\n"


def test_isolate_stops_a_runaway_script_with_a_time_limit(tmp_path: Path) -> None:
    name = script(tmp_path, "while True:\n    pass\n")
    result = sc("run", name, "--isolate", "--limit", "time=0.5", cwd=tmp_path)
    assert result.returncode == 1
    assert "time limit exceeded" in result.stderr


def test_run_reads_standard_input(tmp_path: Path) -> None:
    result = sc("run", "-", cwd=tmp_path, stdin="print(6 * 7)\n")
    assert result.returncode == 0
    assert result.stdout == "42\n"


def test_run_uses_the_discovered_configuration(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.safecompile.limits]\nsteps = 10\n")
    name = script(tmp_path, "for i in range(100):\n    pass\n")
    assert sc("run", name, cwd=tmp_path).returncode == 1
    assert sc("run", name, "--no-config", cwd=tmp_path).returncode == 0


# --- show --------------------------------------------------------------------------------


def test_show_prints_the_rewritten_source(tmp_path: Path) -> None:
    name = script(tmp_path, "import math\nfor i in range(3):\n    print(math.sqrt(i))\n")
    result = sc("show", name, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "__sc_import__('math')" in result.stdout
    assert "__sc_iter__(range(3))" in result.stdout
    compile(result.stdout, "shown", "exec")  # valid Python


def test_show_refuses_a_rejected_script(tmp_path: Path) -> None:
    name = script(tmp_path, "x = ().__class__\n")
    result = sc("show", name, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "job.py:1:5: SC102" in result.stderr


def test_show_reports_advisory_findings_and_still_shows(tmp_path: Path) -> None:
    name = script(tmp_path, "try:\n    import numpy\nexcept ImportError:\n    numpy = None\n")
    result = sc("show", name, cwd=tmp_path)
    assert result.returncode == 0
    assert "SC301" in result.stderr
    assert "numpy = __sc_import__('numpy')" in result.stdout


def test_show_eval_mode(tmp_path: Path) -> None:
    name = script(tmp_path, "a ** b\n", "formula.txt")
    result = sc("show", name, "--mode", "eval", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout == "__sc_pow__(a, b)\n"


# --- explain ----------------------------------------------------------------------------------


def test_explain_prints_code_name_message_and_docs(tmp_path: Path) -> None:
    result = sc("explain", "SC102", cwd=tmp_path)
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "SC102 dunder-attribute"
    assert "  message: attribute {attr!r} is a dunder; scripts may not use dunder attributes" in lines
    assert any(line.startswith("  fix:     use the object's public methods") for line in lines)
    assert "What: reading, writing or deleting an attribute" in result.stdout
    assert "Example: `print(().__class__.__mro__)`" in result.stdout


def test_explain_accepts_lower_case_codes_and_rule_names(tmp_path: Path) -> None:
    expected = sc("explain", "SC101", cwd=tmp_path).stdout
    assert sc("explain", "sc101", cwd=tmp_path).stdout == expected
    assert sc("explain", "dunder-name", cwd=tmp_path).stdout == expected


def test_explain_says_a_retired_rule_is_retired(tmp_path: Path) -> None:
    result = sc("explain", "SC203", cwd=tmp_path)
    assert result.stdout.startswith("SC203 star-except (retired: never reported; the code is not reused)")


def test_explain_marks_advisory_rules(tmp_path: Path) -> None:
    assert "level:   warning (advisory" in sc("explain", "SC301", cwd=tmp_path).stdout


def test_explain_unknown_code(tmp_path: Path) -> None:
    result = sc("explain", "SC999", cwd=tmp_path)
    assert result.returncode == 2
    assert "no rule 'SC999'" in result.stderr
    assert "did you mean" in sc("explain", "dunder-nam", cwd=tmp_path).stderr


def test_explain_needs_a_code_or_all(tmp_path: Path) -> None:
    assert sc("explain", cwd=tmp_path).returncode == 2
    assert sc("explain", "SC101", "--all", cwd=tmp_path).returncode == 2


def test_explain_all_lists_every_rule_including_retired(tmp_path: Path) -> None:
    result = sc("explain", "--all", cwd=tmp_path)
    assert result.returncode == 0
    headers = [line.split()[0] for line in result.stdout.splitlines() if line[:2] == "SC" and line[2:5].isdigit()]
    assert headers == [rule.code for rule in all_rules()]


def test_version(tmp_path: Path) -> None:
    import safecompile

    result = sc("--version", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.strip() == f"safecompile {safecompile.__version__}"
