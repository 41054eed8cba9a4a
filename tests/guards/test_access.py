"""guards/access.py: the one door for attribute access (getattr and friends,
underscore names, formatting, writes), what it refuses and what it allows."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from safecompile import AccessDenied, CompileRejected, ScriptError, safe_exec
from safecompile.guards.access import (
    Ownership,
    check_format_template,
    guards_for,
    safe_format,
)

GUARDS = guards_for("script")


def output(source: str, grants=None, **kwargs) -> str:
    return safe_exec(textwrap.dedent(source), grants, **kwargs).output


def denied(source: str, grants=None) -> AccessDenied:
    with pytest.raises(AccessDenied) as caught:
        safe_exec(textwrap.dedent(source), grants)
    return caught.value


OWN_CLASS = """
class Thing:
    def __init__(self):
        self._secret = "own"
        self.public = 1
thing = Thing()
"""


# --- dynamic access with names built at run time ------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        "getattr(1, '__cl' + 'ass__')",
        "getattr(thing, '__di' + 'ct__')",
        "getattr(thing, ''.join(['__', 'class', '__']))",
        "getattr(len, '__se' + 'lf__')",
        "getattr(print, '__' + 'globals__', None)",
        "getattr(thing, 'gi_' + 'frame')",
        "getattr(int, 'mr' + 'o')",
        "setattr(thing, '__cl' + 'ass__', int)",
        "setattr(thing, '__' + 'eq__', lambda a, b: True)",
        "delattr(thing, '__di' + 'ct__')",
        "getattr(1, '_' + 'x')",
    ],
)
def test_dynamic_access_refuses_forbidden_names_built_at_run_time(call):
    denied(OWN_CLASS + call)


def test_hasattr_answers_false_for_names_scripts_may_not_read():
    assert (
        output(
            OWN_CLASS
            + """
print(hasattr(1, '__cl' + 'ass__'), hasattr(thing, 'f_' + 'back'), hasattr('', '_' + 'x'))
print(hasattr(thing, '_secret'), hasattr(thing, 'public'), hasattr(1, 'real'), hasattr(1, 'nope'))
"""
        )
        == "False False False\nTrue True True False\n"
    )


def test_dynamic_access_allows_public_names_and_defaults():
    assert (
        output(
            OWN_CLASS
            + """
name = 'pub' + 'lic'
print(getattr(thing, name), getattr(1, 'real'), getattr(thing, 'missing', 'default'))
setattr(thing, name, 2)
print(thing.public)
delattr(thing, name)
print(hasattr(thing, name))
"""
        )
        == "1 1 default\n2\nFalse\n"
    )


@pytest.mark.parametrize(
    "trick", ["__eq__", "startswith", "__contains__", "__hash__", "__str__"]
)
@pytest.mark.parametrize(
    "use",
    [
        "getattr(1, name)",
        "hasattr(1, name)",
        "setattr(thing, name, 1)",
        "delattr(thing, name)",
    ],
)
def test_str_subclass_with_lying_methods_is_refused_as_an_attribute_name(trick, use):
    source = (
        OWN_CLASS
        + f"""
class Liar(str):
    def {trick}(self, *args):
        return {"'real'" if trick == "__str__" else "True" if trick != "__hash__" else "1"}
name = Liar('__class__')
{use}
"""
    )
    denied(source)


def test_guard_checks_the_name_by_exact_type_before_looking():
    class Liar(str):
        def startswith(self, *args):
            return False

        def __eq__(self, other):
            return False

        __hash__ = str.__hash__

    with pytest.raises(AccessDenied):
        GUARDS.getattr(1, Liar("__class__"))
    with pytest.raises(AccessDenied):
        GUARDS.getattr(1, b"real")
    assert GUARDS.getattr(1, "real") == 1


def test_guard_decides_before_touching_the_attribute():
    touched = []

    class HostThing:
        @property
        def _secret(self):
            touched.append("read")
            return "secret"

    with pytest.raises(AccessDenied):
        GUARDS.getattr(HostThing(), "_secret")
    assert GUARDS.hasattr(HostThing(), "_secret") is False
    assert touched == []


# --- underscore names: own objects yes, others no -------------------------------------------


def test_underscore_attributes_of_the_scripts_own_objects_are_allowed():
    assert (
        output(
            OWN_CLASS
            + """
