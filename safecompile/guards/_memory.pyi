"""Per-thread accounting and limiting of the memory a sandboxed run allocates."""

def begin(limit: int, /) -> None:
    """Start accounting on this thread with a budget of ``limit`` bytes (< 0: no limit)."""

def end() -> tuple[int, int, bool]:
    """Stop the innermost run on this thread; return ``(net, peak, exceeded)``."""

def usage() -> tuple[int, int]:
    """``(net, peak)`` of the innermost run on this thread, or ``(0, 0)`` outside a run."""

def exceeded() -> bool:
    """Whether the innermost run on this thread refused an allocation for its limit."""

def installed() -> bool:
    """Whether the allocator hooks are installed and reached by allocations."""
