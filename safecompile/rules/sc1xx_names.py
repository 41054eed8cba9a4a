"""SC1xx: names and attributes."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator

from .. import names
from ..errors import Violation
from . import Context, Rule, register

_FUNCTION_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef)


def _is_super_call(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "super"
    )


def _binding_names(node: ast.AST) -> Iterator[tuple[str, ast.AST]]:
    """Every identifier ``node`` itself binds or declares (not its children)."""
    if isinstance(node, ast.Name):
        yield node.id, node
    elif isinstance(node, ast.arg):
        yield node.arg, node
    elif isinstance(node, ast.ClassDef):
        yield node.name, node
    elif isinstance(node, ast.alias):
        if node.asname is not None:
            yield node.asname, node
        for part in node.name.split("."):
            yield part, node
    elif isinstance(node, ast.Global | ast.Nonlocal):
        for name in node.names:
            yield name, node
    elif isinstance(node, ast.keyword):
        if node.arg is not None:
            yield node.arg, node
    elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar):
        if node.name is not None:
            yield node.name, node
    elif isinstance(node, ast.MatchMapping) and node.rest is not None:
        yield node.rest, node


@register
class DunderName(Rule):
    """Dunder identifiers anywhere: names, parameters, imports, keywords."""

    code = "SC101"
    name = "dunder-name"
    nodes = (
        ast.Name, ast.arg, ast.ClassDef, ast.alias, ast.Global, ast.Nonlocal,
        ast.keyword, ast.ExceptHandler, ast.MatchAs, ast.MatchStar,
        ast.MatchMapping,
    )
    message = "name {ident!r} is a dunder; scripts may not name dunders"
    fix = "rename it without the leading double underscore"
    docs = """
What: any identifier that starts with two underscores (`__builtins__`,
`__import__`, `__class__`, `__sc_getattr__`), wherever it is bound or read:
variables, parameters (positional-only, keyword-only, `*args`, `**kw`),
`except ... as`, `with ... as`, walrus targets, comprehension targets,
match captures, imports, `global`/`nonlocal`, keyword arguments.
Why: dunder names reach the interpreter's machinery (`__builtins__`,
`__import__`, `__build_class__`) and the names the rewriter emits; a script
that could bind one could shadow a guard (RestrictedPython GHSA for
positional-only parameters shadowing `_getattr_`, 2026).
Example: `__builtins__["open"]`, `def f(__sc_getattr__, /): ...`
Fix: use an ordinary name.
"""

    leaf_nodes = (ast.Name,)

    def check(self, node: ast.AST, ctx: Context) -> Iterable[Violation] | None:
        if type(node) is ast.Name:
            if node.id.startswith("__"):
                return [self.violation(node, ident=node.id)]
            return None
        if type(node) is ast.arg:  # the usual binder: what _binding_names gives for it
            if names.is_dunder(node.arg):
                return [self.violation(node, ident=node.arg)]
            return None
        return [self.violation(where, ident=ident)
                for ident, where in _binding_names(node) if names.is_dunder(ident)]

    def check_leaves(self, nodes: list[ast.Name], ctx: Context) -> Iterable[tuple[int, Violation]] | None:
        # check() of each Name, in one loop.
        return [(index, self.violation(node, ident=node.id))
                for index, node in enumerate(nodes) if node.id.startswith("__")]


@register
class DunderAttribute(Rule):
    """Dunder attribute access (``x.__class__``)."""

    code = "SC102"
    name = "dunder-attribute"
    nodes = (ast.Attribute,)
    message = "attribute {attr!r} is a dunder; scripts may not use dunder attributes"
    fix = "use the object's public methods and attributes instead"
    docs = """
What: reading, writing or deleting an attribute whose name starts with two
underscores, e.g. `x.__class__`, `f.__globals__`, `obj.__dict__`.
The one exception is calling an allowed dunder method on `super()`, such as
`super().__init__(...)`.
Why: dunder attributes are the classic road out of every Python sandbox:
`().__class__.__base__.__subclasses__()`, `f.__globals__`, `m.__self__`.
Example: `print(().__class__.__mro__)`
Fix: call the object's public methods instead; `isinstance` replaces most
class inspection.
"""

    def check(self, node: ast.Attribute, ctx: Context) -> Iterable[Violation] | None:
        if not names.is_dunder(node.attr):
            return None
        if (
            node.attr in names.ALLOWED_DUNDER_METHODS
            and isinstance(node.ctx, ast.Load)
            and _is_super_call(node.value)
        ):
            return None
        return [self.violation(node, attr=node.attr)]


@register
class InternalAttribute(Rule):
    """Frame, code, traceback and generator internals by name."""

    code = "SC103"
    name = "internal-attribute"
    nodes = (ast.Attribute,)
    message = "attribute {attr!r} reaches interpreter internals (frames, code, tracebacks, generators)"
    fix = "use the value itself; scripts get no handle on frames or code objects"
    docs = """
