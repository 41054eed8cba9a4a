"""The ``safecompile`` command: ``check``, ``run``, ``show`` and ``explain``.

Built on :mod:`argparse` from the standard library, so the command line adds
no dependency to the package (the same reason the configuration is read with
:mod:`tomllib`).  A thin layer: configuration and policy come from
:mod:`safecompile.config`, checking from :func:`safecompile.compiler.check`,
running from :func:`safecompile.safe_exec`, and every output format from
:mod:`safecompile.report`; nothing here decides what a script may do.

``import safecompile`` never imports this module; the console script and
``python -m safecompile`` do.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import json
import linecache
import os
import sys
import time
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NoReturn, TextIO

import safecompile

from . import compiler, report, transformers
from .config import (
    KEYS,
    Config,
    ConfigError,
    Resolver,
    Selection,
    matches_any,
    parse_codes,
    parse_limits_option,
)
from .errors import (
    CompileRejected,
    LimitExceeded,
    SafeCompileError,
    ScriptError,
)
from .policy import Policy
from .rules import REGISTRY, Rule, all_rules
from .source import gate

STDIN = "-"
STDIN_NAME = "<stdin>"
#: Folders never entered while walking a folder (a path named on the command
#: line is still checked).
DEFAULT_EXCLUDES: tuple[str, ...] = (
    ".bzr", ".direnv", ".eggs", ".git", ".hg", ".mypy_cache", ".nox", ".pytest_cache",
    ".ruff_cache", ".svn", ".tox", ".venv", "__pycache__", "__pypackages__", "_build",
    "build", "dist", "node_modules", "site-packages", "venv",
)
#: Show a progress bar (stderr is a terminal) from this many files on.
PROGRESS_FROM = 21

EXIT_OK, EXIT_VIOLATIONS, EXIT_ERROR = 0, 1, 2

CHECK_EPILOG = """\
exit status:
  0  no violations, and every file was read
  1  violations found, and every file was read
  2  usage or configuration error, or a path could not be read (missing,
     unreadable); 2 wins over 1 because the check is incomplete, so the
     violations shown may not be all of them

A file or folder that cannot be read is reported as "PATH: error: ..." (JSON:
"errors"; SARIF: a tool execution notification) and the run goes on.
A file that is read but is not UTF-8 text or holds NUL bytes is a violation
of the source gate (SC004 / SC003), exactly as compile_restricted refuses it.
Advisory codes ({advisory}) are reported and count as violations; in JSON,
SARIF and GitHub output their level is "warning".

configuration: the nearest pyproject.toml with a [tool.safecompile] table,
upward from each checked file (--policy FILE replaces it, --no-config skips
it); keys: {keys}
(see safecompile.config). --select replaces the configured select; --ignore
and --exclude add to the configured ones. Excludes apply to files found in
folders and to files named on the command line; folders such as .git, .venv,
build and __pycache__ are never entered.

