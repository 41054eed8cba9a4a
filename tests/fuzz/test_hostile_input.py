"""Hostile input to the compiler and the runtime: bytes, sizes, depth, threads.

Every deep-nesting case runs in a child process with a timeout, so that a
crash (segfault, abort) or a hang shows up as a failed test instead of
killing pytest; the child prints the outcome as JSON.
"""

from __future__ import annotations

import ast
import decimal
import importlib.util
import json
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import safecompile
from safecompile import (
    CompileRejected,
    LimitExceeded,
    Limits,
    Policy,
    SafeCompileError,
    ScriptError,
    compile_restricted,
    safe_eval,
    safe_exec,
)
from safecompile import compiler as _compiler

# Where the package under test was imported from: the child processes import
# the very same one.
PACKAGE_ROOT = Path(safecompile.__file__).resolve().parent.parent
UNLIMITED_SOURCE = Policy(limits=Limits(source=None))
MiB = 1024 * 1024
N = 100_000


def _codes(exc: CompileRejected) -> set[str]:
    return {v.code for v in exc.violations}


def _attempt(function: Any, *args: Any) -> tuple[set[str] | None, Any]:
    """``(codes, None)`` if ``function`` raised CompileRejected, else ``(None, result)``."""
    try:
        return None, function(*args)
    except CompileRejected as exc:
        return _codes(exc) or {"<no violations>"}, None


def _rejected(source: str | bytes, mode: str = "exec", policy: Policy | None = None) -> set[str]:
    """Compile ``source``; it must be refused with CompileRejected. Its codes."""
    with pytest.raises(CompileRejected) as info:
        compile_restricted(source, mode=mode, policy=policy)  # type: ignore[arg-type]
    assert info.value.violations
    return _codes(info.value)


# --- child processes ---------------------------------------------------------------

CHILD = r"""
import json, sys, time
from safecompile import CompileRejected, Limits, Policy, compile_restricted
prefix, middle, suffix, n, mode, unlimited = json.loads(sys.stdin.read())
source = prefix * n + middle + suffix * n
policy = Policy(limits=Limits(source=None)) if unlimited else None
started = time.monotonic()
try:
    compile_restricted(source, mode=mode, policy=policy)
    outcome, codes = "compiled", []
except CompileRejected as exc:
    outcome, codes = "rejected", sorted({v.code for v in exc.violations})
except BaseException as exc:
    outcome, codes = "error", [type(exc).__name__ + ": " + str(exc)[:300]]
print(json.dumps({"outcome": outcome, "codes": codes, "seconds": time.monotonic() - started,
                  "size": len(source)}))
"""


