"""Attribute reads, writes and deletes that need a guard."""

from __future__ import annotations

import ast

from .. import names
from .base import Scope, Unit, call, const, located


def needs_read_guard(attr: str) -> bool:
    """Whether a static read of ``attr`` must go through the guard.

    SAFETY: other names compile to a plain attribute load.  The rules have
    already refused dunders and interpreter internals by name; the only
    values whose public attributes are dangerous are host objects, which
    arrive as proxies that check every name themselves, and module views,
    which offer reviewed names only.  What remains value-dependent is:
    underscore names (allowed on the script's own objects only) and
    ``format``/``format_map`` (which turn a string into a formatter that
    walks attributes of its arguments).
    """
    return names.is_private(attr) or attr in names.FORMAT_METHODS


class AttributeRead(Unit):
    """``obj._x`` → ``__sc_getattr__(obj, "_x")`` (also ``.format``)."""

    nodes = (ast.Attribute,)

    def rewrite(self, node: ast.AST, scope: Scope) -> ast.AST:
        assert isinstance(node, ast.Attribute)
        if (isinstance(node.ctx, ast.Load) and not names.is_private(node.attr)
                and node.attr not in names.FORMAT_METHODS):
            return node  # the usual read: a plain load (what the Load case below decides)
        # SAFETY: reads and writes of the verified owner of a method
        # (`self._x`, `self.x = v` where the method entry checked that `self`
        # is the script's own object and the method never rebinds `self`)
        # stay plain: the guard would allow them anyway.  `format` is still
        # guarded: the owner may be a str subclass.
        on_owner = (
            scope.owner is not None
            and isinstance(node.value, ast.Name)
            and node.value.id == scope.owner
            # CVE-2025-22153: writes of split/subgroup keep the guard, which
            # refuses them on exception groups.
            and node.attr not in names.EXCEPTION_GROUP_TRUSTED
        )
        if isinstance(node.ctx, ast.Load):
            # SAFETY: dunder reads stay plain loads: the only ones the rules let
            # through are the allowed protocol methods on super() (super().__init__).
            if names.is_dunder(node.attr) or (on_owner and node.attr not in names.FORMAT_METHODS):
                return node
            if needs_read_guard(node.attr):
                return call(names.GETATTR, [node.value, const(node.attr, node)], node)
            return node
        if on_owner:
            return node
        if isinstance(node.ctx, ast.Store | ast.Del):
            # A write target anywhere (tuple unpacking, for, with, del,
            # augmented assignment): __sc_write__(obj)["name"].  The simple
            # single-target assignment is handled by AttributeAssign.
            target = ast.Subscript(
                value=call(names.WRITE, [node.value], node),
                slice=const(node.attr, node),
                ctx=node.ctx,
            )
            return located(target, node)
        return node


class AttributeAssign(Unit):
    """``obj.x = value`` → ``__sc_setattr__(value, obj, "x")``.

    The value comes first so that evaluation order stays Python's (value,
    then object).  Runs before the write-target rewrite has touched the
    target: it recognises the already-rewritten ``__sc_write__`` subscript.
    """

    nodes = (ast.Assign,)

    def rewrite(self, node: ast.AST, scope: Scope) -> ast.AST:
        assert isinstance(node, ast.Assign)
        if len(node.targets) != 1:
            return node
        target = node.targets[0]
        if not (
            isinstance(target, ast.Subscript)
            and isinstance(target.value, ast.Call)
            and isinstance(target.value.func, ast.Name)
            and target.value.func.id == names.WRITE
            and isinstance(target.slice, ast.Constant)
        ):
            return node
        obj = target.value.args[0]
        guarded = call(names.SETATTR, [node.value, obj, target.slice], node)
        return located(ast.Expr(value=guarded), node)
