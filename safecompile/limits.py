"""Budgets of a run: the declared limits and what a run used of them."""

from __future__ import annotations

from ._records import Record, install

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

MiB = 1024 * 1024


class Limits(Record):
    """Per-run budgets; ``None`` means unlimited.

    steps: loop iterations, comprehension items and function entries.
    time: wall-clock seconds.
    memory: bytes allocated and still alive during the run.
    recursion: nesting depth of the script's own function calls.
    output: bytes of printed text.
    operand: digits of an integer result / items of a repeated sequence.
    source: bytes of source text accepted by the compiler.
    """

    # A frozen record (was a frozen dataclass; see _records.py).
    __slots__ = ("memory", "operand", "output", "recursion", "source", "steps", "time")

    steps: int | None
    time: float | None
    memory: int | None
    recursion: int | None
    output: int | None
    operand: int | None
    source: int | None

    def __init__(self, steps: int | None = 10_000_000, time: float | None = 5.0,
                 memory: int | None = 256 * MiB, recursion: int | None = 200,
                 output: int | None = 1 * MiB, operand: int | None = 1_000_000,
                 source: int | None = 1 * MiB) -> None:
        self._set_fields(locals())

    def merged(self, **overrides: Any) -> Limits:
        """Return a copy with ``overrides`` applied; unknown names are an error."""
        unknown = set(overrides) - set(self._record_names)
        if unknown:
            raise TypeError(f"unknown limit(s): {', '.join(sorted(unknown))}")
        result: Limits = self.__replace__(**overrides)
        return result


install(Limits)


class Usage(Record):
    """What one run used of its budgets."""

    # A frozen record (was a frozen dataclass; see _records.py).
    __slots__ = ("memory", "output", "recursion", "seconds", "steps")

    steps: int
    seconds: float
    memory: int
    recursion: int
    output: int

    def __init__(self, steps: int = 0, seconds: float = 0.0, memory: int = 0,
                 recursion: int = 0, output: int = 0) -> None:
        self._set_fields(locals())


install(Usage)
