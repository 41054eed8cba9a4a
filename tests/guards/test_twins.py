"""The C guards and their pure twins behave the same: a hypothesis state
machine wraps the same host values in both ``Proxy`` types and applies the
same sequence of operations to both, comparing every outcome ("ok" and a
normalised value, or "raised" with the exception's type name and text).  It
drives ``Budget.enter_method`` and ``is_plain`` of both twins too.

Each twin gets its own copy of every host value (built twice from the same
recipe), so operations with side effects (a deposit, an attribute write)
happen once per twin and the two worlds stay in step.

Examples: at least 2000 in CI (``CI=true``, as ``.ci/run`` sets, or
``HYPOTHESIS_PROFILE=ci``; the loaded profile's other settings apply), 75
by default.
"""

from __future__ import annotations

import copy
import datetime
import decimal
import fractions
import os
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, multiple, rule

from safecompile.guards import _native, _pure

IMPLS: dict[str, ModuleType] = {"native": _native, "pure": _pure}
INF = float("inf")
OWNER = "twin_script"


# --- the local membrane (tests/guards/local_membrane.py) ------------------------------

from local_membrane import (  # noqa: E402
    CALLABLE,
    OPAQUE,
    SCALARS,
    Checker,
    Denied,
    Membrane,
    reference_is_plain,
)

# --- host values, built from recipes ------------------------------------------------------

NAMES = ["name", "balance", "deposit", "fail", "child", "items", "broken", "missing",
         "_secret", "__dict__", "__class__", "__init__", "co_code", "f_back", "mro", "x" * 90]
PROTOCOLS = ["__call__", "__getitem__", "__len__", "__iter__", "__contains__", "__str__"]


def make_account_class() -> type:
    class Account:
        checker = Checker(["name", "balance", "deposit", "fail", "child", "items", "broken",
                           "missing", *PROTOCOLS], ["balance", "name", "missing"])
        class_checker = Checker(["deposit"], construct=True)

        def __init__(self, name: Any = "alice", balance: Any = 10) -> None:
            self.name = name
            self.balance = balance
            self.items = ["a", 1]
            self._secret = "HOST"  # noqa: S105 - a value scripts must not read

        def deposit(self, amount: Any) -> Any:
            self.balance = self.balance + amount
            return self.balance

        def fail(self, *args: Any) -> None:
            raise ValueError(self, *args)

        def child(self) -> Any:
            return type(self)("child", 0)

        @property
        def broken(self) -> None:
            raise KeyError(self)

        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            return [list(args), kwargs]

        def __getitem__(self, key: Any) -> Any:
            return self.items[key]

        def __len__(self) -> int:
            return len(self.items)

        def __iter__(self) -> Iterator[Any]:
            return iter([*self.items, self])

        def __contains__(self, item: Any) -> bool:
            return item in self.items

        def __str__(self) -> str:
            return f"Account {self.name}"

    return Account


def make_function() -> Callable[..., Any]:
    def host_function(*args: Any, **kwargs: Any) -> Any:
        if args and args[0] == "fail":
            raise LookupError(args)
        return [len(args), sorted(kwargs)]

    return host_function


RECIPES: dict[str, Callable[[], tuple[Any, Checker]]] = {
    "account": lambda: ((cls := make_account_class())(), cls.checker),
    "account, opaque": lambda: (make_account_class()(), OPAQUE),
    "account, everything": lambda: (make_account_class()(), Checker(NAMES + PROTOCOLS, NAMES)),
    "account class": lambda: ((cls := make_account_class()), cls.class_checker),
    "account class, callable": lambda: (make_account_class(), CALLABLE),
    "function": lambda: (make_function(), CALLABLE),
    "function, opaque": lambda: (make_function(), OPAQUE),
    "builtin": lambda: (len, CALLABLE),
    "list": lambda: (["x", 2, None], Checker(PROTOCOLS)),
    "dict": lambda: ({"k": 1, 2: [3]}, Checker([*PROTOCOLS, "keys", "get"])),
    "int": lambda: (7, Checker([*PROTOCOLS, "real", "bit_length"])),
    "str": lambda: ("text", Checker([*PROTOCOLS, "upper", "format"])),
}

