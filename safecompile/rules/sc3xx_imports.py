"""SC3xx: imports."""

from __future__ import annotations

import ast
from collections.abc import Iterable

from ..errors import Violation
from ..guards.modules import allowed_names
from . import Context, Rule, register


def _module_allowed(module: str, ctx: Context) -> bool:
    return module in ctx.policy.sources or (
        module in ctx.policy.modules and allowed_names(module) is not None
    )


@register
class ImportNotAllowed(Rule):
    """Imports of modules the policy does not allow."""

    code = "SC301"
    name = "import-not-allowed"
    nodes = (ast.Import, ast.ImportFrom)
    message = "import of module {module!r} is not allowed by the policy"
    fix = "use one of the allowed modules (math, re, json, datetime, ...) or ask the host to allow it"
    docs = """
What: `import m` or `from m import x` where `m` is not in the policy's
modules (the default set is pure and stateless: math, cmath, decimal,
fractions, statistics, random, string, re, json, datetime, itertools,
functools, collections, heapq, bisect, textwrap, operator, dataclasses,
enum, typing) nor one of the host's restricted-source modules.
Why: `os`, `sys`, `subprocess`, `ctypes`, `gc`, `inspect`, `importlib`,
`builtins`, `io`, `pickle`, `marshal` and `types` each reach files,
processes, frames or the interpreter.  Allowed modules are seen through a
read-only view of reviewed names.
Example: `import os`
Fix: use an allowed module, or ask the host to offer what you need.
"""

    def check(self, node: ast.Import | ast.ImportFrom, ctx: Context) -> Iterable[Violation] | None:
        if isinstance(node, ast.ImportFrom):
            if node.level or node.module is None or node.module == "__future__":
                return None
            modules = [node.module]
        else:
            modules = [alias.name for alias in node.names]
        return [self.violation(node, module=module)
                for module in modules if not _module_allowed(module, ctx)]


@register
class RelativeImport(Rule):
    """Relative imports (``from . import x``)."""

    code = "SC302"
    name = "relative-import"
    nodes = (ast.ImportFrom,)
    message = "relative imports are not supported: a script is not part of a package"
    fix = "import the module by its absolute name"
    docs = """
What: `from . import x`, `from ..pkg import y`.
Why: a script has no package; a relative import would resolve against the
host's own packages.
Example: `from . import helpers`
Fix: import by absolute name (the host can offer restricted-source modules).
"""

    def check(self, node: ast.ImportFrom, ctx: Context) -> Iterable[Violation] | None:
        if node.level:
            return [self.violation(node)]
        return None


@register
class StarImport(Rule):
    """``from m import *``."""

    code = "SC303"
    name = "star-import"
    nodes = (ast.ImportFrom,)
    message = "'from {module} import *' is not supported: name the imported objects"
    fix = "list the names you need: from math import sqrt, pi"
    docs = """
What: `from module import *`.
Why: a star import binds names the reader (and the linter) cannot see; the
rules check each imported name against the module's view.
Example: `from math import *`
Fix: `from math import sqrt, pi`.
"""

    def check(self, node: ast.ImportFrom, ctx: Context) -> Iterable[Violation] | None:
        for alias in node.names:
            if alias.name == "*":
                return [self.violation(node, module=node.module or ".")]
        return None


@register
class ImportNameNotAllowed(Rule):
    """``from m import name`` where ``name`` is not in the module's view."""

    code = "SC304"
    name = "import-name-not-allowed"
    nodes = (ast.ImportFrom,)
    message = "{module}.{ident} is not available to scripts{why}"
    fix = "use another function of the module; the view offers reviewed names only"
    docs = """
What: importing a name that the module's view does not offer, e.g.
`from string import Formatter`, `from typing import get_type_hints`,
`from functools import singledispatch`, `from operator import attrgetter`
(when the host's policy has no guarded version).
Why: each excluded name reaches attributes without the guard (Formatter,
attrgetter), evaluates strings as code (get_type_hints, ForwardRef), is
another module (`typing.sys`, `json.codecs`) or a module-level mutable
table.
Example: `from string import Formatter`
Fix: use the module's other names; `str.format` with plain fields works.
"""

    def check(self, node: ast.ImportFrom, ctx: Context) -> Iterable[Violation] | None:
        if node.level or node.module is None or node.module in ctx.policy.sources:
            return None
        if node.module not in ctx.policy.modules:
            return None
        offered = allowed_names(node.module)
        if offered is None:
            return None
        found = []
        for alias in node.names:
            if alias.name != "*" and alias.name not in offered:
                why = ""
                if alias.name.startswith("_"):
                    why = ": private names of modules are never offered"
                found.append(self.violation(alias, module=node.module, ident=alias.name, why=why))
        return found
