"""Source to code: gate → parse → rules → rewrite → compile (cached)."""

from __future__ import annotations
import __future__

import _thread
import ast
import warnings
from collections import OrderedDict
from types import CodeType

from . import rules, transformers
from .errors import CompileRejected, Violation
from .guards.modules import view_modules
from .policy import Policy
from .rules.sc0xx_source import SourceTooComplex, SyntaxErrorRule
from .source import gate
from .walker import MAX_DEPTH

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Literal

    Mode = Literal["exec", "eval"]

#: Rules that ``compile_restricted`` reports but does not refuse: the import
#: guard refuses these imports at run time with AccessDenied (an ImportError),
#: so ``try: import x / except ImportError:`` keeps working in scripts.
ADVISORY: frozenset[str] = frozenset({"SC301", "SC304"})


class Compiled:
    """What the compile stage hands the runtime."""

    __slots__ = ("code", "fast", "filename", "mode", "modules", "names_read", "source", "warnings")

    def __init__(self, code: CodeType, filename: str, mode: Mode, source: str,
                 names_read: frozenset[str], warnings: tuple[Violation, ...],
                 fast: bool = False, modules: frozenset[str] = frozenset()) -> None:
        self.code = code
        self.filename = filename
        self.mode: Mode = mode
        self.source = source
        self.names_read = names_read
        self.warnings = warnings
        #: eval mode only: the expression can take the formula fast path.
        self.fast = fast
        #: Every string constant of the code (nested functions included)
        #: that names a module with a view: a superset of the modules the
        #: script can import, whose first loading the runtime does before
        #: the run (runtime._load_before_run).
        self.modules = modules


def _syntax_violation(exc: SyntaxError) -> Violation:
    lineno = exc.lineno or 1
    col = exc.offset or 1
    return Violation(
        code=SyntaxErrorRule.code,
        message=f"{exc.msg}",
        lineno=lineno,
        col=col,
        end_lineno=exc.end_lineno or lineno,
        end_col=exc.end_offset or col,
        fix=SyntaxErrorRule.fix,
    )


def _too_complex(filename: str, line: int = 1, col: int = 1) -> CompileRejected:
    rule = SourceTooComplex()
    violation = Violation(rule.code, rule.message.format(depth=MAX_DEPTH), line, col, line, col, rule.fix)
    return CompileRejected([violation], filename)


def parse(text: str, filename: str, mode: Mode) -> ast.Module | ast.Expression:
    """``ast.parse`` with every parser failure turned into CompileRejected."""
    try:
        with warnings.catch_warnings():
            # The script's SyntaxWarnings ("invalid escape sequence", "is
            # with a literal") are not the host's business.
            warnings.simplefilter("ignore")
            tree = ast.parse(text, filename=filename, mode=mode)
    except SyntaxError as exc:
        if "too many nested" in str(exc.msg) or "too complex" in str(exc.msg):
            raise _too_complex(filename, exc.lineno or 1, exc.offset or 1) from None
        raise CompileRejected([_syntax_violation(exc)], filename) from None
    except (RecursionError, MemoryError):
        raise _too_complex(filename) from None
    except ValueError as exc:  # e.g. source that still holds a NUL byte
        raise CompileRejected(
            [Violation("SC003", f"input is not source text ({exc})", 1, 1, 1, 1, "")], filename
        ) from None
    assert isinstance(tree, ast.Module | ast.Expression)
    return tree


def _char_columns(found: list[Violation], text: str) -> list[Violation]:
    """Turn the AST's UTF-8 byte columns into character columns."""
    if text.isascii():
        return found
    lines = text.splitlines()
    fixed = []
    for v in found:
        col, end_col = v.col, v.end_col
        if 0 < v.lineno <= len(lines) and not lines[v.lineno - 1].isascii():
            data = lines[v.lineno - 1].encode("utf-8")
            col = len(data[: v.col - 1].decode("utf-8", "ignore")) + 1
        if 0 < v.end_lineno <= len(lines) and not lines[v.end_lineno - 1].isascii():
            data = lines[v.end_lineno - 1].encode("utf-8")
            end_col = len(data[: v.end_col - 1].decode("utf-8", "ignore")) + 1
        fixed.append(v.__replace__(col=col, end_col=end_col))
    return fixed


