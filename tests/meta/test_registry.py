"""Repository invariants of the rule registry, the syntax decision table and
the names the rewriter emits.

A new rule is not done until it has docs and a case file; a new Python is
not supported until every node class of its ``ast`` module has a decision;
an emitted name is not safe unless every run binds it and no script can.
"""

from __future__ import annotations

import ast
import contextlib
import io
import re
import types

import pytest

from safecompile import names, rules, safe_exec, transformers
from safecompile.compiler import check, compile_source
from safecompile.policy import Policy
from safecompile.rules import Context, sc2xx_statements
from safecompile.rules.sc2xx_statements import NODE_DECISIONS, UnsupportedSyntax
from safecompile.runtime import RunState

RULES = rules.all_rules()
ACTIVE = [rule for rule in RULES if not rule.removed]
RETIRED = [rule for rule in RULES if rule.removed]
CODE = re.compile(r"SC\d{3}")
KEBAB = re.compile(r"[a-z]+(-[a-z]+)*")
DOC_PARTS = {
    "what": re.compile(r"^What:", re.MULTILINE),
    "why": re.compile(r"^Why\b", re.MULTILINE),
    "example": re.compile(r"^Example:", re.MULTILINE),
    "fix": re.compile(r"^Fix:", re.MULTILINE),
}
FAMILY_MODULES = {
    "0": "sc0xx_source",
    "1": "sc1xx_names",
    "2": "sc2xx_statements",
    "3": "sc3xx_imports",
}


def _by_code(rule):
    return rule.code


# --- the registry ------------------------------------------------------------------


def test_registry_holds_rules_of_every_code_family():
    families = {rule.code[2] for rule in RULES}
    assert families == {"0", "1", "2", "3"}


@pytest.mark.parametrize("rule", RULES, ids=_by_code)
def test_rule_declares_code_name_message_fix_and_docs(rule):
    assert CODE.fullmatch(rule.code)
    assert KEBAB.fullmatch(rule.name)
    for attribute in ("message", "fix", "docs"):
        value = getattr(rule, attribute)
        assert type(value) is str, attribute
        assert value.strip(), attribute
    assert "\n" not in rule.message.strip()
    assert "\n" not in rule.fix.strip()


@pytest.mark.parametrize("rule", ACTIVE, ids=_by_code)
def test_rule_docs_have_what_why_example_and_fix_parts(rule):
    missing = [
        part for part, pattern in DOC_PARTS.items() if not pattern.search(rule.docs)
    ]
    assert not missing


@pytest.mark.parametrize("rule", RETIRED, ids=_by_code)
def test_retired_rule_docs_say_it_is_retired_and_why_it_existed(rule):
    assert rule.docs.strip().startswith("Retired")
    for part in ("why", "example", "fix"):
        assert DOC_PARTS[part].search(rule.docs), part


@pytest.mark.parametrize("rule", RULES, ids=_by_code)
def test_rule_lives_in_the_module_of_its_code_family(rule):
    assert rule.__module__.rsplit(".", 1)[-1] == FAMILY_MODULES[rule.code[2]]


BAN_PREFIX = re.compile(r"(No|Disallow|Banned|Forbid|Deny)[A-Z]")


@pytest.mark.parametrize("rule", RULES, ids=_by_code)
def test_rule_class_names_the_pattern_not_a_ban(rule):
    assert not BAN_PREFIX.match(rule.__name__)


def test_rule_codes_are_unique_and_registered_under_their_own_code():
    codes = [rule.code for rule in RULES]
    assert len(codes) == len(set(codes))
    assert all(rules.REGISTRY[rule.code] is rule for rule in RULES)


def test_rule_names_are_unique():
    rule_names = [rule.name for rule in RULES]
    assert len(rule_names) == len(set(rule_names))


def test_registering_a_taken_code_again_is_refused():
    taken = RULES[0]

    class Duplicate(rules.Rule):
        code = taken.code
        name = "duplicate"
        message = "m"
        fix = "f"
        docs = "d"

    with pytest.raises(ValueError, match=taken.code):
        rules.register(Duplicate)
    assert rules.REGISTRY[taken.code] is taken


