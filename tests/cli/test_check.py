"""``safecompile check`` end to end: a subprocess per call, the pure guards, the repo on PYTHONPATH."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

BAD = "import os\nx = ().__class__\nexec('1')\n"
GOOD = "print(sum(i * i for i in range(10)))\n"


def sc(*args: str, cwd: Path, stdin: str | bytes | None = None,
       env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "SAFECOMPILE_PURE": "1", "PYTHONPATH": str(ROOT)}
    environ.pop("NO_COLOR", None)
    environ.update(env or {})
    data = stdin.decode("latin-1") if isinstance(stdin, bytes) else stdin
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "safecompile", *args],
        cwd=cwd, input=data, capture_output=True, text=True, env=environ, timeout=120, check=False,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "good.py").write_text(GOOD)
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "bad.py").write_text(BAD)
    (tmp_path / "pkg" / "notes.txt").write_text("exec('not python')")
    return tmp_path


def test_clean_file_exits_0_with_summary(tree: Path) -> None:
    result = sc("check", "good.py", cwd=tree)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "All checks passed (1 file checked).\n"


def test_violations_exit_1_sorted_with_fix_lines_and_summary(tree: Path) -> None:
    result = sc("check", ".", cwd=tree)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0] == "pkg/bad.py:1:1: SC301 import of module 'os' is not allowed by the policy"
    assert lines[1].startswith("  fix: ")
    assert lines[2].startswith("pkg/bad.py:2:5: SC102 ")
    assert lines[4].startswith("pkg/bad.py:3:1: SC105 ")
    assert lines[-1] == "Found 3 violations in 1 file (2 files checked)."


def test_folders_are_searched_for_py_files_only(tree: Path) -> None:
    result = sc("check", "pkg", "--format", "json", cwd=tree)
    assert '"files_checked": 1' in result.stdout


def test_output_is_sorted_by_path_then_position(tmp_path: Path) -> None:
    (tmp_path / "b.py").write_text("y = 1\nx.__dict__\nx.__class__\n")
    (tmp_path / "a.py").write_text("x.__class__\n")
    result = sc("check", "b.py", "a.py", cwd=tmp_path)
    located = [line.split(" ")[0] for line in result.stdout.splitlines() if not line.startswith(("  ", "Found"))]
    assert located == ["a.py:1:1:", "b.py:2:1:", "b.py:3:1:"]


def test_missing_path_exits_2_and_other_files_are_still_checked(tree: Path) -> None:
    result = sc("check", "nothere.py", "pkg", cwd=tree)
    assert result.returncode == 2
    assert "nothere.py: error: no such file or directory" in result.stdout
    assert "SC102" in result.stdout
    assert result.stdout.rstrip().endswith("1 path could not be read.")


def test_unreadable_file_is_an_error_line_and_the_run_goes_on(tree: Path) -> None:
    (tree / "broken.py").symlink_to(tree / "gone.py")
    result = sc("check", ".", cwd=tree)
    assert result.returncode == 2
    assert "broken.py: error: cannot read the file: No such file or directory" in result.stdout
    assert "SC102" in result.stdout
    assert "Found 3 violations in 1 file (2 files checked). 1 path could not be read." in result.stdout


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads files whatever their mode")
def test_permission_denied_is_an_error_line(tree: Path) -> None:
    secret = tree / "secret.py"
    secret.write_text(GOOD)
    secret.chmod(0)
    try:
        result = sc("check", "secret.py", cwd=tree)
    finally:
        secret.chmod(0o600)
    assert result.returncode == 2
    assert "secret.py: error: cannot read the file: Permission denied" in result.stdout


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads folders whatever their mode")
def test_unreadable_folder_is_an_error_line(tree: Path) -> None:
    locked = tree / "locked"
    locked.mkdir()
    locked.chmod(0)
    try:
        result = sc("check", ".", cwd=tree)
    finally:
        locked.chmod(0o700)
    assert result.returncode == 2
    assert "locked: error: cannot read the folder: Permission denied" in result.stdout


def test_only_io_errors_exit_2_with_their_own_summary(tree: Path) -> None:
    result = sc("check", "good.py", "nothere.py", cwd=tree)
    assert result.returncode == 2
    assert result.stdout.splitlines()[-1] == "No violations found (1 file checked), but 1 path could not be read."


def test_binary_file_is_reported_as_sc003(tmp_path: Path) -> None:
    (tmp_path / "blob.py").write_bytes(b"x = 1\n\x00\x01\x02")
    result = sc("check", "blob.py", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.startswith("blob.py:2:1: SC003 source contains a NUL character")


def test_bytecode_file_is_reported_as_sc003(tmp_path: Path) -> None:
    import importlib.util

    (tmp_path / "compiled.py").write_bytes(importlib.util.MAGIC_NUMBER + b"\0" * 12)
    result = sc("check", "compiled.py", cwd=tmp_path)
    assert result.returncode == 1
    assert "SC003" in result.stdout


def test_non_utf8_file_is_reported_as_sc004(tmp_path: Path) -> None:
    (tmp_path / "latin.py").write_bytes("name = 'caf\xe9'\n".encode("latin-1"))
    result = sc("check", "latin.py", "--format", "json", cwd=tmp_path)
    assert result.returncode == 1
    assert '"code": "SC004"' in result.stdout


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "bom.py").write_bytes(b"\xef\xbb\xbfprint('ok')\n")
    assert sc("check", "bom.py", cwd=tmp_path).returncode == 0


def test_syntax_error_is_sc001_with_pythons_position(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("def f(:\n")
    result = sc("check", "broken.py", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.startswith("broken.py:1:7: SC001 ")


@pytest.mark.parametrize(
    ("options", "codes"),
    [
        (["--select", "SC1"], {"SC102", "SC105"}),
        (["--select", "SC102,SC301"], {"SC102", "SC301"}),
        (["--select", "SC102", "--select", "SC105"], {"SC102", "SC105"}),
        (["--ignore", "SC3"], {"SC102", "SC105"}),
        (["--ignore", "SC105", "--ignore", "sc301"], {"SC102"}),
        (["--select", "SC1", "--ignore", "SC105"], {"SC102"}),
    ],
)
def test_select_and_ignore_filter_by_code_or_prefix(tree: Path, options: list[str], codes: set[str]) -> None:
    result = sc("check", "pkg/bad.py", *options, cwd=tree)
    found = {line.split()[1] for line in result.stdout.splitlines() if line.startswith("pkg/bad.py:")}
    assert found == codes
    assert result.returncode == 1


def test_ignoring_every_finding_exits_0(tree: Path) -> None:
    result = sc("check", "pkg/bad.py", "--ignore", "SC1,SC3", cwd=tree)
    assert result.returncode == 0
    assert result.stdout == "All checks passed (1 file checked).\n"


@pytest.mark.parametrize("bad_code", ["SC9", "E501", "SC1O1", "SC1011"])
def test_unknown_codes_are_a_usage_error(tree: Path, bad_code: str) -> None:
    result = sc("check", ".", "--select", bad_code, cwd=tree)
    assert result.returncode == 2
    assert f"--select: {bad_code!r} is not a rule code or the prefix of one" in result.stderr


def test_exclude_globs_skip_files_and_folders(tree: Path) -> None:
    (tree / "gen").mkdir()
    (tree / "gen" / "out.py").write_text(BAD)
    result = sc("check", ".", "--exclude", "pkg", "--exclude", "gen/*", cwd=tree)
    assert result.returncode == 0
    assert "(1 file checked)" in result.stdout


def test_exclude_applies_to_files_named_on_the_command_line(tree: Path) -> None:
    result = sc("check", "pkg/bad.py", "--exclude", "bad.py", cwd=tree)
    assert result.returncode == 0
    assert "(0 files checked)" in result.stdout
    assert "no Python files found" in result.stderr


def test_default_excluded_folders_are_not_entered(tree: Path) -> None:
    for folder in (".venv", "__pycache__", "build", ".git"):
        (tree / folder).mkdir()
        (tree / folder / "x.py").write_text(BAD)
    result = sc("check", ".", "--ignore", "SC", cwd=tree)
    assert "(2 files checked)" in result.stdout
    # ... but a path named explicitly is checked.
    assert sc("check", "build/x.py", cwd=tree).returncode == 1


def test_the_same_file_is_checked_once(tree: Path) -> None:
    result = sc("check", "pkg", "pkg/bad.py", "./pkg/bad.py", cwd=tree)
    assert result.stdout.count("SC102") == 1
    assert "(1 file checked)" in result.stdout


def test_stdin_is_checked_under_its_stdin_filename(tmp_path: Path) -> None:
    result = sc("check", "-", "--stdin-filename", "scripts/report.py", stdin=BAD, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.startswith("scripts/report.py:1:1: SC301 ")


def test_stdin_without_a_name_is_shown_as_stdin(tmp_path: Path) -> None:
    result = sc("check", "-", stdin=GOOD, cwd=tmp_path)
    assert result.returncode == 0
    result = sc("check", "-", stdin="x.__class__\n", cwd=tmp_path)
    assert result.stdout.startswith("<stdin>:1:1: SC102 ")


def test_stdin_filename_without_stdin_is_a_usage_error(tmp_path: Path) -> None:
    result = sc("check", ".", "--stdin-filename", "x.py", cwd=tmp_path)
    assert result.returncode == 2
    assert "--stdin-filename applies only when '-'" in result.stderr


def test_eval_mode_checks_expressions(tmp_path: Path) -> None:
    (tmp_path / "formula.txt").write_text("price * qty\n")
    assert sc("check", "formula.txt", "--mode", "eval", cwd=tmp_path).returncode == 0
    (tmp_path / "formula.txt").write_text("x = 1\n")
    result = sc("check", "formula.txt", "--mode", "eval", cwd=tmp_path)
    assert "SC001" in result.stdout


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert sc("check", "--format", "xml", cwd=tmp_path).returncode == 2
    assert sc("nonsense", cwd=tmp_path).returncode == 2
    assert sc(cwd=tmp_path).returncode == 2


def test_help_describes_exit_status_and_io_errors(tmp_path: Path) -> None:
    result = sc("check", "--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "2 wins over 1" in result.stdout
    assert "SC004" in result.stdout


def test_no_colour_when_stdout_is_not_a_terminal(tree: Path) -> None:
    assert "\033[" not in sc("check", ".", cwd=tree).stdout


def test_colour_can_be_forced_and_switched_off(tree: Path) -> None:
    assert "\033[1m" in sc("check", ".", "--color", "always", cwd=tree).stdout
    assert "\033[" not in sc("check", ".", "--color", "never", cwd=tree).stdout


def _on_terminal(args: list[str], cwd: Path, env: dict[str, str], *, stream: str) -> tuple[str, str]:
    """Run with stdout or stderr on a pseudo-terminal; return (terminal text, other stream)."""
    leader, follower = pty.openpty()
    environ = {**os.environ, "SAFECOMPILE_PURE": "1", "PYTHONPATH": str(ROOT), **env}
    if "NO_COLOR" not in env:
        environ.pop("NO_COLOR", None)
    kwargs = {"stdout": follower, "stderr": subprocess.PIPE} if stream == "stdout" else \
             {"stdout": subprocess.PIPE, "stderr": follower}
    with subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "safecompile", *args], cwd=cwd, env=environ, **kwargs,  # type: ignore[call-overload]
    ) as process:
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        other = (process.stderr if stream == "stdout" else process.stdout).read()
        process.wait(timeout=120)
    os.close(leader)
    return b"".join(chunks).decode(), other.decode()


def test_colour_on_a_terminal_unless_no_color(tree: Path) -> None:
    shown, _ = _on_terminal(["check", "."], tree, {}, stream="stdout")
    assert "\033[1m" in shown
    plain, _ = _on_terminal(["check", "."], tree, {"NO_COLOR": "1"}, stream="stdout")
    assert "\033[" not in plain
    assert "SC102" in plain


def test_progress_bar_on_a_terminal_for_many_files(tmp_path: Path) -> None:
    for number in range(25):
        (tmp_path / f"s{number:02}.py").write_text(GOOD)
    shown, stdout = _on_terminal(["check", "."], tmp_path, {}, stream="stderr")
    assert "25/25 files" in shown
    assert "files" not in stdout.replace("files checked", "")
    few, _ = _on_terminal(["check", "s00.py", "s01.py"], tmp_path, {}, stream="stderr")
    assert "checking [" not in few


def test_no_progress_bar_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    for number in range(25):
        (tmp_path / f"s{number:02}.py").write_text(GOOD)
    result = sc("check", ".", cwd=tmp_path)
    assert result.stderr == ""
    assert result.stdout == "All checks passed (25 files checked).\n"


def test_quiet_prints_violations_only(tree: Path) -> None:
    result = sc("check", ".", "-q", cwd=tree)
    assert "Found" not in result.stdout
    assert result.returncode == 1


def test_module_and_console_entry_point_agree(tree: Path) -> None:
    from_module = sc("check", ".", cwd=tree)
    environ = {**os.environ, "SAFECOMPILE_PURE": "1", "PYTHONPATH": str(ROOT)}
    from_main = subprocess.run(
        [sys.executable, "-c", "import sys; from safecompile.cli import main; sys.exit(main(['check', '.']))"],
        cwd=tree, capture_output=True, text=True, env=environ, timeout=120, check=False,
    )
    assert (from_main.returncode, from_main.stdout) == (from_module.returncode, from_module.stdout)
