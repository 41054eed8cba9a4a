"""The deadline watchdog (guards/_deadline.c): Python code the step counter
never sees (the standard library's own loops) is stopped at the deadline,
and no TimeUp ever reaches code after the watched call."""

from __future__ import annotations

import contextlib
import math
import os
import sys
import textwrap
import threading
import time
from collections.abc import Callable

import pytest

import safecompile
from safecompile import LimitExceeded

_deadline = pytest.importorskip("safecompile.guards._deadline")
TimeUp = _deadline.TimeUp
watched = _deadline.watched


SPIN = """
def spin(seconds):
    end = monotonic() + seconds
    n = 0
    while monotonic() < end:
        n += 1
    return n
"""


def host_spin(seconds: float) -> int:
    """The host's own Python code: runs ``seconds`` with no tick."""
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        n += 1
    return n


def _script_spin() -> Callable[[float], int]:
    # Code whose globals carry the compiler's marker counts as the script's:
    # the watchdog fires at it (and only at it, past stdlib frames).
    space: dict[str, object] = {"__sc_enter__": None, "monotonic": time.monotonic}
    exec(SPIN, space)
    return space["spin"]  # type: ignore[return-value]


spin = _script_spin()


def test_a_call_in_time_returns_its_value() -> None:
    assert watched(5.0, lambda: 41 + 1) == 42
    assert watched(math.inf, lambda: "no deadline") == "no deadline"
    assert _deadline.pending() == 0


def test_the_call_s_own_error_propagates_unchanged() -> None:
    def fails() -> None:
        raise KeyError("mine")

    with pytest.raises(KeyError, match="mine"):
        watched(5.0, fails)
    assert _deadline.pending() == 0


def test_an_overrunning_python_loop_is_interrupted() -> None:
    started = time.monotonic()
    with pytest.raises(TimeUp):
        watched(0.1, lambda: spin(30.0))
    assert time.monotonic() - started < 5.0
    assert _deadline.pending() == 0


def test_catching_time_up_buys_only_the_refire_interval() -> None:
    caught = []

    def stubborn() -> None:
        for _ in range(3):
            try:
                spin(30.0)
            except TimeUp:
                caught.append(time.monotonic())
        spin(30.0)

    started = time.monotonic()
    with pytest.raises(TimeUp):
        watched(0.05, stubborn)
    assert len(caught) == 3
    assert time.monotonic() - started < 5.0


def test_nothing_is_left_pending_for_the_caller() -> None:
    # Deadlines that pass while the call is returning: whatever the
    # watchdog fired must surface inside the call or not at all.
    def short() -> int:
        try:
            return spin(0.002)
        except TimeUp:
            return -1

    for _ in range(200):
        with contextlib.suppress(TimeUp):  # raised inside the call (before its try): allowed
            watched(0.0, short)
        spin(0.003)  # a TimeUp left pending would be raised here, failing the test
    assert _deadline.pending() == 0


def test_the_host_s_own_code_is_never_interrupted() -> None:
    # A host function the script called (through a grant) finishes; the
    # firing is deferred until the script's own code runs again.
    started = time.monotonic()
    assert watched(0.05, lambda: host_spin(0.4)) > 0
    assert time.monotonic() - started >= 0.4

    def script_calls_host() -> None:
        host_spin(0.3)
        spin(30.0)

    with pytest.raises(TimeUp):
        watched(0.05, script_calls_host)
    assert time.monotonic() - started < 5.0


def test_the_host_s_use_of_the_standard_library_is_not_interrupted() -> None:
    def host_wraps() -> list[str]:
        end = time.monotonic() + 0.3
        lines: list[str] = []
        while time.monotonic() < end:
            lines = textwrap.wrap("ab cd " * 2000, width=5)
        return lines

    assert watched(0.05, host_wraps)


def test_only_the_late_thread_is_interrupted() -> None:
    outcome: dict[str, str] = {}

    def worker(name: str, seconds: float, work: float) -> None:
        try:
            watched(seconds, lambda: spin(work))
            outcome[name] = "finished"
        except TimeUp:
            outcome[name] = "interrupted"

    late = threading.Thread(target=worker, args=("late", 0.1, 30.0))
    prompt = threading.Thread(target=worker, args=("prompt", 30.0, 0.5))
    late.start()
    prompt.start()
    late.join(10)
    prompt.join(10)
    assert outcome == {"late": "interrupted", "prompt": "finished"}


