"""Operators whose result size can explode: ``**``, ``<<`` and ``*``.

Repetition (``"x" * n``) and other allocations are bounded by the memory
budget; these two can burn CPU for minutes before allocating, so the size of
the result is checked from the operands before the work starts.
"""

from __future__ import annotations

import ast

from .. import names
from .base import Scope, Unit, call, located

_GUARDED = {ast.Pow: names.POW, ast.LShift: names.LSHIFT, ast.Mult: names.MUL}
_OPS = {ast.Pow: "**", ast.LShift: "<<", ast.Mult: "*"}


def _literal(node: ast.AST) -> bool:
    """A number or string literal: a product with one grows the other
    operand by a bounded amount (sequence repetition is the memory budget's)."""
    return isinstance(node, ast.Constant) and type(node.value) in (int, float, complex, str, bytes, bool)


class Operands(Unit):
    """``a ** b`` → ``__sc_pow__(a, b)``; ``a << b`` → ``__sc_lshift__(a, b)``;
    ``x **= b`` → ``x = __sc_pow__(x, b)``; ``a[i] **= b`` →
    ``__sc_aug_item__(a, i, "**", b)``."""

    nodes = (ast.BinOp, ast.AugAssign)

    def rewrite(self, node: ast.AST, scope: Scope) -> ast.AST:
        if isinstance(node, ast.BinOp):
            guard = _GUARDED.get(type(node.op))
            if guard is None:
                return node
            if guard == names.MUL and (_literal(node.left) or _literal(node.right)):
                return node
            return call(guard, [node.left, node.right], node)
        assert isinstance(node, ast.AugAssign)
        guard = _GUARDED.get(type(node.op))
        if guard is None or (guard == names.MUL and _literal(node.value)):
            return node
        target = node.target
        if isinstance(target, ast.Name):
            load = located(ast.Name(id=target.id, ctx=ast.Load()), target)
            value = call(guard, [load, node.value], node)
            return located(ast.Assign(targets=[target], value=value), node)
        if isinstance(target, ast.Subscript):
            # Attribute targets were already turned into __sc_write__(obj)["x"].
            op = _OPS[type(node.op)]
            args: list[ast.expr] = [target.value, target.slice,
                                    located(ast.Constant(value=op), node), node.value]
            return located(ast.Expr(value=call(names.AUG_ITEM, args, node)), node)
        return node
