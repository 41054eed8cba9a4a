"""Violations to text, JSON, SARIF 2.1.0 and GitHub annotations; rule docs to text and Markdown.

Every description of a rule (``safecompile explain``, the SARIF rule
metadata, ``docs/rules.md``) comes from the rule class: its docstring's first
line (summary), ``message``, ``fix`` and ``docs`` (What / Why / Example /
Fix).  Regenerate the rules page after changing a rule::

    python -m safecompile.report --rules-md > docs/rules.md

Positions: ``line`` and ``column`` are 1-based; an end column points just past
the last character (exclusive), as in SARIF.

JSON output (``check --format json``), schema version 1; keys are never
removed or renamed within a version, new keys may be added::

    {
      "schema_version": 1,
      "tool": {"name": "safecompile", "version": "0.1.0"},
      "summary": {"files_checked": 12,         # files read and checked
                  "files_with_violations": 2,
                  "violations": 3,
                  "errors": 0},                # files or folders that could not be read
      "violations": [                          # sorted by path, then position
        {"path": "scripts/a.py",               # as given / found on the command line
         "code": "SC102", "rule": "dunder-attribute",
         "level": "error",                     # "warning" for advisory codes
         "message": "attribute '__class__' is a dunder; ...",
         "fix": "use the object's public methods and attributes instead",
         "start": {"line": 3, "column": 9}, "end": {"line": 3, "column": 18},
         "url": "https://.../docs/rules.md#sc102"}
      ],
      "errors": [{"path": "b.py", "message": "cannot read the file: Permission denied"}]
    }

Text output: one ``path:line:col: CODE message`` line per violation, a
``  fix: ...`` line under it, ``path: error: ...`` for a file that could not
be read, then a summary line.  GitHub output: one ``::error`` (``::warning``
for advisory codes) workflow command per violation, then the summary line.
"""

from __future__ import annotations

import json
import os
import re
import sys
import textwrap
import urllib.parse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .compiler import ADVISORY
from .errors import Violation
from .rules import REGISTRY, Rule, all_rules

#: Where docs/rules.md is published; each rule has the anchor ``#sc123``.
RULES_URL = "https://github.com/safecompile/safecompile/blob/main/docs/rules.md"
JSON_SCHEMA_VERSION = 1
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
RULES_MD_COMMAND = "python -m safecompile.report --rules-md > docs/rules.md"

__all__ = [
    "FileError",
    "Finding",
    "Report",
    "explain",
    "format_github",
    "format_json",
    "format_sarif",
    "format_text",
    "rule_sections",
    "rule_summary",
    "rules_markdown",
]


# --- the record formatters read -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Finding:
    """One violation in one file."""

    path: str
    violation: Violation

    @property
    def level(self) -> str:
        return "warning" if self.violation.code in ADVISORY else "error"

    def sort_key(self) -> tuple[str, int, int, str, int, int, str]:
        v = self.violation
        return (self.path, v.lineno, v.col, v.code, v.end_lineno, v.end_col, v.message)


@dataclass(frozen=True, slots=True)
class FileError:
    """A file that could not be checked (missing, unreadable)."""

    path: str
    message: str


@dataclass(frozen=True)
class Report:
    """The outcome of checking some files: findings and errors, sorted."""

    findings: tuple[Finding, ...]
    errors: tuple[FileError, ...]
    files_checked: int

    @classmethod
    def build(cls, findings: Iterable[Finding], errors: Iterable[FileError], files_checked: int) -> Report:
        return cls(
            tuple(sorted(findings, key=Finding.sort_key)),
            tuple(sorted(errors, key=lambda e: (e.path, e.message))),
            files_checked,
        )

    @property
    def files_with_violations(self) -> int:
        return len({f.path for f in self.findings})


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _position(v: Violation) -> tuple[int, int, int, int]:
    """Line, column, end line, end column, clamped to SARIF's 1-based minimum."""
    line = max(v.lineno, 1)
    col = max(v.col, 1)
    end_line = max(v.end_lineno, line)
    end_col = max(v.end_col, 1)
    if end_line == line and end_col < col:
        end_col = col
    return line, col, end_line, end_col


