"""The rewrite stage: small units composed in one fused post-order walk.

``ORDER`` is the fixed order in which units see a node (after all of its
children are rewritten):

1. ``AttributeRead``   underscore and format reads → guard; write targets →
                       ``__sc_write__(obj)["name"]``
2. ``AttributeAssign`` a single ``obj.x = v`` → ``__sc_setattr__(v, obj, "x")``
3. ``Operands``        ``**`` and ``<<`` (and their augmented forms) → guards
4. ``Imports``         import statements → the guarded import
5. ``LoopIterables``   for-loops and comprehensions iterate through the budget
6. ``WhileTests``      while-loop tests tick the budget
7. ``FunctionEntries`` function and lambda entries tick and check recursion;
                       methods whose ``self``/``cls`` is never rebound check at
                       entry that it is the script's own object, and inside
                       them ``self.x`` reads and writes stay plain (units read
                       this from the walker's ``Scope``)

Printing needs no rewrite: ``print`` is the run's own builtin.  Patterns of
``match`` statements are left alone (they may only hold dotted names and
constants; SC106 checks their attribute names).
"""

from __future__ import annotations

import ast

from .attributes import AttributeAssign, AttributeRead
from .base import MODULE_SCOPE, Scope, Unit
from .imports import Imports
from .operands import Operands
from .ticks import FunctionEntries, LoopIterables, WhileTests, method_owner

ORDER: tuple[type[Unit], ...] = (
    AttributeRead,
    AttributeAssign,
    Operands,
    Imports,
    LoopIterables,
    WhileTests,
    FunctionEntries,
)


def _table() -> dict[type[ast.AST], list[Unit]]:
    table: dict[type[ast.AST], list[Unit]] = {}
    for unit_class in ORDER:
        unit = unit_class()
        for node_type in unit.nodes:
            table.setdefault(node_type, []).append(unit)
    return table


_TABLE = _table()


def _rewrite(node: ast.AST, scope: Scope, in_class: bool = False) -> ast.AST:
    if isinstance(node, ast.pattern):
        return node
    child_scope = scope
    if isinstance(node, ast.FunctionDef):
        owner = method_owner(node, in_class)
        node._sc_owner = owner  # type: ignore[attr-defined]
        child_scope = Scope(owner)
    elif isinstance(node, ast.Lambda | ast.ClassDef):
        child_scope = MODULE_SCOPE
    child_in_class = isinstance(node, ast.ClassDef)
    for field, value in ast.iter_fields(node):
        # Decorators, defaults and annotations are evaluated outside the body.
        field_scope = child_scope if field in ("body", "orelse", "handlers", "finalbody") or not isinstance(node, ast.FunctionDef) else scope
        if isinstance(value, list):
            changed = False
            new_items: list[object] = []
            for item in value:
                if isinstance(item, ast.AST):
                    new = _rewrite(item, field_scope, child_in_class and field == "body")
                    changed = changed or new is not item
                    new_items.append(new)
                else:
                    new_items.append(item)
            if changed:
                setattr(node, field, new_items)
        elif isinstance(value, ast.AST):
            new = _rewrite(value, field_scope)
            if new is not value:
                setattr(node, field, new)
    units = _TABLE.get(type(node))
    if units:
        for unit in units:
            if not isinstance(node, unit.nodes):
                break
            node = unit.rewrite(node, scope)
    return node


def rewrite(tree: ast.Module | ast.Expression) -> ast.Module | ast.Expression:
    """Rewrite ``tree`` in place (one post-order walk); return it."""
    result = _rewrite(tree, MODULE_SCOPE)
    assert isinstance(result, ast.Module | ast.Expression)
    return ast.fix_missing_locations(result)
