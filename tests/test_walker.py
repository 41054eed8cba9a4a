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


# --- leaves: skipped, or checked together after the walk (Rule.check_leaves) ---

LEAF_SOURCES = [
    "__a = __b + exec",
    "class A(__Base):\n    __x = 1\n    def m(self, y=__d):\n        return __e\n    k = exec",
    "f = lambda q: __q + (lambda: __r)()\nexec(f)",
    "v = [__i for __i in __src if __j]\nw = {__k: eval for __k in x}\ng = (__m for _ in y)",
    "@__deco\ndef f(a: __T = __default) -> __R:\n    global __g\n    return f'{__h!r:>{__w}}'",
    "match p:\n    case [1, __cap] if __guard:\n        __body\n    case x.__y:\n        pass",
    "try:\n    __t\nexcept __E as __err:\n    exec\nfinally:\n    del __z",
    "import os as __os\nfrom m import __n\nx.__attr = __v\nx.__attr2\n__builtins__['open']",
    "with __ctx() as __h, x as (y, __z):\n    while __c:\n        compile = 1\n        compile()",
    "def exec(): pass\nexec()\neval()\nvars = 1\n__q",
    "getattr(__o, '__class__')\nsetattr(o, 'f_back', __v)",
    "x = " + "-" * 397 + "__deep + __ok",
    "x = " + "-" * 398 + "__deep + __ok",
    "x = " + "-" * 399 + "(__deep, 1, exec)",
    "x = a" + ".b" * 398 + "\n__after = 1",
]


def _walk(source: str, policy: object, later: bool, units: bool) -> tuple[str, list[object]]:
    from safecompile import rules, transformers

    checks, active, leaf_checks = rules._tables(policy)  # type: ignore[arg-type]
    ctx = rules.Context(policy)  # type: ignore[arg-type]
    walk = walker.Walk(checks, ctx, transformers.units() if units else {}, rules._too_deep,
                       leaf_checks if later else None)
    tree = walk.run(ast.parse(source))
    found = list(walk.found)
    for rule in active:
        found.extend(rule.finish(ctx) or ())
    return ast.dump(tree, include_attributes=True), found


@pytest.mark.parametrize("units", [True, False])
@pytest.mark.parametrize("ignore", [(), ("SC101",), ("SC105",), ("SC101", "SC105")])
@pytest.mark.parametrize("source", LEAF_SOURCES)
def test_leaves_checked_after_the_walk_report_what_checking_each_in_place_does(source, ignore, units):
    from safecompile import Policy

    policy = Policy().ignoring(ignore)
    assert _walk(source, policy, later=True, units=units) == _walk(source, policy, later=False, units=units)


@pytest.mark.parametrize("source", LEAF_SOURCES)
def test_leaves_are_collected_when_the_rules_allow_it(source):
    from safecompile import Policy, rules

    checks, _, leaf_checks = rules._tables(Policy())
    assert list(leaf_checks) == [ast.Name]
    walk = walker.Walk(checks, rules.Context(Policy()), {}, rules._too_deep, leaf_checks)
    walk.run(ast.parse(source))
    assert walk.leaves
    assert all(type(leaf) is ast.Name for leaf in walk.leaves)


def test_dunder_names_in_leaves_are_found_at_every_position():
    from safecompile.compiler import check

    source = LEAF_SOURCES[1] + "\n" + LEAF_SOURCES[2] + "\n" + LEAF_SOURCES[3]
    found = [(v.lineno, v.col, v.code, v.message) for v in check(source)]
    expected_names = ["__Base", "__x", "__d", "__e", "__q", "__r", "__i", "__src", "__j", "__k", "__m"]
    reported = [message for _, _, code, message in found if code == "SC101"]
    for ident in expected_names:
        assert any(repr(ident) in message for message in reported), ident
    assert [(v[0], v[2]) for v in found if v[2] == "SC105"] == [(5, "SC105"), (7, "SC105"), (9, "SC105")]


@pytest.mark.parametrize("ident", ["x", "__x", "_x", "__", "exec", "eval", "__sc_iter__", "a__b"])
@pytest.mark.parametrize("ctx", [ast.Load(), ast.Store(), ast.Del()])
def test_check_leaves_agrees_with_check_node_by_node(ident, ctx):
    from safecompile import Policy, rules

    policy = Policy()
    for rule_class in rules.all_rules():
        rule = rule_class()
        for cls in rule.leaf_nodes:
            assert cls in rule.nodes
            assert not walker.fields_of(cls)
            nodes = [ast.Name(id=ident, ctx=ctx, lineno=i + 1, col_offset=i, end_lineno=i + 1,
                              end_col_offset=i + 3) for i in range(3)]
            one, many = rules.Context(policy), rules.Context(policy)
            expected = [(i, v) for i, node in enumerate(nodes) for v in (rule.check(node, one) or ())]
            assert list(rule.check_leaves(nodes, many) or ()) == expected
            assert (one.bound, one.loaded) == (many.bound, many.loaded)