PLAIN_ARGUMENTS = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from(["a", "k", "fail", "x" * 90]),
    st.lists(st.integers(0, 2), max_size=2),
)


def normalise(value: Any, impl: ModuleType) -> Any:
    kind = type(value)
    if kind is impl.Proxy:
        return ("proxy", repr(value), type(impl.unwrap(value)).__qualname__)
    if kind in (list, tuple):
        return (kind.__name__, [normalise(item, impl) for item in value])
    if kind is dict:
        return ("dict", [(normalise(k, impl), normalise(v, impl)) for k, v in value.items()])
    if kind in SCALARS:
        return value
    if isinstance(value, Iterator):
        return ("iterator", [normalise(item, impl) for item in value])
    return ("object", kind.__qualname__)


def outcome(impl: ModuleType, fn: Callable[[], Any]) -> tuple[Any, ...]:
    try:
        value = fn()
    except Exception as exc:  # the outcome is what is compared
        return ("raised", type(exc).__name__, str(exc))
    return ("ok", normalise(value, impl))


# --- plain data for is_plain --------------------------------------------------------------


class StrSubclass(str):
    pass


class Thing:
    pass


HASHABLE_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=3),
    st.binary(max_size=3), st.sampled_from([
        datetime.date(2024, 1, 2), decimal.Decimal("1.5"), fractions.Fraction(1, 3), 1j,
        StrSubclass("s"), range(2), Thing, int,
    ]),
)
UNHASHABLE_OTHERS = st.sampled_from([bytearray(b"x"), Thing(), [Thing()]])


# Named functions, not lambdas: hypothesis reads an extend function's source
# to check that it recurses, and a lambda inside a multi-line call can come
# back as the wrong lines (a HypothesisDeprecationWarning, an error here).
def _hashable_containers(inner: Any) -> Any:
    return st.tuples(inner) | st.frozensets(inner, max_size=3)


def _plain_containers(inner: Any) -> Any:
    return (st.lists(inner, max_size=3) | st.tuples(inner, inner)
            | st.dictionaries(HASHABLES, inner, max_size=3)
            | st.sets(HASHABLES, max_size=3) | st.frozensets(HASHABLES, max_size=3))


HASHABLES = st.recursive(HASHABLE_SCALARS, _hashable_containers, max_leaves=8)
PLAIN_VALUES = st.recursive(HASHABLES | UNHASHABLE_OTHERS, _plain_containers, max_leaves=12)
SCALAR_SETS = st.sampled_from([
    frozenset(), frozenset(SCALARS), frozenset({int, bool}),
    frozenset({type(None), bool, int, float, complex, str, bytes, datetime.date,
               decimal.Decimal, fractions.Fraction}),
])




# --- objects for enter_method -------------------------------------------------------------


def _owned_function() -> None:
    pass


_owned_function.__module__ = OWNER
_Owned = type("Owned", (), {"__module__": OWNER, "method": lambda self: None})
METHOD_FIRST_ARGUMENTS = [
    _owned_function, _Owned, _Owned(), _Owned().method, type("Sub", (_Owned,), {})(),
    type("OddModule", (), {"__module__": StrSubclass(OWNER)})(), make_function(), 1, None,
    "text", int, len, Thing(), Thing, make_account_class()(),
]


# --- the machine --------------------------------------------------------------------------