def check(source: object, filename: str = "<untrusted>", mode: Mode = "exec",
          policy: Policy | None = None) -> list[Violation]:
    """Every violation of ``source`` (advisory ones included); never raises them."""
    policy = policy or Policy()
    try:
        text = gate(source, filename, policy.limits.source)
        tree = parse(text, filename, mode)
    except CompileRejected as exc:
        return list(exc.violations)
    try:
        flags = future_flags(tree) if "__future__" in text else 0
    except SyntaxError as exc:
        return [_syntax_violation(exc)]
    found = _char_columns(rules.run_all(tree, policy), text)
    if not found:
        # The walk leaves the tree as the parser made it: compiling it finds
        # what only CPython's compiler reports.
        found = _late_syntax_errors(tree, filename, mode, flags)
    return sorted(found, key=lambda v: (v.lineno, v.col, v.code))


def _future_error(node: ast.AST, message: str) -> SyntaxError:
    error = SyntaxError(message)
    error.lineno = getattr(node, "lineno", 1)
    error.offset = getattr(node, "col_offset", 0) + 1
    return error


def future_flags(tree: ast.Module | ast.Expression) -> int:
    """Compile flags of the script's own ``from __future__ import`` lines.

    The rewrite removes these imports (they become flags), so the checks
    CPython's compiler makes on them are made here: only at the beginning of
    the file, only known features.  Raises SyntaxError like CPython.
    """
    flags = 0
    if not isinstance(tree, ast.Module):
        return flags
    leading = True
    for index, node in enumerate(tree.body):
        is_future = isinstance(node, ast.ImportFrom) and node.module == "__future__" and not node.level
        if not is_future:
            docstring = (index == 0 and isinstance(node, ast.Expr)
                         and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str))
            if not docstring:
                leading = False
            continue
        assert isinstance(node, ast.ImportFrom)
        if not leading:
            raise _future_error(node, "from __future__ imports must occur at the beginning of the file")
        for alias in node.names:
            if alias.name == "braces":
                raise _future_error(node, "not a chance")
            if alias.name not in __future__.all_feature_names:
                raise _future_error(node, f"future feature {alias.name} is not defined")
            feature = getattr(__future__, alias.name)
            flags |= feature.compiler_flag
    for inner in ast.walk(tree):
        if (isinstance(inner, ast.ImportFrom) and inner.module == "__future__" and not inner.level
                and inner not in tree.body):
            raise _future_error(inner, "from __future__ imports must occur at the beginning of the file")
    return flags