thing._extra = 2
print(thing._secret, thing._extra, getattr(thing, '_secret'))
del thing._extra
def helper():
    pass
helper._tag = 'fn'
print(helper._tag, Thing._helper if hasattr(Thing, '_helper') else '-')
"""
        )
        == "own 2 own\nfn -\n"
    )


@pytest.mark.parametrize(
    "source",
    [
        "'text'._private",
        "(1)._x",
        "import json\njson.JSONEncoder._x",
        "import collections\ncollections.OrderedDict()._x",
        "import decimal\ndecimal.Decimal(1)._exp",
        "import random\nrandom._inst",
        "[]._x",
    ],
)
def test_underscore_attributes_of_other_objects_are_refused(source):
    with pytest.raises(AccessDenied):
        safe_exec(source)


def test_underscore_attribute_of_a_host_object_is_refused(host_account):
    denied("print(account._token)", {"account": host_account})
    denied("print(getattr(account, '_tok' + 'en'))", {"account": host_account})


def test_ownership_tells_script_objects_from_foreign_ones():
    owner = Ownership("script")
    foreign = Ownership("other")
    glb = {"__name__": "script"}
    exec("class Mine:\n    pass\ndef f():\n    pass\nm = Mine()", glb)
    for value in (glb["Mine"], glb["m"], glb["f"]):
        assert owner.owns(value)
        assert not foreign.owns(value)
    for value in (1, "s", [], int, len, Ownership, owner):
        assert not owner.owns(value)


# --- formatting is an attribute path ------------------------------------------------------


FORMAT_ATTACKS = {
    "str.format": "'{0._secret}'.format(thing)",
    "str.format dunder": "'{0.__class__}'.format(1)",
    "str.format keyword": "'{t._secret}'.format(t=thing)",
    "format_map": "'{t.__class__}'.format_map({'t': thing})",
    "stored bound format": "f = '{0.__class__}'.format\nf(1)",
    "str.format unbound": "str.format('{0.__class__}', 1)",
    "getattr format": "getattr('{0.__class__}', 'format')(1)",
    "partial": "import functools\nfunctools.partial(str.format, '{0.__class__}')(1)",
    "partial bound": "import functools\nfunctools.partial('{0._secret}'.format, thing)()",
    "methodcaller": "import operator\noperator.methodcaller('format', 1)('{0.__class__}')",
    "methodcaller format_map": (
        "import operator\noperator.methodcaller('format_map', {'a': 1})('{a.__class__}')"
    ),
    "nested spec": "'{0:{1.__class__}}'.format(1, 2)",
    "index then attribute": "'{0[0].__class__}'.format([1])",
    "str subclass": "class S(str):\n    pass\nS('{0.__class__}').format(1)",
    "internal attribute": "def g():\n    yield 1\n'{0.gi_frame}'.format(g())",
    "map over format": "list(map('{0.__class__}'.format, [1]))",
}


@pytest.mark.parametrize("attack", FORMAT_ATTACKS.values(), ids=FORMAT_ATTACKS.keys())
def test_formatting_refuses_fields_that_walk_guarded_attributes(attack):
    denied(OWN_CLASS + attack)


SECRET_FIELD = "{0.__globals__[importlib].sys.modules[os].environ[SC_TEST_SECRET]}"  # noqa: S105 - a format template, not a password
FORMAT_SIDE_DOORS = {
    "super of a str subclass instance": (
        "class S(str):\n    pass\nleak = super(S, S(TEMPLATE)).format(random.seed)"
    ),
    "super of a str subclass": (
        "class S(str):\n    pass\nleak = super(S, S).format(TEMPLATE, random.seed)"
    ),
    "super format_map": (
        "class S(str):\n    pass\nleak = super(S, S(TEMPLATE.replace('0', 'x'))).format_map({'x': random.seed})"
    ),
    "getattr on super": (
        "class S(str):\n    pass\nleak = getattr(super(S, S(TEMPLATE)), 'format')(random.seed)"
    ),
    "collections.UserString.format": (
        "import collections\nleak = collections.UserString(TEMPLATE).format(random.seed)"
    ),
    "collections.UserString.format_map": (
        "import collections\nleak = collections.UserString(TEMPLATE.replace('0', 'x')).format_map({'x': random.seed})"
    ),
    "self.format in a str subclass method": (
        "class S(str):\n    def f(self, x):\n        return self.format(x)\nleak = S(TEMPLATE).f(random.seed)"
    ),
    "super().format in a str subclass method": (
        "class S(str):\n    def f(self, x):\n        return super().format(x)\nleak = S(TEMPLATE).f(random.seed)"
    ),
    "subclass of UserString": (
        "import collections\nclass U(collections.UserString):\n    pass\nleak = U(TEMPLATE).format(random.seed)"
    ),
    "super of a UserString subclass": (
        "import collections\nclass U(collections.UserString):\n    pass\n"
        "leak = super(U, U(TEMPLATE)).format(random.seed)"
    ),
    "unbound UserString.format": (
        "import collections\nf = collections.UserString.format\nleak = f(collections.UserString(TEMPLATE), random.seed)"
    ),
    "attrgetter format": "import operator\nleak = operator.attrgetter('format')(TEMPLATE)(random.seed)",
    "methodcaller on UserString": (
        "import collections, operator\n"
        "leak = operator.methodcaller('format', random.seed)(collections.UserString(TEMPLATE))"
    ),
}


@pytest.mark.parametrize(
    "door", FORMAT_SIDE_DOORS.values(), ids=FORMAT_SIDE_DOORS.keys()
)
def test_no_formatting_side_door_reaches_attributes_the_guard_refuses(
    door, monkeypatch
):
    monkeypatch.setenv("SC_TEST_SECRET", "host-secret-4711")
    source = f"import random\nTEMPLATE = {SECRET_FIELD!r}\n" + door + "\nprint(leak)"
    try:
        result = safe_exec(source)
    except AccessDenied:
        return
    assert "host-secret-4711" not in result.output


def test_formatting_with_plain_fields_still_works():
    assert (
        output(
            OWN_CLASS
            + """
