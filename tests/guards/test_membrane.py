"""guards/membrane.py: what crosses between host and script: plain data by
value (copied), host objects as proxies that pass only declared names, and
exceptions without host objects."""

from __future__ import annotations

import datetime
import decimal
import fractions
import textwrap

import pytest

from safecompile import AccessDenied, Grant, ScriptError, expose, safe_exec
from safecompile.guards import membrane


def output(source: str, grants=None, **kwargs) -> str:
    return safe_exec(textwrap.dedent(source), grants, **kwargs).output


def denied(source: str, grants=None) -> AccessDenied:
    with pytest.raises(AccessDenied) as caught:
        safe_exec(textwrap.dedent(source), grants)
    return caught.value


# --- plain data is copied ------------------------------------------------------------


def test_a_granted_list_is_copied_so_script_changes_do_not_reach_the_host():
    host_list = [1, 2, [3, {"k": [4]}]]
    result = safe_exec(
        "items.append(9)\nitems[2].append(5)\nitems[2][1]['k'].append(6)\nprint(items)",
        {"items": host_list},
    )
    assert result.output == "[1, 2, [3, {'k': [4, 6]}, 5], 9]\n"
    assert host_list == [1, 2, [3, {"k": [4]}]]


def test_granted_dicts_and_sets_are_copied():
    config = {"rate": 0.2, "tags": {"a"}, "pairs": [(1, [2])]}
    safe_exec(
        "config['rate'] = 1\nconfig['tags'].add('b')\nconfig['pairs'][0][1].append(3)",
        {"config": config},
    )
    assert config == {"rate": 0.2, "tags": {"a"}, "pairs": [(1, [2])]}


def test_the_host_keeps_no_reference_to_what_the_script_returns():
    host_list = [1, 2]
    result = safe_exec("same = items", {"items": host_list})
    assert result.namespace["same"] == host_list
    assert result.namespace["same"] is not host_list


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        3,
        2.5,
        1j,
        "text",
        b"bytes",
        datetime.date(2024, 1, 2),
        datetime.datetime(2024, 1, 2, 3, 4),
        datetime.time(1, 2),
        datetime.timedelta(days=1),
        decimal.Decimal("1.10"),
        fractions.Fraction(1, 3),
        (1, "a"),
        frozenset({1, 2}),
    ],
)
def test_plain_values_cross_by_value(value):
    result = safe_exec("out = value", {"value": value})
    assert result.namespace["out"] == value
    assert type(result.namespace["out"]) is type(value)


@pytest.mark.parametrize("value", [[1], {"a": 1}, {1, 2}, (1, [2])])
def test_mutable_containers_cross_as_fresh_copies(value):
    admitted = membrane.admit(value)
    assert admitted == value
    assert admitted is not value or (
        type(value) is tuple and admitted[1] is not value[1]
    )


def test_subclasses_of_plain_types_are_not_plain_data():
    class Tagged(list):
        pass

    class Name(str):
        def upper(self):
            return "lied"

    assert not membrane.is_plain(Tagged([1]))
    assert not membrane.is_plain(Name("x"))
    assert not membrane.is_plain([1, Name("x")])
    assert membrane.is_proxy(membrane.admit(Name("x")))
    denied("print(name.upper())", {"name": Name("x")})
    denied("print(tags.append)", {"tags": Tagged([1])})


def test_data_nested_deeper_than_the_membrane_allows_is_not_plain():
    deep: list = []
    for _ in range(membrane.MAX_DEPTH + 5):
        deep = [deep]
    assert not membrane.is_plain(deep)


# --- host objects are proxied ------------------------------------------------------


def test_declared_names_of_a_host_object_are_readable_and_callable(host_account):
    assert (
        output(
            """
print(account.name, account.balance)
print(account.deposit(5), account.balance)
history = account.history()
history.append(99)
print(history, account.history())
""",
            {"account": host_account},
        )
        == "alice 10\n15 15\n[1, 2, 3, 99] [1, 2, 3]\n"
    )
    assert host_account.balance == 15


@pytest.mark.parametrize(
    "source",
    [
        "account.notes",
        "account.internal()",
        "getattr(account, 'notes')",
        "account._token",
        "getattr(account, '_tok' + 'en')",
        "account.deposit._x",
        "account.name = 'mallory'",
        "account.balance = 0",
        "del account.name",
        "setattr(account, 'balance', 0)",
        "account['x']",
        "len(account)",
        "iter(account)",
        "account()",
        "1 in account",
    ],
)
def test_undeclared_and_underscore_names_of_a_host_object_are_refused(
    source, host_account
):
    denied(source, {"account": host_account})
    assert host_account.name == "alice"
    assert host_account.balance == 10


def test_a_proxys_repr_names_the_type_and_shows_no_host_data(host_account):
    result = safe_exec(
        "text = repr(account) + repr([account])", {"account": host_account}
    )
    text = result.namespace["text"]
    assert "Account" in text
    assert "HOST-SECRET-TOKEN" not in text
    assert "alice" not in text


def test_a_proxy_can_be_printed_and_formatted(host_account):
    result = safe_exec(
        "print(account)\ntext = str(account) + f'{account}'", {"account": host_account}
    )
    assert "Account" in result.output
    assert "alice" not in result.output + result.namespace["text"]


