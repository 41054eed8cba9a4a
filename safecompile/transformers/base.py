"""Helpers the rewrite units share: emitting guard calls with user locations."""

from __future__ import annotations

import ast

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import ClassVar, TypeVar

    N = TypeVar("N", bound=ast.AST)


class Scope:
    """What the walker knows about where a node sits.

    ``owner`` is the first parameter of the enclosing method when the method
    entry verifies it is the script's own object and the method never
    rebinds it (see ``ticks.method_owner``); None elsewhere.  ``generator``
    turns True when a ``yield`` is found in the function's own body.
    """

    __slots__ = ("generator", "owner")

    def __init__(self, owner: str | None = None) -> None:
        self.owner = owner
        self.generator = False  # set by the Yields unit: the function yields


MODULE_SCOPE = Scope()


class Unit:
    """One rewrite concern.  ``rewrite`` gets a node whose children are done.

    A unit returns the node to keep (the same node, changed in place, or a
    replacement).  Units never decide policy and never recurse: the walker
    in ``transformers/__init__.py`` does.
    """

    nodes: ClassVar[tuple[type[ast.AST], ...]] = ()

    def rewrite(self, node: ast.AST, scope: Scope) -> ast.AST:
        raise NotImplementedError


def located(new: N, old: ast.AST) -> N:
    """Give ``new`` ``old``'s location (``ast.copy_location``, with a fast
    path for the usual case: ``old`` is a statement or expression)."""
    try:
        new.lineno = old.lineno  # type: ignore[attr-defined]
        new.col_offset = old.col_offset  # type: ignore[attr-defined]
        new.end_lineno = old.end_lineno  # type: ignore[attr-defined]
        new.end_col_offset = old.end_col_offset  # type: ignore[attr-defined]
    except AttributeError:
        return ast.copy_location(new, old)
    return new


def name(ident: str, where: ast.AST) -> ast.Name:
    return located(ast.Name(id=ident, ctx=ast.Load()), where)


def const(value: str | bool | int, where: ast.AST) -> ast.Constant:
    return located(ast.Constant(value=value), where)


def call(func: str, args: list[ast.expr], where: ast.AST) -> ast.Call:
    """``func(*args)`` located at ``where``.

    What ``located(ast.Call(func=name(func, where), ...), where)`` makes,
    with the location read once for both nodes (a unit emits one per guard).
    """
    try:
        lineno = where.lineno  # type: ignore[attr-defined]
        col_offset = where.col_offset  # type: ignore[attr-defined]
        end_lineno = where.end_lineno  # type: ignore[attr-defined]
        end_col_offset = where.end_col_offset  # type: ignore[attr-defined]
    except AttributeError:
        return located(ast.Call(func=name(func, where), args=args, keywords=[]), where)
    function = ast.Name(func, ast.Load())
    function.lineno = lineno
    function.col_offset = col_offset
    function.end_lineno = end_lineno
    function.end_col_offset = end_col_offset
    new = ast.Call(function, args, [])
    new.lineno = lineno
    new.col_offset = col_offset
    new.end_lineno = end_lineno
    new.end_col_offset = end_col_offset
    return new


def is_emitted(node: ast.AST, func: str) -> bool:
    """Whether ``node`` is a call of the emitted guard ``func``."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == func
    )
