"""The local membrane the proxy tests give both twins (``_native`` and
``_pure``): the smallest set of callbacks a Proxy needs, independent of
``safecompile.guards.membrane`` so the proxy is tested on its own.

Plain scalars and lists/tuples/dicts of them cross by value (copied); a host
object's class may carry its checker in the attribute named by
``checker_attr`` (and a class its class-level checker in ``class_attr``).
"""

from __future__ import annotations

import types
from types import ModuleType
from typing import Any

SCALARS = (type(None), bool, int, float, str, bytes)


class Denied(Exception):
    """What the local membrane's ``denied`` makes."""


class Sanitized(Exception):
    """What the local membrane's ``sanitize`` makes of a host exception."""


class Checker:
    __slots__ = ("__weakref__", "construct", "readable", "writable")

    def __init__(self, readable: Any = (), writable: Any = (), construct: bool = False) -> None:
        self.readable = frozenset(readable)
        self.writable = frozenset(writable)
        self.construct = construct


OPAQUE = Checker()
CALLABLE = Checker({"__call__"})


class Membrane:
    """The callbacks of the local membrane, for one implementation."""

    def __init__(self, impl: ModuleType, checker_attr: str = "_checker",
                 class_attr: str = "_class_checker") -> None:
        self.impl = impl
        self.checker_attr = checker_attr
        self.class_attr = class_attr

    def out(self, value: Any) -> Any:
        kind = type(value)
        if kind in SCALARS or kind is self.impl.Proxy:
            return value
        if kind in (list, tuple):
            return kind(self.out(item) for item in value)
        if kind is dict:
            return {self.out(k): self.out(v) for k, v in value.items()}
        if kind in (types.FunctionType, types.MethodType, types.BuiltinFunctionType):
            return self.impl.make_proxy(value, CALLABLE, self)
        if isinstance(value, type):
            return self.impl.make_proxy(value, value.__dict__.get(self.class_attr, OPAQUE), self)
        return self.impl.make_proxy(value, getattr(kind, self.checker_attr, OPAQUE), self)

    def into(self, value: Any) -> Any:
        kind = type(value)
        if kind is self.impl.Proxy:
            return self.impl.unwrap(value)
        if kind in SCALARS:
            return value
        if kind in (list, tuple):
            return kind(self.into(item) for item in value)
        if kind is dict:
            return {self.into(k): self.into(v) for k, v in value.items()}
        raise Denied(f"cannot pass a {kind.__name__} to host code")

    def sanitize(self, exc: BaseException) -> BaseException:
        if isinstance(exc, Denied):
            return exc.with_traceback(None)
        if isinstance(exc, RecursionError):
            # CPython words it by where the limit was hit (a C or a Python
            # frame), which is the twins' one legitimate difference.
            return Sanitized("RecursionError")
        plain = [arg if type(arg) in SCALARS else f"<{type(arg).__name__}>" for arg in exc.args]
        return Sanitized(type(exc).__name__, *plain)

    def denied(self, message: str) -> BaseException:
        return Denied(message)


def reference_is_plain(value: Any, depth: int = 0, holders: bool = True) -> bool:
    """The membrane's own is_plain before it moved into the guard twins
    (kept here as the reference both twins must agree with).  With
    ``holders``, values of membrane.HOLDERS types are plain when their
    parts are (membrane.is_plain); without, they are not (the twins'
    is_plain, given membrane.SCALARS)."""
    from safecompile.guards.membrane import (
        CONTAINERS,
        HOLDERS,
        MAX_DEPTH,
        SCALARS,
        holder_ok,
    )

    kind = type(value)
    if kind in SCALARS:
        return True
    if kind in HOLDERS:
        return holders and holder_ok(value)
    if depth >= MAX_DEPTH or kind not in CONTAINERS:
        return False
    items: Any = value
    if kind is dict:
        if not set(map(type, value)) <= SCALARS:
            items = list(value)
            if not all(reference_is_plain(key, depth + 1, holders) for key in items):
                return False
        items = value.values()
    kinds = set(map(type, items))
    if kinds <= SCALARS:
        return True
    if not kinds <= SCALARS | CONTAINERS | (HOLDERS if holders else frozenset()):
        return False
    return all(reference_is_plain(item, depth + 1, holders) for item in items
               if type(item) in CONTAINERS or type(item) in HOLDERS)