def summary(report: Report) -> str:
    """The closing line of the text and GitHub formats."""
    checked = _plural(report.files_checked, "file")
    unread = ""
    if report.errors:
        count = len(report.errors)
        unread = f" {_plural(count, 'path')} could not be read."
    if report.findings:
        return (f"Found {_plural(len(report.findings), 'violation')} in "
                f"{_plural(report.files_with_violations, 'file')} ({checked} checked).{unread}")
    if report.errors:
        return f"No violations found ({checked} checked), but{unread.rstrip('.')}."
    return f"All checks passed ({checked} checked)."


# --- text ----------------------------------------------------------------------------------

_BOLD, _RED, _YELLOW, _CYAN, _GREEN, _RESET = (
    "\033[1m", "\033[31m", "\033[33m", "\033[36m", "\033[32m", "\033[0m",
)


def format_text(report: Report, *, color: bool = False, show_summary: bool = True) -> str:
    """``path:line:col: CODE message`` lines, each with its ``fix:`` line, then a summary."""

    def paint(text: str, *styles: str) -> str:
        return f"{''.join(styles)}{text}{_RESET}" if color else text

    entries: list[tuple[str, int, str]] = []
    for finding in report.findings:
        v = finding.violation
        line, col, _, _ = _position(v)
        code = paint(v.code, _BOLD, _YELLOW if finding.level == "warning" else _RED)
        text = f"{paint(finding.path, _BOLD)}:{line}:{col}: {code} {v.message}"
        if v.fix:
            text += f"\n  {paint('fix:', _CYAN)} {v.fix}"
        entries.append((finding.path, 1, text))
    entries.extend(
        (error.path, 0, f"{paint(error.path, _BOLD)}: {paint('error:', _BOLD, _RED)} {error.message}")
        for error in report.errors
    )
    entries.sort(key=lambda entry: (entry[0], entry[1]))
    lines = [text for _, _, text in entries]
    if show_summary:
        closing = summary(report)
        lines.append(paint(closing, _BOLD, _GREEN if not (report.findings or report.errors) else _RED))
    return "\n".join(lines) + ("\n" if lines else "")


def format_violations(path: str, violations: Sequence[Violation]) -> str:
    """Violations of one source, text format, without a summary (``run``, ``show``)."""
    report = Report.build((Finding(path, v) for v in violations), (), 1)
    return format_text(report, show_summary=False)


# --- JSON ----------------------------------------------------------------------------------


def _version() -> str:
    from . import __version__

    return __version__


def rule_url(code: str) -> str:
    return f"{RULES_URL}#{code.lower()}"


def _rule_name(code: str) -> str:
    rule = REGISTRY.get(code)
    return rule.name if rule is not None else ""


def format_json(report: Report) -> str:
    """The JSON document described in this module's docstring."""
    violations = []
    for finding in report.findings:
        v = finding.violation
        line, col, end_line, end_col = _position(v)
        violations.append({
            "path": finding.path,
            "code": v.code,
            "rule": _rule_name(v.code),
            "level": finding.level,
            "message": v.message,
            "fix": v.fix,
            "start": {"line": line, "column": col},
            "end": {"line": end_line, "column": end_col},
            "url": rule_url(v.code),
        })
    document = {
        "schema_version": JSON_SCHEMA_VERSION,
        "tool": {"name": "safecompile", "version": _version()},
        "summary": {
            "files_checked": report.files_checked,
            "files_with_violations": report.files_with_violations,
            "violations": len(report.findings),
            "errors": len(report.errors),
        },
        "violations": violations,
        "errors": [{"path": e.path, "message": e.message} for e in report.errors],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


# --- SARIF 2.1.0 ------------------------------------------------------------------------------


def _artifact(path: str, root: Path) -> dict[str, str]:
    """An artifactLocation: relative to %SRCROOT% when under it, else a file: URI."""
    if path == "<stdin>":
        return {"uri": urllib.parse.quote(path)}
    absolute = Path(os.path.abspath(path))
    try:
        relative = absolute.relative_to(root)
    except ValueError:
        return {"uri": absolute.as_uri()}
    return {"uri": urllib.parse.quote(relative.as_posix()), "uriBaseId": "%SRCROOT%"}


def _sarif_rule(rule: type[Rule]) -> dict[str, Any]:
    sections = dict(rule_sections(rule))
    level = "none" if rule.removed else ("warning" if rule.code in ADVISORY else "error")
    descriptor: dict[str, Any] = {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule_summary(rule)},
        "fullDescription": {"text": _sentence(sections.get("What") or sections.get("") or rule_summary(rule))},
        "help": {"text": rule_docs(rule), "markdown": _rule_body_markdown(rule)},
        "helpUri": rule_url(rule.code),
        "defaultConfiguration": {"level": level, "enabled": not rule.removed},
        "properties": {"tags": ["security"], "fix": rule.fix},
    }
    return descriptor


