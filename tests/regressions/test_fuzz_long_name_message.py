"""fuzz-long-name-message: a guard's error message repeats a megabyte-long name.

Found by tests/fuzz/test_hostile_input.py.  ``getattr(1, '_' * 2 + 'c' *
1_000_000)`` raises AccessDenied whose message holds the whole attribute
name (1,000,081 characters), and so did every log line or HTTP error
that shows it.  ScriptError messages are already capped (2,000 characters
in runtime._safe_text); AccessDenied / format-field messages were not.

Expected: the message names the attribute shortened (say, to 200
characters with an ellipsis), well under 10,000 characters.
Was:      ``len(str(exc)) == 1_000_081``.
Not an escape: the script only echoes its own input; a host robustness issue.

Status: fixed in 8f285c1 ("Lint reports compile-stage syntax errors;
__future__ imports checked like CPython; denial messages cut long names");
these tests keep it fixed.
"""

from __future__ import annotations

import pytest

from safecompile import AccessDenied, SafeCompileError, safe_exec

SOURCES = {
    "getattr": "getattr(1, '_' * 2 + 'c' * 1_000_000)",
    "setattr": "class A:\n    pass\nsetattr(A(), '_' * 2 + 'c' * 1_000_000, 1)",
    "format-field": "('{0.' + '_' * 2 + 'c' * 1_000_000 + '}').format(1)",
}


@pytest.mark.parametrize("case", sorted(SOURCES))
def test_a_megabyte_long_dunder_name_is_denied(case: str) -> None:
    with pytest.raises(SafeCompileError):
        safe_exec(SOURCES[case])


@pytest.mark.parametrize("case", sorted(SOURCES))
def test_denial_messages_do_not_repeat_a_megabyte_of_script_input(case: str) -> None:
    with pytest.raises(AccessDenied) as info:
        safe_exec(SOURCES[case])
    assert len(str(info.value)) < 10_000