What: attributes named like the internals of frames (`f_*`), code objects
(`co_*`), tracebacks (`tb_*`), generators (`gi_*`), coroutines (`cr_*`),
async generators (`ag_*`), and `mro`.
Why: a generator's `gi_frame.f_back` or a traceback's `tb_frame.f_globals`
leads to the host's frames and globals (RestrictedPython GHSA-wqc8-x2pr-7jqh).
Example: `g = (x for x in [1]); g.gi_frame.f_back`
Fix: use the generator or exception itself; rename your own attributes that
use these prefixes.
"""

    def check(self, node: ast.Attribute, ctx: Context) -> Iterable[Violation] | None:
        if names.is_internal_attribute(node.attr):
            return [self.violation(node, attr=node.attr)]
        return None


@register
class DunderMethod(Rule):
    """Dunder method definitions outside the allowed protocol hooks."""

    code = "SC104"
    name = "dunder-method"
    nodes = (ast.FunctionDef, ast.AsyncFunctionDef)
    message = "method {ident!r} is not an allowed dunder method{why}"
    fix = "define only the allowed protocol methods (__init__, __repr__, comparisons, arithmetic, ...)"
    docs = """
What: a function whose name starts with two underscores, unless it is
defined directly in a class body and is one of the allowed protocol methods:
`__init__`, `__post_init__`, `__repr__`, `__str__`, `__format__`, the
comparisons, `__hash__`, `__len__`, `__iter__`, `__next__`, `__reversed__`,
`__contains__`, `__getitem__`, `__setitem__`, `__delitem__`, `__missing__`,
`__enter__`, `__exit__`, `__bool__`, `__call__` and the arithmetic operators.
Why: other hooks run implicitly, where no guard sees the call:
`__init_subclass__` and `__set_name__` at class creation, `__getattr__` and
`__getattribute__` on every lookup, `__del__` at collection (in the host),
`__reduce__` when pickled, `__class_getitem__` on subscription.
Example: `class B:\\n    def __init_subclass__(cls): ...`
Fix: do the work explicitly, in an ordinary method the script calls.
"""

    def check(self, node: ast.FunctionDef, ctx: Context) -> Iterable[Violation] | None:
        if not names.is_dunder(node.name):
            return None
        in_class_body = ctx.in_class_body
        if in_class_body and node.name in names.ALLOWED_DUNDER_METHODS:
            return None
        if node.name in names.DANGEROUS_HOOKS:
            why = "; the interpreter calls it implicitly, outside any guard"
        elif not in_class_body:
            why = "; dunder names are allowed only as methods of a class"
        else:
            why = ""
        return [self.violation(node, ident=node.name, why=why)]


@register
class CodeBuiltin(Rule):
    """Builtins that run text as code or reach the interpreter."""

    code = "SC105"
    name = "code-builtin"
    nodes = (ast.Name, ast.arg, ast.FunctionDef, ast.ClassDef, ast.alias)
    message = "{ident!r} is not available to scripts: it runs text as code or reaches the interpreter"
    fix = "compute the value directly; scripts cannot run generated code"
    docs = """
