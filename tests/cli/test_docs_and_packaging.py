"""Generated docs are fresh; the pre-commit hook and entry points are declared; imports stay light."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from safecompile import report

ROOT = Path(__file__).resolve().parents[2]
RULES_MD = ROOT / "docs" / "rules.md"


def python(*args: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "SAFECOMPILE_PURE": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, env=environ, timeout=120, check=False,
    )


def test_rules_md_is_fresh() -> None:
    assert RULES_MD.read_text(encoding="utf-8") == report.rules_markdown(), (
        f"docs/rules.md is stale: regenerate it with `{report.RULES_MD_COMMAND}`"
    )


def test_rules_md_generator_command_prints_the_same_text() -> None:
    result = python("-m", "safecompile.report", "--rules-md")
    assert result.returncode == 0, result.stderr
    assert result.stdout == RULES_MD.read_text(encoding="utf-8")


def test_rules_md_has_a_section_per_rule() -> None:
    from safecompile.rules import all_rules

    text = RULES_MD.read_text(encoding="utf-8")
    for rule in all_rules():
        assert f'<a id="{rule.code.lower()}"></a>' in text
        assert f"## {rule.code} `{rule.name}`" in text


def test_every_rule_docs_has_what_why_example_fix() -> None:
    from safecompile.rules import all_rules

    for rule in all_rules():
        headings = [heading for heading, _ in report.rule_sections(rule)]
        assert "Example" in headings, rule.code
        assert "Fix" in headings, rule.code
        assert ("Why" in headings) or ("Why it was a rule" in headings), rule.code
        if not rule.removed:
            assert headings[0] == "What", rule.code


def test_pre_commit_hook_is_declared() -> None:
    text = (ROOT / ".pre-commit-hooks.yaml").read_text()
    for line in ("- id: safecompile-check", "entry: safecompile check", "language: python", "types: [python]"):
        assert line in text
    yaml = pytest.importorskip("yaml")
    hooks = yaml.safe_load(text)
    hook = next(h for h in hooks if h["id"] == "safecompile-check")
    assert hook["entry"] == "safecompile check"
    assert hook["language"] == "python"
    assert hook["types"] == ["python"]


def test_console_script_points_at_cli_main() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["scripts"]["safecompile"] == "safecompile.cli:main"


def test_importing_safecompile_does_not_import_the_command_line() -> None:
    code = (
        "import sys, safecompile\n"
        "print(sorted(m for m in sys.modules if m in "
        "('safecompile.cli', 'safecompile.report', 'safecompile.config', 'argparse', 'tomllib')))"
    )
    result = python("-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_command_line_modules_add_no_dependency() -> None:
    """cli, report and config import only the standard library and safecompile."""
    import ast

    stdlib = sys.stdlib_module_names
    for name in ("cli.py", "report.py", "config.py", "__main__.py"):
        tree = ast.parse((ROOT / "safecompile" / name).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                roots = [node.module.split(".")[0]]
            else:
                continue
            for root in roots:
                assert root in stdlib or root == "safecompile", f"{name} imports {root}"
