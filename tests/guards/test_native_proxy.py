"""The C ``Proxy`` (``_native``) and its pure twin (``_pure``), and the two
other pieces that came with it: ``is_plain`` and ``Budget.enter_method``.

Every behavioural test runs against both implementations (fixture ``impl``)
with the same expected values and messages, so the twins cannot drift
apart; ``test_twins.py`` drives both with random operation sequences.  The
tests near the end are about the C type itself (no path to the target,
reference counting), which the pure twin does not promise: its target sits
in a slot that ``object.__getattribute__`` can read.

The membrane and checker here are small local stand-ins, so these tests do
not depend on ``membrane.py``.
"""

from __future__ import annotations

import contextlib
import copy
import gc
import pickle  # noqa: TID251 - pickling a proxy must be refused
import sys
import tracemalloc
import types
import weakref
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from safecompile import names
from safecompile.guards import _native, _pure

IMPLS = {"native": _native, "pure": _pure}


# --- the local membrane (tests/guards/local_membrane.py) ------------------------------

from local_membrane import (  # noqa: E402
    CALLABLE,
    OPAQUE,
    SCALARS,
    Checker,
    Denied,
    Membrane,
    Sanitized,
    reference_is_plain,
)

# --- host objects ---------------------------------------------------------------------


class Account:
    """A host class with every protocol a proxy can pass."""

    def __init__(self, name: str = "alice", balance: int = 10) -> None:
        self.name = name
        self.balance = balance
        self.secret = "HOST-SECRET"  # noqa: S105 - a value scripts must not read
        self.items = {"a": 1, "b": [2, 3]}

    def deposit(self, amount: int) -> int:
        self.balance += amount
        return self.balance

    def fail(self) -> None:
        raise ValueError(self, "plain text")

    def child(self) -> Account:
        return Account("child", 0)

    def echo(self, *args: Any, **kwargs: Any) -> Any:
        return [list(args), kwargs]

    @property
    def broken(self) -> None:
        raise KeyError(self)

    def __call__(self, x: int) -> int:
        return x * 2

    def __getitem__(self, key: str) -> Any:
        return self.items[key]

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Any]:
        return iter([1, "two", self])

    def __contains__(self, item: object) -> bool:
        if item == "boom":
            raise LookupError(self)
        return item in self.items

    def __str__(self) -> str:
        return f"Account({self.name})"


EVERYTHING = {
    "name", "balance", "deposit", "fail", "child", "echo", "broken", "missing",
    "__call__", "__getitem__", "__len__", "__iter__", "__contains__", "__str__",
}
Account._checker = Checker(EVERYTHING, {"balance", "missing"})  # type: ignore[attr-defined]
Account._class_checker = Checker({"deposit"}, construct=True)  # type: ignore[attr-defined]


class Outer:
    class Inner:
        pass


class StrSubclass(str):
    pass


class Untouchable:
    """Raises on every protocol it has."""

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(self)

    def __len__(self) -> int:
        raise OverflowError(self)

    def __iter__(self) -> Iterator[Any]:
        yield 1
        raise RuntimeError(self)

    def __str__(self) -> str:
        raise TypeError(self)

    def __getitem__(self, key: Any) -> Any:
        raise KeyboardInterrupt


@pytest.fixture(params=["native", "pure"])
def impl(request: pytest.FixtureRequest) -> ModuleType:
    return IMPLS[request.param]


def wrap(impl: ModuleType, target: Any, checker: Checker | None = None) -> Any:
    if checker is None:
        checker = Account._checker if isinstance(target, Account) else OPAQUE  # type: ignore[attr-defined]
    return impl.make_proxy(target, checker, Membrane(impl))


def refused(fn: Any) -> str:
    with pytest.raises(Denied) as info:
        fn()
    assert type(info.value) is Denied
    return str(info.value)


def sanitized(fn: Any) -> tuple[Any, ...]:
    with pytest.raises(Sanitized) as info:
        fn()
    exc = info.value
    assert exc.__cause__ is None
    assert exc.__suppress_context__
    # the host exception is nobody's context: not handled while re-raising
    assert exc.__context__ is None
    return exc.args


# --- attributes -----------------------------------------------------------------------


def test_readable_attributes_pass_through_the_membrane(impl):
    account = Account()
    proxy = wrap(impl, account)
    assert proxy.name == "alice"
    assert proxy.balance == 10
    assert proxy.deposit(5) == 15
    assert account.balance == 15
    child = proxy.child()
    assert type(child) is impl.Proxy
    assert impl.unwrap(child).name == "child"
    assert type(proxy.deposit) is impl.Proxy  # a bound method, proxied again