class TwinMachine(RuleBasedStateMachine):
    pairs = Bundle("pairs")

    def __init__(self) -> None:
        super().__init__()
        self.membranes = {name: Membrane(impl, "checker", "class_checker") for name, impl in IMPLS.items()}
        self.budgets = {
            name: impl.Budget(-1, INF, -1, RuntimeError, OWNER, Denied)
            for name, impl in IMPLS.items()
        }

    def both(self, pair: tuple[Any, Any], op: Callable[[ModuleType, Any], Any]) -> tuple[Any, Any]:
        """Apply op to each twin's proxy; the outcomes must be the same."""
        results = {}
        outcomes = {}
        for (name, impl), proxy in zip(IMPLS.items(), pair, strict=True):
            def call(impl: ModuleType = impl, proxy: Any = proxy, name: str = name) -> Any:
                results[name] = op(impl, proxy)
                return results[name]

            outcomes[name] = outcome(impl, call)
        assert outcomes["native"] == outcomes["pure"], op
        return results.get("native"), results.get("pure")

    def into_pair(self, results: tuple[Any, Any]) -> Any:
        native, pure = results
        if type(native) is _native.Proxy and type(pure) is _pure.Proxy:
            return multiple((native, pure))
        return multiple()

    # -- making proxies --
    @rule(target=pairs, recipe=st.sampled_from(sorted(RECIPES)))
    def wrap(self, recipe: str) -> tuple[Any, Any]:
        made = []
        for name, impl in IMPLS.items():
            target, checker = RECIPES[recipe]()
            made.append(impl.make_proxy(target, checker, self.membranes[name]))
        return tuple(made)

    # -- attributes --
    @rule(target=pairs, pair=pairs, name=st.sampled_from(NAMES + PROTOCOLS) | st.just(StrSubclass("name")))
    def getattr(self, pair: Any, name: str) -> Any:
        return self.into_pair(self.both(pair, lambda impl, p: getattr(p, name)))

    @rule(pair=pairs, name=st.sampled_from(NAMES) | st.just(StrSubclass("balance")),
          value=PLAIN_ARGUMENTS, other=st.none() | pairs, delete=st.booleans())
    def setattr(self, pair: Any, name: str, value: Any, other: Any, delete: bool) -> None:
        if delete:
            self.both(pair, lambda impl, p: delattr(p, name))
        elif other is None:
            self.both(pair, lambda impl, p: setattr(p, name, value))
        else:
            index = {_native: 0, _pure: 1}
            self.both(pair, lambda impl, p: setattr(p, name, other[index[impl]]))

    # -- calls --
    @rule(target=pairs, pair=pairs, args=st.lists(PLAIN_ARGUMENTS, max_size=3),
          kwargs=st.dictionaries(st.sampled_from(["k", "name", "balance"]), PLAIN_ARGUMENTS, max_size=2),
          smuggle=st.booleans())
    def call(self, pair: Any, args: list[Any], kwargs: dict[str, Any], smuggle: bool) -> Any:
        extra = [Thing()] if smuggle else []  # a script object: into() refuses it
        return self.into_pair(self.both(pair, lambda impl, p: p(*args, *extra, **kwargs)))

    # -- containers --
    @rule(target=pairs, pair=pairs, key=PLAIN_ARGUMENTS)
    def getitem(self, pair: Any, key: Any) -> Any:
        return self.into_pair(self.both(pair, lambda impl, p: p[key]))

    @rule(pair=pairs, key=PLAIN_ARGUMENTS, delete=st.booleans())
    def setitem(self, pair: Any, key: Any, delete: bool) -> None:
        def op(impl: ModuleType, p: Any) -> None:
            if delete:
                del p[key]
            else:
                p[key] = 1

        self.both(pair, op)

    @rule(pair=pairs)
    def length(self, pair: Any) -> None:
        self.both(pair, lambda impl, p: len(p))

    @rule(target=pairs, pair=pairs)
    def iterate(self, pair: Any) -> Any:
        results = self.both(pair, lambda impl, p: list(iter(p)))
        if results[0] is None:
            return multiple()
        found = [(a, b) for a, b in zip(*results, strict=True) if type(a) is _native.Proxy]
        return multiple(*found)

    @rule(pair=pairs, item=PLAIN_ARGUMENTS | st.just(Thing()))
    def contains(self, pair: Any, item: Any) -> None:
        self.both(pair, lambda impl, p: item in p)

    # -- identity and text --
    @rule(pair=pairs)
    def truth(self, pair: Any) -> None:
        self.both(pair, lambda impl, p: bool(p))

    @rule(pair=pairs, other=pairs)
    def compare(self, pair: Any, other: Any) -> None:
        index = {_native: 0, _pure: 1}
        self.both(pair, lambda impl, p: (p == other[index[impl]], p != other[index[impl]],
                                          p == 1, p != "x"))
        self.both(pair, lambda impl, p: p < other[index[impl]])

    @rule(pair=pairs)
    def hashing(self, pair: Any) -> None:
        self.both(pair, lambda impl, p: hash(p) == hash((impl.Proxy, id(impl.unwrap(p)))))

    @rule(pair=pairs, spec=st.sampled_from(["", ">30", "^5", "d", "s"]))
    def text(self, pair: Any, spec: str) -> None:
        self.both(pair, lambda impl, p: repr(p))
        self.both(pair, lambda impl, p: str(p))
        self.both(pair, lambda impl, p: format(p, spec))
        self.both(pair, lambda impl, p: f"{p}")
        self.both(pair, lambda impl, p: dir(p))

    @rule(pair=pairs)
    def reflection(self, pair: Any) -> None:
        self.both(pair, lambda impl, p: p.__class__ is impl.Proxy)
        self.both(pair, lambda impl, p: vars(p))
        self.both(pair, lambda impl, p: copy.copy(p))
        self.both(pair, lambda impl, p: type(p).__reduce_ex__(p, 2))
        self.both(pair, lambda impl, p: impl.unwrap(p))
        self.both(pair, lambda impl, p: impl.unwrap(impl.unwrap(p)))

    # -- Budget.enter_method --
    @rule(obj=st.sampled_from(METHOD_FIRST_ARGUMENTS))
    def enter_method(self, obj: Any) -> None:
        outcomes = {name: outcome(IMPLS[name], lambda budget=budget: budget.enter_method(obj))
                    for name, budget in self.budgets.items()}
        assert outcomes["native"] == outcomes["pure"]

    @invariant()
    def budgets_in_step(self) -> None:
        assert self.budgets["native"].steps == self.budgets["pure"].steps

    # -- is_plain --
    @rule(value=PLAIN_VALUES, scalars=SCALAR_SETS, max_depth=st.integers(-2, 5))
    def is_plain(self, value: Any, scalars: frozenset[type], max_depth: int) -> None:
        assert _native.is_plain(value, scalars, max_depth) is _pure.is_plain(value, scalars, max_depth)

    @rule(value=PLAIN_VALUES)
    def is_plain_like_the_membrane(self, value: Any) -> None:
        from safecompile.guards import membrane

        assert membrane.is_plain(value) is reference_is_plain(value)
        expected = reference_is_plain(value, holders=False)
        for impl in IMPLS.values():
            assert impl.is_plain(value, membrane.SCALARS, membrane.MAX_DEPTH) is expected


#: CI (``.ci/run`` exports CI=true) or the ci profile: at least 2000 examples
#: (about a minute); a local run takes 75.
IN_CI = os.environ.get("HYPOTHESIS_PROFILE") == "ci" or os.environ.get("CI", "").lower() in (
    "1", "true", "yes")
if IN_CI:
    TWIN_SETTINGS = settings(max_examples=max(2000, settings().max_examples))
else:
    TWIN_SETTINGS = settings(max_examples=75)  # on top of the loaded (dev) profile

TestTwins = TwinMachine.TestCase
TestTwins.settings = TWIN_SETTINGS