def test_an_enclosing_deadline_reaches_through_a_nested_call() -> None:
    def outer() -> None:
        watched(30.0, lambda: spin(30.0))

    started = time.monotonic()
    with pytest.raises(TimeUp):
        watched(0.1, outer)
    assert time.monotonic() - started < 5.0
    assert _deadline.pending() == 0


def test_arguments_are_checked() -> None:
    with pytest.raises(TypeError):
        watched(1.0)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        watched("soon", lambda: None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="nan"):
        watched(math.nan, lambda: None)
    assert watched(-1.0, lambda: 1) == 1  # a past deadline still runs a quick call


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_fork_child_has_a_working_watchdog() -> None:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        code = 1
        try:
            watched(0.05, lambda: spin(10.0))
        except TimeUp:
            code = 0
        except BaseException:
            code = 2
        os.write(write, bytes([code]))
        os._exit(0)
    os.close(write)
    got = os.read(read, 1)
    os.close(read)
    os.waitpid(pid, 0)
    assert got == b"\x00"


# -- in safe_exec ---------------------------------------------------------------------

SLOW_STDLIB: dict[str, str] = {
    "textwrap": "import textwrap\nx = textwrap.wrap('a' * 1000000, width=1)\n",
    "strptime": "import datetime\ndatetime.datetime.strptime('', '%%' * 1000000)\n",
    "enum": "import enum\nE = enum.Enum('E', ['m%d' % i for i in range(200000)])\n",
    "statistics": (
        "import statistics\nfrom fractions import Fraction\n"
        "m = statistics.mean([Fraction(1, k) for k in range(1, 300000)])\n"
    ),
    "punycode": "s = ''.join([chr(0x4e00 + i % 20000) for i in range(100000)])\nb = s.encode('punycode')\n",
}


def host_state() -> tuple[object, ...]:
    return (threading.active_count(), sys.getrecursionlimit(), _deadline.pending())


@pytest.mark.parametrize("name", sorted(SLOW_STDLIB))
def test_untimed_standard_library_loops_end_at_the_deadline(name: str) -> None:
    before = host_state()
    started = time.monotonic()
    with pytest.raises(LimitExceeded) as info:
        safecompile.safe_exec(SLOW_STDLIB[name], limits={"time": 0.5})
    took = time.monotonic() - started
    assert info.value.limit == "time"
    assert took < 4.0, f"{name} ran {took:.1f} s past a 0.5 s budget"
    spin(0.2)  # nothing pending for the host
    assert host_state() == before


@pytest.mark.parametrize("catch", ["except:", "except BaseException:", "finally:"])
def test_the_script_cannot_outlast_the_deadline_by_catching(catch: str) -> None:
    source = (
        "import textwrap\n"
        "for _ in range(1000):\n"
        "    try:\n"
        "        textwrap.wrap('a' * 1000000, width=1)\n"
        f"    {catch}\n"
        "        pass\n"
    )
    started = time.monotonic()
    with pytest.raises(LimitExceeded) as info:
        safecompile.safe_exec(source, limits={"time": 0.3})
    assert info.value.limit == "time"
    assert time.monotonic() - started < 4.0


def test_a_script_that_finishes_in_time_is_not_touched() -> None:
    result = safecompile.safe_exec(
        "import textwrap\nlines = textwrap.wrap('ab cd ' * 1000, width=7)\n",
        limits={"time": 5.0},
    )
    assert result.namespace["lines"] == textwrap.wrap("ab cd " * 1000, width=7)
    spin(0.1)
    assert _deadline.pending() == 0


def test_no_time_limit_means_no_watchdog_deadline() -> None:
    source = "import textwrap\nn = len(textwrap.wrap('a' * 40000, width=1))\n"
    result = safecompile.safe_exec(source, limits={"time": None})
    assert result.namespace["n"] == 40000


def test_start_is_idempotent_and_needs_no_run() -> None:
    _deadline.start()
    _deadline.start()
    assert watched(5.0, lambda: "ok") == "ok"
