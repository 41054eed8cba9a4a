"""Differential fuzzer: safe programs behave the same under safe_exec and exec.

``programs()`` generates programs in a safe subset of Python: int, float and
str arithmetic, lists, dicts and tuples, the program's own functions (with
defaults, ``*args``, closures, generators, bounded recursion) and classes
(``__init__``, ``__repr__``, ``__eq__``, a subclass calling ``super()``),
``for``/``while`` loops with small bounds, comprehensions, ``try``/``except``/
``else``/``finally``, ``match`` on literals, f-strings and ``str.format`` with
positional fields.  Every value stays small by construction (assignments
wrap with ``% M`` or a slice), so plain ``exec`` always terminates quickly.

The property (``check``): run the program with plain ``exec`` (globals
``{"__name__": "script"}``, ``print`` captured) and with ``safe_exec``;

* both finish, print the same text and leave the same plain-data top-level
  values (compared by ``repr``, so ``nan`` equals itself); or
* both raise, the same exception type (``ScriptError.type_name`` on the
  safecompile side), after printing the same text.

``CompileRejected``, ``AccessDenied`` or ``LimitExceeded`` on a program of
this subset is a finding too (a false positive of the sandbox).

Long run::

    SAFECOMPILE_PURE=1 python fuzz/differential.py --examples 100000
"""

from __future__ import annotations

