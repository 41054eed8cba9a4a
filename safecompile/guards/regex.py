"""The ``re`` module of scripts: the ``regex`` engine with the run's time bound.

CPython's ``re`` cannot be interrupted once a match starts backtracking, so
``re.match(r"(a+)+$", "a" * 40 + "b")`` would hold the host for hours.  The
view offers the same names backed by ``regex`` (compatible with ``re`` in its
default VERSION0 mode), passing the run's remaining wall time as ``timeout``;
a timeout ends the run with ``LimitExceeded("time")``.
"""

from __future__ import annotations

import re as _re
import time
from collections.abc import Callable, Iterator
from typing import Any

import regex as _regex  # type: ignore[import-untyped]

from .imports import current

_FLAGS = {
    name: getattr(_re, name)
    for name in ("A", "ASCII", "I", "IGNORECASE", "L", "LOCALE", "M", "MULTILINE",
                 "S", "DOTALL", "U", "UNICODE", "X", "VERBOSE", "NOFLAG", "RegexFlag")
    if hasattr(_re, name)
}


def _timeout() -> float | None:
    budget = current().budget
    limit = budget.limits.time
    if limit is None:
        return None
    remaining = budget.started + limit - time.monotonic()
    if remaining <= 0:
        raise budget.exceed("time", limit, round(time.monotonic() - budget.started, 3),
                            "the regular expression ran out of time")
    return remaining


def _timed(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    try:
        return call(*args, timeout=_timeout(), **kwargs)
    except TimeoutError:
        budget = current().budget
        raise budget.exceed("time", budget.limits.time, round(time.monotonic() - budget.started, 3),
                            "the regular expression ran out of time") from None


def _pattern(pattern: Any, flags: int = 0) -> Any:
    if isinstance(pattern, Pattern):
        if flags:
            raise ValueError("cannot process flags argument with a compiled pattern")
        return pattern._compiled
    return _regex.compile(pattern, flags)


class Pattern:
    """A compiled regular expression whose operations are time bounded."""

    __slots__ = ("_compiled",)
    _compiled: Any

    def __init__(self, compiled: Any) -> None:
        object.__setattr__(self, "_compiled", compiled)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("readonly attribute")

    @property
    def pattern(self) -> Any:
        return self._compiled.pattern

    @property
    def flags(self) -> int:
        return int(self._compiled.flags)

    @property
    def groups(self) -> int:
        return int(self._compiled.groups)

    @property
    def groupindex(self) -> Any:
        return dict(self._compiled.groupindex)

    def match(self, string: Any, *args: Any) -> Match | None:
        return _wrap(_timed(self._compiled.match, string, *args))

    def fullmatch(self, string: Any, *args: Any) -> Match | None:
        return _wrap(_timed(self._compiled.fullmatch, string, *args))

    def search(self, string: Any, *args: Any) -> Match | None:
        return _wrap(_timed(self._compiled.search, string, *args))

    def findall(self, string: Any, *args: Any) -> Any:
        return _timed(self._compiled.findall, string, *args)

    def finditer(self, string: Any, *args: Any) -> Iterator[Any]:
        iterator = _timed(self._compiled.finditer, string, *args)
        return current().budget.iterate(_guard_iteration(iterator))

    def split(self, string: Any, maxsplit: int = 0) -> Any:
        return _timed(self._compiled.split, string, maxsplit)

    def sub(self, repl: Any, string: Any, count: int = 0) -> Any:
        return _timed(self._compiled.sub, _repl(repl), string, count)

    def subn(self, repl: Any, string: Any, count: int = 0) -> Any:
        return _timed(self._compiled.subn, _repl(repl), string, count)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Pattern) and self._compiled == other._compiled

    def __hash__(self) -> int:
        return hash(self._compiled)

    def __repr__(self) -> str:
        return f"re.compile({self._compiled.pattern!r})"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        raise TypeError("re.Pattern cannot be subclassed")