def format_sarif(report: Report, root: str | os.PathLike[str] | None = None) -> str:
    """A SARIF 2.1.0 log with one run: every rule in ``tool.driver.rules``.

    Paths under ``root`` (default: the current directory) are relative to the
    ``%SRCROOT%`` base; I/O errors are tool execution notifications.
    """
    base = Path(os.path.abspath(root if root is not None else os.getcwd()))
    rules = all_rules()
    index = {rule.code: position for position, rule in enumerate(rules)}
    results = []
    for finding in report.findings:
        v = finding.violation
        line, col, end_line, end_col = _position(v)
        result: dict[str, Any] = {
            "ruleId": v.code,
            "level": finding.level,
            "message": {"text": v.message},
            "locations": [{
                "physicalLocation": {
                    "artifactLocation": _artifact(finding.path, base),
                    "region": {"startLine": line, "startColumn": col,
                               "endLine": end_line, "endColumn": end_col},
                },
            }],
            "properties": {"fix": v.fix},
        }
        if v.code in index:
            result["ruleIndex"] = index[v.code]
        results.append(result)
    notifications = [
        {
            "level": "error",
            "message": {"text": f"{error.path}: {error.message}"},
            "locations": [{"physicalLocation": {"artifactLocation": _artifact(error.path, base)}}],
        }
        for error in report.errors
    ]
    run: dict[str, Any] = {
        "tool": {"driver": {
            "name": "safecompile",
            "version": _version(),
            "semanticVersion": _version(),
            "informationUri": RULES_URL,
            "rules": [_sarif_rule(rule) for rule in rules],
        }},
        "originalUriBaseIds": {"%SRCROOT%": {"uri": base.as_uri().rstrip("/") + "/"}},
        "invocations": [{
            "executionSuccessful": not report.errors,
            "toolExecutionNotifications": notifications,
        }],
        "columnKind": "unicodeCodePoints",
        "results": results,
    }
    log = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


# --- GitHub workflow annotations -------------------------------------------------------------


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def format_github(report: Report, *, show_summary: bool = True) -> str:
    """``::error file=...,line=...,col=...,endLine=...,endColumn=...,title=SC123::message``."""
    lines = []
    for finding in report.findings:
        v = finding.violation
        line, col, end_line, end_col = _position(v)
        props = (f"file={_escape_property(finding.path)},line={line},col={col},"
                 f"endLine={end_line},endColumn={end_col},title={_escape_property(v.code)}")
        message = f"{v.message}\nfix: {v.fix}" if v.fix else v.message
        lines.append(f"::{finding.level} {props}::{_escape_data(message)}")
    lines.extend(
        f"::error file={_escape_property(error.path)},title=safecompile::{_escape_data(error.message)}"
        for error in report.errors
    )
    if show_summary:
        lines.append(summary(report))
    return "\n".join(lines) + ("\n" if lines else "")


# --- rule documentation --------------------------------------------------------------------------

_SECTION_NAMES = ("What", "Why it was a rule", "Why", "Example", "Fix")
_SECTION = re.compile(rf"^({'|'.join(_SECTION_NAMES)}):[ \t]*", re.MULTILINE)


def rule_docs(rule: type[Rule]) -> str:
    """The rule's ``docs`` text, dedented."""
    return textwrap.dedent(rule.docs).strip()


def rule_summary(rule: type[Rule]) -> str:
    """The first line of the rule class's docstring (RST literals made Markdown)."""
    doc = (rule.__doc__ or "").strip()
    first = doc.splitlines()[0].strip() if doc else rule.name
    return first.replace("``", "`")


def rule_sections(rule: type[Rule]) -> list[tuple[str, str]]:
    """``docs`` split at its ``What:``/``Why:``/``Example:``/``Fix:`` headings.

    Text before the first heading (a retired rule's note) has the heading ``""``.
    """
    text = rule_docs(rule)
    sections: list[tuple[str, str]] = []
    matches = list(_SECTION.finditer(text))
    head = text[: matches[0].start()] if matches else text
    if head.strip():
        sections.append(("", head.strip()))
    for number, match in enumerate(matches):
        end = matches[number + 1].start() if number + 1 < len(matches) else len(text)
        sections.append((match.group(1), text[match.end():end].strip()))
    return sections


