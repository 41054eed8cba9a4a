"""safecompile.guards._memory: per-thread accounting of allocated memory."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import sysconfig
import threading
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from safecompile.guards import _memory

MiB = 1 << 20
ROOT = Path(__file__).resolve().parents[2]
# Passed to begin() 100,000 times by the leak test: not a cached small int.
LIMIT = 123_456_789_012
# Lower bounds allow for small blocks from before a run that it sees freed.
SLACK = 64 * 1024


def _supported_allocator() -> bool:
    """Whether this interpreter runs an allocator configuration _memory hooks."""
    if sys.flags.dev_mode or hasattr(sys, "gettotalrefcount"):
        return False  # debug hooks
    if sysconfig.get_config_var("Py_GIL_DISABLED"):
        return False  # mimalloc
    if "tracemalloc" in sys._xoptions:
        return False  # tracemalloc wraps the allocators before the import
    if sys.flags.ignore_environment:
        return True
    if os.environ.get("PYTHONTRACEMALLOC"):
        return False
    return os.environ.get("PYTHONMALLOC", "") in ("", "default", "pymalloc", "malloc")


needs_hooks = pytest.mark.skipif(
    not _memory.installed(), reason="unsupported allocator: hooks not installed"
)


class Run:
    """``with Run(limit) as r:`` brackets begin()/end(); ``r.result`` is end()'s."""

    def __init__(self, limit: int = -1) -> None:
        self.limit = limit
        self.result: tuple[int, int, bool] = (0, 0, False)

    def __enter__(self) -> Run:
        _memory.begin(self.limit)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.result = _memory.end()


