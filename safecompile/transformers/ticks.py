"""Step ticks: loops, comprehensions and function entries (the budget seam)."""

from __future__ import annotations

import ast

from .. import names
from ..walker import descendants
from .base import MODULE_SCOPE, Scope, Unit, call, located


class LoopIterables(Unit):
    """``for x in it:`` → ``for x in __sc_iter__(it):`` (and comprehensions)."""

    nodes = (ast.For, ast.comprehension)

    def rewrite(self, node: ast.AST, scope: Scope) -> ast.AST:
        assert isinstance(node, ast.For | ast.comprehension)
        node.iter = call(names.ITER, [node.iter], node.iter)
        return node


class WhileTests(Unit):
    """``while test: body`` → ``for () in __sc_loop__(None): if not test:
    break`` then ``body`` (``while True:`` drops the test).

    The budget's loop iterator ticks once per test, as a call would, but
    the interpreter's ``FOR_ITER`` reaches it without a call from bytecode:
    a tight while loop costs about a quarter less than with a
    ``__sc_tick__()`` call in its test.  ``continue`` goes back to the
    iterator (tick, then the test); ``break`` leaves the ``for``.  A loop
    with an ``else`` keeps its ``while``, as ``while __sc_tick__() or
    test:``: a ``break`` inside ``else`` belongs to an enclosing loop.
    """

    nodes = (ast.While,)

    def rewrite(self, node: ast.AST, scope: Scope) -> ast.AST:
        assert isinstance(node, ast.While)
        if node.orelse:
            tick = call(names.TICK, [], node.test)
            node.test = located(ast.BoolOp(op=ast.Or(), values=[tick, node.test]), node.test)
            return node
        body = list(node.body)
        test = node.test
        if not (isinstance(test, ast.Constant) and test.value is True):
            leave = located(ast.Break(), test)
            check = located(ast.UnaryOp(op=ast.Not(), operand=test), test)
            body.insert(0, located(ast.If(test=check, body=[leave], orelse=[]), test))
        loop = call(names.LOOP, [located(ast.Constant(value=None), node)], node)
        target = located(ast.Tuple(elts=[], ctx=ast.Store()), node)
        return located(ast.For(target=target, iter=loop, body=body, orelse=[]), node)


def _has_docstring(body: list[ast.stmt]) -> bool:
    return bool(
        body
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    )


_BINDERS = frozenset({
    ast.Global, ast.Nonlocal, ast.arg, ast.ExceptHandler, ast.MatchAs,
    ast.MatchStar, ast.MatchMapping, ast.alias, ast.FunctionDef, ast.ClassDef,
})


def _bound_by(node: ast.AST) -> tuple[str, ...]:
    if isinstance(node, ast.Global | ast.Nonlocal):
        return tuple(node.names)
    if isinstance(node, ast.arg):
        return (node.arg,)
    if isinstance(node, ast.alias):
        return (node.asname or node.name,)
    if isinstance(node, ast.MatchMapping):  # `case {**rest}`
        return (node.rest,) if node.rest is not None else ()
    name = getattr(node, "name", None)
    return (name,) if isinstance(name, str) else ()


def method_owner(node: ast.FunctionDef, in_class: bool) -> str | None:
    """The first parameter of a method whose entry can verify it, or None.

    A function defined directly in a class body, not a staticmethod, whose
    first parameter is called ``self`` or ``cls`` and is never rebound or
    deleted anywhere inside it (nested scopes included, and no
    global/nonlocal of the name).
    """
    if not in_class:
        return None
    params = [*node.args.posonlyargs, *node.args.args]
    if not params or params[0].arg not in ("self", "cls"):
        return None
    owner = params[0].arg
    for decorator in node.decorator_list:
        if isinstance(decorator, ast.Name) and decorator.id == "staticmethod":
            return None
    first = params[0]
    name, load, binders = ast.Name, ast.Load, _BINDERS
    for child in descendants(node):
        kind = type(child)
        if kind is name:
            if child.id == owner and type(child.ctx) is not load:  # type: ignore[attr-defined]
                return None
        elif kind in binders and child is not first and child is not node and owner in _bound_by(child):
            return None
    return owner


_NESTED_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


def is_generator(node: ast.FunctionDef | ast.Lambda) -> bool:
    """Whether ``node``'s own body yields (nested scopes are not its body)."""
    stack: list[ast.AST] = [node.body] if isinstance(node, ast.Lambda) else list(node.body)
    while stack:
        child = stack.pop()
        if isinstance(child, ast.Yield | ast.YieldFrom):
            return True
        if isinstance(child, _NESTED_SCOPES):
            continue
        stack.extend(ast.iter_child_nodes(child))
    return False


class Yields(Unit):
    """``yield`` → ``yield`` (unchanged): marks the enclosing function's scope
    as a generator, for FunctionEntries."""

    nodes = (ast.Yield, ast.YieldFrom)

    def rewrite(self, node: ast.AST, scope: Scope) -> ast.AST:
        if scope is not MODULE_SCOPE:  # shared; a yield there is a SyntaxError anyway
            scope.generator = True
        return node


def _yields(node: ast.FunctionDef | ast.Lambda) -> bool:
    marked = getattr(node, "_sc_generator", None)  # set by the walker
    return is_generator(node) if marked is None else bool(marked)


class FunctionEntries(Unit):
    """``def f(): body`` → ``def f(): __sc_enter__(None); body`` (after a docstring);
    a method with a verifiable owner → ``__sc_enter_method__(self); body``;
    ``lambda: e`` → ``lambda: __sc_enter__(None) or e``.

    Generator functions also get ``@__sc_generator__`` as their innermost
    decorator (a generator lambda is wrapped in a call of it): the run
    records the generators they make and closes the ones left suspended
    when it ends, so no ``finally`` block of the script runs later, in the
    host, at garbage collection.
    """

    nodes = (ast.FunctionDef, ast.Lambda)

    def rewrite(self, node: ast.AST, scope: Scope) -> ast.AST:
        if isinstance(node, ast.Lambda):
            generator = _yields(node)
            enter = call(names.ENTER, [located(ast.Constant(value=None), node.body)], node.body)
            node.body = located(ast.BoolOp(op=ast.Or(), values=[enter, node.body]), node.body)
            if generator:
                return call(names.GENERATOR, [node], node)
            return node
        assert isinstance(node, ast.FunctionDef)
        where = node.body[0]
        owner = getattr(node, "_sc_owner", None)
        if owner is not None:
            entry = call(names.ENTER_METHOD, [located(ast.Name(id=owner, ctx=ast.Load()), where)], where)
        else:
            # The None makes the call one the interpreter specialises
            # (Budget.enter_site in _native.c says why).
            entry = call(names.ENTER, [located(ast.Constant(value=None), where)], where)
        statement = located(ast.Expr(value=entry), where)
        position = 1 if _has_docstring(node.body) else 0
        if _yields(node):
            node.decorator_list.append(located(ast.Name(id=names.GENERATOR, ctx=ast.Load()), node))
        node.body.insert(position, statement)
        return node