def _guard_iteration(iterator: Iterator[Any]) -> Iterator[Any]:
    while True:
        try:
            item = next(iterator)
        except StopIteration:
            return
        except TimeoutError:
            budget = current().budget
            raise budget.exceed("time", budget.limits.time,
                                round(time.monotonic() - budget.started, 3),
                                "the regular expression ran out of time") from None
        yield Match(item)


def _wrap(found: Any) -> Match | None:
    return None if found is None else Match(found)


def _repl(repl: Any) -> Any:
    if callable(repl):
        return lambda found: repl(Match(found))
    return repl


class Match:
    """A match object that never hands out the untimed engine."""

    __slots__ = ("_found",)
    _found: Any

    def __init__(self, found: Any) -> None:
        object.__setattr__(self, "_found", found)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("readonly attribute")

    def group(self, *groups: Any) -> Any:
        return self._found.group(*groups)

    def __getitem__(self, group: Any) -> Any:
        return self._found[group]

    def groups(self, default: Any = None) -> Any:
        return self._found.groups(default)

    def groupdict(self, default: Any = None) -> Any:
        return self._found.groupdict(default)

    def start(self, group: Any = 0) -> int:
        return int(self._found.start(group))

    def end(self, group: Any = 0) -> int:
        return int(self._found.end(group))

    def span(self, group: Any = 0) -> tuple[int, int]:
        start, end = self._found.span(group)
        return int(start), int(end)

    def expand(self, template: Any) -> Any:
        return self._found.expand(template)

    @property
    def string(self) -> Any:
        return self._found.string

    @property
    def pos(self) -> int:
        return int(self._found.pos)

    @property
    def endpos(self) -> int:
        return int(self._found.endpos)

    @property
    def lastindex(self) -> Any:
        return self._found.lastindex

    @property
    def lastgroup(self) -> Any:
        return self._found.lastgroup

    @property
    def re(self) -> Pattern:
        return Pattern(self._found.re)

    @property
    def regs(self) -> Any:
        return self._found.regs

    def __bool__(self) -> bool:
        return True

    def __repr__(self) -> str:
        return f"<re.Match object; span={self.span()!r}, match={self.group()!r}>"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        raise TypeError("re.Match cannot be subclassed")


def compile(pattern: Any, flags: int = 0) -> Pattern:
    if isinstance(pattern, Pattern):
        return pattern
    return Pattern(_regex.compile(pattern, flags))


def match(pattern: Any, string: Any, flags: int = 0) -> Match | None:
    return _wrap(_timed(_pattern(pattern, flags).match, string))


def fullmatch(pattern: Any, string: Any, flags: int = 0) -> Match | None:
    return _wrap(_timed(_pattern(pattern, flags).fullmatch, string))


def search(pattern: Any, string: Any, flags: int = 0) -> Match | None:
    return _wrap(_timed(_pattern(pattern, flags).search, string))


def findall(pattern: Any, string: Any, flags: int = 0) -> Any:
    return _timed(_pattern(pattern, flags).findall, string)


def finditer(pattern: Any, string: Any, flags: int = 0) -> Iterator[Any]:
    return Pattern(_pattern(pattern, flags)).finditer(string)


def split(pattern: Any, string: Any, maxsplit: int = 0, flags: int = 0) -> Any:
    return _timed(_pattern(pattern, flags).split, string, maxsplit)


def sub(pattern: Any, repl: Any, string: Any, count: int = 0, flags: int = 0) -> Any:
    return _timed(_pattern(pattern, flags).sub, _repl(repl), string, count)


def subn(pattern: Any, repl: Any, string: Any, count: int = 0, flags: int = 0) -> Any:
    return _timed(_pattern(pattern, flags).subn, _repl(repl), string, count)


def escape(pattern: Any) -> Any:
    return _re.escape(pattern)


def view_values() -> dict[str, Any]:
    """The names of the scripts' ``re`` module."""
    values: dict[str, Any] = dict(_FLAGS)
    values.update(
        compile=compile, match=match, fullmatch=fullmatch, search=search,
        findall=findall, finditer=finditer, split=split, sub=sub, subn=subn,
        escape=escape, error=_regex.error, Pattern=Pattern, Match=Match,
    )
    return values
