"""What budgets cost: loop-heavy code under plain exec and under safecompile.

    python benchmarks/bench_budgets.py [--reps 5]

Runs each workload with plain ``exec``, with safecompile's default budgets
(steps, time, recursion, output, operand, memory accounting), and with every
limit set to None (the ticks still run, nothing can trip), interleaved, and
prints the median times and ratios.  Speed goals are checked here, never in
timed unit tests.
"""

from __future__ import annotations

import argparse
import builtins
import contextlib
import gc
import io
import statistics
import time

from safecompile import Limits, Policy, compile_restricted
from safecompile.guards import IMPLEMENTATION

WORKLOADS = {
    "for-loop sum": "t = 0\nfor i in range(300_000):\n    t += i * 2\nprint(t)",
    "while-loop": "n = 0\nwhile n < 300_000:\n    n += 1\nprint(n)",
    "comprehension": "print(sum([x * x for x in range(300_000) if x % 3]))",
    # the same without a product of two names (x * x goes through the
    # operand guard __sc_mul__): what the ticks alone cost
    "comprehension, no product": "print(sum([x + x for x in range(300_000) if x % 3]))",
    "function calls": "def f(x):\n    return x + 1\nt = 0\nfor i in range(100_000):\n    t = f(t)\nprint(t)",
    "list building": "rows = []\nfor i in range(100_000):\n    rows.append([i, str(i)])\nprint(len(rows))",
}

UNLIMITED = Limits(steps=None, time=None, memory=None, recursion=None, output=None, operand=None)


def _plain(source: str):
    code = compile(source, "<plain>", "exec", dont_inherit=True)

    def run() -> str:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(code, {"__builtins__": builtins, "__name__": "script"})
        return out.getvalue()

    return run


def _sandboxed(source: str, policy: Policy):
    script = compile_restricted(source, policy=policy)
    return lambda: script.run().output


def _time(run) -> float:
    gc.disable()
    try:
        start = time.perf_counter()
        run()
        return time.perf_counter() - start
    finally:
        gc.enable()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    print(f"guards: {IMPLEMENTATION}; median of {args.reps}; ratio to plain exec")
    print("| workload | plain | budgets on | ratio | limits None | ratio |")
    print("|---|---|---|---|---|---|")
    for name, source in WORKLOADS.items():
        runs = {
            "plain": _plain(source),
            "on": _sandboxed(source, Policy()),
            "off": _sandboxed(source, Policy(limits=UNLIMITED)),
        }
        expected = runs["plain"]()
        for key, run in runs.items():
            assert run() == expected, (name, key)
        times: dict[str, list[float]] = {key: [] for key in runs}
        for _ in range(args.reps):
            for key, run in runs.items():
                times[key].append(_time(run))
        med = {key: statistics.median(values) for key, values in times.items()}
        print(f"| {name} | {med['plain'] * 1000:.1f} ms | {med['on'] * 1000:.1f} ms | "
              f"{med['on'] / med['plain']:.2f}x | {med['off'] * 1000:.1f} ms | "
              f"{med['off'] / med['plain']:.2f}x |")


if __name__ == "__main__":
    main()
