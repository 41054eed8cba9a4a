"""A wall-clock deadline that interrupts Python code the step counter does not see."""

from collections.abc import Callable
from typing import TypeVar

_T = TypeVar("_T")

class TimeUp(BaseException):
    """A watched() call ran past its deadline."""

def watched(seconds: float, function: Callable[[], _T], error: type[TimeUp] = ..., /) -> _T:
    """Call ``function()``; past ``seconds``, raise ``error()`` in this thread (again every 50 ms)."""

def configure(names: frozenset[str], /) -> None:
    """The module names whose frames the watchdog passes over (first call wins)."""

def start() -> None:
    """Start the watchdog thread now (before a process forbids new threads)."""

def pending() -> int:
    """How many ``watched()`` calls are active on this thread."""