colour: only when stdout is a terminal and NO_COLOR is unset (--color
always/never overrides). A progress bar is drawn on stderr when it is a
terminal and more than 20 files are checked.
"""


class UsageError(Exception):
    """A problem with the command line or its inputs (exit status 2)."""


def _fail(message: str) -> NoReturn:
    raise UsageError(message)


def _print_error(message: str) -> None:
    sys.stderr.write(f"safecompile: error: {message}\n")


# --- reading ---------------------------------------------------------------------------


def _read_bytes(path: str) -> bytes:
    """The bytes of ``path`` (``-``: standard input); OSError propagates."""
    if path == STDIN:
        return sys.stdin.buffer.read()
    with open(path, "rb") as handle:
        return handle.read()


def _read_source(path: str) -> bytes:
    try:
        return _read_bytes(path)
    except OSError as exc:
        _fail(f"{path}: cannot read the file: {exc.strerror or exc}")


def _missing(path: str) -> str:
    """Why ``path`` cannot be found (missing, or a folder on the way is unreadable)."""
    try:
        os.lstat(path)
    except FileNotFoundError:
        return "no such file or directory"
    except OSError as exc:
        return f"cannot read the path: {exc.strerror or exc}"
    return "no such file or directory"  # pragma: no cover - it appeared meanwhile


def _display(path: str) -> str:
    return STDIN_NAME if path == STDIN else path


def _config_for(args: argparse.Namespace, path: str) -> Config:
    resolver = Resolver(args.policy, discover=not args.no_config)
    return resolver.for_path(os.getcwd() if path == STDIN else path)


# --- check ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    """A file to check: where to read it, how to show it, where its config is looked up."""

    read: str
    display: str
    lookup: str


class _Checker:
    """Collect files from the command-line paths, check each, build the Report."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.resolver = Resolver(args.policy, discover=not args.no_config)
        self.select = parse_codes(args.select, "--select") if args.select else None
        self.ignore = parse_codes(args.ignore, "--ignore")
        self.excludes: tuple[str, ...] = tuple(args.exclude)
        self.cwd = Path.cwd()
        self.errors: list[report.FileError] = []
        self._policies: dict[int, tuple[Config, Policy, Selection]] = {}

    def excluded(self, path: str) -> bool:
        target = Path(path)
        return matches_any(target, self.excludes, self.cwd) or self.resolver.for_path(path).excludes(target)

    def targets(self) -> list[_Target]:
        found: list[_Target] = []
        seen: set[str] = set()

        def add(target: _Target) -> None:
            key = target.read if target.read == STDIN else os.path.realpath(target.read)
            if key not in seen:
                seen.add(key)
                found.append(target)

        for raw in self.args.paths:
            if raw == STDIN:
                name = self.args.stdin_filename
                if name is None or not self.excluded(name):
                    add(_Target(STDIN, name or STDIN_NAME, name or os.getcwd()))
                continue
            path = os.path.normpath(raw)
            if os.path.isdir(path):
                for file in self._walk(path):
                    add(_Target(file, file, file))
            elif os.path.lexists(path):
                if not self.excluded(path):
                    add(_Target(path, path, path))
            else:
                self.errors.append(report.FileError(path, _missing(path)))
        return found

    def _walk(self, top: str) -> Iterator[str]:
        def unreadable(exc: OSError) -> None:
            where = os.path.normpath(exc.filename) if exc.filename else top
            self.errors.append(report.FileError(where, f"cannot read the folder: {exc.strerror or exc}"))

        for folder, dirs, files in os.walk(top, onerror=unreadable):
            dirs[:] = sorted(
                name for name in dirs
                if name not in DEFAULT_EXCLUDES and not self.excluded(os.path.join(folder, name))
            )
            for name in sorted(files):
                if name.endswith(".py"):
                    path = os.path.normpath(os.path.join(folder, name))
                    if not self.excluded(path):
                        yield path

    def settings(self, target: _Target) -> tuple[Policy, Selection]:
        config = self.resolver.for_path(target.lookup)
        cached = self._policies.get(id(config))
        if cached is None or cached[0] is not config:
            policy = config.policy().ignoring(self.ignore)
            selection = Selection(
                select=self.select if self.select is not None else config.select,
                ignore=config.ignore + self.ignore,
            )
            cached = self._policies[id(config)] = (config, policy, selection)
        return cached[1], cached[2]

    def check(self, target: _Target) -> list[report.Finding] | None:
        try:
            data = _read_bytes(target.read)
        except OSError as exc:
            self.errors.append(report.FileError(target.display, f"cannot read the file: {exc.strerror or exc}"))
            return None
        policy, selection = self.settings(target)
        violations = compiler.check(data, filename=target.display, mode=self.args.mode, policy=policy)
        return [report.Finding(target.display, v) for v in violations if selection.wants(v.code)]