def _late_syntax_errors(tree: ast.Module | ast.Expression, filename: str, mode: Mode,
                        flags: int) -> list[Violation]:
    """Syntax errors CPython's compiler finds after parsing (symbol table:
    ``return`` outside a function, duplicate arguments, misplaced ``global``)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(tree, filename, mode, flags=flags, dont_inherit=True)
    except SyntaxError as exc:
        return [_syntax_violation(exc)]
    except (RecursionError, MemoryError, ValueError):
        return []
    return []


#: Builtins a fast-path formula may call: each is bounded by the size of its
#: arguments (no iteration of lazy sources, no script code, no budget needed).
FAST_BUILTINS: frozenset[str] = frozenset(
    ["abs", "all", "any", "bool", "complex", "dict", "divmod", "float", "frozenset", "int", "isinstance", "len", "list", "max", "min", "pow", "round", "set", "sorted", "str", "sum", "tuple"]
)

_FAST_NODES: tuple[type[ast.AST], ...] = (
    ast.Expression, ast.Name, ast.Load, ast.Constant, ast.BinOp, ast.UnaryOp,
    ast.BoolOp, ast.Compare, ast.IfExp, ast.Subscript, ast.Slice, ast.Tuple,
    ast.List, ast.Set, ast.Dict, ast.Call, ast.keyword, ast.operator,
    ast.unaryop, ast.boolop, ast.cmpop,
)


def fast_formula(tree: ast.Expression) -> bool:
    """Whether an expression can run without a budget (the formula fast path).

    SAFETY: allowed are names, constants, operators, comparisons, conditional
    expressions, subscripts, displays and calls of FAST_BUILTINS by name.
    There is no loop, comprehension, lambda, attribute, walrus or call of
    anything else, so the expression runs no script code and iterates only
    over values it was given; ``**``/``<<`` keep their operand guards and
    allocations stay under the memory budget.  Attribute reads are excluded
    because fast-path inputs are not proxied.
    """
    for node in ast.walk(tree):
        if not isinstance(node, _FAST_NODES):
            return False
        if isinstance(node, ast.Call):
            if not (isinstance(node.func, ast.Name) and node.func.id in FAST_BUILTINS):
                return False
            if any(isinstance(arg, ast.Starred) for arg in node.args):
                return False
            if any(kw.arg is None or kw.arg == "key" for kw in node.keywords):
                return False
    return True


def _names_read(tree: ast.AST) -> frozenset[str]:
    return frozenset(
        node.id for node in ast.walk(tree)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    )


def compile_source(source: object, filename: str, mode: Mode, policy: Policy) -> Compiled:
    """Compile ``source`` under ``policy``, or raise CompileRejected / TypeError."""
    if mode not in ("exec", "eval"):
        raise ValueError("mode must be 'exec' or 'eval'")
    if type(filename) is not str:
        raise TypeError("filename must be a str")
    text = gate(source, filename, policy.limits.source)
    tree = parse(text, filename, mode)
    try:
        flags = future_flags(tree) if "__future__" in text else 0
    except SyntaxError as exc:
        raise CompileRejected([_syntax_violation(exc)], filename) from None
    names_read = _names_read(tree) if mode == "eval" else frozenset()
    fast = isinstance(tree, ast.Expression) and fast_formula(tree)
    try:
        # One walk: the rules check each node, then the units rewrite it.
        rewritten, found = rules.walk(tree, policy, transformers.units())
    except RecursionError:
        raise _too_complex(filename) from None
    refusing = [v for v in found if v.code not in ADVISORY]
    if refusing:
        raise CompileRejected(_char_columns(refusing, text), filename)
    assert isinstance(rewritten, ast.Module | ast.Expression)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            code = compile(rewritten, filename, mode, flags=flags, dont_inherit=True)
    except (RecursionError, MemoryError):
        raise _too_complex(filename) from None
    except SyntaxError as exc:  # the compiler's own late checks
        raise CompileRejected([_syntax_violation(exc)], filename) from None
    return Compiled(code, filename, mode, text, names_read,
                    tuple(v for v in found if v.code in ADVISORY), fast, _module_names(code))


def _module_names(code: CodeType) -> frozenset[str]:
    """The string constants of ``code`` and its nested code that name a
    module with a view.  The import rewrite passes every module name as a
    constant (transformers/imports.py), so this holds every module the
    script can import by name, plus any string that merely looks like one."""
    known = view_modules()
    found: set[str] = set()
    pending: list[tuple[object, ...]] = [code.co_consts]
    while pending:
        for const in pending.pop():
            if isinstance(const, str):
                if const in known:
                    found.add(const)
            elif isinstance(const, CodeType):
                pending.append(const.co_consts)
            elif isinstance(const, tuple | frozenset):  # folded constants
                pending.append(tuple(const))
    return frozenset(found)


class CompileCache:
    """A small thread-safe LRU of compiled scripts keyed by source and policy."""

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._items: OrderedDict[tuple[object, ...], Compiled] = OrderedDict()
        self._lock = _thread.allocate_lock()

    def get(self, source: object, filename: str, mode: Mode, policy: Policy) -> Compiled:
        if type(source) is not str:
            return compile_source(source, filename, mode, policy)
        key = (source, filename, mode, policy.cache_key())
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found
        compiled = compile_source(source, filename, mode, policy)
        with self._lock:
            self._items[key] = compiled
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return compiled

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


CACHE = CompileCache()