What: reading `exec`, `eval`, `compile`, `open`, `globals`, `locals`,
`vars`, `input`, `breakpoint`, `help`, `exit`, `quit`, `memoryview`,
`copyright`, `credits` or `license` when the script does not define the name
itself.
Why: each turns text into code, exposes a namespace (`globals()["__builtins__"]`),
or is a site helper whose methods' globals hold `sys`
(`help.__call__.__globals__`).  None exists in the sandbox's builtins; this
rule reports the attempt at compile time with a position.
Example: `exec("import os")`
Fix: compute the value directly.
"""

    leaf_nodes = (ast.Name,)

    def check(self, node: ast.AST, ctx: Context) -> Iterable[Violation] | None:
        if type(node) is ast.Name:
            if isinstance(node.ctx, ast.Load):
                if node.id in names.CODE_BUILTINS:
                    ctx.loaded.append(node)
            else:
                ctx.bound.add(node.id)
        elif type(node) is ast.arg:  # what _binding_names gives for it
            ctx.bound.add(node.arg)
        elif type(node) is ast.FunctionDef:  # _binding_names gives nothing for it
            ctx.bound.add(node.name)
        else:
            for ident, _ in _binding_names(node):
                ctx.bound.add(ident)
        return None

    def check_leaves(self, nodes: list[ast.Name], ctx: Context) -> Iterable[tuple[int, Violation]] | None:
        # check() of each Name, in two loops: ``loaded`` keeps walk order
        # (finish reports in it), ``bound`` is a set.
        code_builtins = names.CODE_BUILTINS
        load = ast.Load
        ctx.loaded.extend([node for node in nodes
                           if node.id in code_builtins and isinstance(node.ctx, load)])
        ctx.bound.update([node.id for node in nodes if not isinstance(node.ctx, load)])
        return None

    def finish(self, ctx: Context) -> Iterator[Violation]:
        for node in ctx.loaded:
            if node.id not in ctx.bound:
                yield self.violation(node, ident=node.id)


@register
class MatchClassAttribute(Rule):
    """Class patterns whose keyword names a private or internal attribute."""

    code = "SC106"
    name = "match-class-attribute"
    nodes = (ast.MatchClass, ast.MatchValue)
    message = "class pattern reads attribute {attr!r}{why}"
    fix = "match public attributes only, or read the value in the case body"
    docs = """
What: a class pattern `case Cls(name=...)` whose keyword is a dunder, an
interpreter internal, or starts with an underscore; and a value pattern
`case obj._private:` whose dotted name reads an underscore attribute.
Why: the interpreter reads class-pattern attributes directly, without any
guard, so a pattern is a second door to the attributes `x._secret` or
`x.__class__` would be refused for.
Example: `match obj:\\n    case Account(_token=t): print(t)`
Fix: match public attributes, or read the value in the case body where the
attribute guard applies.
"""

    def check(self, node: ast.MatchClass | ast.MatchValue, ctx: Context) -> Iterable[Violation] | None:
        found = []
        if isinstance(node, ast.MatchValue):
            value = node.value
            while isinstance(value, ast.Attribute):
                if names.is_private(value.attr) and not names.is_dunder(value.attr):
                    found.append(self.violation(node, attr=value.attr,
                                                why=": underscore attributes cannot be guarded inside a pattern"))
                value = value.value
            return found
        for attr in node.kwd_attrs:
            reason = names.forbidden_attribute(attr)
            if reason is None and names.is_private(attr):
                reason = "underscore attributes cannot be guarded inside a pattern"
            if reason is not None:
                found.append(self.violation(node, attr=attr, why=f": {reason}"))
        return found


_DYNAMIC_ACCESS = frozenset({"getattr", "hasattr", "setattr", "delattr"})


@register
class DynamicDunderAttribute(Rule):
    """``getattr`` and friends with a literal forbidden attribute name."""

    code = "SC107"
    name = "dynamic-dunder-attribute"
    nodes = (ast.Call,)
    message = "{func}() with attribute name {attr!r}: {why}"
    fix = "use the object's public methods and attributes instead"
    docs = """
What: `getattr`, `hasattr`, `setattr` or `delattr` called with a literal
attribute name that is a dunder or an interpreter internal, e.g.
`getattr(f, "__globals__")`.
Why: dynamic access goes through the same run-time guard as `x.name`, which
refuses these names; reporting the literal at compile time gives the script
author a position instead of a run-time error.  Names built at run time are
refused by the guard.
Example: `getattr(obj, "__class__")`
Fix: use the object's public surface.
"""

    def check(self, node: ast.Call, ctx: Context) -> Iterable[Violation] | None:
        func = node.func
        if not (type(func) is ast.Name and func.id in _DYNAMIC_ACCESS and len(node.args) >= 2):
            return None
        arg = node.args[1]
        if isinstance(arg, ast.Constant) and type(arg.value) is str:
            why = names.forbidden_attribute(arg.value)
            if why is not None:
                return [self.violation(arg, func=func.id, attr=arg.value, why=why)]
        return None