@pytest.fixture(autouse=True)
def _steady_heap() -> Iterator[None]:
    """No collection frees unrelated garbage mid-test; no run is left open."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        left_open = 0
        while True:
            try:
                _memory.end()
            except RuntimeError:
                break
            left_open += 1
        assert left_open == 0, f"{left_open} run(s) left open"


def test_installed_matches_allocator_configuration() -> None:
    assert _memory.installed() is _supported_allocator()
    if not _memory.installed():
        with pytest.raises(RuntimeError, match="unavailable"):
            _memory.begin(-1)


def test_usage_outside_a_run_is_zero() -> None:
    assert _memory.usage() == (0, 0)
    assert _memory.exceeded() is False


def test_end_without_begin_raises() -> None:
    with pytest.raises(RuntimeError, match="begin"):
        _memory.end()


@needs_hooks
def test_end_after_balanced_runs_raises() -> None:
    with Run():
        pass
    with pytest.raises(RuntimeError, match="begin"):
        _memory.end()


@needs_hooks
def test_begin_rejects_bad_limits() -> None:
    with pytest.raises(TypeError):
        _memory.begin("1000")  # type: ignore[arg-type]
    with pytest.raises(OverflowError):
        _memory.begin(2**100)
    assert _memory.usage() == (0, 0)


@needs_hooks
def test_refuses_allocation_over_the_limit() -> None:
    with Run(50 * MiB) as run:
        with pytest.raises(MemoryError):
            bytearray(100_000_000)
        assert _memory.exceeded() is True
    _, peak, exceeded = run.result
    assert exceeded is True
    assert peak < 5 * MiB  # refused before the block was allocated


@needs_hooks
def test_same_allocation_fits_a_larger_limit() -> None:
    with Run(200 * MiB) as run:
        data = bytearray(100_000_000)
        net, _ = _memory.usage()
        assert 100_000_000 - SLACK <= net < 100_000_000 + 4 * MiB
        del data
        after, _ = _memory.usage()
        assert after < 4 * MiB
    assert run.result[1] >= 100_000_000 - SLACK
    assert run.result[2] is False


@needs_hooks
def test_calloc_path_is_limited_and_counted() -> None:
    # bytes(n) is zero-filled: PyObject_Calloc, unlike bytearray(n).
    with Run(50 * MiB) as run, pytest.raises(MemoryError):
        bytes(100_000_000)
    assert run.result[2] is True
    with Run() as run:
        data = bytes(100_000_000)
        assert _memory.usage()[0] >= 100_000_000 - SLACK
        del data
    assert run.result[1] >= 100_000_000 - SLACK


@needs_hooks
def test_refused_growth_leaves_the_block_intact() -> None:
    with Run(30 * MiB) as run:
        data = bytearray(10_000_000)
        data[-1] = 7
        with pytest.raises(MemoryError):
            data *= 5  # realloc to 50 MB
        assert len(data) == 10_000_000
        assert data[-1] == 7
    assert run.result[2] is True


@needs_hooks
def test_growth_within_the_limit_is_counted() -> None:
    with Run(100 * MiB) as run:
        data = bytearray(10_000_000)
        data *= 3
        assert _memory.usage()[0] >= 30_000_000 - SLACK
        del data
    assert run.result[2] is False


@needs_hooks
def test_many_small_objects_are_counted_and_credited_back() -> None:
    count = 2_000_000
    with Run():
        ints = list(range(10**6, 10**6 + count))  # none of them cached
        net, _ = _memory.usage()
        expected = count * (8 + sys.getsizeof(10**6))  # list slot + int object
        # Small objects are counted by the arena (256 KiB-1 MiB) they are cut
        # from: free space in arenas left by earlier tests is reused without
        # a new count, so the lower bound is loose (measured 0.75-1.1x).
        assert 0.5 * expected <= net <= 3 * expected
        del ints
        gc.collect()
        after, peak = _memory.usage()
        assert peak >= net
        assert after < 0.1 * net


@needs_hooks
def test_short_strings_are_counted_and_credited_back() -> None:
    with Run():
        words = [str(i) for i in range(1_000_000)]
        net, _ = _memory.usage()
        expected = sum(sys.getsizeof(w) + 8 for w in words)
        assert 0.5 * expected <= net <= 3 * expected
        del words
        gc.collect()
        assert _memory.usage()[0] < 0.1 * net


@needs_hooks
def test_memory_from_before_the_run_is_credited_when_freed() -> None:
    data = bytearray(20_000_000)
    with Run() as run:
        del data
        assert _memory.usage()[0] <= -20_000_000 + SLACK
    assert run.result[0] <= -20_000_000 + SLACK
    assert run.result[1] >= 0


@needs_hooks
def test_nested_runs_count_toward_every_active_run() -> None:
    with Run() as outer:
        first = bytearray(10_000_000)
        with Run() as inner:
            assert _memory.usage()[0] < 1 * MiB
            second = bytearray(20_000_000)
        assert 20_000_000 - SLACK <= inner.result[0] < 21_000_000
        assert _memory.usage()[0] >= 30_000_000 - SLACK
        del first, second
    assert outer.result[1] >= 30_000_000 - SLACK
    assert outer.result[0] < 2 * MiB


@needs_hooks
def test_outer_limit_applies_inside_an_inner_run() -> None:
    with Run(50 * MiB) as outer:
        with Run() as inner:
            with pytest.raises(MemoryError):
                bytearray(60_000_000)
            assert _memory.exceeded() is False  # not the inner run's limit
        assert _memory.exceeded() is True
    assert inner.result[2] is False
    assert outer.result[2] is True


@needs_hooks
def test_inner_limit_does_not_mark_the_outer_run() -> None:
    with Run() as outer:
        with Run(10 * MiB) as inner, pytest.raises(MemoryError):
            bytearray(20_000_000)
        assert _memory.exceeded() is False
        kept = bytearray(20_000_000)  # fine again outside the inner run
        del kept
    assert inner.result[2] is True
    assert outer.result[2] is False


@needs_hooks
def test_nesting_depth_is_bounded() -> None:
    for _ in range(16):
        _memory.begin(-1)
    try:
        with pytest.raises(RuntimeError, match="nested"):
            _memory.begin(-1)
    finally:
        for _ in range(16):
            _memory.end()
    with pytest.raises(RuntimeError):
        _memory.end()


@needs_hooks
def test_other_threads_are_not_counted() -> None:
    allocated = threading.Event()
    release = threading.Event()
    held: list[bytearray] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            held.append(bytearray(50_000_000))
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            allocated.set()
        release.wait(timeout=60)
        held.clear()

    with Run(10 * MiB) as run:
        thread = threading.Thread(target=worker)
        thread.start()
        assert allocated.wait(timeout=60)
        net, _ = _memory.usage()
        release.set()
        thread.join(timeout=60)
    assert not errors
    assert net < 5 * MiB
    assert run.result[2] is False


@needs_hooks
def test_runs_on_two_threads_are_independent() -> None:
    results: list[tuple[int, int, bool]] = []

    def worker() -> None:
        with Run() as run:
            data = bytearray(30_000_000)
            del data
        results.append(run.result)

    with Run() as run:
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join(timeout=60)
    assert len(results) == 1
    assert results[0][1] >= 30_000_000 - SLACK
    assert run.result[1] < 5 * MiB


@needs_hooks
def test_interpreter_keeps_working_after_a_refusal() -> None:
    with Run(20 * MiB) as run:
        with pytest.raises(MemoryError):
            bytearray(100_000_000)
        small = list(range(1000))
        namespace: dict[str, object] = {}
        exec("total = sum(x * x for x in range(1000))", namespace)
        assert namespace["total"] == 332_833_500
        assert sum(small) == 499_500
    assert run.result[2] is True
    big = bytearray(100_000_000)  # no run, no limit
    assert len(big) == 100_000_000


@needs_hooks
def test_begin_end_loop_leaks_nothing() -> None:
    def refcounts() -> tuple[int, ...]:
        return tuple(sys.getrefcount(obj) for obj in (LIMIT, _memory, True, False))

    for _ in range(1000):  # warm up caches and free lists
        _memory.begin(LIMIT)
        _memory.end()
    before = refcounts()
    tracemalloc.start()
    try:
        traced_before, _ = tracemalloc.get_traced_memory()
        for _ in range(100_000):
            _memory.begin(LIMIT)
            _memory.usage()
            _memory.exceeded()
            _memory.end()
        traced_after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    after = refcounts()
    assert after[:2] == before[:2]
    assert all(abs(a - b) < 10 for a, b in zip(after[2:], before[2:], strict=True))
    assert traced_after - traced_before < 64 * 1024
    assert _memory.installed()  # tracemalloc.stop() put our hooks back


@needs_hooks
def test_begin_refuses_when_the_hooks_were_removed() -> None:
    # A hook installed before the import and removed after it (restoring the
    # allocator it saved) unhooks _memory: begin() must say so, not run unmetered.
    script = """
import ctypes
class Allocator(ctypes.Structure):
    _fields_ = [(n, ctypes.c_void_p) for n in ("ctx", "malloc", "calloc", "realloc", "free")]
saved = Allocator()
ctypes.pythonapi.PyMem_GetAllocator(0, ctypes.byref(saved))  # PYMEM_DOMAIN_RAW
from safecompile.guards import _memory
assert _memory.installed()
ctypes.pythonapi.PyMem_SetAllocator(0, ctypes.byref(saved))
assert not _memory.installed()
try:
    _memory.begin(-1)
except RuntimeError as exc:
    print("refused:", exc)
"""
    done = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "refused: memory accounting hooks were removed" in done.stdout
