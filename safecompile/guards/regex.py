"""The ``re`` module of scripts: the ``regex`` engine with the run's time bound.

CPython's ``re`` cannot be interrupted once a match starts backtracking, so
``re.match(r"(a+)+$", "a" * 40 + "b")`` would hold the host for hours.  The
view offers the same names backed by ``regex`` (compatible with ``re`` in its
default VERSION0 mode), passing the run's remaining wall time as ``timeout``;
a timeout ends the run with ``LimitExceeded("time")``.
"""

from __future__ import annotations

import functools
import re as _re
import re._constants as _re_constants  # type: ignore[import-not-found]
import re._parser as _re_parser  # type: ignore[import-not-found]
import time
import warnings
from collections.abc import Callable, Iterator

import regex as _regex  # type: ignore[import-untyped]

from ..errors import AccessDenied
from ..names import shown
from .imports import current

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

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
    _refuse_exponential(pattern, flags)
    return _regex.compile(pattern, flags)


# --- patterns whose matching can take exponential time ---------------------------------

_MAXREPEAT = _re_constants.MAXREPEAT
_REPEATS = (_re_constants.MAX_REPEAT, _re_constants.MIN_REPEAT)
_POSSESSIVE = getattr(_re_constants, "POSSESSIVE_REPEAT", None)


def _min_width(items: Any) -> int:
    try:
        return int(items.getwidth()[0])
    except Exception:
        return 0


def _ambiguous_body(items: Any) -> bool:
    """Whether a repeated group's body can match one text in many ways:
    it holds an unbounded repeat and nothing else that must match, or it is
    an alternation whose branches can start alike."""
    seq = list(items)
    unbounded = 0
    required_other = 0
    for op, av in seq:
        if op in _REPEATS and av[1] == _MAXREPEAT and _min_width(av[2]) > 0:
            unbounded += 1
            continue
        if op in _REPEATS and av[0] == 0:
            continue  # optional: adds ambiguity, never a separator
        if op is _re_constants.SUBPATTERN and _ambiguous_body(av[3]):
            return True
        if op is _re_constants.BRANCH:
            branches = av[1]
            firsts = [b[0] if len(b) else None for b in branches]
            literal_firsts = [f for f in firsts if f is not None and f[0] is _re_constants.LITERAL]
            if len(literal_firsts) != len(firsts) or len({f[1] for f in literal_firsts}) != len(firsts):
                return True
        required_other += 1
    return unbounded >= 1 and required_other == 0


def _walk_exponential(items: Any) -> str | None:
    for op, av in items:
        if op in _REPEATS and av[1] == _MAXREPEAT:
            body = av[2]
            inner = list(body)
            if len(inner) == 1 and inner[0][0] is _re_constants.SUBPATTERN:
                inner_items = inner[0][1][3]
            else:
                inner_items = body
            if _ambiguous_body(inner_items):
                return "an unbounded repetition of a group that can match the same text in several ways"
        for value in av if isinstance(av, tuple | list) else ():
            if isinstance(value, _re_parser.SubPattern):
                found = _walk_exponential(value)
                if found:
                    return found
            elif isinstance(value, list):
                for branch in value:
                    if isinstance(branch, _re_parser.SubPattern):
                        found = _walk_exponential(branch)
                        if found:
                            return found
    return None


#: Longest pattern a script may compile.  The ReDoS check parses patterns
#: with CPython's sre parser, Python code that no budget ticks (100 MB of
#: pattern: half a minute), and real patterns are short.
MAX_PATTERN: int = 65_536
#: Longest pattern whose analysis is cached (the cache outlives runs: a
#: run's megabyte patterns must not stay in the host's memory).
_CACHED_PATTERN: int = 1_000


def _exponential_reason(pattern: Any, flags: int) -> str | None:
    if len(pattern) <= _CACHED_PATTERN:
        return _cached_reason(pattern, flags)
    return _reason(pattern, flags)


@functools.lru_cache(maxsize=512)
def _cached_reason(pattern: Any, flags: int) -> str | None:
    return _reason(pattern, flags)


def _reason(pattern: Any, flags: int) -> str | None:
    try:
        with warnings.catch_warnings():
            # sre's FutureWarnings ("possible nested set") would go to the
            # host's stderr, one per position of the pattern.
            warnings.simplefilter("ignore")
            parsed = _re_parser.parse(pattern, flags)
    except (MemoryError, RecursionError):
        raise  # the run's memory or the interpreter's depth: not a syntax question
    except Exception:
        return None  # regex-only syntax: the time bound still applies
    return _walk_exponential(parsed)


def _refuse_exponential(pattern: Any, flags: int) -> None:
    """Refuse patterns with nested ambiguous repetition (ReDoS: `(a+)+$`)."""
    if type(pattern) not in (str, bytes):
        return
    if len(pattern) > MAX_PATTERN:
        raise AccessDenied(
            f"regular expression of {len(pattern)} characters: scripts may compile patterns "
            f"of up to {MAX_PATTERN} characters"
        )
    reason = _exponential_reason(pattern, int(flags))
    if reason is not None:
        raise AccessDenied(
            f"regular expression {shown(pattern) if type(pattern) is str else '<bytes>'} has "
            f"{reason}; matching can take exponential time (rewrite it without the nested "
            "repetition, e.g. (a+)+ as a+)"
        )


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
    return Pattern(_pattern(pattern, flags))


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