def test_retired_rule_reports_nothing_even_where_it_once_did():
    source = "try:\n    pass\nexcept* ValueError:\n    pass\n"
    assert [v.code for v in check(source)] == []


# --- case files ------------------------------------------------------------------


@pytest.mark.parametrize("rule", RULES, ids=_by_code)
def test_every_rule_has_a_case_file(rule, case_files):
    assert rule.code in case_files


def test_every_case_file_belongs_to_a_registered_rule(case_files):
    assert set(case_files) <= set(rules.REGISTRY)


@pytest.mark.parametrize("rule", ACTIVE, ids=_by_code)
def test_case_file_has_a_rejecting_and_an_accepting_chunk(rule, case_files):
    chunks = case_files[rule.code]
    assert any(rule.code in {code for _, code in chunk.expected} for chunk in chunks)
    assert any(not chunk.expected for chunk in chunks)


@pytest.mark.parametrize("rule", RETIRED, ids=_by_code)
def test_retired_rule_case_file_has_accepting_chunks_only(rule, case_files):
    chunks = case_files[rule.code]
    assert chunks
    assert all(not chunk.expected for chunk in chunks)


def test_case_markers_name_registered_codes_only(case_files):
    for chunks in case_files.values():
        for chunk in chunks:
            assert {code for _, code in chunk.expected} <= set(rules.REGISTRY), chunk.id


# --- syntax decisions -----------------------------------------------------------


def _ast_node_classes():
    return sorted(
        (
            value
            for value in vars(ast).values()
            if isinstance(value, type) and issubclass(value, ast.AST)
        ),
        key=lambda cls: cls.__name__,
    )


@pytest.mark.parametrize(
    "node_class", _ast_node_classes(), ids=lambda cls: cls.__name__
)
def test_every_ast_node_class_of_this_python_has_a_decision(node_class):
    assert node_class.__name__ in NODE_DECISIONS


def test_decisions_use_the_documented_vocabulary():
    assert set(NODE_DECISIONS.values()) <= {
        "allowed",
        "rewritten",
        "rejected",
        "never-parsed",
    }


def test_every_rejected_node_class_is_refused_by_a_rule_of_its_own():
    active = [rule() for rule in ACTIVE if rule is not UnsupportedSyntax]
    handled = {node for rule in active for node in rule.nodes}
    for name, decision in NODE_DECISIONS.items():
        if decision == "rejected" and hasattr(ast, name):
            assert getattr(ast, name) in handled, name


def test_every_node_class_neither_accepted_nor_rejected_is_refused_as_unsupported():
    refused = set(UnsupportedSyntax().nodes)
    for cls in _ast_node_classes():
        decision = NODE_DECISIONS.get(cls.__name__)
        if decision in ("allowed", "rewritten", "rejected"):
            assert cls not in refused, cls.__name__
        else:
            assert cls in refused, cls.__name__


def test_rewritten_decisions_match_the_units_that_rewrite():
    rewritten_by_units = {
        node.__name__ for unit in transformers.ORDER for node in unit.nodes
    }
    decided = {
        name for name, decision in NODE_DECISIONS.items() if decision == "rewritten"
    }
    assert decided == rewritten_by_units


def _located(node, line):
    node.lineno = node.end_lineno = line
    node.col_offset = 0
    node.end_col_offset = 1
    return node


def test_unsupported_syntax_reports_a_node_of_a_class_it_refuses():
    refused = next(
        cls
        for cls in UnsupportedSyntax.nodes
        if issubclass(cls, ast.stmt) or issubclass(cls, ast.expr) or cls is ast.AST
    )
    node = _located(refused(), 2)
    found = list(UnsupportedSyntax().check(node, Context(Policy())))
    assert [(v.lineno, v.code) for v in found] == [(2, "SC201")]


