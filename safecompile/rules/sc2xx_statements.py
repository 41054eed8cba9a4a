"""SC2xx: statements and syntax forms, and the decision for every AST node.

``NODE_DECISIONS`` names every node class of the ``ast`` module: what the
compiler does when it meets one.  A class missing from the table (syntax of a
newer Python) is refused by ``UnsupportedSyntax`` until someone reviews it,
and a meta test fails until the table covers the running Python.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator

from ..errors import Violation
from ..walker import KNOWN_NODES, UnknownNode
from . import Context, Rule, register

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Literal

    Decision = Literal["allowed", "rewritten", "rejected", "never-parsed"]

_ALLOWED = """
Module Expression Interactive FunctionType Suite
FunctionDef ClassDef Return Delete Assign AugAssign AnnAssign For While If With
Match Raise Try Assert Global Nonlocal Expr Pass Break Continue
BoolOp NamedExpr BinOp UnaryOp Lambda IfExp Dict Set ListComp SetComp DictComp
GeneratorExp Compare Call FormattedValue JoinedStr Constant
Attribute Subscript Starred Name List Tuple Slice
Load Store Del And Or Add Sub Mult MatMult Div Mod Pow LShift RShift BitOr
BitXor BitAnd FloorDiv Invert Not UAdd USub Eq NotEq Lt LtE Gt GtE Is IsNot In
NotIn comprehension ExceptHandler arguments arg keyword alias withitem
match_case MatchValue MatchSingleton MatchSequence MatchMapping MatchClass
MatchStar MatchAs MatchOr TypeIgnore Import ImportFrom TryStar
"""

_REJECTED = """
AsyncFunctionDef AsyncFor AsyncWith Await TypeAlias TypeVar ParamSpec
TypeVarTuple
"""

# Deprecated aliases and abstract bases: ast.parse never produces them.
_NEVER_PARSED = """
AST mod stmt expr expr_context boolop operator unaryop cmpop excepthandler
pattern type_ignore type_param slice AugLoad AugStore Param Index ExtSlice
Num Str Bytes NameConstant Ellipsis _ast_Ellipsis
"""

#: Node classes that a rewriter unit changes (the rest of "allowed" passes
#: through unchanged).  See safecompile/transformers/__init__.py.
_REWRITTEN = """
Attribute Assign Import ImportFrom For While FunctionDef Lambda
comprehension BinOp AugAssign Yield YieldFrom
"""

NODE_DECISIONS: dict[str, Decision] = {}
for _name in _ALLOWED.split():
    NODE_DECISIONS[_name] = "allowed"
for _name in _REWRITTEN.split():
    NODE_DECISIONS[_name] = "rewritten"
for _name in _REJECTED.split():
    NODE_DECISIONS[_name] = "rejected"
for _name in _NEVER_PARSED.split():
    NODE_DECISIONS[_name] = "never-parsed"

_ACCEPTED_TYPES: tuple[type[ast.AST], ...] = tuple(
    getattr(ast, name)
    for name, decision in NODE_DECISIONS.items()
    if decision in ("allowed", "rewritten") and hasattr(ast, name)
)


_REJECTED_TYPES: frozenset[type[ast.AST]] = frozenset(
    getattr(ast, name)
    for name, decision in NODE_DECISIONS.items()
    if decision == "rejected" and hasattr(ast, name)
)


def _all_node_classes() -> list[type[ast.AST]]:
    return [
        value
        for value in vars(ast).values()
        if isinstance(value, type) and issubclass(value, ast.AST)
    ]


@register
class UnsupportedSyntax(Rule):
    """Syntax the compiler has no decision for (new or never-parsed nodes)."""

    code = "SC201"
    name = "unsupported-syntax"
    message = "{what} is not supported in scripts"
    fix = "rewrite the code with supported syntax"
    docs = """
What: syntax that safecompile has not reviewed: any AST node class without a
decision in `NODE_DECISIONS` (for example syntax added by a newer Python),
and node classes the parser never produces.
Why: an allowlist of syntax means a new Python release cannot slip a new
construct past the rules; it is refused until reviewed.
Example: (depends on the Python version)
Fix: use long-standing syntax for the same thing.
"""

    # Every node class that is neither accepted nor refused by a more
    # specific rule is refused here.
    nodes = tuple(
        cls for cls in _all_node_classes()
        if cls not in set(_ACCEPTED_TYPES) and cls not in _REJECTED_TYPES
    )

    def check(self, node: ast.AST, ctx: Context) -> Iterator[Violation]:
        yield self.violation(node, what=f"syntax {type(node).__name__!r}")


UnsupportedSyntax.nodes = (*UnsupportedSyntax.nodes, UnknownNode)
KNOWN_NODES.update(cls for cls in _all_node_classes())


@register
class ClassKeyword(Rule):
    """Metaclasses and class keywords."""

    code = "SC202"
    name = "class-keyword"
    nodes = (ast.ClassDef,)
    message = "class keyword {kw!r} is not allowed: {why}"
    fix = "define an ordinary class; pass settings to its methods instead"
    docs = """