def test_undeclared_attributes_are_refused_with_the_type_name(impl):
    proxy = wrap(impl, Account())
    assert refused(lambda: proxy.secret) == (
        "cannot read attribute 'secret' of Account: not exposed to scripts")
    assert refused(lambda: getattr(proxy, "no" + "pe")) == (
        "cannot read attribute 'nope' of Account: not exposed to scripts")


@pytest.mark.parametrize("name", [
    "_x", "__dict__", "__reduce_ex__", "__getattribute__", "__init__", "_", "__", "mro",
    *(prefix + "x" for prefix in names.INTERNAL_PREFIXES), *names.INTERNAL_PREFIXES,
    *names.INTERNAL_NAMES,
])
def test_underscore_and_internal_names_are_refused_even_when_declared(impl, name):
    proxy = wrap(impl, Account(), Checker({name}))
    assert refused(lambda: getattr(proxy, name)) == (
        f"cannot read attribute {name!r} of Account: "
        "underscore attributes of host objects are not available")


@pytest.mark.parametrize("name", ["mrox", "f", "co", "tbx", "agx", "mr", "F_x", "xco_"])
def test_names_that_only_resemble_internal_names_are_checked_against_the_checker(impl, name):
    proxy = wrap(impl, Account(), Checker({name}))
    with pytest.raises(Sanitized):
        getattr(proxy, name)  # declared, so the target is asked (and has no such name)
    assert refused(lambda: getattr(wrap(impl, Account(), OPAQUE), name)).endswith(
        "not exposed to scripts")


def test_a_str_subclass_never_reaches_the_name_check(impl):
    proxy = wrap(impl, Account())
    assert refused(lambda: getattr(proxy, StrSubclass("name"))) == "attribute name must be a str"
    with pytest.raises(TypeError):
        getattr(proxy, 3)  # type: ignore[call-overload]


def test_long_names_are_cut_in_messages(impl):
    name = "n" * 500
    message = refused(lambda: getattr(wrap(impl, Account()), name))
    assert message == f"cannot read attribute {names.shown(name)} of Account: not exposed to scripts"
    assert len(message) < 150


def test_class_reads_give_the_proxy_type(impl):
    proxy = wrap(impl, Account())
    assert proxy.__class__ is impl.Proxy is type(proxy)


def test_vars_and_dict_are_refused(impl):
    proxy = wrap(impl, Account())
    refused(lambda: vars(proxy))
    refused(lambda: proxy.__dict__)


def test_exceptions_of_the_target_are_sanitized(impl):
    proxy = wrap(impl, Account())
    assert sanitized(lambda: proxy.broken) == ("KeyError", "<Account>")
    assert sanitized(lambda: proxy.missing) == (
        "AttributeError", "'Account' object has no attribute 'missing'")
    assert sanitized(lambda: proxy.fail()) == ("ValueError", "<Account>", "plain text")


def test_a_sanitized_exception_raised_in_a_handler_keeps_only_the_handlers_context(impl):
    proxy = wrap(impl, Account())
    own = LookupError("the script's own")

    def fail_while_handling() -> None:
        try:
            raise own
        except LookupError:
            proxy.fail()

    with pytest.raises(Sanitized) as info:
        fail_while_handling()
    assert info.value.__context__ is own


def test_base_exceptions_that_are_not_exceptions_pass_unchanged(impl):
    with pytest.raises(KeyboardInterrupt):
        wrap(impl, Untouchable(), Checker({"__getitem__"}))["x"]


def test_declared_names_can_be_written_through_the_membrane(impl):
    account = Account()
    proxy = wrap(impl, account)
    other = Account("bob")
    proxy.balance = 99
    assert account.balance == 99
    proxy.balance = [1, wrap(impl, other)]
    assert account.balance == [1, other]  # copied, proxy unwrapped


def test_writes_are_refused_unless_declared_writable(impl):
    account = Account()
    proxy = wrap(impl, account)
    assert refused(lambda: setattr(proxy, "name", "x")) == (
        "cannot set attribute 'name' of Account: not exposed to scripts")
    assert refused(lambda: setattr(proxy, "_balance", 1)) == (
        "cannot set attribute '_balance' of Account: not exposed to scripts")
    assert refused(lambda: setattr(proxy, StrSubclass("balance"), 1)) == (
        "cannot set attribute of Account: not exposed to scripts")
    assert refused(lambda: delattr(proxy, "balance")) == (
        "cannot delete attribute 'balance' of Account: not exposed to scripts")
    assert refused(lambda: delattr(proxy, StrSubclass("balance"))) == (
        "cannot delete attribute of Account: not exposed to scripts")
    assert refused(lambda: setattr(proxy, "balance", object())) == (
        "cannot pass a object to host code")  # into() refuses, unsanitized
    assert account.name == "alice"
    assert account.balance == 10


