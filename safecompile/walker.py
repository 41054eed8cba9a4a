"""The one walk of the compiler: rules pre-order, rewrite units post-order.

``compile_restricted`` needs both stages, and a walk over a few thousand
nodes costs as much as parsing them (STYLE.md §3), so the stages share one
traversal: at each node the active rules run first (they see the node as the
parser made it, before any child is rewritten), then its children are
visited, then the rewrite units of ``transformers.ORDER`` replace it.  A rule
never sees a rewritten node; a unit always sees rewritten children.  The
lint path (``rules.run_all``) runs the same walk with no units; the
rewrite-only path (``transformers.rewrite``) with no rules.

Leaves (nodes without child nodes and without units: ``Name``,
``Constant``, ``Pass``, ...) are most of a tree, so the walk spends no call
on them.  A leaf without checks is not visited at all.  A leaf whose every
rule offers ``Rule.check_leaves`` for its class (``Name``) is collected in
walk order and checked with the others of its class after the walk; the
violations found are merged back where the walk would have reported them,
so ``found`` is the same list, in the same order, as if each leaf had been
checked in place.  That is equivalent because such a check reads nothing of
the walk's position (not ``in_class_body``) and no unit changes a leaf a
rule reads: units only move a leaf into a new node.  Near ``MAX_DEPTH``
leaves take the ordinary path, so each still gets its own SC005.

The walk recurses at most ``MAX_DEPTH`` levels: deeper trees are reported as
SC005 instead of being visited, so neither the walk nor ``compile`` can
exhaust the host's stack.
"""

from __future__ import annotations

import _thread
import ast
from collections.abc import Callable, Iterable

from .errors import Violation

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: Deepest AST the walk descends into; deeper nodes are reported (SC005).
MAX_DEPTH = 400

# Nodes with no children that neither rules nor units look at.
_LEAVES = (ast.expr_context, ast.operator, ast.boolop, ast.unaryop, ast.cmpop)
_BODY_FIELDS = frozenset({"body", "orelse", "handlers", "finalbody"})

# Fields that hold only leaves, names or numbers in every node class the
# parser makes (never a node the walk visits): not even read.  ("name" is
# not here: TypeAlias.name is a Name node.)
_SCALAR_FIELDS = frozenset({
    "ctx", "op", "ops", "id", "attr", "arg", "module", "level", "conversion",
    "is_async", "type_comment", "kind", "simple", "asname",
})

# How the walk treats a value found in a field, by its exact type (the
# parser's node classes are final): SKIP, NODE, or PATTERN (a match pattern).
SKIP, NODE, PATTERN = 0, 1, 2
_UNSEEN: Any = object()
_KINDS: dict[type, int] = {}
_FIELDS: dict[type, tuple[str, ...]] = {}


def kind_of(cls: type) -> int:
    """SKIP, NODE or PATTERN for a value of class ``cls`` (memoised)."""
    kind = _KINDS.get(cls)
    if kind is None:
        if not issubclass(cls, ast.AST) or issubclass(cls, _LEAVES):
            kind = SKIP
        elif issubclass(cls, ast.pattern):
            kind = PATTERN
        else:
            kind = NODE
        _KINDS[cls] = kind
    return kind


def fields_of(cls: type) -> tuple[str, ...]:
    """The fields of node class ``cls`` that can hold nodes (memoised)."""
    fields = _FIELDS.get(cls)
    if fields is None:
        fields = tuple(f for f in getattr(cls, "_fields", ()) if f not in _SCALAR_FIELDS)
        if cls is ast.Constant:
            fields = ()  # its value is a Python constant, never a node
        _FIELDS[cls] = fields
    return fields


def descendants(node: ast.AST) -> list[ast.AST]:
    """``node`` and every node below it that the walk would visit (leaves
    left out), like ``ast.walk`` but in one list and without its generators."""
    found = [node]
    append = found.append
    kinds = _KINDS
    all_fields = _FIELDS
    for current in found:  # grows while it is read: breadth first
        fields = all_fields.get(type(current))
        if fields is None:
            fields = fields_of(type(current))
        if not fields:
            continue
        attributes = current.__dict__  # a field left out reads as None either way
        for field in fields:
            value = attributes.get(field)
            if type(value) is list:
                for item in value:
                    kind = kinds.get(type(item))
                    if kind is None:
                        kind = kind_of(type(item))
                    if kind:
                        append(item)
            elif value is not None:
                kind = kinds.get(type(value))
                if kind is None:
                    kind = kind_of(type(value))
                if kind:
                    append(value)
    return found

