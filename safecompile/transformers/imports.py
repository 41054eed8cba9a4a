"""Import statements become calls of the guarded import."""

from __future__ import annotations

import ast

from .. import names
from .base import Scope, Unit, call, const, located


class Imports(Unit):
    """``import m as n`` → ``n = __sc_import__("m")``;
    ``from m import a, b as c`` → ``a, c = __sc_import_from__("m", ("a", "b"))``.

    ``from __future__ import ...`` is removed here; the compiler turns it into
    compile flags (see compiler.future_flags).
    """

    nodes = (ast.Import, ast.ImportFrom)

    def rewrite(self, node: ast.AST, scope: Scope) -> ast.AST:
        if isinstance(node, ast.ImportFrom):
            if node.module == "__future__" and not node.level:
                return located(ast.Pass(), node)
            module = ("." * node.level) + (node.module or "")
            targets = [
                located(ast.Name(id=alias.asname or alias.name, ctx=ast.Store()), alias)
                for alias in node.names
            ]
            wanted = located(
                ast.Tuple(elts=[const(alias.name, alias) for alias in node.names], ctx=ast.Load()),
                node,
            )
            value = call(names.IMPORT_FROM, [const(module, node), wanted], node)
            target = located(ast.Tuple(elts=list(targets), ctx=ast.Store()), node)
            return located(ast.Assign(targets=[target], value=value), node)
        assert isinstance(node, ast.Import)
        statements: list[ast.stmt] = []
        for alias in node.names:
            bound = alias.asname or alias.name.split(".")[0]
            args: list[ast.expr] = [const(alias.name, alias)]
            if alias.asname is None and "." in alias.name:
                args.append(const(True, alias))  # bind the top-level package
            statements.append(
                located(
                    ast.Assign(
                        targets=[located(ast.Name(id=bound, ctx=ast.Store()), alias)],
                        value=call(names.IMPORT, args, alias),
                    ),
                    alias,
                )
            )
        if len(statements) == 1:
            return statements[0]
        # Several modules in one statement: an always-true `if` holds them.
        holder = ast.If(test=const(True, node), body=statements, orelse=[])
        return located(holder, node)
