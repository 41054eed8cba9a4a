"""Step ticks: loops, comprehensions and function entries (the budget seam)."""

from __future__ import annotations

import ast

from .. import names
from .base import Unit, call, located


class LoopIterables(Unit):
    """``for x in it:`` → ``for x in __sc_iter__(it):`` (and comprehensions)."""

    nodes = (ast.For, ast.comprehension)

    def rewrite(self, node: ast.AST) -> ast.AST:
        assert isinstance(node, ast.For | ast.comprehension)
        node.iter = call(names.ITER, [node.iter], node.iter)
        return node


class WhileTests(Unit):
    """``while test:`` → ``while __sc_tick__() or test:``."""

    nodes = (ast.While,)

    def rewrite(self, node: ast.AST) -> ast.AST:
        assert isinstance(node, ast.While)
        tick = call(names.TICK, [], node.test)
        node.test = located(ast.BoolOp(op=ast.Or(), values=[tick, node.test]), node.test)
        return node


def _has_docstring(body: list[ast.stmt]) -> bool:
    return bool(
        body
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    )


class FunctionEntries(Unit):
    """``def f(): body`` → ``def f(): __sc_enter__(); body`` (after a docstring);
    ``lambda: e`` → ``lambda: __sc_enter__() or e``."""

    nodes = (ast.FunctionDef, ast.Lambda)

    def rewrite(self, node: ast.AST) -> ast.AST:
        if isinstance(node, ast.Lambda):
            enter = call(names.ENTER, [], node.body)
            node.body = located(ast.BoolOp(op=ast.Or(), values=[enter, node.body]), node.body)
            return node
        assert isinstance(node, ast.FunctionDef)
        where = node.body[0]
        statement = located(ast.Expr(value=call(names.ENTER, [], where)), where)
        position = 1 if _has_docstring(node.body) else 0
        node.body.insert(position, statement)
        return node
