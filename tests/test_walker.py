"""walker.py: the one walk's per-class tables (what it skips, what it keeps)."""

from __future__ import annotations

import ast
import re

import pytest

from safecompile import compile_restricted, walker
from safecompile.compiler import check
from safecompile.transformers import rewrite

SOURCES = [
    "x = 1",
    "def f(a, *b, c=2, **d):\n    return [i for i in b if i]",
    "class A:\n    def m(self):\n        self.x = 1\n        return self._y",
    "match p:\n    case {'k': [1, *rest]} | (2 as two):\n        pass",
    "async def g():\n    async for i in x:\n        await i",
    "try:\n    pass\nexcept* ValueError:\n    pass",
    "f'{a!r:>{w}}' + 'x'[1:2:3]",
    "with open(p) as (a, b):\n    global q\n    del a.b, c[0]",
    "lambda: (yield)",
]


@pytest.mark.parametrize("source", SOURCES)
def test_descendants_finds_every_node_ast_walk_finds_except_leaves(source: str) -> None:
    tree = ast.parse(source)
    expected = [n for n in ast.walk(tree) if walker.kind_of(type(n)) != walker.SKIP]
    found = walker.descendants(tree)
    assert sorted(map(id, found)) == sorted(map(id, expected))
    assert len(found) == len(expected)


@pytest.mark.skipif(not hasattr(ast.Name, "_field_types"), reason="field types: Python 3.13+")
def test_scalar_fields_never_hold_visited_nodes() -> None:
    # _SCALAR_FIELDS are skipped unread: in every node class of this Python,
    # a field of that name holds a leaf (context, operator), a str or an int.
    leaves = {"expr_context", "operator", "cmpop", "boolop", "unaryop", "str", "int"}
    checked = 0
    for cls in vars(ast).values():
        if not (isinstance(cls, type) and issubclass(cls, ast.AST)):
            continue
        for field in set(getattr(cls, "_fields", ())) & walker._SCALAR_FIELDS:
            text = repr(cls._field_types[field])
            assert any(re.search(rf"\b{word}\b", text) for word in leaves), (cls.__name__, field, text)
            checked += 1
    assert checked >= 25


def test_the_per_class_tables_stay_few_whatever_is_walked() -> None:
    walker._INFOS.clear()  # other tests' policies have their own tables
    for i in range(50):
        check(f"x = {i}")
        rewrite(ast.parse(f"y = {i}"))
        compile_restricted(f"z = {i}")
    # one per pair of tables: compile (rules + units), lint (rules), rewrite (units)
    assert len(walker._INFOS) <= 3


def test_a_fresh_table_per_call_cannot_grow_the_cache_without_bound() -> None:
    for _ in range(200):
        walker.Walk({ast.Name: []}, None, {}, lambda node: None).run(ast.parse("x"))  # type: ignore[arg-type, return-value]
    assert len(walker._INFOS) <= 64
