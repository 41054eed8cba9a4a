"""Bounded runs of the fuzzers in fuzz/ as part of the normal suite.

The same strategies and properties as the long runs (``nox -s fuzz``,
fuzz/README.md), with a fixed, small number of examples each, so that the
whole module stays well under a minute:

=========================  ========  ============================================
test                       examples  property
=========================  ========  ============================================
grammar (hypothesmith)          120  compile_restricted: Script or CompileRejected
grammar (mutated grammar)        60  same, on valid programs with 1-3 mutations
grammar (libcst nodes)           15  same, and the compiled module runs leak-free
grammar (text/bytes/soup)       800  same, on arbitrary text and bytes
differential                    600  safe_exec prints and binds what exec does
escape                          500  the canary never leaks, host state unchanged
=========================  ========  ============================================

A failure here is a finding: add the shrunk example as a regression test in
tests/regressions/test_fuzz_<id>.py and report it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from fuzz import differential, escape, grammar, oracle  # noqa: E402 - after the path set-up

hypothesmith = grammar.hypothesmith  # imported there with libcst's import-time warnings silenced

_SLOW_GENERATION = [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large,
                    HealthCheck.large_base_example]


def bounded(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None, suppress_health_check=_SLOW_GENERATION)


@pytest.fixture(scope="module", autouse=True)
def _warm_host() -> None:
    """Let the library import what it imports lazily before any snapshot is taken."""
    oracle.warm_up()


@bounded(120)
@given(hypothesmith.from_grammar())
def test_grammar_valid_python_compiles_or_is_rejected(source: str) -> None:
    grammar.check(source, "exec")
    grammar.check(source, "eval")


@bounded(15)
@given(hypothesmith.from_node())
def test_libcst_generated_modules_compile_or_are_rejected(source: str) -> None:
    grammar.check(source, "exec", run=True)


@bounded(800)
@given(st.one_of(st.text(), st.binary(), grammar.token_soup(),
                 st.text().map(lambda s: s.encode("utf-8", "surrogatepass"))))
def test_arbitrary_text_and_bytes_compile_or_are_rejected(source: str | bytes) -> None:
    grammar.check(source, "exec")
    if isinstance(source, str):
        grammar.check(source, "eval")


@bounded(60)
@given(grammar.mutated(hypothesmith.from_grammar()))
def test_mutated_valid_python_compiles_or_is_rejected(source: str) -> None:
    grammar.check(source, "exec")


@bounded(600)
@given(differential.programs())
def test_safe_programs_print_and_bind_what_plain_exec_does(source: str) -> None:
    differential.check(source)


@bounded(500)
@given(escape.scripts())
def test_escape_attempts_leak_nothing_and_change_no_host_state(source: str) -> None:
    escape.check(source)


def test_escape_oracle_sees_a_planted_leak() -> None:
    """The oracle is not blind: a host that hands out its secret is caught."""
    problems = oracle.check_run("print(leak)", extra_grants={"leak": oracle.CANARY})
    assert any("output" in p for p in problems), problems


def test_differential_oracle_sees_a_difference() -> None:
    """The differential property fails when the two runs disagree."""
    with pytest.raises(AssertionError, match="outcome differs"):
        differential.check("x = ().__class__")


def test_generated_programs_are_mostly_accepted_by_the_static_rules() -> None:
    """Guard against a generator that only ever produces rejected scripts."""
    rejected = 0
    seen = 0

    @settings(max_examples=60, deadline=None, suppress_health_check=_SLOW_GENERATION, database=None)
    @given(escape.scripts())
    def count(source: str) -> None:
        nonlocal rejected, seen
        seen += 1
        from safecompile import CompileRejected, compile_restricted

        try:
            compile_restricted(source)
        except CompileRejected:
            rejected += 1

    count()
    assert seen
    assert rejected / seen < 0.5
