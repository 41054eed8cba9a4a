"""The escape oracle: a host with a secret, and the checks that it stayed secret.

A fuzzed script runs under ``safe_exec`` with two grants:

* ``host_obj``: an instance of :class:`HostThing`, exposed through
  ``safecompile.expose(HostThing, "name", "greet", "items")``; its private
  ``_secret`` holds the canary;
* ``host_fn``: a plain host function whose globals (this module) and closure
  hold the canary, and which hands back host objects, a module, a class, a
  host-owned list or raises exceptions carrying a host object, depending on
  its argument.

:func:`check_run` runs one script and returns every piece of evidence that
the sandbox leaked or was changed (an empty list means "held"):

* the canary in the output, in a plain string anywhere in the namespace, in
  the text of a script object the host renders, in an exception's message,
  its attributes, its cause chain or its formatted traceback;
* the marker file exists (scripts try to create it through ``open``,
  ``os.system``, ...);
* host state changed: builtins (names and identities), ``sys.modules`` keys,
  the ``decimal`` contexts, the global ``random`` state, the recursion limit,
  trace/profile hooks, the standard streams, the host object and its class,
  the host-owned list;
* an exception other than the public ``SafeCompileError`` family left
  ``safe_exec``.
"""

from __future__ import annotations

import builtins
import contextlib
import decimal
import os
import random
import secrets
import sys
import tempfile
import traceback
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import safecompile
from safecompile import Limits, SafeCompileError

CANARY = "SCCANARY" + secrets.token_hex(12)
MARKER = Path(tempfile.gettempdir()) / f"safecompile-fuzz-marker-{os.getpid()}-{secrets.token_hex(6)}"

#: Small budgets: a fuzzed script is short, and a runaway one must end fast.
LIMITS = Limits(steps=50_000, time=2.0, memory=64 * 1024 * 1024, recursion=60,
                output=256 * 1024, operand=10_000)

# A host-owned mutable list a script may receive a (copied) view of.
HOST_LIST: list[Any] = [1, 2, 3]
_HOST_LIST_COPY = list(HOST_LIST)


class HostThing:
    """A host class with one private attribute the script must never read."""

    _class_secret = CANARY

    def __init__(self, name: str = "host") -> None:
        self.name = name
        self.items = [1, 2, 3]
        self._secret = CANARY

    def greet(self, who: object = "world") -> str:
        return f"hello {who}"

    def child(self) -> HostThing:
        return HostThing("child")

    def _private(self) -> str:
        return CANARY


safecompile.expose(HostThing, "name", "greet", "items", "child")


class _Internal:
    """Never exposed: what a host exception carries in its args."""

    def __init__(self) -> None:
        self.secret = CANARY

    def __repr__(self) -> str:
        return f"<internal {self.secret}>"

    def __str__(self) -> str:
        return self.secret


def _make_host_fn() -> Any:
    secret_cell = CANARY

    def host_fn(what: object = None, *args: object) -> object:
        """A host callable: returns by ``what``, closes over the canary."""
        if what == "obj":
            return HostThing("made")
        if what == "module":
            return os
        if what == "class":
            return HostThing
        if what == "list":
            return HOST_LIST
        if what == "func":
            return lambda: len(secret_cell)  # the closure holds the canary; the value does not
        if what == "raise":
            raise LookupError("host failed", _Internal())
        if what == "attrerror":
            raise AttributeError("no such thing", name="secret", obj=_Internal())
        if what == "keyerror":
            raise KeyError(_Internal())
        return {"echo": what if type(what) in (int, str, float) else None, "n": len(args)}

    return host_fn


host_obj = HostThing()
host_fn = _make_host_fn()


def grants() -> dict[str, Any]:
    """The grants every fuzzed script receives (fresh dict, same objects)."""
    return {"host_obj": host_obj, "host_fn": host_fn}


# --- host snapshot ----------------------------------------------------------------


def _decimal_state() -> str:
    return "|".join(repr(c) for c in (decimal.getcontext(), decimal.DefaultContext,
                                      decimal.BasicContext, decimal.ExtendedContext))