def test_a_failing_write_is_sanitized(impl):
    proxy = wrap(impl, Untouchable(), Checker(writable={"x"}))
    assert sanitized(lambda: setattr(proxy, "x", 1)) == ("AttributeError", "<Untouchable>")


# --- calls ----------------------------------------------------------------------------


def test_calls_pass_arguments_in_and_results_out(impl):
    account = Account()
    proxy = wrap(impl, account)
    assert proxy(21) == 42
    other = Account("bob")
    result = proxy.echo(1, [2, wrap(impl, other)], key={"k": (3,)})
    assert result == [[1, [2, wrap(impl, other)]], {"key": {"k": (3,)}}]
    assert refused(lambda: proxy.echo(object())) == "cannot pass a object to host code"
    assert refused(lambda: proxy.echo(key=object())) == "cannot pass a object to host code"


def test_calls_are_refused_unless_declared(impl):
    assert refused(lambda: wrap(impl, Account(), OPAQUE)(1)) == (
        "cannot call of Account: not exposed to scripts")
    assert refused(lambda: wrap(impl, len, OPAQUE)([])) == (
        "cannot call of builtin_function_or_method: not exposed to scripts")


def test_classes_are_called_only_when_construction_is_declared(impl):
    assert refused(lambda: wrap(impl, Account, CALLABLE)()) == (
        "cannot call of class Account: not exposed to scripts")
    made = wrap(impl, Account, Checker(construct=True))("carol")
    assert type(made) is impl.Proxy
    assert impl.unwrap(made).name == "carol"
    assert sanitized(lambda: wrap(impl, Account, Checker(construct=True))(1, 2, 3)) == (
        "TypeError", "Account.__init__() takes from 1 to 3 positional arguments but 4 were given")


# --- containers -----------------------------------------------------------------------


def test_subscript(impl):
    proxy = wrap(impl, Account())
    assert proxy["a"] == 1
    assert proxy["b"] == [2, 3]
    assert sanitized(lambda: proxy["zzz"]) == ("KeyError", "zzz")
    assert refused(lambda: proxy[object()]) == "cannot pass a object to host code"
    assert refused(lambda: wrap(impl, Account(), OPAQUE)["a"]) == (
        "cannot subscript of Account: not exposed to scripts")


def test_item_assignment_and_deletion_are_refused(impl):
    proxy = wrap(impl, Account())

    def assign() -> None:
        proxy["a"] = 2

    def delete() -> None:
        del proxy["a"]

    assert refused(assign) == "cannot assign items of Account: not exposed to scripts"
    assert refused(delete) == "cannot delete items of Account: not exposed to scripts"


def test_len(impl):
    assert len(wrap(impl, Account())) == 2
    assert refused(lambda: len(wrap(impl, Account(), OPAQUE))) == (
        "cannot take len() of Account: not exposed to scripts")
    assert sanitized(lambda: len(wrap(impl, Untouchable(), Checker({"__len__"})))) == (
        "OverflowError", "<Untouchable>")


def test_iteration_materialises_the_items_and_passes_each_out(impl):
    account = Account()
    items = list(wrap(impl, account))
    assert items[:2] == [1, "two"]
    assert type(items[2]) is impl.Proxy
    assert impl.unwrap(items[2]) is account
    assert refused(lambda: iter(wrap(impl, Account(), OPAQUE))) == (
        "cannot iterate of Account: not exposed to scripts")
    assert sanitized(lambda: iter(wrap(impl, Untouchable(), Checker({"__iter__"})))) == (
        "RuntimeError", "<Untouchable>")


def test_the_sequence_protocol_follows_the_same_checks(impl):
    proxy = wrap(impl, ["x", "y"], Checker({"__len__", "__getitem__"}))
    assert list(reversed(proxy)) == ["y", "x"]
    refused(lambda: reversed(wrap(impl, ["x"], Checker({"__getitem__"}))))


def test_membership(impl):
    proxy = wrap(impl, Account())
    assert "a" in proxy
    assert "z" not in proxy
    assert sanitized(lambda: "boom" in proxy) == ("LookupError", "<Account>")
    assert refused(lambda: object() in proxy) == "cannot pass a object to host code"
    assert refused(lambda: "a" in wrap(impl, Account(), OPAQUE)) == (
        "cannot test membership of Account: not exposed to scripts")


