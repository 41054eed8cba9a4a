"""Budgets of a run: the declared limits and what a run used of them."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

MiB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-run budgets; ``None`` means unlimited.

    steps: loop iterations, comprehension items and function entries.
    time: wall-clock seconds.
    memory: bytes allocated and still alive during the run.
    recursion: nesting depth of the script's own function calls.
    output: bytes of printed text.
    operand: digits of an integer result / items of a repeated sequence.
    source: bytes of source text accepted by the compiler.
    """

    steps: int | None = 10_000_000
    time: float | None = 5.0
    memory: int | None = 256 * MiB
    recursion: int | None = 200
    output: int | None = 1 * MiB
    operand: int | None = 1_000_000
    source: int | None = 1 * MiB

    def merged(self, **overrides: Any) -> Limits:
        """Return a copy with ``overrides`` applied; unknown names are an error."""
        known = {f.name for f in fields(self)}
        unknown = set(overrides) - known
        if unknown:
            raise TypeError(f"unknown limit(s): {', '.join(sorted(unknown))}")
        return replace(self, **overrides)


@dataclass(frozen=True, slots=True)
class Usage:
    """What one run used of its budgets."""

    steps: int = 0
    seconds: float = 0.0
    memory: int = 0
    recursion: int = 0
    output: int = 0