class _Progress:
    """A one-line progress bar on a terminal stream."""

    WIDTH = 30

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = total
        self.stream = stream
        self.done = 0
        self._last = 0.0

    def step(self) -> None:
        self.done += 1
        now = time.monotonic()
        if now - self._last < 0.05 and self.done < self.total:
            return
        self._last = now
        filled = self.WIDTH * self.done // self.total
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        self.stream.write(f"\rchecking [{bar}] {self.done}/{self.total} files")
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\r" + " " * (self.WIDTH + 40) + "\r")
        self.stream.flush()


def _use_color(choice: str, stream: TextIO) -> bool:
    if choice != "auto":
        return choice == "always"
    return stream.isatty() and not os.environ.get("NO_COLOR")


def cmd_check(args: argparse.Namespace) -> int:
    if args.stdin_filename is not None and STDIN not in args.paths:
        _fail("--stdin-filename applies only when '-' (standard input) is among the paths")
    checker = _Checker(args)
    targets = checker.targets()
    progress = None
    if len(targets) >= PROGRESS_FROM and sys.stderr.isatty() and not args.quiet:
        progress = _Progress(len(targets), sys.stderr)
    findings: list[report.Finding] = []
    checked = 0
    try:
        for target in targets:
            found = checker.check(target)
            if found is not None:
                checked += 1
                findings.extend(found)
            if progress is not None:
                progress.step()
    finally:
        if progress is not None:
            progress.close()
    result = report.Report.build(findings, checker.errors, checked)
    if not targets and not checker.errors and not args.quiet:
        sys.stderr.write("safecompile: warning: no Python files found under the given paths\n")
    fmt = args.format
    if fmt == "json":
        sys.stdout.write(report.format_json(result))
    elif fmt == "sarif":
        sys.stdout.write(report.format_sarif(result))
    elif fmt == "github":
        sys.stdout.write(report.format_github(result, show_summary=not args.quiet))
    else:
        sys.stdout.write(report.format_text(result, color=_use_color(args.color, sys.stdout),
                                            show_summary=not args.quiet))
    if result.errors:
        return EXIT_ERROR
    return EXIT_VIOLATIONS if result.findings else EXIT_OK


# --- run -------------------------------------------------------------------------------------


def _load_grants(path: str) -> dict[str, Any]:
    where = f"--grants {path}"
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        _fail(f"{where}: cannot read the file: {exc.strerror or exc}")
    except UnicodeDecodeError:
        _fail(f"{where}: the file is not UTF-8 text")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        _fail(f"{where}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}")
    if not isinstance(value, dict):
        _fail(f"{where}: expected a JSON object mapping grant names to values, not a JSON {type(value).__name__}")
    return value