def test_a_proxy_is_always_true(impl):
    assert wrap(impl, [])
    assert wrap(impl, 0)
    assert wrap(impl, Account(), Checker({"__len__"}))


# --- comparison, hashing, text --------------------------------------------------------


def test_proxies_are_equal_when_their_targets_are_the_same_object(impl):
    account = Account()
    first, second = wrap(impl, account), wrap(impl, account, OPAQUE)
    # both operators, each evaluated on its own (not one derived from the other)
    assert first == second
    assert (first != second) is False
    assert first != wrap(impl, Account())
    assert (first == wrap(impl, Account())) is False
    assert first != account
    assert (first == account) is False
    assert account != first
    other = IMPLS["pure" if impl is _native else "native"]
    assert first != wrap(other, account)
    with pytest.raises(TypeError, match="not supported"):
        first < second  # noqa: B015


def test_hash_is_the_hash_of_the_type_and_the_targets_id(impl):
    account = Account()
    proxy = wrap(impl, account)
    assert hash(proxy) == hash((impl.Proxy, id(account))) == hash(wrap(impl, account, OPAQUE))
    assert {proxy: 1}[wrap(impl, account)] == 1


def test_repr_names_the_targets_type_only(impl):
    assert repr(wrap(impl, Account())) == "<Account (host object)>"
    assert repr(wrap(impl, Account)) == "<class Account (host object)>"
    assert repr(wrap(impl, Outer.Inner())) == "<Outer.Inner (host object)>"
    assert repr(wrap(impl, Outer.Inner)) == "<class Outer.Inner (host object)>"
    assert repr(wrap(impl, len)) == "<builtin_function_or_method (host object)>"


def test_str_is_the_targets_str_only_when_declared(impl):
    assert str(wrap(impl, Account())) == "Account(alice)"
    assert str(wrap(impl, Account(), OPAQUE)) == "<Account (host object)>"

    class Fancy:
        def __str__(self) -> str:
            return StrSubclass("fancy")

    text = str(wrap(impl, Fancy(), Checker({"__str__"})))
    assert text == "fancy"
    assert type(text) is str
    assert sanitized(lambda: str(wrap(impl, Untouchable(), Checker({"__str__"})))) == (
        "TypeError", "<Untouchable>")


def test_format_formats_the_str(impl):
    proxy = wrap(impl, Account())
    assert format(proxy, ">16") == "  Account(alice)"
    assert f"{wrap(impl, Account(), OPAQUE)}" == "<Account (host object)>"
    with pytest.raises(TypeError) as info:
        type(proxy).__format__(proxy, 5)
    assert str(info.value) == "format() argument 2 must be str, not int"
    with pytest.raises(ValueError, match="Unknown format code 'd'"):
        format(proxy, "d")


def test_dir_lists_the_readable_public_names(impl):
    assert dir(wrap(impl, Account())) == sorted(n for n in EVERYTHING if not n.startswith("_"))
    assert dir(wrap(impl, Account(), OPAQUE)) == []


def test_proxies_cannot_be_pickled_or_copied(impl):
    proxy = wrap(impl, Account())
    for attempt in (copy.copy, copy.deepcopy, pickle.dumps):
        refused(lambda attempt=attempt: attempt(proxy))
    assert refused(lambda: type(proxy).__reduce__(proxy)) == (
        "cannot pickle or copy of Account: not exposed to scripts")
    assert refused(lambda: type(proxy).__reduce_ex__(proxy, 2)) == (
        "cannot pickle or copy of Account: not exposed to scripts")


# --- the type -------------------------------------------------------------------------


def test_proxies_cannot_be_created_from_python(impl):
    for attempt in (lambda: impl.Proxy(), lambda: impl.Proxy(1, 2, 3),
                    lambda: impl.Proxy.__new__(impl.Proxy)):
        with pytest.raises(TypeError) as info:
            attempt()
        assert str(info.value) == "cannot create 'Proxy' instances"


def test_the_proxy_type_is_not_subclassable(impl):
    with pytest.raises(TypeError, match="is not an acceptable base type"):
        type("Sub", (impl.Proxy,), {})


def test_proxies_take_no_weak_references(impl):
    with pytest.raises(TypeError, match="cannot create weak reference"):
        weakref.ref(wrap(impl, Account()))


