"""guards/imports.py and guards/modules.py: the guarded import, read-only
module views, per-run ``random`` and ``decimal``, restricted-source modules."""

from __future__ import annotations

import decimal
import random
import subprocess
import sys
import textwrap

import pytest

from safecompile import (
    AccessDenied,
    CompileRejected,
    ImportDenied,
    Policy,
    ScriptError,
    safe_exec,
)
from safecompile.guards.modules import ModuleView, allowed_names, known_modules
from safecompile.policy import DEFAULT_MODULES


def output(source: str, **kwargs) -> str:
    return safe_exec(textwrap.dedent(source), **kwargs).output


def test_import_denied_is_an_import_error_and_an_access_denied():
    assert issubclass(ImportDenied, ImportError)
    assert issubclass(ImportDenied, AccessDenied)


@pytest.mark.parametrize(
    "module",
    [
        "os",
        "sys",
        "subprocess",
        "ctypes",
        "gc",
        "inspect",
        "importlib",
        "builtins",
        "io",
        "pickle",
        "marshal",
        "types",
        "socket",
        "threading",
        "os.path",
        "collections.abc",
        "posix",
        "_io",
        "weakref",
        "codecs",
        "copyreg",
    ],
)
def test_modules_outside_the_policy_are_refused_with_import_denied(module):
    with pytest.raises(ImportDenied):
        safe_exec(f"import {module}")


def test_a_policy_cannot_allow_a_module_the_library_has_no_view_for():
    with pytest.raises(ImportDenied):
        safe_exec("import os", policy=Policy().with_modules("os"))


def test_a_policy_can_narrow_the_importable_modules():
    policy = Policy(modules=frozenset({"math"}))
    assert output("import math\nprint(math.floor(2.5))", policy=policy) == "2\n"
    with pytest.raises(ImportDenied):
        safe_exec("import json", policy=policy)


def test_scripts_probing_for_modules_with_except_import_error_keep_working():
    assert output("""
try:
    import os
except ImportError:
    os = None
try:
    from string import Formatter
except ImportError as error:
    Formatter = None
    kind = type(error) is ImportError
try:
    import numpy
except ModuleNotFoundError:
    print('module not found')
except ImportError:
    print('import error')
print(os, Formatter)
""") in ("import error\nNone None\n", "module not found\nNone None\n")


def test_imports_inside_functions_are_guarded_too():
    with pytest.raises(ImportDenied):
        safe_exec("def sneaky():\n    import os\n    return os\nsneaky()")


# --- module views -----------------------------------------------------------------


def test_allowed_names_of_the_default_modules_work():
    assert output("""
import math, cmath, fractions, statistics, string, json, datetime, itertools
import functools, collections, heapq, bisect, textwrap, operator, dataclasses, enum, typing
print(math.sqrt(16), cmath.sqrt(-1), fractions.Fraction(1, 3) * 3)
print(statistics.mean([1, 2, 3]), string.ascii_lowercase[:3], json.loads('[1]'))
print(datetime.timedelta(days=1).total_seconds(), list(itertools.islice(itertools.count(), 3)))
print(functools.reduce(operator.add, [1, 2, 3]), collections.Counter('aab')['a'])
h = [3, 1, 2]
heapq.heapify(h)
print(heapq.heappop(h), bisect.bisect([1, 3], 2), textwrap.shorten('hello big world', 11))
@dataclasses.dataclass
class P:
    x: int
class C(enum.Enum):
    A = 1
print(P(1), C.A.name, typing.Optional[int])
""") == (
        "4.0 1j 1\n2 abc [1]\n86400.0 [0, 1, 2]\n6 2\n1 1 hello [...]\n"
        "P(x=1) A typing.Optional[int]\n"
    )


DATACLASS_KINDS = """
import dataclasses
import typing
from typing import ClassVar
from dataclasses import InitVar, KW_ONLY
@dataclasses.dataclass
class P:
    x: int = 0
    c: ClassVar[int] = 5
    d: typing.ClassVar[int] = 6
    i: InitVar[int] = 1
    j: dataclasses.InitVar[int] = 1
    _: KW_ONLY
    k: int = 2
    def __post_init__(self, i, j):
        self.x += i + j
print(P(1), P(1, 2, 3, k=4), [(f.name, f.type) for f in dataclasses.fields(P)], P.c, P.d)
"""


def test_dataclass_tells_classvar_initvar_and_kw_only_apart():
    # as in plain Python: c and d are class variables, i and j reach
    # __post_init__ only, k is keyword-only
    assert output(DATACLASS_KINDS) == (
        "P(x=3, k=2) P(x=6, k=4) [('x', <class 'int'>), ('k', <class 'int'>)] 5 6\n"
    )


def test_dataclass_with_string_annotations():
    # `from __future__ import annotations`: dataclasses resolves the strings
    # through sys.modules, which the script is not in; the view resolves
    # them in the script's namespace, and the fields keep the strings
    assert output("from __future__ import annotations\n" + DATACLASS_KINDS) == (
        "P(x=3, k=2) P(x=6, k=4) [('x', 'int'), ('k', 'int')] 5 6\n"
    )
    assert output("""
import dataclasses
@dataclasses.dataclass(order=True)
class Q:
    name: 'str'
    size: 'list[int]' = dataclasses.field(default_factory=list)
q = Q('a')
print(q, q < Q('b'), [f.type for f in dataclasses.fields(q)])
""") == "Q(name='a', size=[]) True ['str', 'list[int]']\n"


