"""fuzz-check-sc001: ``check()`` misses syntax errors that only CPython's compiler finds.

Found by fuzz/grammar.py (hypothesmith text ``yield``).  ``compile_restricted``
rejects these sources with SC001 (Python's own message), but
``safecompile.compiler.check`` -- the lint entry point behind ``safecompile
check`` -- returned no violation at all, so a script passes the linter and is
then refused when it was compiled.  The errors come from CPython's symbol
table / code generator, after ``ast.parse`` succeeded.

Expected: ``check(source)`` reports SC001 with CPython's message.
Was:      ``check(source) == []``.

Status: fixed in 8f285c1 ("Lint reports compile-stage syntax errors;
__future__ imports checked like CPython; denial messages cut long names");
these tests keep it fixed.
"""

from __future__ import annotations

import pytest

from safecompile import CompileRejected, compile_restricted
from safecompile.compiler import check

SOURCES = {
    "yield-outside-function": "yield",
    "return-outside-function": "return 1",
    "break-outside-loop": "break",
    "continue-outside-loop": "continue",
    "nonlocal-at-module-level": "nonlocal x",
    "assigned-before-global": "def f():\n    x = 1\n    global x",
    "duplicate-argument": "def f(a, a):\n    pass",
    "nonlocal-without-binding": "class A:\n    nonlocal x",
    "annotated-global": "x: int = 1\nglobal x",
}


@pytest.mark.parametrize("case", sorted(SOURCES))
def test_compile_restricted_rejects_compile_stage_syntax_errors(case: str) -> None:
    with pytest.raises(CompileRejected) as info:
        compile_restricted(SOURCES[case])
    assert [v.code for v in info.value.violations] == ["SC001"]


@pytest.mark.parametrize("case", sorted(SOURCES))
def test_check_reports_compile_stage_syntax_errors(case: str) -> None:
    assert [v.code for v in check(SOURCES[case])] == ["SC001"]