import functools, operator
print('{} {:>4} {x}'.format('a', 'b', x='c'), '{0}{1}{0}'.format('a', 'b'))
print('{0.public} {1.real} {1.imag}'.format(thing, 3))
print('{t.public} {d[k]}'.format_map({'t': thing, 'd': {'k': 'v'}}))
fmt = '{}-{}'.format
print(fmt(1, 2), str.format('{:03d}', 7), functools.partial(str.format, '{}!')(5))
print(operator.methodcaller('format', 9)('<{}>'), '{0[1]}'.format([4, 5]))
print(f'{thing.public:>3}|{3.14159:.2f}|{"x"!r}')
print(format(3.5, '.1f'), '%s %d' % ('a', 1))
"""
        )
        == "a    b c aba\n1 3 0\n1 v\n1-2 007 5!\n<9> 5\n  1|3.14|'x'\n3.5 a 1\n"
    )


def test_format_template_check_runs_before_any_argument_is_touched():
    touched = []

    class Tracker:
        @property
        def _x(self):
            touched.append(1)
            return 1

    with pytest.raises(AccessDenied):
        safe_format("{0._x}", Tracker())
    with pytest.raises(AccessDenied):
        check_format_template("{0.__globals__}")
    assert touched == []
    assert safe_format("{0} {1}", 1, 2) == "1 2"


# --- writes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "import math\nmath.pi = 3",
        "import math\nsetattr(math, 'pi', 3)",
        "import math\ndel math.pi",
        "import json\njson.dumps = print",
        "import json\njson.JSONEncoder.item_separator = ';'",
        "import collections\ncollections.OrderedDict.extra = 1",
        "import decimal\ndecimal.Decimal.extra = 1",
        "import textwrap\ntextwrap.TextWrapper.width = 1",
        "int.extra = 1",
        "setattr(str, 'upper', len)",
        "delattr(list, 'append')",
        "print.extra = 1",
        "len.extra = 1",
        "x = [1]\nx.extra = 1",
        "import math\nmath.sqrt.extra = 1",
        "obj = object()\nobj.extra = 1",
    ],
)
def test_writes_to_modules_builtins_and_stdlib_objects_are_refused(source):
    with pytest.raises(AccessDenied):
        safe_exec(source)


def test_writes_to_own_objects_classes_and_functions_are_allowed():
    assert (
        output(
            OWN_CLASS
            + """
