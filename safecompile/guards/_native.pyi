"""C twins of the hot guards in ``safecompile.guards._pure`` (same API)."""

from collections.abc import Iterable, Iterator
from typing import Any, Final, final

#: How many ticks pass between two reads of the clock.
CLOCK_EVERY: Final[int]

@final
class Budget:
    """A step counter with a deadline and a recursion bound."""

    def __new__(
        cls,
        steps_limit: int,
        deadline: float,
        recursion_limit: int,
        limit_error: type[BaseException],
    ) -> Budget: ...
    @property
    def steps(self) -> int: ...
    @property
    def spent(self) -> tuple[str, Any, Any] | None: ...
    def spend(self, limit: str, allowed: Any, used: Any) -> None: ...
    def raise_if_spent(self) -> None: ...
    def tick(self) -> None: ...
    def enter(self) -> None: ...
    def iterate(self, iterable: Iterable[Any]) -> Iterator[Any]: ...