def snapshot() -> dict[str, Any]:
    """The host state a script must leave unchanged."""
    return {
        "builtins": dict(vars(builtins)),
        "sys_modules": frozenset(sys.modules),
        "decimal": _decimal_state(),
        "random": random.getstate(),
        "recursionlimit": sys.getrecursionlimit(),
        "hooks": (sys.gettrace(), sys.getprofile(), sys.excepthook, sys.displayhook),
        "streams": (sys.stdout, sys.stderr, sys.stdin),
        "host_obj": dict(vars(host_obj)),
        "host_items": list(host_obj.items),
        "host_class": dict(vars(HostThing)),
        "host_fn": (host_fn.__code__, host_fn.__defaults__, host_fn.__closure__[0].cell_contents
                    if host_fn.__closure__ else None),
        "canary": CANARY,
    }


def _compare(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    problems = []
    old_b, new_b = before["builtins"], after["builtins"]
    for name in sorted(set(old_b) | set(new_b)):
        if name == "_":  # the interactive "last value" slot; never touched by scripts
            continue
        if name not in new_b:
            problems.append(f"builtin {name!r} was removed")
        elif name not in old_b:
            problems.append(f"builtin {name!r} was added")
        elif old_b[name] is not new_b[name]:
            problems.append(f"builtin {name!r} was replaced")
    added = after["sys_modules"] - before["sys_modules"]
    removed = before["sys_modules"] - after["sys_modules"]
    if added:
        problems.append(f"sys.modules gained {sorted(added)}")
    if removed:
        problems.append(f"sys.modules lost {sorted(removed)}")
    watched = ("decimal", "random", "recursionlimit", "hooks", "streams", "host_obj",
               "host_items", "host_class", "host_fn", "canary")
    problems += [f"host state {key!r} changed" for key in watched if before[key] != after[key]]
    if HOST_LIST != _HOST_LIST_COPY:
        problems.append("the host-owned list was changed")
    return problems


# --- evidence -----------------------------------------------------------------------


def _strings(value: Any, depth: int = 0) -> Iterator[str]:
    """Every str/bytes inside plain data (exact container types only)."""
    if depth > 50:
        return
    kind = type(value)
    if kind is str:
        yield value
    elif kind is bytes:
        yield value.decode("latin-1")
    elif kind in (list, tuple, set, frozenset):
        for item in value:
            yield from _strings(item, depth + 1)
    elif kind is dict:
        for key, item in value.items():
            yield from _strings(key, depth + 1)
            yield from _strings(item, depth + 1)


def _render(value: Any) -> Iterator[str]:
    """What a host might print of a value the script returned."""
    for render in (repr, str):
        try:
            text = render(value)
        except Exception as exc:  # a script object may fail; its error is evidence too
            yield from _exception_texts(exc)
        else:
            if isinstance(text, str):
                yield str.__str__(text)


def _exception_texts(exc: BaseException) -> Iterator[str]:
    """Message, attributes, cause chain and formatted traceback of ``exc``."""
    try:
        yield "".join(traceback.format_exception(exc))
    except Exception as fail:  # formatting itself must not fail, note it
        yield f"<traceback formatting failed: {type(fail).__name__}>"
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        with contextlib.suppress(Exception):
            yield str(current)
        with contextlib.suppress(Exception):
            yield repr(current.args)
        for value in list(getattr(current, "__dict__", {}).values()):
            yield from _strings(value)
            if isinstance(value, str):
                continue
            with contextlib.suppress(Exception):
                yield repr(value)
        current = current.__cause__ or current.__context__


def leaks_in(texts: Iterator[str] | list[str]) -> bool:
    return any(CANARY in text for text in texts)


def evidence(result: Any = None, error: BaseException | None = None) -> list[str]:
    """Where the canary showed up in a run's result or error."""
    problems = []
    if error is not None:
        if leaks_in(_exception_texts(error)):
            problems.append(f"canary in the {type(error).__name__} raised by the run")
        output = getattr(error, "output", "")
        if isinstance(output, str) and CANARY in output:
            problems.append("canary in the output carried by the error")
    if result is not None:
        if CANARY in result.output:
            problems.append("canary in the script's output")
        for name, value in result.namespace.items():
            if leaks_in(list(_strings(value))):
                problems.append(f"canary in the namespace value {name!r}")
            elif type(value) not in (str, bytes, int, float, bool, type(None)) and leaks_in(list(_render(value))):
                problems.append(f"canary in the rendering of namespace value {name!r}")
    return problems


def check_run(source: str | bytes, *, limits: Limits | Mapping[str, Any] | None = None,
              extra_grants: Mapping[str, Any] | None = None) -> list[str]:
    """Run ``source`` under safe_exec with the host grants; every problem found."""
    problems: list[str] = []
    given = grants()
    if extra_grants:
        given.update(extra_grants)
    before = snapshot()
    result = None
    error: BaseException | None = None
    try:
        result = safecompile.safe_exec(source, given, limits=limits or LIMITS, filename="<fuzz>")
    except SafeCompileError as exc:
        error = exc
    except Exception as exc:  # any other exception is itself a finding
        error = exc
        problems.append(f"safe_exec raised {type(exc).__name__} (not a SafeCompileError): {exc!s:.200}")
    except BaseException as exc:  # SystemExit & co. must never reach the host
        if isinstance(exc, KeyboardInterrupt) and not _script_could_interrupt(source):
            raise
        error = exc
        problems.append(f"safe_exec let {type(exc).__name__} escape")
    problems += evidence(result, error)
    if MARKER.exists():
        problems.append(f"marker file {MARKER} was created")
        with contextlib.suppress(OSError):
            MARKER.unlink()
    problems += _compare(before, snapshot())
    return problems


def _script_could_interrupt(source: str | bytes) -> bool:
    text = source.decode("utf-8", "replace") if isinstance(source, bytes) else source
    return "KeyboardInterrupt" in text


def restore_host() -> None:
    """Undo what a failing run changed, so one finding does not mask the next."""
    HOST_LIST[:] = _HOST_LIST_COPY
    host_obj.__dict__.clear()
    host_obj.__init__()  # type: ignore[misc]
    with contextlib.suppress(OSError):
        MARKER.unlink()


WARMUP = """
import math, cmath, decimal, fractions, statistics, random, string, re, json
import datetime, itertools, functools, collections, heapq, bisect, textwrap
import operator, dataclasses, enum, typing
print(datetime.datetime.strptime("2024-01-02", "%Y-%m-%d").strftime("%d %B %Y"))
print(json.dumps({"a": [1, 2.5]}), re.sub("a+", "b", "caat"), decimal.Decimal("1.10") * 3)
print(statistics.mean([1, 2, 3]), fractions.Fraction(1, 3), random.random() < 2)
print("{0} {x}".format(1, x=2), "%s" % 3, f"{4:>3}", textwrap.shorten("a b c", 3))
try:
    host_obj._secret
except Exception as e:
    print(e)
try:
    1 / 0
except ZeroDivisionError as e:
    print(e)
class C:
    def __repr__(self):
        return "C()"
c = C()
"""


def warm_up() -> None:
    """Import what the library imports lazily, so sys.modules keys stay put later."""
    with contextlib.suppress(SafeCompileError):
        result = safecompile.safe_exec(WARMUP, grants(), limits=LIMITS)
        for value in result.namespace.values():
            list(_render(value))
    try:
        safecompile.safe_exec("x = (", grants())
    except SafeCompileError as exc:
        list(_exception_texts(exc))
    try:
        safecompile.safe_exec("def f():\n    raise ValueError(1)\nf()", grants())
    except SafeCompileError as exc:
        list(_exception_texts(exc))
    for what in ("raise", "attrerror", "keyerror", "obj", "module", "class", "func", "list"):
        with contextlib.suppress(SafeCompileError):
            safecompile.safe_exec(f"r = host_fn({what!r})\nprint(r)", grants())
    with contextlib.suppress(SafeCompileError):
        safecompile.safe_exec("while True:\n    pass", grants(), limits={"steps": 100})
    with contextlib.suppress(SafeCompileError):
        safecompile.safe_exec("x = 10 ** 100000", grants(), limits=LIMITS)