thing.public = 5
Thing.shared = 'class'
def f():
    return 1
f.calls = 3
setattr(thing, 'dynamic', 7)
thing.count = 0
thing.count += 1
print(thing.public, thing.shared, f.calls, thing.dynamic, thing.count)
"""
        )
        == "5 class 3 7 1\n"
    )


def test_writes_to_decimal_contexts_and_text_wrappers_of_the_run_are_allowed():
    assert (
        output("""
import decimal, textwrap
ctx = decimal.Context()
ctx.prec = 5
with decimal.localcontext() as local:
    local.prec = 3
    print(decimal.Decimal(1) / 7)
decimal.getcontext().prec = 4
print(decimal.Decimal(2) / 3, ctx.prec)
wrapper = textwrap.TextWrapper()
wrapper.width = 5
print(wrapper.fill('aaa bbb ccc'))
""")
        == "0.143\n0.6667 5\naaa\nbbb\nccc\n"
    )


@pytest.mark.parametrize(
    "source",
    [
        "import decimal\ndecimal.DefaultContext.prec = 3\nprint(decimal.DefaultContext.prec)",
        "import decimal\ndecimal.BasicContext.prec = 3\nprint(decimal.BasicContext.prec)",
    ],
)
def test_decimal_template_contexts_changed_by_a_script_are_its_own_copies(source):
    assert output(source) == "3\n"


# --- dir, attrgetter, methodcaller ---------------------------------------------------


def test_dir_hides_dunders_internals_and_other_objects_private_names():
    assert (
        output(
            OWN_CLASS
            + """
names = dir(thing)
print('_secret' in names, 'public' in names, any(n.startswith('__') for n in names))
print(any(n.startswith('_') for n in dir(1)), 'real' in dir(1))
def g():
    yield 1
print([n for n in dir(g()) if n.startswith('gi_')])
"""
        )
        == "True True False\nFalse True\n[]\n"
    )


def test_dir_without_an_argument_is_refused():
    denied("dir()")


@pytest.mark.parametrize(
    "source",
    [
        "import operator\noperator.attrgetter('__class__')(1)",
        "import operator\noperator.attrgetter('real.__class__')(1)",
        "import operator\noperator.attrgetter('_x')('text')",
        "import operator\noperator.methodcaller('__reduce__')(1)",
        "import operator\noperator.methodcaller('_private')([])",
        "import operator\nlist(map(operator.attrgetter('__class__'), [1]))",
    ],
)
def test_operator_attrgetter_and_methodcaller_go_through_the_guard(source):
    denied(source)


def test_operator_attrgetter_and_methodcaller_still_work_on_public_names():
    assert (
        output(
            OWN_CLASS
            + """