def test_unwrap_gives_the_target_of_its_own_proxies_only(impl):
    account = Account()
    assert impl.unwrap(wrap(impl, account)) is account
    other = IMPLS["pure" if impl is _native else "native"]
    for value in (account, None, wrap(other, account)):
        with pytest.raises(TypeError) as info:
            impl.unwrap(value)
        assert str(info.value) == "not a Proxy"


def test_the_twins_raise_the_same_messages():
    def outcomes(impl: ModuleType) -> list[tuple[str, str]]:
        proxy = wrap(impl, Account())
        opaque = wrap(impl, Account(), OPAQUE)
        found = []
        for attempt in (
            lambda: proxy.secret, lambda: proxy._x, lambda: proxy.co_code,
            lambda: setattr(proxy, "name", 1), lambda: delattr(proxy, "name"),
            lambda: opaque(), lambda: opaque[1], lambda: len(opaque), lambda: iter(opaque),
            lambda: 1 in opaque, lambda: proxy.fail(), lambda: proxy["nope"],
            lambda: copy.copy(proxy), lambda: impl.unwrap(1), lambda: impl.Proxy(),
            lambda: wrap(impl, Account, OPAQUE)(), lambda: getattr(proxy, "x" * 300),
        ):
            try:
                attempt()
            except Exception as exc:  # collecting every outcome
                found.append((type(exc).__name__, str(exc)))
            else:
                found.append(("ok", ""))
        return found

    assert outcomes(_native) == outcomes(_pure)


# --- the C type only: no path to the target -------------------------------------------


def test_no_reflection_path_reaches_the_target_of_a_c_proxy():
    target = Account()
    proxy = wrap(_native, target)
    assert target not in gc.get_referents(proxy)
    assert not any(value is target for value in gc.get_referents(proxy))
    assert not hasattr(type(proxy), "__slots__")
    for attribute, value in vars(_native.Proxy).items():
        assert not isinstance(value, (types.MemberDescriptorType, types.GetSetDescriptorType)), attribute
    for name in ("target", "_sc_target", "__dict__", "checker", "membrane", "__self__"):
        with pytest.raises(AttributeError):
            object.__getattribute__(proxy, name)
    with pytest.raises(TypeError):
        object.__new__(_native.Proxy)
    with pytest.raises(TypeError):
        _native.Proxy.anything = 1  # type: ignore[attr-defined]


def test_cycles_through_the_checker_are_collected():
    checker = Checker({"name"})
    proxy = wrap(_native, Account(), checker)
    checker.readable = frozenset({proxy})  # type: ignore[assignment]  # proxy -> checker -> proxy
    probe = weakref.ref(checker)
    del checker, proxy
    gc.collect()
    assert probe() is None


def test_cycles_through_the_target_are_not_collected_which_is_documented():
    # Proxy_traverse does not visit the target (gc.get_referents must not
    # hand it out), so the collector cannot break this cycle.
    class Holder:
        proxy: Any = None

    holder = Holder()
    holder.proxy = wrap(_native, holder)
    probe = weakref.ref(holder)
    del holder
    gc.collect()
    assert probe() is not None
    probe().proxy = None  # type: ignore[union-attr]  # break it by hand
    assert probe() is None


def test_unwrap_and_make_proxy_take_positional_arguments_only():
    with pytest.raises(TypeError, match="takes exactly 3 arguments"):
        _native.make_proxy(1, 2)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        _native.unwrap(proxy=1)  # type: ignore[call-arg]


# --- is_plain -------------------------------------------------------------------------


PLAIN_CASES: list[tuple[Any, int, bool]] = [
    (1, 0, True), ("s", -5, True), (None, 0, True), ([], 0, False), ([], 1, True),
    ([1, "a", None], 1, True), ([[1]], 1, False), ([[1]], 2, True),
    ({"a": [1]}, 2, True), ({"a": [1]}, 1, False), ({(1,): 1}, 1, False), ({(1,): 1}, 2, True),
    ({1, 2}, 1, True), (frozenset({(1, 2)}), 2, True), (frozenset({(1, 2)}), 1, False),
    ((1, [2, {3: {4}}]), 4, True), ((1, [2, {3: {4}}]), 3, False),
    ([object()], 5, False), ([StrSubclass("x")], 5, False), ({"k": object()}, 5, False),
    ({StrSubclass("k"): 1}, 5, False), (range(3), 5, False), (bytearray(b"x"), 5, False),
    (1.5, 0, True), (b"x", 0, True), (1j, 5, False), ([True], 2**70, True), ([True], -2**70, False),
]


