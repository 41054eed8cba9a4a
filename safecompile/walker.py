"""The one walk of the compiler: rules pre-order, rewrite units post-order.

``compile_restricted`` needs both stages, and a walk over a few thousand
nodes costs as much as parsing them (STYLE.md §3), so the stages share one
traversal: at each node the active rules run first (they see the node as the
parser made it, before any child is rewritten), then its children are
visited, then the rewrite units of ``transformers.ORDER`` replace it.  A rule
never sees a rewritten node; a unit always sees rewritten children.  The
lint path (``rules.run_all``) runs the same walk with no units; the
rewrite-only path (``transformers.rewrite``) with no rules.

The walk recurses at most ``MAX_DEPTH`` levels: deeper trees are reported as
SC005 instead of being visited, so neither the walk nor ``compile`` can
exhaust the host's stack.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable
from typing import Any

from .errors import Violation

#: Deepest AST the walk descends into; deeper nodes are reported (SC005).
MAX_DEPTH = 400

# Nodes with no children that neither rules nor units look at.
_LEAVES = (ast.expr_context, ast.operator, ast.boolop, ast.unaryop, ast.cmpop)
_BODY_FIELDS = frozenset({"body", "orelse", "handlers", "finalbody"})

Check = Callable[[Any, Any], Iterable[Violation] | None]


class UnknownNode(ast.AST):
    """Dispatch key for node classes without a decision (see KNOWN_NODES)."""


#: Node classes of the ast module; filled by the rules with the classes that
#: have a decision.  Anything else found in a tree is dispatched as UnknownNode.
KNOWN_NODES: set[type[ast.AST]] = set()


class Walk:
    """State of one walk: the tables, the rule context, what was found."""

    __slots__ = (
        "checks",
        "ctx",
        "found",
        "method_owner",
        "module_scope",
        "scope_type",
        "too_deep",
        "units",
    )

    def __init__(self, checks: dict[type[ast.AST], list[Check]], ctx: Any,
                 units: dict[type[ast.AST], list[Any]], too_deep: Callable[[ast.AST], Violation]) -> None:
        from .transformers.base import MODULE_SCOPE, Scope
        from .transformers.ticks import method_owner

        self.checks = checks
        self.ctx = ctx
        self.units = units
        self.found: list[Violation] = []
        self.too_deep = too_deep
        self.scope_type = Scope
        self.method_owner = method_owner
        self.module_scope = MODULE_SCOPE

    def run(self, tree: ast.AST) -> ast.AST:
        return self._visit(tree, self.module_scope, False, 0)

    def _visit(self, node: ast.AST, scope: Any, in_class: bool, depth: int) -> ast.AST:
        checks = self.checks.get(type(node))
        if checks is None and self.checks and type(node) not in KNOWN_NODES:
            # A node class nobody decided about (not from the ast module, or
            # from a newer Python): the rules' catch-all refuses it.
            checks = self.checks.get(UnknownNode)
        if checks:
            ctx = self.ctx
            ctx.in_class_body = in_class
            for check in checks:
                result = check(node, ctx)
                if result:
                    self.found.extend(result)
        if depth >= MAX_DEPTH:
            self.found.append(self.too_deep(node))
            return node
        if isinstance(node, ast.pattern):
            # Patterns hold only dotted names and constants: rules look at
            # them, units leave them alone (SC106 checks their attributes).
            if self.checks:
                self._visit_children_readonly(node, depth)
            return node
        child_scope = scope
        is_function = type(node) is ast.FunctionDef
        units = self.units
        if is_function and units:
            owner = self.method_owner(node, in_class)  # type: ignore[arg-type]
            node._sc_owner = owner  # type: ignore[attr-defined]
            child_scope = self.scope_type(owner)
        elif type(node) is ast.Lambda and units:
            child_scope = self.scope_type(None)
        elif isinstance(node, ast.Lambda | ast.ClassDef):
            child_scope = self.module_scope
        child_in_class = type(node) is ast.ClassDef
        depth += 1
        for field in node._fields:
            value = getattr(node, field, None)
            if value is None:
                continue
            # A function's decorators, defaults and annotations are evaluated
            # outside its body, in the enclosing scope.
            field_scope = child_scope if not is_function or field in _BODY_FIELDS else scope
            if type(value) is list:
                body = child_in_class and field == "body"
                for index, item in enumerate(value):
                    if isinstance(item, ast.AST) and not isinstance(item, _LEAVES):
                        new = self._visit(item, field_scope, body, depth)
                        if new is not item:
                            value[index] = new
            elif isinstance(value, ast.AST) and not isinstance(value, _LEAVES):
                new = self._visit(value, field_scope, False, depth)
                if new is not value:
                    setattr(node, field, new)
        if child_scope is not scope and child_scope is not self.module_scope:
            node._sc_generator = child_scope.generator  # type: ignore[attr-defined]
        node_units = units.get(type(node))
        if node_units:
            for unit in node_units:
                if not isinstance(node, unit.nodes):
                    break
                node = unit.rewrite(node, scope)
        return node

    def _visit_children_readonly(self, node: ast.AST, depth: int) -> None:
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, _LEAVES):
                self._visit_readonly(child, depth + 1)

    def _visit_readonly(self, node: ast.AST, depth: int) -> None:
        checks = self.checks.get(type(node))
        if checks is None and self.checks and type(node) not in KNOWN_NODES:
            checks = self.checks.get(UnknownNode)
        if checks:
            self.ctx.in_class_body = False
            for check in checks:
                result = check(node, self.ctx)
                if result:
                    self.found.extend(result)
        if depth >= MAX_DEPTH:
            self.found.append(self.too_deep(node))
            return
        self._visit_children_readonly(node, depth)