def run_child(prefix: str, middle: str, suffix: str, n: int, mode: str = "exec", *,
              unlimited: bool = False, timeout: float = 120) -> dict[str, Any]:
    """Compile ``prefix * n + middle + suffix * n`` in a child; its JSON report."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PACKAGE_ROOT), env.get("PYTHONPATH")) if p)
    spec = json.dumps([prefix, middle, suffix, n, mode, unlimited])  # stdin: argv caps at 128 KB
    try:
        proc = subprocess.run(  # noqa: S603 - our own interpreter, our own code
            [sys.executable, "-X", "faulthandler", "-c", CHILD],
            input=spec, capture_output=True, text=True, timeout=timeout, env=env, check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"compiling hung for more than {timeout}s")
    assert proc.returncode == 0, (
        f"the child process died (exit {proc.returncode}): {proc.stderr[-3000:]}"
    )
    report: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return report


# (prefix, middle, suffix, unlimited source size): each nests N levels deep.
DEEP: dict[str, tuple[str, str, str, bool]] = {
    "parentheses": ("(", "1", ")", False),
    "unary-minus": ("-", "1", "", False),
    "unary-not": ("not ", "x", "", False),
    "unary-invert": ("~", "1", "", False),
    "lists": ("[", "", "]", False),
    "dicts": ("{1: ", "1", "}", False),
    "sets": ("{", "1", "}", False),
    "lambdas": ("lambda: ", "0", "", False),
    "lambda-defaults": ("lambda a=", "0", "", False),
    "if-expressions": ("1 if x else ", "0", "", True),
    "attribute-chain": ("", "x", ".a", False),
    "call-chain": ("", "f", "()", False),
    "subscript-chain": ("", "x", "[0]", False),
    "nested-calls": ("f(", "x", ")", False),
    "nested-subscripts": ("x[", "0", "]", False),
    "binary-operators": ("", "1", " + 1", False),
    "power-operators": ("", "2", " ** 2", False),
    "generator-expressions": ("(x for x in ", "y", ")", True),
    "starred": ("[*", "x", "]", False),
    "walrus": ("(x := ", "1", ")", False),
    "await": ("await ", "x", "", False),
}


@pytest.mark.parametrize("case", sorted(DEEP))
def test_hundred_thousand_levels_of_nesting_are_rejected_not_crashing(case: str) -> None:
    prefix, middle, suffix, unlimited = DEEP[case]
    report = run_child(prefix, middle, suffix, N, "exec", unlimited=unlimited)
    assert report["outcome"] == "rejected", report
    assert report["codes"], report


@pytest.mark.parametrize("case", ["parentheses", "unary-minus", "lists", "lambdas",
                                  "attribute-chain", "call-chain", "binary-operators"])
def test_hundred_thousand_levels_of_nesting_are_rejected_in_eval_mode(case: str) -> None:
    prefix, middle, suffix, unlimited = DEEP[case]
    report = run_child(prefix, middle, suffix, N, "eval", unlimited=unlimited)
    assert report["outcome"] == "rejected", report


def test_thousand_nested_if_blocks_are_rejected_not_crashing() -> None:
    # 100,000 nested blocks would need ~5e9 characters of indentation; the
    # tokenizer stops at 100 levels, so 1,000 levels (500 KB) exercise it,
    # and 3,000 levels (4.5 MB) with the size limit lifted.
    report = run_child("", "".join(" " * i + "if x:\n" for i in range(1000)) + " " * 1000 + "pass\n", "", 0)
    assert report["outcome"] == "rejected", report
    assert set(report["codes"]) <= {"SC001", "SC005"}, report
    report = run_child("", "".join(" " * i + "if x:\n" for i in range(3000)) + " " * 3000 + "pass\n", "", 0,
                       unlimited=True)
    assert report["outcome"] == "rejected", report


def test_hundred_thousand_nested_if_expressions_in_a_function_are_rejected() -> None:
    report = run_child("def f(x):\n    return ", "0" + "\n", "", 1, unlimited=True)
    assert report["outcome"] == "compiled", report  # the harness itself works
    report = run_child("", "def f(x):\n    return " + "1 if x else " * N + "0\n", "", 0, unlimited=True)
    assert report["outcome"] == "rejected", report


@pytest.mark.parametrize("depth", [50, 99])
def test_nested_blocks_within_the_tokenizer_limit_compile_or_are_rejected(depth: int) -> None:
    source = "".join(" " * i + "if x:\n" for i in range(depth)) + " " * depth + "y = 1\n"
    codes, _ = _attempt(compile_restricted, source)
    assert codes is None or codes <= {"SC001", "SC005"}


# --- bytes and encodings --------------------------------------------------------------


@pytest.mark.parametrize("source", [
    "x = 1\x00", "\x00", "x = '\x00'", "# \x00\nx = 1", "print(1)\n\x00\n",
    b"x = 1\x00", b"\x00print(1)", b"x = b'\x00'",
])
def test_nul_bytes_are_rejected_anywhere(source: str | bytes) -> None:
    assert _rejected(source) == {"SC003"}


@pytest.mark.parametrize("source", [
    b"x = '\xff'", b"\xc0\xaf", b"x = '\xe2\x82'", b"\xed\xa0\x80 = 1",
    b"\xf8\x88\x80\x80\x80", b"x = '\xf4\x90\x80\x80'", b"print(1)\n\x80",
    b"\xfe\xff\x00p\x00r", "print(1)".encode("utf-16"), "print(1)".encode("utf-32"),
])
def test_invalid_utf8_is_rejected(source: bytes) -> None:
    assert _rejected(source) <= {"SC003", "SC004"}


@pytest.mark.parametrize("source", [
    "x = '\ud800'", "\udc80 = 1", "# \udfff\nx = 1", "x = '\ud83d'  # half an emoji",
])
def test_lone_surrogates_are_rejected(source: str) -> None:
    assert _rejected(source) == {"SC004"}


def test_surrogate_escapes_in_string_literals_are_ordinary_text() -> None:
    result = safe_exec(r"x = len('\ud800')")
    assert result.namespace["x"] == 1


def test_utf8_bom_bytes_compile_and_run() -> None:
    assert safe_exec(b"\xef\xbb\xbfprint(1)").output == "1\n"


@pytest.mark.parametrize("source", [
    "\ufeffprint(1)", b"\xef\xbb\xbf\xef\xbb\xbfprint(1)", "print(1)\ufeff", "x = 1\n\ufeffy = 2",
])
def test_stray_boms_compile_or_are_rejected(source: str | bytes) -> None:
    codes, script = _attempt(compile_restricted, source)
    if codes is None:
        script.run()


@pytest.mark.parametrize(("source", "expected"), [
    (b"# -*- coding: utf-7 -*-\nprint('+AF8AXw-')\n", "+AF8AXw-\n"),
    (b"# coding: latin-1\nprint('\xc3\xa9')\n", "\u00e9\n"),
    (b"# vim: set fileencoding=rot13 :\nprint('__')\n", "__\n"),
    (b"# coding: utf-16\nprint('x')\n", "x\n"),
])
def test_coding_cookies_do_not_change_how_source_is_decoded(source: bytes, expected: str) -> None:
    # The gate decodes UTF-8 and hands text to the parser: a cookie naming
    # another codec cannot smuggle in code that only that codec decodes.
    try:
        result = safe_exec(source)
    except CompileRejected:
        return
    assert result.output == expected


def test_utf7_cookie_does_not_decode_hidden_code() -> None:
    # Under UTF-7, "+AHgAPQ-1" is "x=1"; read as UTF-8 it is "+AHgAPQ - 1".
    try:
        result = safe_exec(b"# coding: utf-7\n+AHgAPQ-1\n")
    except (CompileRejected, ScriptError):
        pass
    else:
        assert "x" not in result.namespace
    result = safe_exec(b"# coding: utf-7\nx = '+AF8AXw-class+AF8AXw-'\n")
    assert result.namespace["x"] == "+AF8AXw-class+AF8AXw-"


@pytest.mark.parametrize("source", [
    importlib.util.MAGIC_NUMBER + b"\x00" * 12 + b"\xe3\x00\x00\x00",
    importlib.util.MAGIC_NUMBER + b"\r\n" + b"print(1)\n",
    (3413).to_bytes(2, "little") + b"\r\n" + b"\x00" * 12,  # CPython 3.8
    (3495).to_bytes(2, "little") + b"\r\nprint(1)\n",      # CPython 3.11
    (3531).to_bytes(2, "little") + b"\r\nprint(1)\n",      # CPython 3.12
])
def test_bytecode_magic_prefix_is_rejected(source: bytes) -> None:
    assert _rejected(source) <= {"SC003"}


def test_bytecode_magic_as_text_is_rejected() -> None:
    text = (importlib.util.MAGIC_NUMBER + b"\x00" * 4).decode("latin-1")
    assert _rejected(text)


@pytest.mark.parametrize("make", [
    lambda: compile("print(1)", "<x>", "exec"),
    lambda: ast.parse("print(1)"),
    lambda: Path("script.py"),
    lambda: 42,
    lambda: None,
    lambda: bytearray(b"print(1)"),
    lambda: memoryview(b"print(1)"),
])
def test_non_source_objects_are_refused(make: Any) -> None:
    with pytest.raises((TypeError, CompileRejected)):
        compile_restricted(make())


def test_str_subclass_source_is_taken_as_plain_text() -> None:
    class Sneaky(str):
        def encode(self, *args: Any, **kwargs: Any) -> bytes:
            return b"print('sneaky')"

        def __str__(self) -> str:
            return "print('sneaky')"

    assert safe_exec(Sneaky("print('plain')")).output == "plain\n"


@pytest.mark.parametrize(("source", "codes"), [
    ("x = ().__\uff43\uff4c\uff41\uff53\uff53__", {"SC102"}),        # fullwidth "class"
    ("x = __\uff42\uff55\uff49\uff4c\uff54\uff49\uff4e\uff53__", {"SC101", "SC105"}),
    ("g = (x for x in [])\nf = g.\U0001d420\U0001d422_frame", {"SC103"}),  # bold "gi"
    ("x = ().\uff3f\uff3fclass\uff3f\uff3f", {"SC001"}),  # U+FF3F cannot start a name
])
def test_identifiers_are_checked_after_nfkc_normalisation(source: str, codes: set[str]) -> None:
    # The parser NFKC-normalises identifiers; the rules must see "__class__".
    assert _rejected(source) & (codes | {"SC001"})
    assert _rejected(source) & codes


def test_names_built_from_compatibility_characters_are_not_normalised_at_run_time() -> None:
    result = safe_exec("print(hasattr((), '_' * 2 + '\\uff43\\uff4c\\uff41\\uff53\\uff53__'))")
    assert result.output == "False\n"


# --- sizes -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["str", "bytes", "eval", "check"])
def test_ten_megabytes_of_source_are_rejected_quickly_by_the_size_limit(kind: str) -> None:
    text = "x = 1\n" * (10 * MiB // 6 + 1)
    started = time.monotonic()
    if kind == "check":
        codes = {v.code for v in _compiler.check(text)}
    elif kind == "eval":
        codes = _rejected("1 + " * (10 * MiB // 4) + "1", mode="eval")
    else:
        codes = _rejected(text.encode() if kind == "bytes" else text)
    elapsed = time.monotonic() - started
    assert codes == {"SC002"}
    assert elapsed < 2.0, f"rejecting 10 MB took {elapsed:.2f}s"


def test_ten_megabytes_through_safe_eval_are_rejected() -> None:
    with pytest.raises(CompileRejected) as info:
        safe_eval("1" * (10 * MiB))
    assert _codes(info.value) == {"SC002"}


def test_one_megabyte_identifier_compiles_and_runs() -> None:
    name = "a" * 1_000_000
    result = safe_exec(f"{name} = 41 + 1\n")
    assert result.namespace[name] == 42


def test_one_megabyte_non_ascii_identifier_compiles_or_is_rejected() -> None:
    name = "\u00e9" * 400_000  # 800 KB of UTF-8
    codes, result = _attempt(safe_exec, f"{name} = 1\n".encode())
    if codes is None:
        assert list(result.namespace.values()) == [1]
    else:
        assert codes <= {"SC001", "SC002"}


def test_one_megabyte_attribute_name_is_handled() -> None:
    name = "b" * 1_000_000
    with pytest.raises(SafeCompileError):
        safe_exec(f"x = 1 .{name}\n")


def test_one_megabyte_attribute_name_built_at_run_time_is_handled() -> None:
    # (How long the message may be: tests/regressions/test_fuzz_long_name_message.py.)
    with pytest.raises(SafeCompileError):
        safe_exec("getattr(1, '_' * 2 + 'c' * 1_000_000)")


LONG_LINES = {
    "string-literal": "s = '" + "a" * 1_000_000 + "'\nprint(len(s))",
    "comment": "# " + "c" * 1_000_000 + "\nprint(len('x'))",
    "blank": " " * 1_000_000 + "\nprint(1)",
    "newlines": "\n" * 1_000_000 + "print(1)",
    "list-display": "x = [" + "1," * 300_000 + "]\nprint(len(x))",
}


@pytest.mark.parametrize("case", sorted(LONG_LINES))
def test_extremely_long_lines_compile_and_run(case: str) -> None:
    line = LONG_LINES[case]
    started = time.monotonic()
    codes, result = _attempt(safe_exec, line)
    if codes is None:
        assert result.output.strip().isdigit()
    else:
        assert codes <= {"SC002", "SC005"}
    assert time.monotonic() - started < 30


def test_long_flat_expressions_compile_or_are_rejected() -> None:
    for source in ("x = 1" + " < 1" * N, "x = y" + " and y" * N, "x = 1;" * (N // 2)):
        codes, _ = _attempt(compile_restricted, source)
        assert codes is None or codes <= {"SC002", "SC005"}


# --- concurrency --------------------------------------------------------------------------


class Counter:
    """A host object each thread gets its own instance of."""

    def __init__(self, owner: int) -> None:
        self.owner = owner

    def whose(self) -> int:
        return self.owner


safecompile.expose(Counter, "whose")

SHARED = compile_restricted("""
import decimal, random
decimal.getcontext().prec = tid + 5
random.seed(tid)
total = 0
for k in range(200):
    total += tid