What: `class C(metaclass=M)`, `class C(Base, option=value)` and
`class C(**kw)`.
Why: a metaclass runs arbitrary code at class creation (`__prepare__`,
`__new__`), and class keywords are handed to `__init_subclass__` hooks;
both run implicitly, where no guard sees the call.
Example: `class Page(metaclass=Meta): ...`
Fix: define an ordinary class; configure it through its methods.
"""

    def check(self, node: ast.ClassDef, ctx: Context) -> Iterable[Violation] | None:
        if not node.keywords:
            return None  # the usual class: no generator to make and drain
        found = []
        for kw in node.keywords:
            name = "**" if kw.arg is None else kw.arg
            why = (
                "metaclasses run code at class creation"
                if name == "metaclass"
                else "class keywords are passed to class-creation hooks"
            )
            found.append(self.violation(kw, kw=name, why=why))
        return found


@register
class StarExcept(Rule):
    """Retired: ``except*`` is allowed; its hazard is guarded at run time."""

    code = "SC203"
    name = "star-except"
    nodes = ()
    removed = True
    message = "'except*' is not supported in scripts"
    fix = "catch ExceptionGroup with a plain 'except'"
    docs = """
Retired (never reported).  `try: ... except* E:` is allowed.
Why it was a rule: the interpreter's `except*` machinery calls `split()` on
the exception group and trusts the result; an `ExceptionGroup` subclass whose
`split()` returns anything else crashes CPython (RestrictedPython
CVE-2025-22153 refuses `except*` outright).  safecompile instead refuses, at
run time, any script class deriving from `BaseExceptionGroup` that defines
`split` or `subgroup`, and any `setattr` of those names on exception groups,
so the interpreter only ever calls the builtin methods.
Example: `class G(ExceptionGroup):\n    def split(self, t): return 1` (refused
when the class is created).
Fix: leave `split`/`subgroup` to the builtin; override `derive` if needed.
"""


@register
class AsyncSyntax(Rule):
    """``async def``, ``await``, ``async for``, ``async with``."""

    code = "SC204"
    name = "async-syntax"
    nodes = (ast.AsyncFunctionDef, ast.Await, ast.AsyncFor, ast.AsyncWith, ast.comprehension)
    message = "{what} is not supported: scripts run synchronously, without an event loop"
    fix = "write the code synchronously"
    docs = """
What: coroutines and asynchronous iteration: `async def`, `await`,
`async for`, `async with`, and asynchronous comprehensions.
Why: scripts run synchronously with no event loop; coroutine objects carry
frames (`cr_frame`) and can be driven outside the run's budgets.
Example: `async def fetch(): ...`
Fix: write the code synchronously.
"""

    def check(self, node: ast.AST, ctx: Context) -> Iterable[Violation] | None:
        if isinstance(node, ast.comprehension):
            if node.is_async:
                return [self.violation(node.target, what="an asynchronous comprehension")]
            return None  # the usual comprehension
        what = {
            ast.AsyncFunctionDef: "'async def'",
            ast.Await: "'await'",
            ast.AsyncFor: "'async for'",
            ast.AsyncWith: "'async with'",
        }[type(node)]
        return [self.violation(node, what=what)]


_TYPE_PARAM_NODES: tuple[type[ast.AST], ...] = tuple(
    getattr(ast, name) for name in ("TypeAlias", "TypeVar", "ParamSpec", "TypeVarTuple")
    if hasattr(ast, name)
)


@register
class TypeParameterSyntax(Rule):
    """The ``type X = ...`` statement and ``def f[T]()`` type parameters."""

    code = "SC205"
    name = "type-parameter-syntax"
    nodes = _TYPE_PARAM_NODES
    message = "type parameter syntax ({what}) is not supported in scripts"
    fix = "leave the annotation out, or use a plain assignment for the alias"
    docs = """
What: Python 3.12's `type Alias = ...` statement and type parameter lists
(`def f[T](x: T)`, `class Box[T]:`).
Why: these create lazily evaluated scopes and objects whose values are
reached only through dunder attributes; scripts do not need them to run.
Example: `type Pair = tuple[int, int]`
Fix: `Pair = tuple[int, int]`, or leave the annotation out.
"""

    def check(self, node: ast.AST, ctx: Context) -> Iterator[Violation]:
        yield self.violation(node, what=type(node).__name__)
