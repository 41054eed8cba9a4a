"""Static rules: one small class per rule, run together in one fused walk.

(The walk itself is ``safecompile.walker``: ``compile_restricted`` runs the
rules and the rewrite units in the same traversal.)

Each rule has a permanent code (``SC0xx`` source, ``SC1xx`` names and
attributes, ``SC2xx`` statements and syntax forms, ``SC3xx`` imports), a
one-clause message (what and why), a ``fix`` line and ``docs`` (what, why,
example, fix).  ``run_all`` walks the tree once, iteratively, and hands every
node to the rules registered for its type; the walker, not the rule, recurses.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

from ..errors import Violation
from ..policy import Policy
from ..walker import MAX_DEPTH

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, ClassVar

    from ..walker import Check, LeafCheck


class Context:
    """What a rule may read about where a node sits; filled by the walker.

    ``in_class_body`` is true while the rules of a statement directly in a
    class body run.  ``bound``/``loaded`` collect names for rules that
    decide once the whole module is seen (``Rule.finish``).
    """

    __slots__ = ("bound", "in_class_body", "loaded", "policy")

    def __init__(self, policy: Policy, in_class_body: bool = False,
                 bound: set[str] | None = None, loaded: list[ast.Name] | None = None) -> None:
        self.policy = policy
        self.in_class_body = in_class_body
        self.bound: set[str] = set() if bound is None else bound
        self.loaded: list[ast.Name] = [] if loaded is None else loaded


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
    #: Classes of ``nodes`` whose nodes ``check_leaves`` can check together,
    #: after the walk.  Only for classes without child nodes, and only when
    #: ``check`` of such a node reads nothing of where it sits (not
    #: ``ctx.in_class_body``) and writes nothing but what ``finish`` reads.
    leaf_nodes: ClassVar[tuple[type[ast.AST], ...]] = ()

    def check(self, node: Any, ctx: Context) -> Iterable[Violation] | None:
        """Violations at ``node`` (an iterable, or None for none)."""
        return None

    def check_leaves(self, nodes: list[Any], ctx: Context) -> Iterable[tuple[int, Violation]] | None:
        """``check`` of each of ``nodes`` (one class of ``leaf_nodes``, in
        walk order): (index in ``nodes``, violation) pairs, in the order the
        checks one by one would give.  Rules override it with a faster loop."""
        found: list[tuple[int, Violation]] = []
        for index, node in enumerate(nodes):
            result = self.check(node, ctx)
            if result:
                found.extend((index, violation) for violation in result)
        return found

    def finish(self, ctx: Context) -> Iterable[Violation] | None:
        """Run once after the walk (for rules that need the whole module)."""
        return None

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


if TYPE_CHECKING:
    Tables = tuple[dict[type[ast.AST], list[Check]], list[Rule], dict[type[ast.AST], list[LeafCheck]]]
_TABLES: dict[tuple[Any, ...], Tables] = {}


def _tables(policy: Policy) -> Tables:
    """The checks by node class, the active rules, and the leaf checks of the
    classes whose every active rule can check its nodes after the walk."""
    key = (policy.ignore, policy.modules, tuple(sorted(policy.sources)))
    found = _TABLES.get(key)
    if found is None:
        table, active = _dispatch_table(policy)
        checks: dict[type[ast.AST], list[Check]] = {
            node_type: [rule.check for rule in rules] for node_type, rules in table.items()
        }
        later: dict[type[ast.AST], list[LeafCheck]] = {
            node_type: [rule.check_leaves for rule in rules]
            for node_type, rules in table.items()
            if all(node_type in rule.leaf_nodes for rule in rules)
        }
        found = (checks, active, later)
        _TABLES[key] = found
    return found


def walk(tree: ast.AST, policy: Policy, units: dict[type[ast.AST], list[Any]] | None = None) -> tuple[ast.AST, list[Violation]]:
    """Run every active rule over ``tree`` (and the rewrite ``units``, if
    given) in the compiler's one walk; return the tree and all violations."""
    from ..walker import Walk

    checks, active, later = _tables(policy)
    ctx = Context(policy)
    walker = Walk(checks, ctx, units or {}, _too_deep, later)
    result = walker.run(tree)
    found = walker.found
    for rule in active:
        extra = rule.finish(ctx)
        if extra:
            found.extend(extra)
    return result, found


def run_all(tree: ast.AST, policy: Policy) -> list[Violation]:
    """Check ``tree`` against every active rule; return all violations."""
    return walk(tree, policy)[1]


def _too_deep(node: ast.AST) -> Violation:
    from .sc0xx_source import SourceTooComplex

    return SourceTooComplex().violation(node, depth=MAX_DEPTH)


def all_rules() -> list[type[Rule]]:
    """Every registered rule class, by code."""
    return [REGISTRY[code] for code in sorted(REGISTRY)]


_load_rule_modules()