mine = [tid] * 3 + payload
d = str(decimal.Decimal(1) / decimal.Decimal(7))
r = random.random()
print("T", tid, counter.whose(), total, len(payload))
""", filename="shared.py")

SPIN = "n = 0\nwhile True:\n    n += 1\n"
CHATTY = "while True:\n    print(tid)\n"


def _worker(tid: int, deadline: float, errors: list[str], rounds: list[int]) -> None:
    try:
        done = 0
        while time.monotonic() < deadline:
            grants = {"tid": tid, "payload": list(range(tid)), "counter": Counter(tid)}
            kind = (tid + done) % 4
            if kind in (0, 1):
                result = SHARED.run(grants)
                expected_line = f"T {tid} {tid} {200 * tid} {tid}\n"
                if result.output != expected_line:
                    errors.append(f"thread {tid}: output {result.output!r}, expected {expected_line!r}")
                ns = result.namespace
                if ns["mine"] != [tid] * 3 + list(range(tid)) or ns["total"] != 200 * tid:
                    errors.append(f"thread {tid}: namespace {ns['mine']!r} {ns['total']!r}")
                if len(ns["d"].split(".")[1]) != tid + 5:
                    errors.append(f"thread {tid}: decimal precision cross-talk: {ns['d']}")
                if ns["r"] != random.Random(tid).random():  # noqa: S311 - the script's seeded stream
                    errors.append(f"thread {tid}: random state cross-talk")
            elif kind == 2:
                steps = 1000 + 37 * tid
                try:
                    safe_exec(SPIN, grants, limits={"steps": steps})
                    errors.append(f"thread {tid}: the spin loop finished")
                except LimitExceeded as exc:
                    if exc.limit != "steps" or exc.allowed != steps:
                        errors.append(f"thread {tid}: budget cross-talk: {exc.limit} {exc.allowed} != {steps}")
            else:
                output = 200 + tid
                try:
                    safe_exec(CHATTY, grants, limits={"output": output, "steps": None, "time": 10.0})
                    errors.append(f"thread {tid}: the chatty loop finished")
                except LimitExceeded as exc:
                    if exc.limit != "output" or exc.allowed != output:
                        errors.append(f"thread {tid}: output budget cross-talk: {exc.limit} {exc.allowed}")
                    lines = getattr(exc, "output", "").splitlines()
                    # The last line may be cut where the budget ran out.
                    if any(line != str(tid) for line in lines[:-1]) or (
                            lines and not str(tid).startswith(lines[-1])):
                        errors.append(f"thread {tid}: output cross-talk: {lines[:5]!r}")
            done += 1
        rounds[tid] = done
    except BaseException as exc:  # reported by the test
        errors.append(f"thread {tid}: {type(exc).__name__}: {exc}")


def test_sixteen_threads_share_nothing_but_the_compiled_code() -> None:
    host_decimal = repr(decimal.getcontext())
    host_random = random.getstate()
    errors: list[str] = []
    rounds = [0] * 16
    deadline = time.monotonic() + 3.0
    threads = [threading.Thread(target=_worker, args=(tid, deadline, errors, rounds), daemon=True)
               for tid in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not [t for t in threads if t.is_alive()], "deadlock: threads still running after 60s"
    assert not errors, "\n".join(errors[:20])
    assert all(rounds), f"a thread never completed a round: {rounds}"
    assert repr(decimal.getcontext()) == host_decimal
    assert random.getstate() == host_random


def test_time_budgets_of_concurrent_runs_are_independent() -> None:
    results: dict[int, tuple[str, float]] = {}

    def spin(tid: int, seconds: float) -> None:
        started = time.monotonic()
        try:
            safe_exec(SPIN, {"tid": tid}, limits={"time": seconds, "steps": None})
        except LimitExceeded as exc:
            results[tid] = (exc.limit, time.monotonic() - started)

    threads = [threading.Thread(target=spin, args=(0, 0.3)), threading.Thread(target=spin, args=(1, 2.0))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    assert results[0][0] == "time"
    assert results[1][0] == "time"
    assert results[0][1] < results[1][1], results
