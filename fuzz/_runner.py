"""Command-line driver shared by the hypothesis-based fuzzers.

Each fuzzer module exposes a strategy and a ``check`` function (which raises
``AssertionError`` on a finding); ``main`` runs them for a long time with a
per-example watchdog (a hang dumps every thread's stack and exits non-zero)
and a persistent example database, so a finding replays on the next run.
"""

from __future__ import annotations

import argparse
import faulthandler
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase

ROOT = Path(__file__).resolve().parent.parent
DATABASE = ROOT / ".hypothesis" / "fuzz"

#: Seconds one example may take before it counts as a hang (long runs only).
HANG_SECONDS = 60.0


@contextmanager
def watchdog(seconds: float | None) -> Iterator[None]:
    """Dump all stacks and exit(1) if the body runs longer than ``seconds``."""
    if not seconds:
        yield
        return
    faulthandler.dump_traceback_later(seconds, exit=True)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


def fuzz_settings(examples: int, *, verbose: bool = False) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        database=DirectoryBasedExampleDatabase(str(DATABASE)),
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.verbose if verbose else Verbosity.normal,
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
        report_multiple_bugs=True,
        print_blob=True,
    )


def main(name: str, strategy: st.SearchStrategy[Any], check: Callable[[Any], None],
         argv: list[str] | None = None, *, default_examples: int = 100_000,
         setup: Callable[[], None] | None = None) -> int:
    """Run ``check`` over ``strategy`` from the command line; 0 = nothing found."""
    parser = argparse.ArgumentParser(prog=f"python fuzz/{name}.py", description=__doc__)
    parser.add_argument("--examples", type=int, default=default_examples,
                        help="examples to generate (default %(default)s)")
    parser.add_argument("--seed", type=int, default=None, help="fixed random seed")
    parser.add_argument("--hang", type=float, default=HANG_SECONDS,
                        help="seconds before one example counts as a hang (0: off)")
    parser.add_argument("--verbose", action="store_true", help="print every example")
    args = parser.parse_args(argv)
    # The compiler's SyntaxWarnings ("'int' object is not callable") are noise here.
    warnings.filterwarnings("ignore", category=SyntaxWarning)
    if setup is not None:
        setup()

    hang = args.hang

    def run_one(example: Any) -> None:
        with watchdog(hang):
            check(example)

    test = settings(fuzz_settings(args.examples, verbose=args.verbose))(given(strategy)(run_one))
    if args.seed is not None:
        test = seed(args.seed)(test)
    started = time.monotonic()
    print(f"[{name}] {args.examples} examples, hang limit {hang}s, "
          f"guards={(os.environ.get('SAFECOMPILE_PURE') == '1' and 'pure') or 'c'}", flush=True)
    try:
        test()
    except Exception as exc:  # hypothesis already printed the falsifying example
        print(f"[{name}] FINDING after {time.monotonic() - started:.0f}s: {type(exc).__name__}: {exc}",
              file=sys.stderr, flush=True)
        return 1
    print(f"[{name}] no finding in {time.monotonic() - started:.0f}s", flush=True)
    return 0
