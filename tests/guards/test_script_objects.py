"""Script objects passed to host code: refused unless the host opted in, and
then opaque handles that run the script's code inside its own run only."""

from __future__ import annotations

from typing import Any

import pytest

from safecompile import (
    AccessDenied,
    Grant,
    LimitExceeded,
    ScriptError,
    ScriptObjectHandle,
    expose,
    safe_exec,
    takes_script_objects,
)

SCRIPT_CLASS = """
class Item:
    def __init__(self, name, price):
        self.name = name
        self.price = price
    def total(self, qty):
        return self.price * qty
    def __repr__(self):
        return 'Item(' + self.name + ')'
    def __eq__(self, other):
        return isinstance(other, Item) and other.name == self.name
    def __hash__(self):
        return hash(self.name)
"""


def test_without_opting_in_a_host_function_never_sees_a_script_object():
    seen: list[Any] = []
    with pytest.raises(AccessDenied, match="cannot pass a Item to host code"):
        safe_exec(SCRIPT_CLASS + "keep(Item('a', 2))", {"keep": seen.append})
    assert seen == []


def test_an_opted_in_function_gets_a_handle_it_can_use_during_the_run():
    seen: list[Any] = []

    @takes_script_objects
    def describe(item: Any) -> str:
        seen.append(item)
        assert type(item) is ScriptObjectHandle
        return f"{item!r} {item.name} {item.total(3)} {item == item} {hash(item) == hash(item)}"

    result = safe_exec(SCRIPT_CLASS + "print(describe(Item('pen', 2)))", {"describe": describe})
    assert result.output == "Item(pen) pen 6 True True\n"
    # after the run the handle is dead
    with pytest.raises(AccessDenied, match="while the run that made it"):
        repr(seen[0])
    with pytest.raises(AccessDenied):
        seen[0].total(1)


def test_a_grant_can_opt_in_and_handles_go_back_as_the_scripts_own_objects():
    def pick(items: list[Any]) -> Any:
        return items[-1]

    result = safe_exec(
        SCRIPT_CLASS + "a = Item('a', 1)\nb = Item('b', 2)\nprint(pick([a, b]) is b)",
        {"pick": Grant(pick, call=True, script_objects=True)},
    )
    assert result.output == "True\n"


def test_handles_keep_the_guards_and_host_values_cross_as_proxies():
    class Secret:
        def __init__(self) -> None:
            self._key = "k"

    expose(Secret)

    @takes_script_objects
    def probe(item: Any) -> list[str]:
        outcomes = []
        # the handle's own class, never the script's
        outcomes.append("opaque" if item.__class__ is ScriptObjectHandle else "leaked")
        for name in ("_private", "__dict__", "mro"):
            try:
                getattr(item, name)
                outcomes.append("read")
            except AccessDenied:
                outcomes.append("denied")
        try:
            item.name = "changed"
        except AccessDenied:
            outcomes.append("write denied")
        # a host object handed to the script's method arrives as a proxy
        outcomes.append(item.inspect(Secret()))
        return outcomes

    source = SCRIPT_CLASS + (
        "class Probe(Item):\n"
        "    _private = 1\n"
        "    def inspect(self, thing):\n"
        "        try:\n"
        "            return thing._key\n"
        "        except Exception:\n"
        "            return 'refused'\n"
        "print(probe(Probe('p', 1)))"
    )
    result = safe_exec(source, {"probe": probe})
    assert result.output == "['opaque', 'denied', 'denied', 'denied', 'write denied', 'refused']\n"


def test_the_scripts_code_runs_under_the_runs_budget_and_its_errors_are_script_errors():
    @takes_script_objects
    def call(function: Any) -> Any:
        return function()

    with pytest.raises(LimitExceeded):
        safe_exec("def spin():\n    while True:\n        pass\ncall(spin)", {"call": call},
                  limits={"steps": 10_000})

    @takes_script_objects
    def guarded(function: Any) -> str:
        try:
            function()
        except ScriptError as exc:
            return exc.type_name
        return "no error"

    result = safe_exec("def boom():\n    raise KeyError('x')\nprint(guarded(boom))",
                       {"guarded": guarded})
    assert result.output == "KeyError\n"


def test_takes_script_objects_refuses_what_it_cannot_mark():
    with pytest.raises(TypeError):
        takes_script_objects(len)
