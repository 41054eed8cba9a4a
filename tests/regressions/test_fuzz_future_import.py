"""fuzz-future-import: unknown ``from __future__`` features compile and run.

Found while reducing fuzz-check-sc001 (fuzz/grammar.py); the grammar fuzzer
now also checks that nothing CPython's compile() refuses compiles.  CPython
refuses these sources with a SyntaxError (``not a chance``, ``future feature
nonexistent is not defined``, ``from __future__ imports must occur at the
beginning of the file``); DESIGN.md §2 says a SyntaxError of the source is a
CompileRejected with SC001.  safecompile rewrites the import into a guarded
call, so ``compile()`` never saw the ``__future__`` import, and the script
ran (the guarded import ignored ``__future__``).

Expected: ``compile_restricted(source)`` raises CompileRejected (SC001).
Was:      it compiles; ``safe_exec(source).output == ''``.
Not an escape: nothing is imported; a correctness and "unknown syntax is
refused" issue.

Status: fixed in 8f285c1 ("Lint reports compile-stage syntax errors;
__future__ imports checked like CPython; denial messages cut long names");
these tests keep it fixed.
"""

from __future__ import annotations

import pytest

from safecompile import CompileRejected, compile_restricted, safe_exec

SOURCES = {
    "braces": "from __future__ import braces",
    "unknown-feature": "from __future__ import nonexistent",
    "late-future-import": "x = 1\nfrom __future__ import annotations",
}


def test_a_leading_known_future_import_still_works() -> None:
    source = "from __future__ import annotations\ndef f(x: undefined) -> int:\n    return 1\nprint(f(2))"
    assert safe_exec(source).output == "1\n"


@pytest.mark.parametrize("case", sorted(SOURCES))
def test_future_imports_cpython_refuses_are_rejected(case: str) -> None:
    with pytest.raises(CompileRejected) as info:
        compile_restricted(SOURCES[case])
    assert "SC001" in {v.code for v in info.value.violations}