def _human_bytes(count: int) -> str:
    size = float(count)
    for unit in ("B", "KiB", "MiB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


def _script_output(exc: BaseException) -> str:
    output = getattr(exc, "output", "")
    return output if type(output) is str else ""


def _script_traceback(err: ScriptError, display: str, source: bytes) -> str:
    """The script's own traceback, its lines read from the source that ran."""
    cause = err.__cause__
    if cause is None:
        return f"{err.type_name}: {err}\n"
    text = source.decode("utf-8", errors="replace").removeprefix("\ufeff")
    linecache.cache[display] = (len(text), None, text.splitlines(keepends=True), display)
    try:
        lines = traceback.format_exception(cause)
    finally:
        linecache.cache.pop(display, None)
    # The cause has the nearest builtin type (a script's own exception class
    # never leaves the run); show the script's class name.
    shown = type(cause).__qualname__
    if err.type_name != shown and lines and lines[-1].startswith(shown):
        lines[-1] = err.type_name + lines[-1][len(shown):]
    return "".join(lines)


def cmd_run(args: argparse.Namespace) -> int:
    config = _config_for(args, args.file)
    for option in args.limit:
        config = config.with_limits(parse_limits_option(option))
    policy = config.policy()
    if args.isolate:
        policy = replace(policy, isolation="process")
    grants = _load_grants(args.grants) if args.grants is not None else None
    display = _display(args.file)
    source = _read_source(args.file)
    try:
        result = safecompile.safe_exec(source, grants, policy=policy, filename=display)
    except CompileRejected as exc:
        sys.stderr.write(report.format_violations(display, exc.violations))
        sys.stderr.write(f"{display}: rejected ({len(exc.violations)} violation"
                         f"{'' if len(exc.violations) == 1 else 's'}); nothing ran\n")
        return EXIT_VIOLATIONS
    except ScriptError as exc:
        sys.stdout.write(_script_output(exc))
        sys.stdout.flush()
        sys.stderr.write(_script_traceback(exc, display, source))
        return EXIT_VIOLATIONS
    except LimitExceeded as exc:
        sys.stdout.write(_script_output(exc))
        sys.stdout.flush()
        sys.stderr.write(
            f"LimitExceeded: {exc}\n"
            f"  fix: make the script do less, or raise the budget with --limit {exc.limit}=VALUE "
            f"or [tool.safecompile.limits] {exc.limit} = VALUE\n"
        )
        return EXIT_VIOLATIONS
    except SafeCompileError as exc:  # AccessDenied, ImportDenied
        sys.stdout.write(_script_output(exc))
        sys.stdout.flush()
        sys.stderr.write(f"{type(exc).__name__}: {exc}\n")
        return EXIT_VIOLATIONS
    except TypeError as exc:  # the arguments: grant names, source type
        _fail(f"{args.grants or display}: {exc}")
    sys.stdout.write(result.output)
    sys.stdout.flush()
    if not args.quiet:
        usage = result.usage
        sys.stderr.write(
            f"safecompile: ran {display} in {usage.seconds:.3f} s: {usage.steps:,} steps, "
            f"peak memory {_human_bytes(usage.memory)}, output {_human_bytes(usage.output)}\n"
        )
    return EXIT_OK


# --- show --------------------------------------------------------------------------------------


def cmd_show(args: argparse.Namespace) -> int:
    policy = _config_for(args, args.file).policy()
    display = _display(args.file)
    source = _read_source(args.file)
    violations = compiler.check(source, filename=display, mode=args.mode, policy=policy)
    refusing = [v for v in violations if v.code not in compiler.ADVISORY]
    if violations:
        sys.stderr.write(report.format_violations(display, violations))
    if refusing:
        sys.stderr.write(f"{display}: rejected; there is no rewritten source to show\n")
        return EXIT_VIOLATIONS
    text = gate(source, display, policy.limits.source)
    tree = compiler.parse(text, display, args.mode)
    sys.stdout.write(ast.unparse(transformers.rewrite(tree)) + "\n")
    return EXIT_OK


# --- explain -------------------------------------------------------------------------------------


def _find_rule(query: str) -> type[Rule]:
    wanted = query.strip()
    rule = REGISTRY.get(wanted.upper())
    if rule is not None:
        return rule
    for candidate in all_rules():
        if candidate.name == wanted.lower():
            return candidate
    import difflib

    choices = [*REGISTRY, *(r.name for r in all_rules())]
    close = difflib.get_close_matches(wanted.upper() if wanted[:2].lower() == "sc" else wanted.lower(), choices, n=3)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    _fail(f"explain: no rule {query!r}{hint}; `safecompile explain --all` lists every rule")


def cmd_explain(args: argparse.Namespace) -> int:
    if args.all == (args.code is not None):
        _fail("explain: give one rule code (e.g. SC101) or --all")
    rules = all_rules() if args.all else [_find_rule(args.code)]
    sys.stdout.write("\n".join(report.explain(rule) for rule in rules))
    return EXIT_OK


# --- the parser ------------------------------------------------------------------------------------


def _add_config_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("configuration")
    group.add_argument("--policy", metavar="FILE",
                       help="read the configuration from this TOML file (keys at top level; "
                            "a pyproject.toml is read at [tool.safecompile]) instead of discovering it")
    group.add_argument("--no-config", action="store_true",
                       help="ignore pyproject.toml files; use the default policy")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="safecompile",
        description="Check, run and inspect untrusted Python scripts with safecompile.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {safecompile.__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser(
        "check", help="report every rule violation in files and folders",
        description="Report every violation of safecompile's rules, as compile_restricted would find them.",
        epilog=CHECK_EPILOG.format(advisory=", ".join(sorted(compiler.ADVISORY)), keys=", ".join(KEYS)),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument("paths", nargs="*", default=["."], metavar="PATH",
                       help="files and folders (searched for *.py); '-' reads standard input (default: .)")
    check.add_argument("--select", action="append", default=[], metavar="CODES",
                       help="report only these codes or prefixes (comma-separated, repeatable; e.g. SC1,SC301)")
    check.add_argument("--ignore", action="append", default=[], metavar="CODES",
                       help="do not report these codes or prefixes (comma-separated, repeatable)")
    check.add_argument("--exclude", action="append", default=[], metavar="GLOB",
                       help="skip paths matching this glob, relative to the current folder (repeatable)")
    check.add_argument("--format", choices=("text", "json", "sarif", "github"), default="text",
                       help="output format (default: text); JSON schema: see safecompile.report")
    check.add_argument("--stdin-filename", metavar="NAME",
                       help="the name to report for '-' (also where its configuration is found)")
    check.add_argument("--mode", choices=("exec", "eval"), default="exec",
                       help="check scripts (exec, default) or single expressions (eval)")
    check.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                       help="colour the text output (default: auto)")
    check.add_argument("-q", "--quiet", action="store_true",
                       help="print the violations only: no summary line, no progress bar")
    _add_config_options(check)
    check.set_defaults(handler=cmd_check)

    run = commands.add_parser(
        "run", help="run a script under safecompile and print its output",
        description="Run FILE with safe_exec. The script's output goes to stdout, a usage line to "
                    "stderr. Exit status 0, 1 if the script was rejected or failed (error on stderr), "
                    "2 for a usage, configuration or file error.",
    )
    run.add_argument("file", metavar="FILE", help="the script ('-' reads standard input)")
    run.add_argument("--grants", metavar="JSON_FILE",
                     help="a JSON object whose keys become the script's global names")
    run.add_argument("--limit", action="append", default=[], metavar="NAME=VALUE,...",
                     help="budgets on top of the configuration, e.g. steps=100000,time=2,memory=64MiB "
                          "(names: steps, time, memory, recursion, output, operand, source; 'unlimited')")
    run.add_argument("--isolate", action="store_true",
                     help="run in a separate worker process (not available in this version)")
    run.add_argument("-q", "--quiet", action="store_true", help="do not print the usage line")
    _add_config_options(run)
    run.set_defaults(handler=cmd_run)

    show = commands.add_parser(
        "show", help="print the rewritten source the compiler runs",
        description="Print FILE as the compiler rewrites it (ast.unparse). If the rules reject it, "
                    "print the violations on stderr and exit 1.",
    )
    show.add_argument("file", metavar="FILE", help="the script ('-' reads standard input)")
    show.add_argument("--mode", choices=("exec", "eval"), default="exec",
                      help="a script (exec, default) or a single expression (eval)")
    _add_config_options(show)
    show.set_defaults(handler=cmd_show)

    explain = commands.add_parser(
        "explain", help="describe a rule", description="Describe a rule: code, name, message, fix and docs.",
    )
    explain.add_argument("code", nargs="?", metavar="CODE", help="a rule code (SC101) or name (dunder-name)")
    explain.add_argument("--all", action="store_true", help="describe every rule, retired ones included")
    explain.set_defaults(handler=cmd_explain)
    return parser


def _configure_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError):  # exotic streams keep their setting
                reconfigure(errors="backslashreplace")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors (status 2)
        return exc.code if isinstance(exc.code, int) else EXIT_ERROR
    _configure_streams()
    try:
        status: int = args.handler(args)
    except (UsageError, ConfigError) as exc:
        _print_error(str(exc))
        return EXIT_ERROR
    except BrokenPipeError:
        # The reader went away (``safecompile check | head``): stop quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    return status


if __name__ == "__main__":
    raise SystemExit(main())
