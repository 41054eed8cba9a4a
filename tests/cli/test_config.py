"""Configuration: ``[tool.safecompile]`` discovery, ``--policy``, and ``policy_from_toml``."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from safecompile import Limits, Policy
from safecompile.config import (
    ConfigError,
    Selection,
    find_pyproject,
    load_table,
    parse_limit,
    parse_limits_option,
    policy_from_toml,
)

ROOT = Path(__file__).resolve().parents[2]

BAD = "import os\nx = ().__class__\nexec('1')\n"


def sc(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "SAFECOMPILE_PURE": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "safecompile", *args],
        cwd=cwd, input=stdin, capture_output=True, text=True, env=environ, timeout=120, check=False,
    )


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def codes(output: str) -> set[str]:
    return {line.split()[1] for line in output.splitlines() if ": SC" in line}


# --- discovery, end to end ------------------------------------------------------------


def test_pyproject_in_the_checked_folder_applies(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", """
        [project]
        name = "demo"
        [tool.safecompile]
        ignore = ["SC3"]
    """)
    write(tmp_path / "scripts" / "a.py", BAD)
    result = sc("check", "scripts", cwd=tmp_path)
    assert codes(result.stdout) == {"SC102", "SC105"}


def test_nearest_pyproject_with_the_table_wins(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.safecompile]\nignore = ["SC1"]\n')
    write(tmp_path / "inner" / "pyproject.toml", '[tool.safecompile]\nselect = ["SC105"]\n')
    write(tmp_path / "inner" / "deep" / "a.py", BAD)
    write(tmp_path / "outer.py", BAD)
    result = sc("check", ".", cwd=tmp_path)
    assert "inner/deep/a.py:3:1: SC105" in result.stdout
    assert "inner/deep/a.py:1:1: SC301" not in result.stdout
    assert "outer.py:1:1: SC301" in result.stdout
    assert "outer.py:2:5: SC102" not in result.stdout


def test_pyproject_without_the_table_is_skipped(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.safecompile]\nignore = ["SC3"]\n')
    write(tmp_path / "app" / "pyproject.toml", '[project]\nname = "app"\n')
    write(tmp_path / "app" / "a.py", BAD)
    assert codes(sc("check", "app/a.py", cwd=tmp_path).stdout) == {"SC102", "SC105"}
    assert find_pyproject(tmp_path / "app" / "a.py") == tmp_path / "pyproject.toml"


def test_configuration_is_found_from_the_file_not_the_working_folder(tmp_path: Path) -> None:
    write(tmp_path / "proj" / "pyproject.toml", '[tool.safecompile]\nignore = ["SC1"]\n')
    write(tmp_path / "proj" / "a.py", BAD)
    (tmp_path / "elsewhere").mkdir()
    result = sc("check", str(tmp_path / "proj" / "a.py"), cwd=tmp_path / "elsewhere")
    assert codes(result.stdout) == {"SC301"}


def test_stdin_configuration_is_found_from_the_working_folder_or_stdin_filename(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.safecompile]\nignore = ["SC1"]\n')
    write(tmp_path / "sub" / "pyproject.toml", '[tool.safecompile]\nignore = ["SC3"]\n')
    assert codes(sc("check", "-", cwd=tmp_path, stdin=BAD).stdout) == {"SC301"}
    named = sc("check", "-", "--stdin-filename", "sub/x.py", cwd=tmp_path, stdin=BAD)
    assert codes(named.stdout) == {"SC102", "SC105"}


def test_configured_exclude_is_relative_to_the_pyproject(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.safecompile]\nexclude = ["generated", "legacy/*.py"]\n')
    write(tmp_path / "generated" / "a.py", BAD)
    write(tmp_path / "legacy" / "b.py", BAD)
    write(tmp_path / "src" / "ok.py", "print(1)\n")
    result = sc("check", ".", cwd=tmp_path)
    assert result.returncode == 0
    assert "(1 file checked)" in result.stdout
    # The same holds when checking from inside a subfolder.
    result = sc("check", ".", cwd=tmp_path / "legacy")
    assert "(0 files checked)" in result.stdout


def test_command_line_select_replaces_and_ignore_adds_to_configuration(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.safecompile]\nselect = ["SC1"]\nignore = ["SC105"]\n')
    write(tmp_path / "a.py", BAD)
    assert codes(sc("check", "a.py", cwd=tmp_path).stdout) == {"SC102"}
    assert codes(sc("check", "a.py", "--select", "SC3", cwd=tmp_path).stdout) == {"SC301"}
    assert codes(sc("check", "a.py", "--ignore", "SC102", cwd=tmp_path).stdout) == set()


def test_configured_modules_and_script_name_reach_the_policy(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", """
        [tool.safecompile]
        modules = ["math"]
        script-name = "report"
        [tool.safecompile.limits]
        steps = 50
    """)
    write(tmp_path / "a.py", "import math\nclass A:\n    pass\nprint(repr(A()).split()[0])\n"
                             "for i in range(100):\n    pass\n")
    result = sc("run", "a.py", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == "<report.A\n"
    assert "steps limit exceeded (limit 50" in result.stderr


def test_policy_file_replaces_discovery(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.safecompile]\nignore = ["SC3"]\n')
    write(tmp_path / "strict.toml", 'ignore = ["SC105"]\n')
    write(tmp_path / "a.py", BAD)
    assert codes(sc("check", "a.py", "--policy", "strict.toml", cwd=tmp_path).stdout) == {"SC102", "SC301"}


def test_policy_file_may_be_a_pyproject(tmp_path: Path) -> None:
    write(tmp_path / "conf" / "pyproject.toml", '[tool.safecompile]\nignore = ["SC1"]\n')
    write(tmp_path / "a.py", BAD)
    result = sc("check", "a.py", "--policy", "conf/pyproject.toml", cwd=tmp_path)
    assert codes(result.stdout) == {"SC301"}


def test_no_config_ignores_pyproject(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.safecompile]\nignore = ["SC"]\n')
    write(tmp_path / "a.py", BAD)
    assert sc("check", "a.py", cwd=tmp_path).returncode == 0
    assert codes(sc("check", "a.py", "--no-config", cwd=tmp_path).stdout) == {"SC102", "SC105", "SC301"}


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('modlues = ["math"]', "unknown key 'modlues' (did you mean 'modules'?)"),
        ('script_name = "x"', "(did you mean 'script-name'?)"),
        ('builtins = ["open"]', "'builtins' cannot be set from TOML: builtins are host values"),
        ('sources = {}', "'sources' cannot be set from TOML"),
        ('modules = ["os"]', "module 'os' cannot be allowed: safecompile has no reviewed view of it"),
        ('modules = "math"', "'modules' must be a list of strings"),
        ('ignore = ["E501"]', "'E501' is not a rule code or the prefix of one"),
        ("limits = { stpes = 5 }", "unknown limit 'stpes' (did you mean 'steps'?)"),
        ('limits = { steps = "many" }', "limit 'steps' must be a whole number or 'unlimited'"),
        ("limits = { steps = -1 }", "limit 'steps' must not be negative"),
        ("limits = { time = 0 }", "limit 'time' must be a positive number of seconds"),
        ("limits = { steps = true }", "limit 'steps' must be a number or 'unlimited', not bool"),
        ('script-name = "not a name"', "'script-name' must be a Python identifier"),
    ],
)
def test_invalid_configuration_is_an_error_that_says_where_and_why(tmp_path: Path, table: str, message: str) -> None:
    write(tmp_path / "pyproject.toml", f"[tool.safecompile]\n{table}\n")
    write(tmp_path / "a.py", "print(1)\n")
    result = sc("check", "a.py", cwd=tmp_path)
    assert result.returncode == 2
    assert str(tmp_path / "pyproject.toml") in result.stderr
    assert message in result.stderr
    assert result.stdout == ""


def test_invalid_toml_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.safecompile\n")
    write(tmp_path / "a.py", "print(1)\n")
    result = sc("check", "a.py", cwd=tmp_path)
    assert result.returncode == 2
    assert "invalid TOML" in result.stderr


def test_missing_policy_file_is_an_error(tmp_path: Path) -> None:
    result = sc("check", ".", "--policy", "nothere.toml", cwd=tmp_path)
    assert result.returncode == 2
    assert "nothere.toml: cannot read the configuration" in result.stderr


# --- the loader, in process ---------------------------------------------------------------


def test_policy_from_toml_reads_a_mapping() -> None:
    policy = policy_from_toml({
        "modules": ["json"], "ignore": ["sc3"], "script-name": "report",
        "limits": {"steps": 1000, "time": 2, "memory": "64 MiB", "output": "unlimited"},
        "select": ["SC1"], "exclude": ["x"],
    })
    assert isinstance(policy, Policy)
    assert "json" in policy.modules
    assert policy.ignore == frozenset({"SC3"})
    assert policy.script_name == "report"
    assert policy.limits == Limits().merged(steps=1000, time=2.0, memory=64 * 1024 * 1024, output=None)


def test_policy_from_toml_reads_files(tmp_path: Path) -> None:
    standalone = write(tmp_path / "policy.toml", "[limits]\nrecursion = 50\n")
    assert policy_from_toml(standalone).limits.recursion == 50
    assert policy_from_toml(str(standalone)).limits.recursion == 50
    pyproject = write(tmp_path / "pyproject.toml", "[tool.safecompile.limits]\nrecursion = 60\n")
    assert policy_from_toml(pyproject).limits.recursion == 60


def test_policy_from_toml_applies_onto_a_base_policy() -> None:
    base = Policy(script_name="base").with_limits(steps=7)
    policy = policy_from_toml({"limits": {"time": 1}}, base=base)
    assert (policy.script_name, policy.limits.steps, policy.limits.time) == ("base", 7, 1.0)


def test_empty_configuration_is_the_default_policy() -> None:
    assert policy_from_toml({}) == Policy()


def test_a_whole_pyproject_mapping_is_refused_with_a_hint() -> None:
    with pytest.raises(ConfigError, match=r"pass the \[tool.safecompile\] table"):
        policy_from_toml({"tool": {"safecompile": {}}})


def test_pyproject_without_the_table_is_refused_when_named(tmp_path: Path) -> None:
    pyproject = write(tmp_path / "pyproject.toml", "[project]\nname = 'x'\n")
    with pytest.raises(ConfigError, match=r"no \[tool.safecompile\] table"):
        policy_from_toml(pyproject)


def test_config_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown key"):
        load_table({"nope": 1})


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("steps", "10_000", 10_000),
        ("steps", 5.0, 5),
        ("time", "2.5", 2.5),
        ("time", "3s", 3.0),
        ("memory", "64MiB", 64 * 1024**2),
        ("memory", "1 GB", 10**9),
        ("output", "512 kib", 512 * 1024),
        ("source", 100, 100),
        ("operand", "Unlimited", None),
        ("recursion", "none", None),
    ],
)
def test_limit_values(name: str, value: object, expected: object) -> None:
    assert parse_limit(name, value, "test") == expected


@pytest.mark.parametrize(
    ("name", "value"),
    [("steps", "5MiB"), ("memory", "5 parsecs"), ("time", float("inf")), ("steps", 1.5), ("time", "soon")],
)
def test_invalid_limit_values(name: str, value: object) -> None:
    with pytest.raises(ConfigError, match=f"limit '{name}'"):
        parse_limit(name, value, "test")


def test_limits_option_parses_name_value_pairs() -> None:
    assert parse_limits_option("steps=100, time=2,memory=1MiB") == {"steps": 100, "time": 2.0, "memory": 1024**2}
    with pytest.raises(ConfigError, match="expected NAME=VALUE"):
        parse_limits_option("steps")


def test_selection_applies_select_then_ignore() -> None:
    selection = Selection(select=("SC1", "SC301"), ignore=("SC105",))
    assert [selection.wants(code) for code in ("SC101", "SC105", "SC301", "SC302")] == [True, False, True, False]
    assert Selection().wants("SC999")


@pytest.mark.skipif(not hasattr(Policy, "from_toml"), reason="Policy.from_toml is not added yet")
def test_policy_from_toml_classmethod_delegates_to_config(tmp_path: Path) -> None:
    table = {"ignore": ["SC3"], "limits": {"steps": 10}}
    assert Policy.from_toml(table) == policy_from_toml(table)  # type: ignore[attr-defined]
    standalone = write(tmp_path / "policy.toml", "[limits]\nsteps = 10\n")
    assert Policy.from_toml(standalone).limits.steps == 10  # type: ignore[attr-defined]
