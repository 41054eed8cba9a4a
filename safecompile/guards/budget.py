"""Per-run budgets: steps, wall time, recursion, memory, output, operand size.

The counter itself (steps, time, recursion, ticking iteration) is the native
``Budget`` (or its pure twin).  The rewritten code calls ``tick`` at every
while-loop test, ``enter`` at every function entry, and iterates every
for-loop and comprehension through ``iterate``, and ``enter_method`` at
the entry of a method of a script class (``enter`` plus the check that the
method's first argument is the script's own object: a function, class or
instance whose class's own ``__module__`` is the script's name, exactly
``access.Ownership.owns``); the sandbox's iterating
builtins tick per item too, so a C loop such as
``sum(itertools.repeat(1, 10**13))`` is bounded.  Once a budget is spent it
stays spent: every later tick raises again, so ``except:``,
``except BaseException`` and ``finally`` get no fresh budget.

Wall time has a second enforcer: the run's code is called through
``_deadline.watched`` (runtime.RunState), whose watchdog thread raises in
the run's thread when the deadline has passed by 50 ms, for Python code
that never ticks (the standard library's own loops).  The exception marks
the time budget spent as it is created, so catching it buys nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator

from ..errors import AccessDenied, LimitExceeded
from ..limits import Limits
from . import impl

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _limit_error(limit: str, allowed: Any, used: Any) -> LimitExceeded:
    return LimitExceeded(limit, allowed, used)


class RunBudget:
    """The budgets of one run."""

    __slots__ = (
        "chunks",
        "counter",
        "detail",
        "enter",
        "enter_method",
        "enter_site",
        "iterate",
        "limits",
        "loop",
        "memory_peak",
        "memory_used",
        "output_used",
        "started",
        "tick",
    )

    limits: Limits
    counter: Any
    tick: Callable[[], None]
    enter: Callable[[], None]
    enter_method: Callable[[Any], None]
    iterate: Callable[[Iterable[Any]], Iterator[Any]]
    loop: Callable[[None], Iterator[tuple[()]]]
    started: float
    output_used: int
    chunks: list[str]
    memory_peak: int
    memory_used: int
    detail: str

    def __init__(self, limits: Limits, script_name: str = "", renew: Any = None) -> None:
        """``renew``: the counter of this run's previous budget, started
        again in place (same limits) rather than replaced, so iterators an
        earlier call made (a suspended generator's loops) tick this one."""
        self.limits = limits
        self.started = time.monotonic()
        deadline = self.started + limits.time if limits.time is not None else float("inf")
        if renew is not None:
            renew.renew(deadline)
            self.counter = renew
        else:
            self.counter = impl.Budget(
                -1 if limits.steps is None else limits.steps,
                deadline,
                -1 if limits.recursion is None else limits.recursion,
                LimitExceeded,
                script_name,
                AccessDenied,
            )
        self.tick = self.counter.tick
        self.enter = self.counter.enter
        self.enter_site = self.counter.enter_site
        self.enter_method = self.counter.enter_method
        self.iterate = self.counter.iterate
        self.loop = self.counter.loop
        self.output_used = 0
        self.chunks: list[str] = []
        self.memory_peak = 0
        self.memory_used = 0
        self.detail = ""

    @property
    def spent(self) -> tuple[str, Any, Any] | None:
        spent: tuple[str, Any, Any] | None = self.counter.spent
        return spent

    def exceed(self, limit: str, allowed: Any, used: Any, detail: str = "") -> LimitExceeded:
        """Mark the budget spent; return the error to raise.  The first
        budget spent is the one reported, with its ``detail``."""
        if self.counter.spent is None:
            self.detail = detail
        self.counter.spend(limit, allowed, used)
        return LimitExceeded(limit, allowed, used, detail)

    # -- output ------------------------------------------------------------
    def write(self, text: str) -> None:
        """Append printed text to the run's output, within the output budget."""
        self.counter.raise_if_spent()
        data = text.encode("utf-8", "surrogatepass")
        limit = self.limits.output
        if limit is not None and self.output_used + len(data) > limit:
            room = max(0, limit - self.output_used)
            if room:
                self.chunks.append(data[:room].decode("utf-8", "ignore"))
            used = self.output_used + len(data)
            self.output_used = limit
            raise self.exceed("output", limit, used, "the script printed too much")
        self.output_used += len(data)
        self.chunks.append(text)

    def output(self) -> str:
        return "".join(self.chunks)

    # -- operand size ------------------------------------------------------
    def check_bits(self, bits: int, what: str) -> None:
        """Refuse an integer result of more than the operand budget's digits."""
        limit = self.limits.operand
        if limit is None:
            return
        digits = int(bits * 0.30103) + 1  # decimal digits of a `bits`-bit number
        if digits > limit:
            raise self.exceed("operand", limit, digits,
                              f"{what} would have about {digits} decimal digits")

    def check_quadratic(self, bits: int, what: str) -> None:
        """Refuse an integer operation whose time is quadratic in its
        operand (``math.gcd``, ``isqrt``, int to Decimal) on a number of
        more than a quarter of the operand budget's digits: at the default
        10^6 that is about 1 s of one C call that no tick interrupts (a
        gcd of two numbers at the full budget takes 16 s)."""
        limit = self.limits.operand
        if limit is None:
            return
        allowed = max(limit // 4, 1)
        digits = int(bits * 0.30103) + 1
        if digits > allowed:
            raise self.exceed("operand", allowed, digits,
                              f"{what} of a number of about {digits} decimal digits: its time is "
                              f"quadratic in the size, so scripts may use it up to {allowed} digits")

    def check_items(self, count: int, what: str) -> None:
        """Refuse a sequence longer than ten times the operand budget."""
        limit = self.limits.operand
        if limit is None:
            return
        if count > limit * 10:
            raise self.exceed("operand", limit * 10, count, f"{what} would have {count} items")

    def elapsed(self) -> float:
        return time.monotonic() - self.started