import operator
print(operator.attrgetter('public')(thing), operator.attrgetter('real', 'imag')(3))
print(operator.methodcaller('upper')('abc'), sorted(['b', 'A'], key=operator.methodcaller('lower')))
print(operator.attrgetter('_secret')(thing))
"""
        )
        == "1 (3, 0)\nABC ['A', 'b']\nown\n"
    )


# --- exception groups (CVE-2025-22153) -------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "class G(ExceptionGroup):\n    def split(self, t):\n        return 1",
        "class G(ExceptionGroup):\n    def subgroup(self, t):\n        return 1",
        "class G(ExceptionGroup):\n    pass\nsetattr(G, 'split', lambda s, t: 1)",
        "class G(ExceptionGroup):\n    pass\nG.split = lambda s, t: 1",
        "class G(BaseExceptionGroup):\n    pass\nG.subgroup = lambda s, t: 1",
        "class G(ExceptionGroup):\n    pass\ng = G('x', [ValueError()])\ng.split = lambda t: 1",
    ],
)
def test_exception_group_split_and_subgroup_cannot_be_overridden(source):
    denied(source)


CRASH_BY_METHOD = {
    "classmethod rebinds split": """
        class G(ExceptionGroup):
            @classmethod
            def patch(cls):
                def split(self, t):
                    return 1
                cls.split = split
        G.patch()
        group = G("x", [ValueError()])
    """,
    "method sets split on the instance": """
        class G(ExceptionGroup):
            def patch(self):
                def split(t):
                    return 1
                self.split = split
                return self
        group = G("x", [ValueError()]).patch()
    """,
}


@pytest.mark.parametrize("patch", CRASH_BY_METHOD.values(), ids=CRASH_BY_METHOD.keys())
def test_exception_group_split_cannot_be_replaced_from_inside_a_method(patch):
    # In a child process: if the guard is bypassed the interpreter crashes.
    script = textwrap.dedent(patch) + textwrap.dedent("""
        try:
            raise group
        except* ValueError:
            pass
    """)
    probe = textwrap.dedent(f"""
        from safecompile import AccessDenied, safe_exec
        try:
            safe_exec({script!r})
        except AccessDenied:
            print("denied")
    """)
    # The child is this interpreter running fixed code.
    child = subprocess.run(  # noqa: S603
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (child.returncode, child.stdout) == (0, "denied\n")


def test_except_star_works_with_the_builtin_split():
    assert (
        output("""
try:
    raise ExceptionGroup("g", [ValueError(1), TypeError(2), ValueError(3)])
except* ValueError as group:
    print("values", len(group.exceptions))
except* TypeError as group:
    print("types", len(group.exceptions))
""")
        == "values 2\ntypes 1\n"
    )


# --- static and dynamic agree -----------------------------------------------------


def test_static_dunder_access_is_rejected_at_compile_time_not_run():
    with pytest.raises(CompileRejected) as caught:
        safe_exec("print((1).__class__)")
    assert [v.code for v in caught.value.violations] == ["SC102"]


def test_attribute_error_of_a_public_name_is_an_ordinary_script_error():
    with pytest.raises(ScriptError) as caught:
        safe_exec("x = (1).nope")
    assert caught.value.type_name == "AttributeError"


def test_a_script_name_equal_to_a_stdlib_module_does_not_make_that_module_the_scripts():
    import statistics

    from safecompile import Policy

    saved_mean = statistics.NormalDist.__dict__["mean"]
    for taken in ("statistics", "_decimal", "builtins", "regex", "safecompile", "pytest"):
        with pytest.raises(ValueError, match="is the name of a module"):
            Policy(script_name=taken)
    policy = Policy(script_name="formula_sheet")
    with pytest.raises(AccessDenied):
        safe_exec("import statistics\nstatistics.NormalDist.mean = 5", policy=policy)
    assert statistics.NormalDist.__dict__["mean"] is saved_mean
    own = "class A:\n    pass\nA._x = 1\nprint(A._x)"
    assert safe_exec(own, policy=policy).output == "1\n"