if TYPE_CHECKING:
    Check = Callable[[Any, Any], Iterable[Violation] | None]
    #: ``Rule.check_leaves``: the checks of many leaves of one class, as
    #: (index in the list, violation) pairs in the order ``check`` would give.
    LeafCheck = Callable[[list[Any], Any], Iterable[tuple[int, Violation]] | None]


class UnknownNode(ast.AST):
    """Dispatch key for node classes without a decision (see KNOWN_NODES)."""


#: Node classes of the ast module; filled by the rules with the classes that
#: have a decision.  Anything else found in a tree is dispatched as UnknownNode.
KNOWN_NODES: set[type[ast.AST]] = set()


#: What the walk does with a node of one class: its checks, the fields that
#: can hold nodes, its ROLE, its rewrite units (see ``Walk._info``).  None
#: for values the walk does not visit (not nodes, or leaves).
if TYPE_CHECKING:
    Info = tuple[tuple[Check, ...], tuple[str, ...], int, tuple[Any, ...]] | None

#: The role of a node class in the walk: an ordinary node, one that opens a
#: scope for its children (a function, a lambda, a class), or a match pattern.
PLAIN, FUNCTION, LAMBDA, CLASS, IN_PATTERN = 0, 1, 2, 3, 4
_ROLES: dict[type, int] = {ast.FunctionDef: FUNCTION, ast.Lambda: LAMBDA, ast.ClassDef: CLASS}

#: In the per-class table of a shallow walk, the Info of a leaf whose checks
#: all run after the walk (``Rule.check_leaves``): the walk only collects it.
LATER: Any = ("later",)

# Per (check table, unit table, leaf check table): the Info of each class
# seen, twice: for nodes whose leaf children may be skipped or collected
# (``shallow``: None or LATER for such leaves) and for nodes near MAX_DEPTH
# (``full``).  The tables are built once and kept (rules._TABLES,
# transformers._TABLE); the entry holds them so that a reused id() cannot
# pick up another table's infos.
_INFOS: dict[tuple[int, int, int], tuple[object, object, object, dict[type, Info], dict[type, Info]]] = {}
_INFOS_LOCK = _thread.allocate_lock()


def _infos_for(checks: dict[type[ast.AST], list[Check]], units: dict[type[ast.AST], list[Any]],
               later: dict[type[ast.AST], list[LeafCheck]]) -> tuple[dict[type, Info], dict[type, Info]]:
    key = (id(checks), id(units), id(later))
    entry = _INFOS.get(key)
    if entry is None or entry[0] is not checks or entry[1] is not units or entry[2] is not later:
        with _INFOS_LOCK:
            if len(_INFOS) >= 64:  # tables made per call elsewhere: stay bounded
                _INFOS.clear()
            entry = (checks, units, later, {}, {})
            _INFOS[key] = entry
    return entry[3], entry[4]


# The tables of walks without rules, without units or without leaf checks:
# one shared object each, so that their infos are computed once.
_NO_CHECKS: dict[type[ast.AST], list[Check]] = {}
_NO_UNITS: dict[type[ast.AST], list[Any]] = {}
_NO_LATER: dict[type[ast.AST], list[LeafCheck]] = {}