@pytest.mark.parametrize(("value", "depth", "expected"), PLAIN_CASES)
def test_is_plain(impl, value, depth, expected):
    assert impl.is_plain(value, frozenset(SCALARS), depth) is expected




def test_is_plain_agrees_with_the_membrane():
    from safecompile.guards import membrane

    deep: Any = 1
    values = [value for value, _, _ in PLAIN_CASES]
    for _level in range(105):
        deep = [deep]
        values.append(deep)
        values.append({"k": deep})
    for value in values:
        expected = reference_is_plain(value)
        assert membrane.is_plain(value) is expected
        for impl in IMPLS.values():
            assert impl.is_plain(value, membrane.SCALARS, membrane.MAX_DEPTH) is expected


def test_is_plain_checks_its_arguments(impl):
    with pytest.raises(TypeError) as info:
        impl.is_plain(1, {int}, 1)
    assert str(info.value) == "scalars must be a frozenset, not set"
    with pytest.raises(TypeError) as info:
        impl.is_plain(1, frozenset({int}), 1.0)
    assert str(info.value) == "max_depth must be an int, not float"


def test_is_plain_asks_only_types_for_their_hash():
    class Meta(type):
        def __hash__(cls) -> int:
            raise RuntimeError("hashed")

    odd = Meta("Odd", (), {})
    for impl in IMPLS.values():
        with pytest.raises(RuntimeError, match="hashed"):
            impl.is_plain([odd()], frozenset({int}), 3)


# --- Budget.enter_method ----------------------------------------------------------------

INF = float("inf")
OWNER = "script_module"


class Limit(Exception):
    pass


def script_function() -> None:
    pass


script_function.__module__ = OWNER
ScriptClass = type("ScriptClass", (), {"__module__": OWNER, "method": lambda self: None})
ScriptChild = type("ScriptChild", (ScriptClass,), {})  # its own __module__ is this module
OddModule = type("OddModule", (), {"__module__": StrSubclass(OWNER)})


def enter_outcome(impl: ModuleType, obj: Any, denied: Any = Denied) -> tuple[str, str]:
    budget = impl.Budget(100, INF, -1, Limit, OWNER, denied)
    try:
        budget.enter_method(obj)
    except Exception as exc:  # the outcome is what is compared
        outcome = (type(exc).__name__, str(exc))
    else:
        outcome = ("ok", "")
    assert budget.steps == 1
    return outcome


MESSAGE = ("a method of a script class was called with an object of type {} as its first "
           "argument; scripts may only call methods on their own objects (use @staticmethod "
           "for functions that take other values)")


@pytest.mark.parametrize(("obj", "owned"), [
    (ScriptClass(), True), (ScriptClass, True), (script_function, True),
    (ScriptChild(), False), (ScriptChild, False), (ScriptClass().method, False),
    (Account(), False), (Account, False), (1, False), (None, False), (int, False),
    (OddModule(), False), (len, False), (type, False), (Outer.Inner(), False),
])
def test_enter_method_accepts_only_the_scripts_own_objects(impl, obj, owned):
    outcome = enter_outcome(impl, obj)
    if owned:
        assert outcome == ("ok", "")
    else:
        assert outcome == ("Denied", MESSAGE.format(type(obj).__qualname__))
    assert enter_outcome(_native, obj) == enter_outcome(_pure, obj)


def test_enter_method_without_denied_raises_type_error(impl):
    budget = impl.Budget(100, INF, -1, Limit, OWNER)
    with pytest.raises(TypeError) as info:
        budget.enter_method(Account())
    assert str(info.value) == MESSAGE.format("Account")


def test_enter_method_with_the_default_owner_owns_nothing_named(impl):
    budget = impl.Budget(100, INF, -1, Limit, denied=Denied)
    with pytest.raises(Denied):
        budget.enter_method(ScriptClass())
    empty = type("Empty", (), {"__module__": ""})
    assert budget.enter_method(empty()) is None


def test_enter_method_counts_a_step_and_the_recursion_first(impl):
    budget = impl.Budget(1, INF, -1, Limit, OWNER, Denied)
    budget.enter_method(ScriptClass())
    with pytest.raises(Limit):
        budget.enter_method(Account())  # the step limit wins over the ownership check
    with pytest.raises(Limit):
        budget.enter_method(ScriptClass())


def test_enter_method_raises_what_denied_returns_as_raise_would(impl):
    assert enter_outcome(impl, 1, lambda message: ValueError("x")) == ("ValueError", "x")
    assert enter_outcome(impl, 1, lambda message: ValueError) == ("ValueError", "")
    assert enter_outcome(impl, 1, lambda message: "text") == (
        "TypeError", "exceptions must derive from BaseException")


