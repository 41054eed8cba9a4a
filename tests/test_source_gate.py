"""source.py and the parse step: only Python source text gets in; nesting too
deep is refused with SC005/SC001, never a RecursionError."""

from __future__ import annotations

import ast
import importlib.util
import io
import pathlib
import sys

import pytest

from safecompile import CompileRejected, Limits, Policy, compile_restricted, safe_exec
from safecompile.compiler import check
from safecompile.source import gate


def rejected_codes(source, **kwargs) -> list[str]:
    with pytest.raises(CompileRejected) as caught:
        compile_restricted(source, **kwargs)
    return [v.code for v in caught.value.violations]


# --- accepted input ----------------------------------------------------------------


def test_str_source_is_accepted():
    assert safe_exec("print('ok')").output == "ok\n"


def test_utf8_bytes_are_decoded():
    assert (
        safe_exec("print('\u00fcber \u65e5\u672c')".encode("utf-8")).output
        == "über 日本\n"
    )


def test_a_utf8_byte_order_mark_on_bytes_is_dropped():
    assert safe_exec(b"\xef\xbb\xbfprint('bom')").output == "bom\n"


def test_a_byte_order_mark_inside_str_text_is_a_syntax_error_as_in_python():
    with pytest.raises(SyntaxError):
        compile("\ufeffprint(1)", "<plain>", "exec")
    assert rejected_codes("\ufeffprint(1)") == ["SC001"]


def test_a_str_subclass_is_read_as_its_plain_text():
    class Sneaky(str):
        def encode(self, *args, **kwargs):
            return b"import os"

        def __contains__(self, item):
            return False

    assert gate(Sneaky("x = 1"), "<s>", None) == "x = 1"
    assert type(gate(Sneaky("x = 1"), "<s>", None)) is str


# --- refused input ---------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        compile("1", "<c>", "exec"),
        ast.parse("x = 1"),
        ast.parse("1", mode="eval"),
        pathlib.Path("script.py"),
        pathlib.PurePosixPath("script.py"),
        io.StringIO("print(1)"),
        io.BytesIO(b"print(1)"),
        bytearray(b"print(1)"),
        memoryview(b"print(1)"),
        None,
        42,
        ["print(1)"],
    ],
    ids=lambda value: type(value).__name__,
)
def test_anything_but_str_or_bytes_is_a_type_error(source):
    with pytest.raises(TypeError):
        compile_restricted(source)
    with pytest.raises(TypeError):
        safe_exec(source)


def test_bytes_starting_with_this_pythons_bytecode_magic_are_refused():
    pyc = importlib.util.MAGIC_NUMBER + b"\x00" * 12 + b"print(1)"
    assert rejected_codes(pyc) == ["SC003"]


@pytest.mark.parametrize("magic", [3413, 3495, 3531, 3571])
def test_bytes_shaped_like_any_cpython3_bytecode_are_refused(magic):
    pyc = magic.to_bytes(2, "little") + b"\r\n" + b"\x00" * 12
    assert rejected_codes(pyc) == ["SC003"]


@pytest.mark.parametrize("source", ["x = 1\x00", b"x = 1\x00", "x = 'a\x00b'", "\x00"])
def test_nul_characters_are_refused(source):
    assert rejected_codes(source) == ["SC003"]


def test_the_nul_violation_names_its_line():
    violations = check("a = 1\nb = 2\nc = 3\x00\n")
    assert [(v.lineno, v.code) for v in violations] == [(3, "SC003")]


@pytest.mark.parametrize(
    "source", [b"x = '\xff'", b"x = '\xc3'", b"\xed\xa0\x80", b"caf\xe9 = 1"]
)
def test_bytes_that_are_not_utf8_are_refused(source):
    assert rejected_codes(source) == ["SC004"]


@pytest.mark.parametrize("source", ["x = '\ud800'", "\udfff", "x = 1 # \ud83d"])
def test_text_holding_a_lone_surrogate_is_refused(source):
    assert rejected_codes(source) == ["SC004"]