def test_an_unknown_node_type_in_a_parsed_tree_is_reported_as_unsupported():
    unknown = type("Unknown", (ast.stmt,), {"_fields": ()})
    tree = ast.parse("x = 1\n")
    tree.body.append(_located(unknown(), 2))
    found = rules.run_all(tree, Policy())
    assert (2, "SC201") in {(v.lineno, v.code) for v in found}


def test_the_rejected_syntax_of_this_python_is_reported_by_its_rule():
    found = {v.code for v in check("async def f():\n    await g()\n")}
    assert found == {"SC204"}
    assert sc2xx_statements.NODE_DECISIONS["AsyncFunctionDef"] == "rejected"


# --- emitted names -------------------------------------------------------------------


def test_every_emitted_name_is_a_dunder_with_the_emitted_prefix():
    for name in names.EMITTED:
        assert name.startswith(names.EMITTED_PREFIX)
        assert names.is_dunder(name)


def test_every_emitted_name_is_bound_in_a_runs_globals():
    compiled = compile_source("x = 1", "<meta>", "exec", Policy())
    run = RunState(compiled, Policy(), Policy().limits)
    missing = names.EMITTED - set(run.globals)
    assert not missing
    assert all(callable(run.globals[name]) for name in names.EMITTED)


def test_rearming_a_run_binds_every_emitted_name_again():
    compiled = compile_source("x = 1", "<meta>", "exec", Policy())
    run = RunState(compiled, Policy(), Policy().limits)
    first = {name: run.globals[name] for name in names.EMITTED}
    run.arm()
    assert set(run.globals) >= names.EMITTED
    assert run.globals[names.TICK] is not first[names.TICK]


EVERY_CONSTRUCT = """
import math
from json import dumps
class Box:
    def __init__(self):
        self._items = [1, 2]
box = Box()
box.label = "b"
box.label, other = "c", 1
values = box._items
total = 0
for item in values:
    total += item
while total < 10:
    total += 1
squares = [n * n for n in range(3)]
double = lambda n: n * 2
def power(n):
    return n ** 2 + (1 << n)
def countdown(n):
    while n:
        yield n
        n -= 1
    while n < 1:
        n += 1
    else:
        n -= 1
cells = [2]
cells[0] **= 2
cells[0] <<= 1
print(total, squares, double(2), power(3), cells, math.pi > 3, dumps([1]), "{0}".format(1))
print(list(countdown(3)))
"""


def _names_of(code):
    found = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            found |= _names_of(const)
    return found


#: Dunders CPython's own compiler puts into class bodies and method names.
COMPILER_DUNDERS = {
    "__name__",
    "__module__",
    "__qualname__",
    "__init__",
    "__doc__",
    "__firstlineno__",
    "__static_attributes__",
}


def test_the_rewriter_emits_every_emitted_name_and_no_other_dunder():
    compiled = compile_source(EVERY_CONSTRUCT, "<meta>", "exec", Policy())
    used = {name for name in _names_of(compiled.code) if name.startswith("__")}
    assert {n for n in used if n.startswith(names.EMITTED_PREFIX)} == set(names.EMITTED)
    assert used - set(names.EMITTED) <= COMPILER_DUNDERS


def test_a_script_using_every_rewritten_construct_runs_as_plain_python_does():
    plain = io.StringIO()
    with contextlib.redirect_stdout(plain):
        exec(EVERY_CONSTRUCT, {"__name__": "script"})
    assert safe_exec(EVERY_CONSTRUCT).output == plain.getvalue()


@pytest.mark.parametrize("name", sorted(names.EMITTED))
@pytest.mark.parametrize(
    "template",
    [
        "{name} = 1",
        "def f({name}, /):\n    return 1",
        "def f(*, {name}):\n    return 1",
        "import math as {name}",
        "for {name} in []:\n    pass",
        "[1 for {name} in []]",
        "({name} := 1)",
        "try:\n    pass\nexcept Exception as {name}:\n    pass",
        "match 1:\n    case {name}:\n        pass",
        "def f():\n    global {name}",
    ],
)
def test_no_script_can_bind_an_emitted_name(name, template):
    codes = {v.code for v in check(template.format(name=name))}
    assert "SC101" in codes