def test_budget_checks_the_new_arguments(impl):
    with pytest.raises(TypeError) as info:
        impl.Budget(1, INF, 1, Limit, 5)
    assert str(info.value) == "owner_module must be a str, not int"
    with pytest.raises(TypeError) as info:
        impl.Budget(1, INF, 1, Limit, StrSubclass("m"))
    assert str(info.value) == "owner_module must be a str, not StrSubclass"
    with pytest.raises(TypeError) as info:
        impl.Budget(1, INF, 1, Limit, "m", 5)
    assert str(info.value) == "denied must be callable or None, not int"
    assert impl.Budget(1, INF, 1, Limit, owner_module="m", denied=None).steps == 0


def _ownership_samples() -> list[Any]:
    """Objects a method's first argument can be: the script's own (functions,
    classes, instances, nested classes), foreign ones, and the odd cases."""
    glb: dict[str, Any] = {"__name__": OWNER}
    exec(
        "class Mine:\n    class Nested:\n        pass\n    def m(self):\n        pass\n"
        "def f():\n    pass\nclass Sub(Mine):\n    pass\n"
        "import collections\nPoint = collections.namedtuple('Point', 'x y')\n",
        glb,
    )
    mine = glb["Mine"]
    return [
        mine, mine(), mine.Nested, mine.Nested(), glb["f"], mine().m, mine.m, glb["Sub"],
        glb["Sub"](), glb["Point"], glb["Point"](1, 2), lambda: None, ScriptClass,
        ScriptClass(), ScriptChild(), OddModule(), script_function, 1, "s", [], None, int,
        type, len, Account(), Account, types, sys, wrap(_native, Account()),
        wrap(_pure, Account()), object(), Outer.Inner, Outer.Inner(),
    ]


def test_enter_method_owns_exactly_what_the_access_guard_owns():
    from safecompile.guards.access import Ownership

    ownership = Ownership(OWNER)
    for obj in _ownership_samples():
        owned = ownership.owns(obj)
        for impl in IMPLS.values():
            outcome = enter_outcome(impl, obj)
            assert (outcome == ("ok", "")) is owned, (impl.__name__, obj)


def test_enter_method_names_proxies_by_their_target_and_modules_as_module(impl):
    from safecompile.guards.access import type_name

    for obj, shown in ((wrap(impl, Account()), "Account"), (wrap(impl, Account), "class Account"),
                       (sys, "module"), (types.ModuleType("m"), "module")):
        assert enter_outcome(impl, obj) == ("Denied", MESSAGE.format(shown))
    # the message names what access.type_name names, for the guards in use
    from safecompile.guards import impl as active

    for obj in (wrap(active, Account()), sys, Account(), 1):
        assert enter_outcome(active, obj) == ("Denied", MESSAGE.format(type_name(obj)))


def test_a_method_entry_counts_as_deep_as_a_function_entry(impl):
    def depth_reached(entry: str) -> int:
        budget = impl.Budget(-1, INF, 30, Limit, OWNER, Denied)
        owned = ScriptClass()
        reached = 0

        def recurse(level: int) -> None:
            nonlocal reached
            if entry == "enter":
                budget.enter()
            elif entry == "enter_site":
                budget.enter_site(None)
            else:
                budget.enter_method(owned)
            reached = level
            recurse(level + 1)

        with pytest.raises(Limit):
            recurse(1)
        return reached

    assert depth_reached("enter") == depth_reached("enter_method")
    assert depth_reached("enter") == depth_reached("enter_site")


def _script_classes(count: int) -> list[type]:
    return [type(f"C{i}", (), {"__module__": OWNER}) for i in range(count)]


def test_enter_method_remembers_owned_classes_without_changing_any_answer(impl):
    # The C twin keeps the last few owned classes to skip the type-dict
    # lookup; a long, mixed sequence on one Budget must give, call by call,
    # what a fresh Budget gives for the same object.
    classes = _script_classes(7)
    owned = [cls() for cls in classes]
    foreign = [ScriptChild(), Account(), OddModule(), ScriptClass().method, 1, int]
    twice = [obj for obj in foreign for _ in range(2)]
    sequence = owned + twice + owned[::-1] + foreign + owned[:2] * 3 + twice
    budget = impl.Budget(-1, INF, -1, Limit, OWNER, Denied)
    for obj in sequence:
        try:
            budget.enter_method(obj)
        except Denied as exc:
            outcome = ("Denied", str(exc))
        else:
            outcome = ("ok", "")
        assert outcome == enter_outcome(impl, obj), obj
    assert budget.steps == len(sequence)


