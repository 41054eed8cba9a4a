"""nox sessions: tests on every supported CPython, lint, shared harnesses, fuzzing.

    nox -s tests-3.11 tests-3.12 tests-3.13 lint    # what .ci/run runs
    nox -s harness                                   # ../shared attack + compat corpora
    nox -s fuzz                                      # long fuzz runs (not in CI)
    nox -s fuzz -- --examples 5000 --seconds 300     # a shorter fuzz run

Interpreters are found on PATH as ``python3.11`` ... (``.ci/run`` puts the
pyenv versions' bin directories there).  A missing interpreter is an error,
not a skip.  pytest's exit code 5 ("no tests collected") fails a session
like any other non-zero code: no session passes ``success_codes``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
SHARED = ROOT.parent / "shared"
PYTHONS = ["3.11", "3.12", "3.13"]

nox.needs_version = ">=2024.4.15"  # env={"NAME": None} removes NAME
nox.options.sessions = ["tests", "lint"]
nox.options.error_on_missing_interpreters = True
nox.options.error_on_external_run = True

C_GUARDS = {"SAFECOMPILE_PURE": None}  # unset: the C extension must load
PURE_GUARDS = {"SAFECOMPILE_PURE": "1"}


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The test suite twice: with the C guards, then with the pure-Python twin."""
    session.install("-e", ".[test]")
    session.run(
        "python", "-c",
        "import safecompile.guards as g; "
        "assert g.IMPLEMENTATION == 'c', g.IMPLEMENTATION; print('guards:', g.IMPLEMENTATION)",
        env=C_GUARDS,
    )
    session.run("pytest", "-q", *session.posargs, env=C_GUARDS)
    session.run("pytest", "-q", *session.posargs, env=PURE_GUARDS)


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """ruff and mypy (configured in pyproject.toml)."""
    session.install("-e", ".[lint]")
    session.run("ruff", "check", ".")
    session.run("mypy")


@nox.session(python="3.11")
def harness(session: nox.Session) -> None:
    """The shared attack and compatibility corpora against the installed package."""
    attacks = SHARED / "attacks" / "run.py"
    compat = SHARED / "compat" / "run.py"
    if not attacks.exists():
        session.skip(f"no shared harness at {attacks}")
    session.install("-e", ".")
    session.run("python", str(attacks), "--target", "safecompile", env=C_GUARDS)
    if compat.exists():
        session.run("python", str(compat), "--target", "safecompile", env=C_GUARDS)


@nox.session(python="3.11")
def fuzz(session: nox.Session) -> None:
    """Long fuzz runs (hours with the defaults); not part of CI.

    Every hypothesis fuzzer runs with the pure guards and with the C guards;
    the atheris harnesses run for ``--seconds`` each (skipped, with a
    message, where atheris does not install).  Findings: hypothesis prints
    the shrunk example and keeps it in .hypothesis/fuzz; libFuzzer writes
    crash-* files into fuzz/crashes/ and grows fuzz/corpus/ (both git-ignored).
    """
    parser = argparse.ArgumentParser(prog="nox -s fuzz --")
    parser.add_argument("--examples", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=3600, help="per atheris harness")
    parser.add_argument("--only", choices=["grammar", "differential", "escape", "atheris"])
    args = parser.parse_args(session.posargs)

    session.install("-e", ".[test]")
    # pip exits 1 where atheris has no wheel and cannot build (it needs clang);
    # the atheris harnesses then print why they skip.
    session.run("python", "-m", "pip", "install", "atheris", success_codes=[0, 1])

    examples = str(args.examples)
    hypothesis_runs = {
        "grammar": ["fuzz/grammar.py", "--examples", examples, "--run"],
        "differential": ["fuzz/differential.py", "--examples", examples],
        "escape": ["fuzz/escape.py", "--examples", examples],
    }
    for name, command in hypothesis_runs.items():
        if args.only in (None, name):
            for guards in (PURE_GUARDS, C_GUARDS):
                session.run("python", *command, env=guards)
    if args.only in (None, "atheris"):
        corpus = ROOT / "fuzz" / "corpus"  # git-ignored, like fuzz/crashes
        crashes = ROOT / "fuzz" / "crashes"
        crashes.mkdir(parents=True, exist_ok=True)
        for name, extra in (("compile", [f"-dict={ROOT / 'fuzz' / 'python.dict'}",
                                         str(ROOT / "fuzz" / "seeds" / "compile")]),
                            ("runtime", [])):
            (corpus / name).mkdir(parents=True, exist_ok=True)
            session.run(
                "python", f"fuzz/atheris_{name}.py", "-timeout=30", "-rss_limit_mb=4096",
                f"-artifact_prefix={crashes}/",
                f"-max_total_time={args.seconds}", str(corpus / name), *extra,
                env=PURE_GUARDS,
            )
