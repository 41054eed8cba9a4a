"""Per-thread accounting and limiting of the memory a sandboxed run allocates."""

from collections.abc import Callable, Mapping
from types import CodeType
from typing import Any

def begin(limit: int, /) -> None:
    """Start accounting on this thread with a budget of ``limit`` bytes (< 0: no limit)."""

def end() -> tuple[int, int, bool]:
    """Stop the innermost run on this thread; return ``(net, peak, exceeded)``."""

def eval(limit: int, code: CodeType, globals: dict[str, Any], locals: Mapping[str, Any], /) -> Any:
    """Evaluate ``code`` inside a run of its own with a budget of ``limit`` bytes."""

def usage() -> tuple[int, int]:
    """``(net, peak)`` of the innermost run on this thread, or ``(0, 0)`` outside a run."""

def exceeded() -> bool:
    """Whether the innermost run on this thread refused an allocation for its limit."""

def installed() -> bool:
    """Whether the allocator hooks are installed and reached by allocations."""

class Formula:
    """The formula fast path's call (see runtime.make_fast_formula)."""

    def __new__(
        cls,
        code: CodeType,
        globals: dict[str, Any],
        inputs: tuple[str, ...],
        guards: tuple[str, ...],
        scalars: tuple[type, ...],
        limit: int,
        fallback: Callable[..., Any],
        on_error: Callable[[BaseException], None],
    ) -> Formula: ...
    def __call__(self, values: Mapping[str, Any] | None = None, /, **kwargs: Any) -> Any: ...