def test_enter_method_owned_class_cache_does_not_keep_classes_alive(impl):
    import gc
    import weakref

    (cls,) = _script_classes(1)
    budget = impl.Budget(-1, INF, -1, Limit, OWNER, Denied)
    budget.enter_method(cls())
    # the class's method globals hold the budget: a cycle through the cache
    cls.hold = budget
    dead = weakref.ref(cls)
    del cls, budget
    gc.collect()
    assert dead() is None


def test_scripts_see_the_same_method_entry_errors_through_safe_exec():
    from safecompile import AccessDenied, safe_exec
    from safecompile.guards.membrane import Grant

    source = "class A:\n    def m(self):\n        return 1\n"
    assert safe_exec(source + "print(A().m())").output == "1\n"
    for call, shown in (("A.m(3)", "int"), ("A.m(acct)", "Account"), ("import math\nA.m(math)", "module")):
        with pytest.raises(AccessDenied) as info:
            safe_exec(source + call, {"acct": Grant(Account(), allow=["name"])})
        assert str(info.value) == MESSAGE.format(shown)


# --- reference counting (C) -------------------------------------------------------------


def _every_operation(proxy: Any, opaque: Any, other: Any) -> None:
    def attempt(fn: Any) -> None:
        with contextlib.suppress(Denied, Sanitized, TypeError, ValueError):
            fn()

    proxy.name  # noqa: B018 - the read is the operation
    proxy.deposit(0)
    proxy.balance = 10
    proxy(1)
    proxy.echo(1, [2], k=other)
    proxy["a"]
    len(proxy)
    list(proxy)
    "a" in proxy  # noqa: B015
    bool(proxy)
    proxy == other  # noqa: B015
    proxy != opaque  # noqa: B015
    hash(proxy)
    repr(proxy)
    str(proxy)
    format(proxy, ">3")
    dir(proxy)
    proxy.__class__  # noqa: B018 - the read is the operation
    _native.unwrap(proxy)
    for fn in (
        lambda: proxy.secret, lambda: proxy._x, lambda: proxy.co_x, lambda: proxy.broken,
        lambda: proxy.fail(), lambda: setattr(proxy, "name", 1), lambda: delattr(proxy, "x"),
        lambda: setattr(proxy, "balance", object()), lambda: proxy["zzz"],
        lambda: proxy.__setitem__(1, 2), lambda: opaque(), lambda: opaque[1], lambda: len(opaque),
        lambda: iter(opaque), lambda: 1 in opaque, lambda: "boom" in proxy, lambda: copy.copy(proxy),
        lambda: getattr(proxy, StrSubclass("name")), lambda: proxy < proxy,
        lambda: type(proxy).__format__(proxy, 1), lambda: _native.unwrap(1), lambda: _native.Proxy(),
    ):
        attempt(fn)


def test_c_proxy_operations_leak_no_references_or_memory():
    target, other_target = Account(), Account("bob")
    checker = Account._checker  # type: ignore[attr-defined]
    membrane = Membrane(_native)
    proxy = _native.make_proxy(target, checker, membrane)
    opaque = _native.make_proxy(target, OPAQUE, membrane)
    other = _native.make_proxy(other_target, OPAQUE, membrane)
    tracemalloc.start()
    try:
        for _ in range(2_000):  # warm up caches, interned strings, free lists
            _every_operation(proxy, opaque, other)
        gc.collect()
        counts = [sys.getrefcount(o) for o in (target, other_target, checker, membrane)]
        blocks = sys.getallocatedblocks()
        start, _ = tracemalloc.get_traced_memory()
        for _ in range(100_000):  # ~40 s: tracemalloc traces every allocation
            _every_operation(proxy, opaque, other)
        gc.collect()
        end, _ = tracemalloc.get_traced_memory()
        blocks = sys.getallocatedblocks() - blocks
    finally:
        tracemalloc.stop()
    assert [sys.getrefcount(o) for o in (target, other_target, checker, membrane)] == counts
    # 100,000 rounds of ~45 operations: a leak of one small object per round
    # would show as megabytes and 100,000 blocks; allow a little noise.
    assert end - start < 64 * 1024, (start, end)
    assert blocks < 1_000, blocks
    print(f"refleak: refcounts {counts} unchanged, traced memory {start} -> {end} bytes, "
          f"allocated blocks {blocks:+d}")