def test_a_proxys_class_is_the_proxy_type_which_scripts_cannot_use(host_account):
    with pytest.raises(ScriptError) as caught:
        safe_exec("kind = type(account)\nkind(1, 2, 3)", {"account": host_account})
    assert caught.value.type_name == "TypeError"
    with pytest.raises((AccessDenied, ScriptError)):
        safe_exec("class Sub(type(account)):\n    pass", {"account": host_account})


def test_a_class_cannot_derive_from_a_host_class_or_host_object(host_account):
    denied("class Mine(kind):\n    pass", {"kind": type(host_account)})
    denied("class Mine(account):\n    pass", {"account": host_account})


def test_a_granted_host_class_is_not_constructible_unless_declared(host_account):
    denied("kind()", {"kind": type(host_account)})


def test_constructible_host_classes_return_proxies():
    class Point:
        def __init__(self, x: int) -> None:
            self.x = x

    expose(Point, "x", construct=True)
    assert output("p = Point(3)\nprint(p.x)", {"Point": Point}) == "3\n"


def test_a_grant_declares_what_one_object_offers(host_account):
    grant = Grant(host_account, allow=["notes"])
    assert output("print(account.notes)", {"account": grant}) == "undeclared\n"
    denied("print(account.name)", {"account": grant})


def test_a_granted_host_function_is_callable_and_its_result_is_copied():
    shared = [1, 2]

    def lookup(key: str) -> list[int]:
        return shared

    result = safe_exec(
        "got = lookup('x')\ngot.append(3)\nprint(got)", {"lookup": lookup}
    )
    assert result.output == "[1, 2, 3]\n"
    assert shared == [1, 2]


def test_values_a_host_method_returns_are_proxied_again():
    class Bank:
        def __init__(self) -> None:
            self.account = _Inner()

        def open(self) -> _Inner:
            return _Inner()

    class _Inner:
        def __init__(self) -> None:
            self.hidden = "s"
            self.label = "inner"

    expose(Bank, "account", "open")
    expose(_Inner, "label")
    assert (
        output("print(bank.account.label, bank.open().label)", {"bank": Bank()})
        == "inner inner\n"
    )
    denied("print(bank.account.hidden)", {"bank": Bank()})


def test_modules_cannot_be_granted():
    import os

    with pytest.raises(TypeError):
        safe_exec("x = 1", {"os": os})


@pytest.mark.parametrize("name", ["__builtins__", "__sc_getattr__", "not a name", 3])
def test_grant_names_must_be_plain_identifiers(name):
    with pytest.raises(TypeError):
        safe_exec("x = 1", {name: 1})


def test_grants_must_be_a_mapping():
    with pytest.raises(TypeError):
        safe_exec("x = 1", [("a", 1)])


# --- what a script hands to host code ----------------------------------------------


def test_plain_data_passed_to_a_host_callable_is_copied(host_account):
    received = []

    def keep(value: object) -> None:
        received.append(value)

    safe_exec("data = [1, {'a': 2}]\nkeep(data)\ndata.append(3)", {"keep": keep})
    assert received == [[1, {"a": 2}]]


@pytest.mark.parametrize(
    "argument",
    [
        "Mine()",
        "lambda: 1",
        "helper",
        "Name('x')",
        "[Mine()]",
        "{'k': Mine()}",
        "iter([1])",
        "(x for x in [1])",
        "Mine",
    ],
)
def test_script_objects_are_refused_when_passed_to_host_code(argument, host_account):
    calls = []

    def host_function(value: object) -> None:
        calls.append(value)

    source = f"""
class Mine:
    def __eq__(self, other):
        return True
class Name(str):
    pass
def helper():
    pass
host_function({argument})
"""
    denied(source, {"host_function": host_function})
    denied(
        source.replace("host_function(", "account.audit("), {"account": host_account}
    )
    assert calls == []


def test_proxies_of_host_objects_pass_back_to_host_code_as_the_objects(host_account):
    seen = []

    def inspect(value: object) -> None:
        seen.append(value)

    safe_exec("inspect(account)", {"inspect": inspect, "account": host_account})
    assert seen == [host_account]
    assert seen[0] is host_account


# --- exceptions ----------------------------------------------------------------------


def test_a_host_exception_reaches_the_script_without_host_objects(host_account):
    assert (
        output(
            """
try:
    account.fail()
except ValueError as error:
    print(type(error) is ValueError, error.args, [type(a) is str for a in error.args])
""",
            {"account": host_account},
        )
        == "True ('<Account>',) [True]\n"
    )


def test_an_uncaught_host_exception_carries_no_host_object(host_account):
    with pytest.raises(ScriptError) as caught:
        safe_exec("account.fail()", {"account": host_account})
    cause = caught.value.__cause__
    assert type(cause) is ValueError
    assert all(type(arg) is str for arg in cause.args)
    assert "HOST-SECRET-TOKEN" not in str(caught.value)


def test_sanitized_exceptions_keep_the_builtin_type_and_plain_arguments():
    class HostError(KeyError):
        def __init__(self, obj: object) -> None:
            super().__init__("missing", obj)
            self.obj = obj

    clean = membrane.sanitize_exception(HostError(object()))
    assert type(clean) is KeyError
    assert clean.args == ("missing", "<object>")
    assert not hasattr(clean, "obj")
    assert clean.__traceback__ is None
    assert clean.__context__ is None
    assert clean.__cause__ is None
