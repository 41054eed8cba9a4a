"""Every chunk of every rule case file (tests/rules/cases/SCxxx.py).

The chunks come from ``pytest_generate_tests`` in ``tests/conftest.py``:
a chunk's ``# error: SCxxx`` markers name exactly the (line, code) pairs
that ``compiler.check`` must report; a chunk without markers must produce
no violation at all.  The file format is described in STYLE.md section 4
and in ``Chunk``'s docstring (directives: ``# requires:``, ``# input:``,
``# limits:``, ``# xfail:``).
"""

from __future__ import annotations

import pytest

from safecompile import CompileRejected, compile_restricted
from safecompile.compiler import ADVISORY, check


def _pairs(violations):
    return {(v.lineno, v.code) for v in violations}


def test_case_chunk_reports_exactly_its_markers(case_chunk):
    found = _pairs(check(case_chunk.source, policy=case_chunk.policy()))
    assert found == set(case_chunk.expected), (
        f"{case_chunk.code}.py chunk {case_chunk.index} (file line {case_chunk.first_line})"
    )


def test_compile_restricted_refuses_exactly_the_non_advisory_findings(
    unmarked_case_chunk,
):
    chunk = unmarked_case_chunk
    found = check(chunk.source, policy=chunk.policy())
    refusing = _pairs(v for v in found if v.code not in ADVISORY)
    if refusing:
        with pytest.raises(CompileRejected) as caught:
            compile_restricted(chunk.source, policy=chunk.policy())
        assert _pairs(caught.value.violations) == refusing
    else:
        script = compile_restricted(chunk.source, policy=chunk.policy())
        assert _pairs(script.warnings) == _pairs(found)
