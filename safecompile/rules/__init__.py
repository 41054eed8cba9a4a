"""Static rules: one small class per rule, run together in one fused walk.

Each rule has a permanent code (``SC0xx`` source, ``SC1xx`` names and
attributes, ``SC2xx`` statements and syntax forms, ``SC3xx`` imports), a
one-clause message (what and why), a ``fix`` line and ``docs`` (what, why,
example, fix).  ``run_all`` walks the tree once, iteratively, and hands every
node to the rules registered for its type; the walker, not the rule, recurses.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..errors import Violation
from ..policy import Policy

#: Deepest AST the later (recursive) stages are handed.  CPython's own parser
#: refuses much deeper sources; this keeps every later walk and ``compile``
#: far from the recursion limit whatever the host's stack depth.
MAX_DEPTH = 400


@dataclass
class Context:
    """What a rule may read about where a node sits; filled by the walker."""

    policy: Policy
    parents: list[ast.AST] = field(default_factory=list)
    bound: set[str] = field(default_factory=set)
    loaded: list[ast.Name] = field(default_factory=list)

    @property
    def parent(self) -> ast.AST | None:
        return self.parents[-1] if self.parents else None


class Rule:
    """One static check.  Subclasses set the class attributes and ``check``."""

    code: ClassVar[str]
    name: ClassVar[str]
    nodes: ClassVar[tuple[type[ast.AST], ...]] = ()
    message: ClassVar[str]
    fix: ClassVar[str]
    docs: ClassVar[str]
    #: A retired rule keeps its code (never reused) but reports nothing.
    removed: ClassVar[bool] = False

    def check(self, node: Any, ctx: Context) -> Iterator[Violation]:
        return iter(())

    def finish(self, ctx: Context) -> Iterator[Violation]:
        """Run once after the walk (for rules that need the whole module)."""
        return iter(())

    def violation(self, node: ast.AST, **fmt: object) -> Violation:
        lineno = getattr(node, "lineno", 1) or 1
        col = getattr(node, "col_offset", 0) or 0
        return Violation(
            code=self.code,
            message=self.message.format(**fmt),
            lineno=lineno,
            col=col + 1,
            end_lineno=getattr(node, "end_lineno", None) or lineno,
            end_col=(getattr(node, "end_col_offset", None) or col) + 1,
            fix=self.fix,
        )


REGISTRY: dict[str, type[Rule]] = {}


def register(cls: type[Rule]) -> type[Rule]:
    """Add a rule class to the registry (codes are unique and permanent)."""
    if cls.code in REGISTRY:
        raise ValueError(f"duplicate rule code {cls.code}")
    REGISTRY[cls.code] = cls
    return cls


def _load_rule_modules() -> None:
    from . import (  # noqa: F401  (imported for registration)
        sc0xx_source,
        sc1xx_names,
        sc2xx_statements,
        sc3xx_imports,
    )


def _dispatch_table(policy: Policy) -> tuple[dict[type[ast.AST], list[Rule]], list[Rule]]:
    table: dict[type[ast.AST], list[Rule]] = {}
    active: list[Rule] = []
    for code in sorted(REGISTRY):
        if policy.ignores(code):
            continue
        rule = REGISTRY[code]()
        active.append(rule)
        for node_type in rule.nodes:
            table.setdefault(node_type, []).append(rule)
    return table, active


_TABLES: dict[tuple[Any, ...], tuple[dict[type[ast.AST], list[Rule]], list[Rule]]] = {}


def run_all(tree: ast.AST, policy: Policy) -> list[Violation]:
    """Check ``tree`` against every active rule; return all violations.

    One iterative pre-order walk; each node's ancestors are in
    ``ctx.parents`` while its rules run.
    """
    key = (policy.ignore, policy.modules, tuple(sorted(policy.sources)))
    if key not in _TABLES:
        _TABLES[key] = _dispatch_table(policy)
    table, active = _TABLES[key]
    ctx = Context(policy)
    found: list[Violation] = []
    parents = ctx.parents
    # Stack items: a node to visit, or None meaning "leave the current parent".
    stack: list[ast.AST | None] = [tree]
    iter_fields = ast.iter_fields
    while stack:
        node = stack.pop()
        if node is None:
            parents.pop()
            continue
        rules = table.get(type(node))
        if rules:
            for rule in rules:
                found.extend(rule.check(node, ctx))
        if len(parents) >= MAX_DEPTH:
            found.append(_too_deep(node))
            continue
        children: list[ast.AST] = []
        for _, value in iter_fields(node):
            if isinstance(value, ast.AST):
                children.append(value)
            elif isinstance(value, list):
                children.extend(item for item in value if isinstance(item, ast.AST))
        if children:
            parents.append(node)
            stack.append(None)
            stack.extend(reversed(children))
    for rule in active:
        found.extend(rule.finish(ctx))
    return found


def _too_deep(node: ast.AST) -> Violation:
    from .sc0xx_source import SourceTooComplex

    return SourceTooComplex().violation(node, depth=MAX_DEPTH)


def all_rules() -> list[type[Rule]]:
    """Every registered rule class, by code."""
    return [REGISTRY[code] for code in sorted(REGISTRY)]


_load_rule_modules()