def test_dataclass_string_annotations_do_not_resolve_through_other_objects():
    # `obj.ClassVar` where obj is not a module view is an ordinary field's
    # type: the lookup reads module views only, never an object's attributes
    assert output("""
import dataclasses
class Holder:
    ClassVar = 1
holder = Holder()
@dataclasses.dataclass
class P:
    x: 'holder.ClassVar' = 0
print(P(), [f.name for f in dataclasses.fields(P)])
""") == "P(x=0) ['x']\n"


EXCLUDED = [
    ("typing", "get_type_hints"),
    ("typing", "ForwardRef"),
    ("typing", "sys"),
    ("string", "Formatter"),
    ("functools", "singledispatch"),
    ("json", "codecs"),
    ("json", "decoder"),
    ("dataclasses", "sys"),
    ("enum", "sys"),
    ("statistics", "sys"),
    ("re", "purge"),
    ("random", "_inst"),
]


@pytest.mark.parametrize(("module", "name"), EXCLUDED)
def test_module_views_refuse_names_they_do_not_offer(module, name):
    with pytest.raises(AccessDenied):
        safe_exec(f"import {module}\nx = getattr({module}, {name!r})")


@pytest.mark.parametrize(
    ("module", "name"), [item for item in EXCLUDED if not item[1].startswith("_")]
)
def test_module_views_refuse_unoffered_names_on_attribute_access(module, name):
    with pytest.raises(AccessDenied):
        safe_exec(f"import {module}\nx = {module}.{name}")


@pytest.mark.parametrize(("module", "name"), EXCLUDED)
def test_from_import_of_a_name_a_view_does_not_offer_raises_import_denied(module, name):
    with pytest.raises(ImportDenied):
        safe_exec(f"from {module} import {name}")


@pytest.mark.parametrize(("module", "name"), EXCLUDED)
def test_offered_names_never_include_the_excluded_ones(module, name):
    assert name not in allowed_names(module)


def test_no_view_offers_a_module_object():
    for module in known_modules():
        result = safe_exec(f"import {module}\nnames = dir({module})")
        for name in result.namespace["names"]:
            assert (
                type(
                    safe_exec(f"import {module}\nx = {module}.{name}").namespace.get(
                        "x"
                    )
                ).__name__
                != "module"
            ), f"{module}.{name}"


def test_module_views_are_read_only():
    for source in (
        "import math\nmath.pi = 3",
        "import math\ndel math.pi",
        "import json\nsetattr(json, 'dumps', print)",
    ):
        with pytest.raises(AccessDenied):
            safe_exec(source)


def test_a_script_cannot_derive_a_class_from_a_module_view():
    with pytest.raises(AccessDenied):
        safe_exec("import math\nclass M(math):\n    pass")


def test_module_views_are_module_objects_that_offer_only_reviewed_names():
    result = safe_exec("import json")
    view = result.namespace["json"]
    assert isinstance(view, ModuleView)
    assert "codecs" not in dir(view)
    with pytest.raises(AccessDenied):
        view.decoder  # noqa: B018


# --- random is per run -----------------------------------------------------------


def test_seeding_random_in_a_script_does_not_touch_the_hosts_random():
    state = random.getstate()
    safe_exec(
        "import random\nrandom.seed(1234)\nx = [random.random() for _ in range(5)]"
    )
    assert random.getstate() == state


def test_two_runs_with_the_same_seed_agree():
    source = "import random\nrandom.seed(42)\nprint(random.random(), random.randint(1, 100), random.choice('abcdef'))"
    assert output(source) == output(source)


def test_from_import_of_random_functions_uses_the_runs_generator():
    first = output("from random import seed, random\nseed(7)\nprint(random())")
    second = output("import random\nrandom.seed(7)\nprint(random.random())")
    assert first == second


def test_a_script_does_not_draw_from_the_hosts_random_stream():
    twin = random.Random()  # noqa: S311 - mirrors the host's random stream
    twin.setstate(random.getstate())
    host_next = twin.random()
    value = safe_exec("import random\nx = random.random()").namespace["x"]
    assert value != host_next


# --- decimal is per run ----------------------------------------------------------


def test_decimal_context_changes_inside_a_run_do_not_leak():
    host = repr(decimal.getcontext())
    assert (
        output("""
import decimal
decimal.getcontext().prec = 3
decimal.getcontext().rounding = decimal.ROUND_DOWN
print(decimal.Decimal(2) / 3)
decimal.setcontext(decimal.Context(prec=2))
print(decimal.Decimal(2) / 3)
""")
        == "0.666\n0.67\n"
    )
    assert repr(decimal.getcontext()) == host
    assert output("import decimal\nprint(decimal.getcontext().prec)") == "28\n"


