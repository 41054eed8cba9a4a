"""Helpers for the operand-guard tests (test_builtins.py, test_number_views.py):
a script refused for its operand budget, quickly, and a script's namespace."""

from __future__ import annotations

import textwrap
import time

import pytest

from safecompile import LimitExceeded, safe_exec


def limited(source: str, **limits: object) -> LimitExceeded:
    """Run ``source``; it must end with the operand limit, before any long work."""
    started = time.monotonic()
    with pytest.raises(LimitExceeded) as caught:
        safe_exec(textwrap.dedent(source), limits=limits or None)
    assert time.monotonic() - started < 2.0, "refused only after the work was done"
    assert caught.value.limit == "operand"
    return caught.value


def namespace(source: str, **limits: object) -> dict[str, object]:
    """The namespace ``source`` leaves."""
    return safe_exec(textwrap.dedent(source), limits=limits or None).namespace