class Walk:
    """State of one walk: the tables, the rule context, what was found.

    ``later`` maps leaf classes to the ``check_leaves`` of the rules of
    ``checks[cls]``, in the same order, when every one of them has it.
    """

    __slots__ = (
        "checks",
        "ctx",
        "found",
        "full",
        "later",
        "leaves",
        "method_owner",
        "module_scope",
        "scope_type",
        "shallow",
        "stamps",
        "too_deep",
        "units",
    )

    def __init__(self, checks: dict[type[ast.AST], list[Check]], ctx: Any,
                 units: dict[type[ast.AST], list[Any]], too_deep: Callable[[ast.AST], Violation],
                 later: dict[type[ast.AST], list[LeafCheck]] | None = None) -> None:
        from .transformers.base import MODULE_SCOPE, Scope
        from .transformers.ticks import method_owner

        self.checks = checks = checks or _NO_CHECKS
        self.ctx = ctx
        self.units = units = units or _NO_UNITS
        self.later = later = later or _NO_LATER
        self.shallow, self.full = _infos_for(checks, units, later)
        self.found: list[Violation] = []
        # For each entry of found: how many leaves were collected before it.
        self.stamps: list[int] = []
        self.leaves: list[ast.AST] = []
        self.too_deep = too_deep
        self.scope_type = Scope
        self.method_owner = method_owner
        self.module_scope = MODULE_SCOPE

    def _info(self, cls: type) -> Info:
        """The Info of ``cls``, computed once per set of tables."""
        info: Info = None
        if kind_of(cls) != SKIP:
            checks = self.checks.get(cls)
            if checks is None and self.checks and cls not in KNOWN_NODES:
                # A node class nobody decided about (not from the ast module,
                # or from a newer Python): the rules' catch-all refuses it.
                checks = self.checks.get(UnknownNode)
            role = IN_PATTERN if kind_of(cls) == PATTERN else _ROLES.get(cls, PLAIN)
            units = self.units.get(cls)
            # The units as the walk calls them: (the first one's rewrite,
            # ((nodes, rewrite) of the others)), or () for none.  The first
            # always takes a node of its own class: no isinstance at each node.
            steps: tuple[Any, ...] = ()
            if units and issubclass(cls, units[0].nodes):
                steps = (units[0].rewrite, tuple((unit.nodes, unit.rewrite) for unit in units[1:]))
            info = (tuple(checks or ()), fields_of(cls), role, steps)
        self.full[cls] = info  # a benign race: every thread computes the same
        return info

    def _shallow_info(self, cls: type) -> Info:
        """The Info of ``cls`` away from MAX_DEPTH: None for a leaf without
        checks, LATER for a leaf whose checks all run after the walk."""
        info = self.full.get(cls, _UNSEEN)
        if info is _UNSEEN:
            info = self._info(cls)
        shallow: Info = info
        if info is not None and not info[1] and info[2] == PLAIN and not info[3]:
            if not info[0]:
                shallow = None
            elif cls in self.later and len(self.later[cls]) == len(info[0]):
                shallow = LATER
        self.shallow[cls] = shallow
        return shallow

    def _compute(self, infos: dict[type, Info], cls: type) -> Info:
        return self._shallow_info(cls) if infos is self.shallow else self._info(cls)

    def run(self, tree: ast.AST) -> ast.AST:
        info = self.full.get(type(tree), _UNSEEN)
        if info is _UNSEEN:
            info = self._info(type(tree))
        if info is None:
            return tree
        tree = self._visit(tree, info, self.module_scope, False, 0)
        if self.leaves:
            self._check_leaves()
        return tree

    def _report(self, result: Iterable[Violation]) -> None:
        found = self.found
        before = len(found)
        found.extend(result)
        self.stamps.extend([len(self.leaves)] * (len(found) - before))

    def _visit(self, node: ast.AST, info: tuple[tuple[Check, ...], tuple[str, ...], int, tuple[Any, ...]],
               scope: Any, in_class: bool, depth: int) -> ast.AST:
        checks, fields, role, node_units = info
        if checks:
            ctx = self.ctx
            ctx.in_class_body = in_class
            for check in checks:
                result = check(node, ctx)
                if result:
                    self._report(result)
        if depth >= MAX_DEPTH:
            self._report((self.too_deep(node),))
            return node
        if role == IN_PATTERN:
            # Patterns hold only dotted names and constants: rules look at
            # them, units leave them alone (SC106 checks their attributes).
            if self.checks:
                self._visit_children_readonly(node, depth)
            return node
        if fields:
            # The children, in the same call (one frame per level).  Most
            # nodes are PLAIN (0): their children share the node's scope.
            child_scope = scope
            is_function = child_in_class = False
            if role:
                if role == FUNCTION:
                    is_function = True
                    if self.units:
                        owner = self.method_owner(node, in_class)  # type: ignore[arg-type]
                        node._sc_owner = owner  # type: ignore[attr-defined]
                        child_scope = self.scope_type(owner)
                elif role == LAMBDA and self.units:
                    child_scope = self.scope_type(None)
                else:  # a lambda without units, or a class
                    child_scope = self.module_scope
                    child_in_class = role == CLASS
            depth += 1
            # Leaves are skipped or collected (LATER) only where they are
            # not deep enough to be reported themselves.
            infos = self.shallow if depth < MAX_DEPTH else self.full
            leaves = self.leaves
            # Parsed nodes keep every field in their __dict__ (a field left
            # out reads as None either way).
            attributes = node.__dict__
            for field in fields:
                value = attributes.get(field)
                if not value:
                    # None, or an empty list (keywords=[], orelse=[], ...);
                    # any other false value ("", 0) is no node either.
                    continue
                # A function's decorators, defaults and annotations are evaluated
                # outside its body, in the enclosing scope.
                field_scope = child_scope if not is_function or field in _BODY_FIELDS else scope
                if type(value) is list:
                    body = child_in_class and field == "body"
                    for index, item in enumerate(value):
                        child = infos.get(type(item), _UNSEEN)
                        if child is None:
                            continue
                        if child is _UNSEEN:
                            child = self._compute(infos, type(item))
                            if child is None:
                                continue
                        if child is LATER:
                            leaves.append(item)
                            continue
                        new = self._visit(item, child, field_scope, body, depth)
                        if new is not item:
                            value[index] = new
                else:
                    # The list item's steps again, written out: a shared
                    # helper would cost a call per child node.
                    child = infos.get(type(value), _UNSEEN)
                    if child is None:
                        continue
                    if child is _UNSEEN:
                        child = self._compute(infos, type(value))
                        if child is None:
                            continue
                    if child is LATER:
                        leaves.append(value)
                        continue
                    new = self._visit(value, child, field_scope, False, depth)
                    if new is not value:
                        setattr(node, field, new)
            if child_scope is not scope and child_scope is not self.module_scope:
                node._sc_generator = child_scope.generator  # type: ignore[attr-defined]
        if node_units:
            # The first unit is one of this class's: no isinstance needed.
            rewrite, later_units = node_units
            node = rewrite(node, scope)
            for nodes, rewrite in later_units:
                if not isinstance(node, nodes):
                    break  # replaced by a node of another class
                node = rewrite(node, scope)
        return node

    def _check_leaves(self) -> None:
        """Run the leaf checks over the collected leaves and merge what they
        find into ``found`` where the walk would have reported it."""
        leaves = self.leaves
        # Only classes of ``later`` are collected: with one, all are of it.
        classes = set(self.later) if len(self.later) == 1 else {type(leaf) for leaf in leaves}
        # (leaf index, position of the check in the class's table, violation)
        later: list[tuple[int, int, Violation]] = []
        for cls in classes:
            if len(classes) == 1:
                group, where = leaves, None
            else:
                where = [index for index, leaf in enumerate(leaves) if type(leaf) is cls]
                group = [leaves[index] for index in where]
            for position, leaf_check in enumerate(self.later[cls]):
                result = leaf_check(group, self.ctx)
                if result:
                    later.extend((index if where is None else where[index], position, violation)
                                 for index, violation in result)
        if not later:
            return
        later.sort(key=lambda entry: entry[:2])  # stable: a check's own order stays
        merged: list[Violation] = []
        next_later = 0
        for violation, stamp in zip(self.found, self.stamps, strict=True):
            while next_later < len(later) and later[next_later][0] < stamp:
                merged.append(later[next_later][2])
                next_later += 1
            merged.append(violation)
        merged.extend(entry[2] for entry in later[next_later:])
        self.found[:] = merged

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
                    self._report(result)
        if depth >= MAX_DEPTH:
            self._report((self.too_deep(node),))
            return
        self._visit_children_readonly(node, depth)
