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
7. ``Yields``          marks the enclosing function as a generator
8. ``FunctionEntries`` function and lambda entries tick and check recursion;
                       methods whose ``self``/``cls`` is never rebound check at
                       entry that it is the script's own object, and inside
                       them ``self.x`` reads and writes stay plain (units read
                       this from the walker's ``Scope``); generator functions
                       get ``@__sc_generator__`` so the run can close the
                       generators they leave suspended

Printing needs no rewrite: ``print`` is the run's own builtin.  Patterns of
``match`` statements are left alone (they may only hold dotted names and
constants; SC106 checks their attribute names).
"""

from __future__ import annotations

import ast

from .attributes import AttributeAssign, AttributeRead
from .base import Unit
from .imports import Imports
from .operands import Operands
from .ticks import FunctionEntries, LoopIterables, WhileTests, Yields

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

ORDER: tuple[type[Unit], ...] = (
    AttributeRead,
    AttributeAssign,
    Operands,
    Imports,
    LoopIterables,
    WhileTests,
    Yields,
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


def units() -> dict[type[ast.AST], list[Unit]]:
    """The unit table of ``ORDER`` by node type (for the compiler's walk)."""
    return _TABLE


def _no_depth_report(node: ast.AST) -> Any:
    raise RecursionError("tree nests deeper than the compiler accepts")


def rewrite(tree: ast.Module | ast.Expression) -> ast.Module | ast.Expression:
    """Rewrite ``tree`` in place (one post-order walk); return it."""
    from ..walker import Walk

    result = Walk({}, None, _TABLE, _no_depth_report).run(tree)
    assert isinstance(result, ast.Module | ast.Expression)
    # Every node a unit makes copies a location from the node it replaces
    # (transformers/base.py), so no fix_missing_locations pass is needed.
    return result