def test_decimal_default_context_changes_do_not_reach_the_next_run():
    output("import decimal\ndecimal.DefaultContext.prec = 5")
    assert output("import decimal\nprint(decimal.DefaultContext.prec)") == "28\n"


# --- restricted-source modules ---------------------------------------------------


UTIL = Policy(sources={"util": "def f():\n    return 1\n_hidden = 2\nlimit = 10\n"})


def test_a_source_module_offered_by_the_host_can_be_imported():
    assert (
        output(
            "import util\nfrom util import f, limit\nprint(util.f(), f(), limit)",
            policy=UTIL,
        )
        == "1 1 10\n"
    )


def test_a_source_modules_private_names_are_not_offered():
    with pytest.raises(ImportDenied):
        safe_exec("from util import _hidden", policy=UTIL)
    with pytest.raises(AccessDenied):
        safe_exec("import util\nx = util._hidden", policy=UTIL)


def test_a_source_module_is_compiled_under_the_same_rules():
    policy = Policy(sources={"bad": "x = ().__class__\n"})
    with pytest.raises(CompileRejected):
        safe_exec("import bad", policy=policy)


def test_a_source_module_is_guarded_at_run_time_like_a_script():
    policy = Policy(sources={"probe": "import os\n"})
    with pytest.raises(ImportDenied):
        safe_exec("import probe", policy=policy)


def test_a_source_module_shares_the_runs_budget():
    policy = Policy(sources={"spin": "def forever():\n    while True:\n        pass\n"})
    from safecompile import LimitExceeded

    with pytest.raises(LimitExceeded):
        safe_exec(
            "import spin\nspin.forever()", policy=policy, limits={"steps": 10_000}
        )


def test_circular_source_modules_are_refused():
    policy = Policy(sources={"a": "import b\n", "b": "import a\n"})
    with pytest.raises(ImportDenied):
        safe_exec("import a", policy=policy)


def test_a_source_module_is_loaded_once_per_run():
    policy = Policy(sources={"noisy": "print('loading')\nvalue = 1\n"})
    assert (
        output(
            "import noisy\nimport noisy\nfrom noisy import value\nprint(value)",
            policy=policy,
        )
        == "loading\n1\n"
    )


def test_a_source_module_error_is_a_script_error():
    policy = Policy(sources={"broken": "x = 1 / 0\n"})
    with pytest.raises(ScriptError) as caught:
        safe_exec("import broken", policy=policy)
    assert caught.value.type_name == "ZeroDivisionError"


def test_source_module_names_must_be_identifiers_and_texts_must_be_str():
    with pytest.raises(TypeError):
        Policy(sources={"not a name": "x = 1"})
    with pytest.raises(TypeError):
        Policy(sources={"mod": b"x = 1"})


# --- the re module --------------------------------------------------------------


def test_re_works_and_catastrophic_backtracking_never_holds_the_host():
    from safecompile import LimitExceeded

    assert (
        output(
            "import re\nprint(re.sub(r'\\d+', '#', 'a1b22'), re.findall('a.', 'abacad'))"
        )
        == "a#b# ['ab', 'ac', 'ad']\n"
    )
    with pytest.raises((LimitExceeded, AccessDenied)):
        safe_exec(
            "import re\nre.match(r'(a+)+$', 'a' * 40 + 'b')", limits={"time": 0.3}
        )


FIRST_USE = textwrap.dedent("""
    import builtins, copyreg, importlib, sys
    MODULES = {modules!r}

    def snapshot():
        state = {{"builtins": dict(vars(builtins)), "copyreg": dict(copyreg.dispatch_table)}}
        for name in MODULES:
            module = importlib.import_module(name)
            state[name] = dict(vars(module))
            for attr in dir(module):
                value = getattr(module, attr, None)
                if not attr.startswith("_") and isinstance(value, type):
                    state[name + "." + attr] = dict(vars(value))
        return state

    def changes(before, after):
        found = []
        for key, table in before.items():
            other = after[key]
            if table.keys() != other.keys() or any(other[k] is not v for k, v in table.items()):
                found.append((key, sorted(set(other) ^ set(table))))
        return found

    import safecompile  # its own imports (regex registers with copyreg) are the host's choice
    after_import = snapshot()
    safecompile.safe_exec("import " + ", ".join(MODULES) + "\\nx = list(itertools.islice(itertools.count(), 3))")
    print(changes(after_import, snapshot()))
""")


def test_first_imports_of_every_module_leave_the_stdlib_unchanged():
    modules = sorted(DEFAULT_MODULES)
    # The child is this interpreter running fixed code.
    child = subprocess.run(  # noqa: S603
        [sys.executable, "-c", FIRST_USE.format(modules=modules)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert child.stdout == "[]\n", child.stderr


def test_importing_re_in_a_script_leaves_copyreg_alone():
    probe = textwrap.dedent("""
        import copyreg
        import safecompile
        before = dict(copyreg.dispatch_table)
        safecompile.safe_exec("import re\\nre.compile('a')")
        print(dict(copyreg.dispatch_table) == before)
    """)
    # The child is this interpreter running fixed code.
    child = subprocess.run(  # noqa: S603
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert child.stdout == "True\n", child.stderr