import contextlib
import io
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``fuzz`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hypothesis import strategies as st

from safecompile import (
    AccessDenied,
    CompileRejected,
    LimitExceeded,
    SafeCompileError,
    ScriptError,
    safe_exec,
)

M = 10007  # ints are kept below this by every assignment
MAX_STR = 40
MAX_LIST = 20

_PLAIN_SCALARS = (type(None), bool, int, float, complex, str, bytes)
_ALPHABET = st.sampled_from(list("abcxyz AZ09_-.,:;!?'\"{}[]()\\\n\té€\U0001d518"))


def _int_literal(n: int) -> str:
    return f"({n})" if n < 0 else str(n)


@dataclass
class Scope:
    """The typed names visible where code is being generated."""

    ints: list[str] = field(default_factory=list)
    floats: list[str] = field(default_factory=list)
    strs: list[str] = field(default_factory=list)
    lists: list[str] = field(default_factory=list)
    dicts: list[str] = field(default_factory=list)
    objs: list[str] = field(default_factory=list)  # instances of the program's classes

    def copy(self) -> Scope:
        return Scope(list(self.ints), list(self.floats), list(self.strs), list(self.lists),
                     list(self.dicts), list(self.objs))


class Builder:
    """Draws one program; every method returns source text."""

    def __init__(self, draw: Any) -> None:
        self.draw = draw
        self.lines: list[str] = []
        self.counter = 0
        self.funcs: list[tuple[str, int]] = []  # (name, positional arity) of int functions
        self.gens: list[str] = []               # generator functions of one int argument
        self.classes: list[str] = []
        self.uses_math = False
        self.in_function = False  # function bodies call no other function: no call blow-up

    # -- helpers ---------------------------------------------------------------------
    def pick(self, options: list[Any]) -> Any:
        return self.draw(st.sampled_from(options))

    def chance(self, p: float) -> bool:
        return self.draw(st.integers(0, 999)) < p * 1000

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def emit(self, indent: int, text: str) -> None:
        for line in text.split("\n"):
            self.lines.append("    " * indent + line)

    # -- expressions -------------------------------------------------------------------
    def int_expr(self, s: Scope, depth: int = 0) -> str:
        leaf = depth >= 2 or self.chance(0.35)
        if leaf:
            if s.ints and self.chance(0.6):
                return self.pick(s.ints)
            return _int_literal(self.draw(st.integers(-50, 1000)))
        kind = self.draw(st.integers(0, 17))
        a = self.int_expr(s, depth + 1)
        b = self.int_expr(s, depth + 1)
        if kind <= 3:
            return f"({a} {self.pick(['+', '-', '*', '&', '|', '^'])} {b})"
        if kind == 4:
            # Mostly a non-zero divisor; sometimes a ZeroDivisionError on both sides.
            divisor = f"({b} or 7)" if self.chance(0.9) else b
            return f"({a} {self.pick(['//', '%'])} {divisor})"
        if kind == 5:
            return f"({a} ** {self.draw(st.integers(0, 3))})"
        if kind == 6:
            return f"({a} {self.pick(['<<', '>>'])} {self.draw(st.integers(0, 6))})"
        if kind == 7:
            return f"len({self.str_expr(s, depth + 1)})"
        if kind == 8 and s.lists:
            lst = self.pick(s.lists)
            return self.pick([f"sum({lst})", f"len({lst})",
                              f"({lst}[{a} % len({lst})] if {lst} else 0)",
                              f"sum(v * 2 for v in {lst} if v % 3)",
                              f"len([v for v in {lst} if v > {b}])"])
        if kind == 9:
            return f"{self.pick(['abs', 'min', 'max'])}({a}{', ' + b if self.chance(0.7) else ''})"
        if kind == 10:
            return f"({a} if {self.cond(s, depth + 1)} else {b})"
        if kind == 11 and self.funcs and not self.in_function:
            name, arity = self.pick(self.funcs)
            args = [self.int_expr(s, depth + 1) for _ in range(arity)]
            return f"{name}({', '.join(args)})"
        if kind == 12 and s.dicts:
            return f"{self.pick(s.dicts)}.get({self.str_expr(s, depth + 1)}, {a})"
        if kind == 13:
            return f"int({self.float_expr(s, depth + 1)})"
        if kind == 14 and s.objs:
            obj = self.pick(s.objs)
            return self.pick([f"{obj}.v", f"{obj}.get()", f"{obj}.scaled({a})"])
        if kind == 15 and self.gens:
            return f"sum({self.pick(self.gens)}({self.draw(st.integers(0, 6))}))"
        if kind == 16:
            return f"round({self.float_expr(s, depth + 1)})"
        return f"(-{a})"

    def float_expr(self, s: Scope, depth: int = 0) -> str:
        leaf = depth >= 2 or self.chance(0.4)
        if leaf:
            if s.floats and self.chance(0.6):
                return self.pick(s.floats)
            value = self.draw(st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False))
            return f"({value!r})"
        kind = self.draw(st.integers(0, 6))
        a = self.float_expr(s, depth + 1)
        if kind <= 1:
            return f"({a} {self.pick(['+', '-', '*'])} {self.float_expr(s, depth + 1)})"
        if kind == 2:
            divisor = self.int_expr(s, depth + 1)
            if self.chance(0.9):
                divisor = f"({divisor} or 3)"
            return f"({a} / {divisor})"
        if kind == 3:
            return f"float({self.int_expr(s, depth + 1)})"
        if kind == 4:
            return f"round({a}, {self.draw(st.integers(0, 4))})"
        if kind == 5:
            self.uses_math = True
            return self.pick([f"math.sqrt(abs({a}))", f"math.floor({a})", f"math.fabs({a})",
                              f"math.hypot({a}, 1.5)"])
        return f"abs({a})"

    def str_literal(self) -> str:
        return repr(self.draw(st.text(_ALPHABET, max_size=6)))

    def str_expr(self, s: Scope, depth: int = 0) -> str:
        leaf = depth >= 2 or self.chance(0.35)
        if leaf:
            if s.strs and self.chance(0.5):
                return self.pick(s.strs)
            return self.str_literal()
        kind = self.draw(st.integers(0, 12))
        if kind <= 1:
            return f"({self.str_expr(s, depth + 1)} + {self.str_expr(s, depth + 1)})"
        if kind == 2:
            return f"str({self.int_expr(s, depth + 1)})"
        if kind == 3:
            return self.fstring(s)
        if kind == 4:
            method = self.pick(["upper()", "lower()", "strip()", "title()", "swapcase()",
                                "replace('a', 'b')", "center(9, '*')", "zfill(5)"])
            return f"{self.str_expr(s, depth + 1)}.{method}"
        if kind == 5:
            return f"{self.str_literal()}.join([{self.str_expr(s, depth + 1)}, {self.str_expr(s, depth + 1)}])"
        if kind == 6:
            lo = self.draw(st.integers(-5, 5))
            hi = self.draw(st.integers(-5, 8))
            return f"{self.str_expr(s, depth + 1)}[{lo}:{hi}]"
        if kind == 7:
            return f"({self.str_expr(s, depth + 1)} * {self.draw(st.integers(0, 3))})"
        if kind == 8:
            args = ", ".join([self.int_expr(s, depth + 1), self.str_expr(s, depth + 1)])
            template = self.pick(["'{}-{}'", "'{0}:{1!r}'", "'{1}{0}{1}'", "'[{0:>4}|{1:<3}]'"])
            return f"{template}.format({args})"
        if kind == 9:
            return f"'%s/%d' % ({self.str_expr(s, depth + 1)}, {self.int_expr(s, depth + 1)})"
        if kind == 10 and s.lists:
            return self.pick([f"str({self.pick(s.lists)})", f"', '.join(str(v) for v in {self.pick(s.lists)})"])
        if kind == 11 and s.objs:
            return f"repr({self.pick(s.objs)})"
        if kind == 12 and s.dicts:
            return f"str(sorted({self.pick(s.dicts)}))"
        return f"repr({self.str_expr(s, depth + 1)})"

    def fstring(self, s: Scope) -> str:
        parts = []
        for _ in range(self.draw(st.integers(1, 3))):
            choice = self.draw(st.integers(0, 5))
            if choice == 0 and s.ints:
                spec = self.pick(["", "!r", ":>6", ":05d", ":x", ":,", ":+"])
                parts.append("{" + self.pick(s.ints) + spec + "}")
            elif choice == 1 and s.floats:
                parts.append("{" + self.pick(s.floats) + self.pick(["", ":.3f", ":e", ":>12.2f", ":g"]) + "}")
            elif choice == 2 and s.strs:
                parts.append("{" + self.pick(s.strs) + self.pick(["", "!r", ":^9", ":*<7", "!s"]) + "}")
            elif choice == 3 and s.ints:
                parts.append("{" + self.pick(s.ints) + " * 2 + 1}")
            elif choice == 4 and s.lists:
                parts.append("{len(" + self.pick(s.lists) + ")}")
            else:
                parts.append(self.draw(st.text(st.sampled_from(list("abc -=:,")), max_size=4)))
        return 'f"' + "".join(parts) + '"'

    def list_expr(self, s: Scope, depth: int = 0) -> str:
        kind = self.draw(st.integers(0, 8))
        if kind == 0 or depth >= 2:
            items = [self.int_expr(s, depth + 1) for _ in range(self.draw(st.integers(0, 4)))]
            return "[" + ", ".join(items) + "]"
        if kind == 1:
            return f"list(range({self.draw(st.integers(0, 8))}))"
        src = self.pick(s.lists) if s.lists else f"list(range({self.draw(st.integers(0, 6))}))"
        if kind == 2:
            return f"[v * {self.draw(st.integers(-3, 3))} + 1 for v in {src} if v % 2]"
        if kind == 3:
            return f"sorted({src}{', reverse=True' if self.chance(0.5) else ''})"
        if kind == 4:
            return f"{src}[::-1]"
        if kind == 5:
            return f"({src} + {self.list_expr(s, depth + 1)})"
        if kind == 6:
            return f"sorted({src}, key=lambda v: (v % 3, -v))"
        if kind == 7:
            return f"[a + b for a, b in zip({src}, {self.list_expr(s, depth + 1)})]"
        return f"list(map(abs, {src}))"

    def dict_expr(self, s: Scope, depth: int = 0) -> str:
        kind = self.draw(st.integers(0, 3))
        if kind == 0 or not s.strs:
            items = [f"{self.str_literal()}: {self.int_expr(s, depth + 1)}"
                     for _ in range(self.draw(st.integers(0, 3)))]
            return "{" + ", ".join(items) + "}"
        if kind == 1:
            return f"{{k: len(k) for k in [{', '.join(s.strs[:3])}]}}"
        if kind == 2 and s.dicts:
            return f"{{**{self.pick(s.dicts)}, {self.str_literal()}: {self.int_expr(s, depth + 1)}}}"
        return f"dict(zip([{self.str_literal()}, {self.str_literal()}], [1, 2]))"

    def cond(self, s: Scope, depth: int = 0) -> str:
        kind = self.draw(st.integers(0, 5))
        if kind <= 1:
            return f"{self.int_expr(s, depth + 1)} {self.pick(['<', '<=', '==', '!=', '>', '>='])} {self.int_expr(s, depth + 1)}"
        if kind == 2:
            return f"{self.str_expr(s, depth + 1)} {self.pick(['in', 'not in', '==', '<'])} {self.str_expr(s, depth + 1)}"
        if kind == 3 and s.lists:
            return f"{self.int_expr(s, depth + 1)} in {self.pick(s.lists)}"
        if kind == 4:
            return f"not {self.int_expr(s, depth + 1)}"
        return f"({self.int_expr(s, depth + 1)} and {self.int_expr(s, depth + 1)})"

    def any_expr(self, s: Scope) -> str:
        kind = self.draw(st.integers(0, 5))
        if kind == 0:
            return self.float_expr(s)
        if kind == 1:
            return self.str_expr(s)
        if kind == 2:
            return self.list_expr(s)
        if kind == 3:
            return self.dict_expr(s)
        if kind == 4:
            return f"({self.int_expr(s)}, {self.str_expr(s)})"
        return self.int_expr(s)

    # -- statements -----------------------------------------------------------------------
    def assign(self, s: Scope, indent: int, *, new: bool) -> None:
        kind = self.draw(st.integers(0, 4))
        if kind == 0:
            name = self.fresh("i") if new or not s.ints else self.pick(s.ints)
            self.emit(indent, f"{name} = {self.int_expr(s)} % {M}")
            if name not in s.ints:
                s.ints.append(name)
        elif kind == 1:
            name = self.fresh("f") if new or not s.floats else self.pick(s.floats)
            self.emit(indent, f"{name} = {self.float_expr(s)}")
            if name not in s.floats:
                s.floats.append(name)
        elif kind == 2:
            name = self.fresh("s") if new or not s.strs else self.pick(s.strs)
            self.emit(indent, f"{name} = ({self.str_expr(s)})[:{MAX_STR}]")
            if name not in s.strs:
                s.strs.append(name)
        elif kind == 3:
            name = self.fresh("l") if new or not s.lists else self.pick(s.lists)
            self.emit(indent, f"{name} = ({self.list_expr(s)})[:{MAX_LIST}]")
            if name not in s.lists:
                s.lists.append(name)
        else:
            name = self.fresh("d") if new or not s.dicts else self.pick(s.dicts)
            self.emit(indent, f"{name} = {self.dict_expr(s)}")
            if name not in s.dicts:
                s.dicts.append(name)

    def statement(self, s: Scope, indent: int, depth: int, *, in_loop: bool = False) -> None:
        kind = self.draw(st.integers(0, 19))
        if kind <= 3:
            self.assign(s, indent, new=kind == 0 or depth == 0)
        elif kind <= 6:
            args = [self.any_expr(s) for _ in range(self.draw(st.integers(1, 3)))]
            extra = self.pick(["", "", ", sep='|'", ", end=';\\n'"])
            self.emit(indent, f"print({', '.join(args)}{extra})")
        elif kind == 7 and s.lists:
            lst = self.pick(s.lists)
            self.emit(indent, self.pick([
                f"{lst}.append({self.int_expr(s)})",
                f"{lst}.sort()",
                f"{lst}.reverse()",
                f"if {lst}:\n    {lst}.pop()",
                f"{lst}.extend([{self.int_expr(s)}, 2])",
                f"{lst}[{self.int_expr(s)} % (len({lst}) or 1)] = {self.int_expr(s)} % {M}" if self.chance(0.5)
                else f"{lst}.insert(0, {self.int_expr(s)})",
            ]))
        elif kind == 8 and s.dicts:
            d = self.pick(s.dicts)
            key = self.str_expr(s)
            self.emit(indent, self.pick([
                f"{d}[{key}] = {self.int_expr(s)} % {M}",
                f"if {key} in {d}:\n    del {d}[{key}]",
                f"{d}.setdefault({key}, 0)",
                f"print({d}[{key}])",  # may raise KeyError on both sides
            ]))
        elif kind == 9 and depth < 2:
            self.emit(indent, f"if {self.cond(s)}:")
            self.block(s, indent + 1, depth + 1, in_loop=in_loop)
            if self.chance(0.3):
                self.emit(indent, f"elif {self.cond(s)}:")
                self.block(s, indent + 1, depth + 1, in_loop=in_loop)
            if self.chance(0.5):
                self.emit(indent, "else:")
                self.block(s, indent + 1, depth + 1, in_loop=in_loop)
        elif kind == 10 and depth < 2:
            var = self.fresh("n")
            if s.lists and self.chance(0.5):
                self.emit(indent, f"for {var} in list({self.pick(s.lists)})[:6]:")
            else:
                self.emit(indent, f"for {var} in range({self.draw(st.integers(0, 5))}):")
            inner = s.copy()
            inner.ints.append(var)
            self.block(inner, indent + 1, depth + 1, in_loop=True)
            if self.chance(0.2):
                self.emit(indent, "else:")
                self.emit(indent + 1, f"print('loop done', {self.int_expr(s)})")
        elif kind == 11 and depth < 2:
            var = self.fresh("w")
            self.emit(indent, f"{var} = 0")
            self.emit(indent, f"while {var} < {self.draw(st.integers(0, 5))}:")
            self.emit(indent + 1, f"{var} += 1")
            self.block(s, indent + 1, depth + 1, in_loop=True)
        elif kind == 12 and depth < 2:
            self.try_statement(s, indent, depth, in_loop=in_loop)
        elif kind == 13 and depth < 2:
            self.match_statement(s, indent, depth, in_loop=in_loop)
        elif kind == 14 and in_loop:
            self.emit(indent, f"if {self.cond(s)}:")
            self.emit(indent + 1, self.pick(["break", "continue"]))
        elif kind == 15:
            name = self.fresh("c")
            self.emit(indent, self.pick([
                f"{name} = {{v: v * v for v in range({self.draw(st.integers(0, 6))})}}",
                f"{name} = {{v % 4 for v in {self.list_expr(s)}}}",
                f"{name} = [(a, b) for a in range(3) for b in range(a)]",
                f"{name} = [y for v in {self.list_expr(s)} if (y := v * 2) > 3]",
                f"{name} = tuple(sorted({self.dict_expr(s)}.items()))",
                f"{name} = divmod({self.int_expr(s)}, {self.int_expr(s)} or 5)",
            ]))
            self.emit(indent, f"print({name})")
        elif kind == 16 and s.ints and len(s.ints) >= 2:
            a, b = self.pick(s.ints), self.pick(s.ints)
            if a != b:
                self.emit(indent, f"{a}, {b} = {b}, {a}")
        elif kind == 17 and s.objs:
            obj = self.pick(s.objs)
            self.emit(indent, self.pick([
                f"{obj}.v = {self.int_expr(s)} % {M}",
                f"print({obj}, {obj}.get())",
                f"print({obj} == {obj}, {obj}.scaled(2))",
            ]))
        elif kind == 18:
            self.emit(indent, f"assert {self.cond(s)}, {self.str_literal()}")
        else:
            self.assign(s, indent, new=False)

    def block(self, s: Scope, indent: int, depth: int, *, in_loop: bool = False) -> None:
        # Names first bound in a block stay local to the generator's view of it:
        # the block may not run, and reading them later would end the program.
        scope = s.copy()
        before = len(self.lines)
        for _ in range(self.draw(st.integers(1, 3))):
            self.statement(scope, indent, depth, in_loop=in_loop)
        if len(self.lines) == before:
            self.emit(indent, "pass")

    def try_statement(self, s: Scope, indent: int, depth: int, *, in_loop: bool) -> None:
        self.emit(indent, "try:")
        body = s.copy()
        risky = self.draw(st.integers(0, 5))
        if risky == 0:
            self.emit(indent + 1, f"print({self.int_expr(s)} // ({self.int_expr(s)} - {self.int_expr(s)}))")
        elif risky == 1 and s.lists:
            self.emit(indent + 1, f"print({self.pick(s.lists)}[{self.int_expr(s)}])")
        elif risky == 2:
            self.emit(indent + 1, f"raise ValueError({self.str_expr(s)})")
        elif risky == 3:
            self.emit(indent + 1, f"print(int({self.str_expr(s)}))")
        elif risky == 4 and s.dicts:
            self.emit(indent + 1, f"print({self.pick(s.dicts)}[{self.str_expr(s)}])")
        self.block(body, indent + 1, depth + 1, in_loop=in_loop)
        handlers = self.draw(st.integers(0 if self.chance(0.3) else 1, 2))
        types = ["ZeroDivisionError", "IndexError", "KeyError", "ValueError", "TypeError",
                 "(ValueError, KeyError)", "ArithmeticError", "LookupError", "Exception"]
        for _ in range(handlers):
            err = self.fresh("e")
            self.emit(indent, f"except {self.pick(types)} as {err}:")
            self.emit(indent + 1, self.pick([f"print('caught', {err})", f"print(repr({err}))",
                                             f"print({err}.args)", "pass"]))
        if handlers and self.chance(0.3):
            self.emit(indent, "else:")
            self.emit(indent + 1, f"print('no error', {self.int_expr(s)})")
        if not handlers or self.chance(0.3):
            self.emit(indent, "finally:")
            self.emit(indent + 1, f"print('finally', {self.str_expr(s)})")

    def match_statement(self, s: Scope, indent: int, depth: int, *, in_loop: bool) -> None:
        subject_kind = self.draw(st.integers(0, 2))
        if subject_kind == 0:
            subject = self.int_expr(s)
            patterns = [str(self.draw(st.integers(-2, 10))), "1 | 2 | 3", "0", "-1"]
        elif subject_kind == 1:
            subject = self.str_expr(s)
            patterns = [self.str_literal(), "'a' | 'b'", "''", "'abc'"]
        else:
            subject = f"({self.int_expr(s)} % 3, {self.str_expr(s)})"
            patterns = ["(0, 'a')", "(1, _)", "(2, 'x') | (2, 'y')", "(0 | 1, '')"]
        self.emit(indent, f"match {subject}:")
        for pattern in self.draw(st.lists(st.sampled_from(patterns), min_size=1, max_size=3)):
            self.emit(indent + 1, f"case {pattern}:")
            self.block(s, indent + 2, depth + 1, in_loop=in_loop)
        if subject_kind == 2 and self.chance(0.5):
            cap = self.fresh("m")
            self.emit(indent + 1, f"case (k{cap}, {cap}) if k{cap} > 0:")
            self.emit(indent + 2, f"print('captured', k{cap}, {cap})")
        if self.chance(0.6):
            self.emit(indent + 1, "case _:")
            self.block(s, indent + 2, depth + 1, in_loop=in_loop)

    # -- definitions -------------------------------------------------------------------------
    def function(self, s: Scope) -> None:
        kind = self.draw(st.integers(0, 4))
        name = self.fresh("fn")
        if kind == 0:
            arity = self.draw(st.integers(0, 3))
            params = [f"p{i}" for i in range(arity)]
            local = Scope(ints=list(params))
            header = ", ".join(params)
            if arity and self.chance(0.4):
                header = ", ".join([*params[:-1], f"{params[-1]}={self.draw(st.integers(0, 9))}"])
            self.emit(0, f"def {name}({header}):")
            self.in_function = True
            for _ in range(self.draw(st.integers(0, 2))):
                var = self.fresh("t")
                self.emit(1, f"{var} = {self.int_expr(local)} % {M}")
                local.ints.append(var)
            self.emit(1, f"return {self.int_expr(local)} % {M}")
            self.in_function = False
            self.funcs.append((name, arity))
        elif kind == 1:
            self.emit(0, f"def {name}(n):")
            self.emit(1, f"return 1 if n <= 1 else (n * {name}(n - 1)) % {M}")
            self.emit(0, f"print({name}({self.draw(st.integers(0, 15))}))")
        elif kind == 2:
            self.emit(0, f"def {name}(k):")
            self.emit(1, "for j in range(k):")
            self.emit(2, f"yield j * {self.draw(st.integers(1, 5))}")
            self.gens.append(name)
            self.emit(0, f"print(list({name}(4)))")
        elif kind == 3:
            self.emit(0, f"def {name}(*xs, scale=1):")
            self.emit(1, f"return sum(xs) * scale % {M}")
            args = ", ".join(self.int_expr(s) for _ in range(self.draw(st.integers(0, 3))))
            self.emit(0, f"print({name}({args}), {name}(1, 2, scale={self.draw(st.integers(0, 4))}))")
        else:
            self.emit(0, f"def {name}(a):")
            self.emit(1, "def inner(b):")
            self.emit(2, f"return (a * b + {self.draw(st.integers(0, 9))}) % {M}")
            self.emit(1, "return inner")
            self.emit(0, f"print({name}({self.int_expr(s)})({self.int_expr(s)}))")

    def klass(self, s: Scope) -> None:
        name = f"K{len(self.classes)}"
        sub = bool(self.classes) and self.chance(0.4)
        if sub:
            base = self.pick(self.classes)
            self.emit(0, f"class {name}({base}):")
            self.emit(1, "def get(self):")
            self.emit(2, f"return (super().get() + {self.draw(st.integers(1, 9))}) % {M}")
        else:
            self.emit(0, f"class {name}:")
            self.emit(1, f"tag = {self.str_literal()}")
            self.emit(1, "def __init__(self, v):")
            self.emit(2, f"self.v = v % {M}")
            self.emit(1, "def get(self):")
            self.emit(2, f"return self.v * {self.draw(st.integers(1, 5))} % {M}")
            self.emit(1, "def scaled(self, k):")
            self.emit(2, f"return {name}(self.v * k)")
            self.emit(1, "def __repr__(self):")
            self.emit(2, f"return f'{name}({{self.v}})'")
            self.emit(1, "def __eq__(self, other):")
            self.emit(2, f"return isinstance(other, {name}) and self.v == other.v")
            self.emit(1, "def __hash__(self):")
            self.emit(2, "return hash(self.v)")
        self.classes.append(name)
        obj = self.fresh("o")
        self.emit(0, f"{obj} = {name}({self.int_expr(s)})")
        s.objs.append(obj)

    def program(self) -> str:
        s = Scope()
        for _ in range(self.draw(st.integers(1, 3))):
            self.assign(s, 0, new=True)
        for _ in range(self.draw(st.integers(1, 12))):
            what = self.draw(st.integers(0, 9))
            if what == 0:
                self.function(s)
            elif what == 1:
                self.klass(s)
            else:
                self.statement(s, 0, 0)
        if s.ints and self.chance(0.2):
            counter = self.pick(s.ints)
            self.emit(0, "def bump():")
            self.emit(1, f"global {counter}")
            self.emit(1, f"{counter} = ({counter} + 1) % {M}")
            self.emit(0, "bump()")
        body = "\n".join(self.lines) + "\n"
        return ("import math\n" + body) if self.uses_math else body


@st.composite
def programs(draw: Any) -> str:
    """A program of the safe subset (source text)."""
    return Builder(draw).program()


# --- the property --------------------------------------------------------------------------


def _plain(value: Any, depth: int = 0) -> bool:
    kind = type(value)
    if kind in _PLAIN_SCALARS:
        return True
    if depth > 50:
        return False
    if kind in (list, tuple, set, frozenset):
        return all(_plain(v, depth + 1) for v in value)
    if kind is dict:
        return all(_plain(k, depth + 1) and _plain(v, depth + 1) for k, v in value.items())
    return False


def _plain_values(namespace: dict[str, Any]) -> dict[str, str]:
    return {k: repr(v) for k, v in namespace.items() if not k.startswith("__") and _plain(v)}


@dataclass
class Outcome:
    output: str
    values: dict[str, str] | None  # None when the run raised
    error: str | None  # the exception type name


def run_plain(source: str) -> Outcome:
    """The reference: CPython's own exec."""
    globs: dict[str, Any] = {"__name__": "script"}
    buffer = io.StringIO()
    try:
        code = compile(source, "<script>", "exec", dont_inherit=True)
        with contextlib.redirect_stdout(buffer):
            exec(code, globs)
    except Exception as exc:  # the type is the outcome
        return Outcome(buffer.getvalue(), None, type(exc).__name__)
    return Outcome(buffer.getvalue(), _plain_values(globs), None)


def run_safe(source: str) -> Outcome:
    try:
        result = safe_exec(source)
    except ScriptError as exc:
        return Outcome(exc.output, None, exc.type_name)
    except (CompileRejected, AccessDenied, LimitExceeded) as exc:
        return Outcome(getattr(exc, "output", ""), None, f"safecompile.{type(exc).__name__}: {exc}")
    return Outcome(result.output, _plain_values(result.namespace), None)


def check(source: str) -> None:
    """The property: same output, same plain values, or the same exception type."""
    expected = run_plain(source)
    assert expected.error != "SyntaxError", "the generator produced invalid Python (a bug in fuzz/)"
    try:
        actual = run_safe(source)
    except SafeCompileError as exc:  # any other public error
        raise AssertionError(f"safe_exec raised {type(exc).__name__}: {exc}") from exc
    assert actual.error == expected.error, (
        f"outcome differs:\n  exec:      {expected.error or 'finished'}\n"
        f"  safe_exec: {actual.error or 'finished'}"
    )
    assert actual.output == expected.output, (
        f"output differs:\n  exec:      {expected.output!r:.2000}\n  safe_exec: {actual.output!r:.2000}"
    )
    if expected.values is not None:
        assert actual.values == expected.values, (
            f"top-level values differ:\n  exec:      {expected.values}\n  safe_exec: {actual.values}"
        )


def main(argv: list[str] | None = None) -> int:
    from fuzz import _runner

    return _runner.main("differential", programs(), check, argv)


if __name__ == "__main__":
    sys.exit(main())
