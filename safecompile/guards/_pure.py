"""Pure-Python twin of the native guards (``_native``): same names, same behaviour.

Selected with ``SAFECOMPILE_PURE=1``; the twin test drives both with the same
operations and compares results and exceptions.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from types import FrameType
from typing import Any

#: How many ticks pass between two reads of the clock.
CLOCK_EVERY = 256

#: Larger recursion limits are refused: no Python stack gets that deep, and
#: ``sys._getframe(base + limit)`` in ``enter`` needs a C int.
_MAX_RECURSION_LIMIT = 1_000_000_000


def _stack_depth() -> int:
    depth = 0
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        depth += 1
        frame = frame.f_back
    return depth


class Budget:
    """A step counter with a deadline and a recursion bound.

    ``steps_limit``/``recursion_limit`` below 0 mean unlimited; ``deadline``
    is a ``time.monotonic()`` instant (``inf`` for none).  ``limit_error`` is
    the exception class raised: ``limit_error(limit, allowed, used)``.
    Once spent, every ``tick``/``enter``/``raise_if_spent`` raises again.
    """

    __slots__ = (
        "_base",
        "_clock",
        "_deadline",
        "_error",
        "_recursion",
        "_spent",
        "_started",
        "_steps",
        "_steps_limit",
    )

    def __init__(self, steps_limit: int, deadline: float, recursion_limit: int,
                 limit_error: type[BaseException]) -> None:
        # The same checks, in the same order and with the same messages, as
        # the C twin's constructor.
        if not isinstance(steps_limit, int):
            raise TypeError(f"steps_limit must be an int, not {type(steps_limit).__name__}")
        if not isinstance(deadline, (int, float)):
            raise TypeError(f"deadline must be a float, not {type(deadline).__name__}")
        deadline = float(deadline)  # OverflowError for a huge int
        if not isinstance(recursion_limit, int):
            raise TypeError(
                f"recursion_limit must be an int, not {type(recursion_limit).__name__}")
        if recursion_limit > _MAX_RECURSION_LIMIT:
            raise OverflowError(f"recursion_limit must be at most {_MAX_RECURSION_LIMIT}")
        error: object = limit_error  # checked as any object, like the C twin does
        if not (isinstance(error, type) and issubclass(error, BaseException)):
            raise TypeError(
                f"limit_error must be an exception class, not {type(limit_error).__name__}")
        self._steps = 0
        self._steps_limit = steps_limit if steps_limit >= 0 else sys.maxsize
        self._deadline = deadline
        self._started = time.monotonic()
        self._recursion = recursion_limit
        self._base = _stack_depth()
        self._clock = CLOCK_EVERY
        self._spent: tuple[str, Any, Any] | None = None
        self._error = limit_error

    @property
    def steps(self) -> int:
        return self._steps

    @property
    def spent(self) -> tuple[str, Any, Any] | None:
        return self._spent

    def spend(self, limit: str, allowed: Any, used: Any) -> None:
        """Mark the budget spent (first reason wins) without raising."""
        if self._spent is None:
            self._spent = (limit, allowed, used)

    def raise_if_spent(self) -> None:
        if self._spent is not None:
            raise self._error(*self._spent)

    def tick(self) -> None:
        """Count one step; read the clock every CLOCK_EVERY steps."""
        if self._spent is not None:
            raise self._error(*self._spent)
        self._steps += 1
        if self._steps > self._steps_limit:
            self.spend("steps", self._steps_limit, self._steps)
            raise self._error(*self._spent)  # type: ignore[misc]
        self._clock -= 1
        if self._clock <= 0:
            self._clock = CLOCK_EVERY
            now = time.monotonic()
            if now > self._deadline:
                self.spend("time", round(self._deadline - self._started, 3),
                           round(now - self._started, 3))
                raise self._error(*self._spent)  # type: ignore[misc]

    def enter(self) -> None:
        """A function entry: one step and the recursion bound."""
        self.tick()
        if self._recursion < 0:
            return
        try:
            sys._getframe(self._base + self._recursion)
        except ValueError:
            return
        self.spend("recursion", self._recursion, self._recursion + 1)
        raise self._error(*self._spent)  # type: ignore[misc]

    def iterate(self, iterable: Iterable[Any]) -> Iterator[Any]:
        """An iterator over ``iterable`` that ticks once per item."""
        return _TickIter(self, iter(iterable))


class _TickIter:
    __slots__ = ("_budget", "_it")

    def __init__(self, budget: Budget, it: Iterator[Any]) -> None:
        self._budget = budget
        self._it = it

    def __iter__(self) -> _TickIter:
        return self

    def __next__(self) -> Any:
        self._budget.tick()
        return next(self._it)

    def __length_hint__(self) -> int:
        return 0