def _one_paragraph(text: str) -> str:
    return " ".join(text.split())


def _sentence(text: str) -> str:
    text = _one_paragraph(text)
    return text[:1].upper() + text[1:]


def _level_text(rule: type[Rule]) -> str:
    if rule.removed:
        return "retired: never reported; the code is not reused"
    if rule.code in ADVISORY:
        return ("warning (advisory: compile_restricted accepts the source and the "
                "run-time guard refuses the operation, so `except ImportError` keeps working)")
    return "error (compile_restricted refuses the source)"


def explain(rule: type[Rule]) -> str:
    """Plain-text documentation of one rule (``safecompile explain``)."""
    title = f"{rule.code} {rule.name}"
    if rule.removed:
        title += " (retired: never reported; the code is not reused)"
    lines = [
        title,
        f"  {rule_summary(rule)}",
        "",
        f"  message: {rule.message}",
        f"  fix:     {rule.fix}",
        f"  level:   {_level_text(rule)}",
        f"  docs:    {rule_url(rule.code)}",
        "",
        rule_docs(rule),
    ]
    return "\n".join(lines) + "\n"


def _example_markdown(text: str) -> str:
    """An example whose code spans lines (``\\n`` in the docs) as a fenced block."""
    match = re.fullmatch(r"`([^`]*)`(.*)", text, re.DOTALL)
    if match is None or ("\\n" not in match.group(1) and "\n" not in match.group(1)):
        return f"**Example:** {_one_paragraph(text)}"
    code = match.group(1).replace("\\n", "\n")
    rest = _one_paragraph(match.group(2))
    return f"**Example:**\n\n```python\n{code}\n```" + (f"\n\n{rest}" if rest else "")


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")


def _md_escape(text: str) -> str:
    """Plain text (a rule's ``fix``) made literal in Markdown."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def _rule_body_markdown(rule: type[Rule]) -> str:
    lines = [
        rule_summary(rule),
        "",
        f"- **Message:** `{rule.message}`",
        f"- **Fix:** {_md_escape(rule.fix)}",
        f"- **Level:** {_level_text(rule)}",
        "",
    ]
    for heading, body in rule_sections(rule):
        if heading == "Example":
            lines.append(_example_markdown(body))
        elif heading:
            lines.append(f"**{heading}:** {_one_paragraph(body)}")
        else:
            lines.append(_one_paragraph(body))
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def rules_markdown() -> str:
    """``docs/rules.md``: every registered rule, generated from the registry."""
    rules = all_rules()
    lines = [
        "# safecompile rules",
        "",
        f"<!-- Generated from the rule registry by `{RULES_MD_COMMAND}`; do not edit by hand. -->",
        "",
        "Every rule has a permanent code: `SC0xx` the source itself, `SC1xx` names and",
        "attributes, `SC2xx` statements and syntax forms, `SC3xx` imports. The same rules",
        "power `safecompile check` and `compile_restricted`; codes at level *warning* are",
        "reported by `check` but not refused by `compile_restricted`. `safecompile explain",
        "CODE` prints the same text. Columns are 1-based.",
        "",
        "| code | name | level | summary |",
        "|---|---|---|---|",
    ]
    for rule in rules:
        level = "retired" if rule.removed else ("warning" if rule.code in ADVISORY else "error")
        summary_cell = rule_summary(rule).replace("|", "\\|")
        lines.append(f"| [{rule.code}](#{rule.code.lower()}) | `{rule.name}` | {level} | {summary_cell} |")
    lines.append("")
    for rule in rules:
        retired = " (retired)" if rule.removed else ""
        lines += [f'<a id="{rule.code.lower()}"></a>', "", f"## {rule.code} `{rule.name}`{retired}", ""]
        lines.append(_rule_body_markdown(rule))
    return "\n".join(lines).rstrip() + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m safecompile.report --rules-md``: print docs/rules.md."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m safecompile.report",
        description=f"Generate the rule documentation: {RULES_MD_COMMAND}",
    )
    parser.add_argument("--rules-md", action="store_true", required=True,
                        help="print docs/rules.md (Markdown) to stdout")
    parser.parse_args(argv)
    sys.stdout.write(rules_markdown())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