def test_source_larger_than_the_policy_allows_is_refused_before_parsing():
    policy = Policy(limits=Limits(source=100))
    assert rejected_codes("x = 1\n" * 100, policy=policy) == ["SC002"]
    assert rejected_codes(b"x = 1\n" * 100, policy=policy) == ["SC002"]
    assert compile_restricted("x = 1\n" * 10, policy=policy)


def test_the_default_source_limit_is_one_mebibyte():
    assert Limits().source == 1024 * 1024
    assert rejected_codes("#" * (1024 * 1024 + 1)) == ["SC002"]


def test_syntax_errors_carry_pythons_message_and_position():
    with pytest.raises(CompileRejected) as caught:
        compile_restricted("x = 1\ndef f(:\n    pass\n")
    [violation] = caught.value.violations
    assert violation.code == "SC001"
    assert violation.lineno == 2
    assert "invalid syntax" in violation.message


def test_compile_does_not_inherit_the_hosts_future_flags():
    # This test module has `from __future__ import annotations`; scripts must not.
    assert safe_exec("def f(x: int) -> int:\n    return x\nprint(f(2))").output == "2\n"
    with pytest.raises(CompileRejected):
        compile_restricted("x = 1 <> 2")


def test_a_scripts_own_future_import_applies_to_it():
    source = "from __future__ import annotations\ndef f(x: Undefined) -> Missing:\n    return x\nprint(f(3))"
    assert safe_exec(source).output == "3\n"


# --- deep nesting ----------------------------------------------------------------


DEEP = {
    "unary minus": "x = " + "-" * 100_000 + "1",
    "parentheses": "x = " + "(" * 100_000 + "1" + ")" * 100_000,
    "lists": "x = " + "[" * 100_000 + "1" + "]" * 100_000,
    "lambdas": "x = " + "lambda: " * 100_000 + "1",
    "attribute chain": "x = a" + ".b" * 100_000,
    "call chain": "x = f" + "()" * 100_000,
    "subscript chain": "x = a" + "[0]" * 100_000,
    "binary operators": "x = " + "1 + " * 100_000 + "1",
    "not": "x = " + "not " * 100_000 + "1",
    "nested calls": "x = " + "f(" * 100_000 + ")" * 100_000,
    "nested dicts": "x = " + "{1: " * 100_000 + "1" + "}" * 100_000,
    "nested ifs": "".join(" " * i + "if x:\n" for i in range(1000))
    + " " * 1000
    + "pass\n",
    "moderately deep minus": "x = " + "-" * 1000 + "1",
    "moderately deep attributes": "x = a" + ".b" * 1000,
}


@pytest.mark.parametrize("source", DEEP.values(), ids=DEEP.keys())
def test_deep_nesting_is_refused_with_sc005_or_sc001_never_recursion_error(source):
    codes = set(rejected_codes(source))
    assert codes
    assert codes <= {"SC005", "SC001"}
    found = {v.code for v in check(source)}
    assert found
    assert found <= {"SC005", "SC001"}


@pytest.mark.parametrize("source", list(DEEP.values())[:6], ids=list(DEEP)[:6])
def test_deep_nesting_is_refused_even_when_the_host_stack_is_already_deep(source):
    def descend(levels: int):
        if levels:
            return descend(levels - 1)
        return set(rejected_codes(source))

    room = sys.getrecursionlimit() - len(_frames()) - 60
    assert descend(room) <= {"SC005", "SC001"}


def _frames() -> list:
    frame, frames = sys._getframe(), []
    while frame is not None:
        frames.append(frame)
        frame = frame.f_back
    return frames


def test_nesting_within_the_limit_compiles_and_runs():
    assert (
        safe_exec(
            "x = " + "-" * 100 + "1\ny = " + "(" * 50 + "2" + ")" * 50 + "\nprint(x, y)"
        ).output
        == "1 2\n"
    )


def test_deep_nesting_refused_by_the_parser_is_reported_at_its_line():
    violations = check("y = 1\n\nx = " + "(" * 300 + "1" + ")" * 300)
    assert [(v.lineno, v.code) for v in violations] == [(3, "SC005")]
