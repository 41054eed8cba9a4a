"""The rewrite units (``transformers.ORDER``): before → after, and the rewritten
code still runs and still points at the user's lines.

Each before/after pair goes through the whole fused walk
(``transformers.rewrite``), so it shows what a unit does in its place in
``ORDER`` after the units before it.
"""

from __future__ import annotations

import ast
import contextlib
import io
import sys
import textwrap
import traceback

import pytest

from safecompile import ScriptError, safe_exec, transformers
from safecompile.transformers import (
    AttributeAssign,
    AttributeRead,
    FunctionEntries,
    Imports,
    LoopIterables,
    Operands,
    WhileTests,
    Yields,
)


def rewritten(source: str) -> str:
    return ast.unparse(transformers.rewrite(ast.parse(textwrap.dedent(source))))


def plain_output(source: str) -> str:
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        exec(textwrap.dedent(source), {"__name__": "script"})
    return buffer.getvalue()


def test_order_lists_every_unit_once_in_the_documented_order():
    assert (
        AttributeRead,
        AttributeAssign,
        Operands,
        Imports,
        LoopIterables,
        WhileTests,
        Yields,
        FunctionEntries,
    ) == transformers.ORDER


def test_every_unit_declares_the_node_types_it_rewrites():
    for unit in transformers.ORDER:
        assert unit.nodes, unit.__name__
        assert all(issubclass(node, ast.AST) for node in unit.nodes)


def test_every_unit_documents_its_rewrite_as_before_and_after():
    for unit in transformers.ORDER:
        assert "→" in (unit.__doc__ or ""), unit.__name__


# --- before / after, one group per unit --------------------------------------------

BEFORE_AFTER = {
    AttributeRead: [
        ("y = obj._x", "y = __sc_getattr__(obj, '_x')"),
        ("y = text.format(1)", "y = __sc_getattr__(text, 'format')(1)"),
        ("y = text.format_map(m)", "y = __sc_getattr__(text, 'format_map')(m)"),
        ("y = obj.name", "y = obj.name"),
        ("a.x, b = (1, 2)", "__sc_write__(a)['x'], b = (1, 2)"),
        ("del a.x", "del __sc_write__(a)['x']"),
        ("a.x += 1", "__sc_write__(a)['x'] += 1"),
        (
            "for o.x in xs:\n    pass",
            "for __sc_write__(o)['x'] in __sc_iter__(xs):\n    pass",
        ),
        ("with c as o.x:\n    pass", "with c as __sc_write__(o)['x']:\n    pass"),
    ],
    AttributeAssign: [
        ("obj.x = v", "__sc_setattr__(v, obj, 'x')"),
        ("obj._x = v", "__sc_setattr__(v, obj, '_x')"),
        ("a.b.c = v", "__sc_setattr__(v, a.b, 'c')"),
        ("x = y = v", "x = y = v"),
    ],
    Operands: [
        ("y = a ** b", "y = __sc_pow__(a, b)"),
        ("y = a << b", "y = __sc_lshift__(a, b)"),
        ("y = a * b + c >> d", "y = __sc_mul__(a, b) + c >> d"),
        ("y = a * 2 + 'x' * n", "y = a * 2 + 'x' * n"),
        ("x *= y", "x = __sc_mul__(x, y)"),
        ("x *= 3", "x *= 3"),
        ("a[i] *= b", "__sc_aug_item__(a, i, '*', b)"),
        ("x **= 2", "x = __sc_pow__(x, 2)"),
        ("x <<= 2", "x = __sc_lshift__(x, 2)"),
        ("a[i] **= 2", "__sc_aug_item__(a, i, '**', 2)"),
        ("a[i] <<= 2", "__sc_aug_item__(a, i, '<<', 2)"),
        ("a.x **= 2", "__sc_aug_item__(__sc_write__(a), 'x', '**', 2)"),
    ],
    Imports: [
        ("import math", "math = __sc_import__('math')"),
        ("import math as m", "m = __sc_import__('math')"),
        (
            "import math, json",
            "if True:\n    math = __sc_import__('math')\n    json = __sc_import__('json')",
        ),
        (
            "from math import sqrt, pi as p",
            "sqrt, p = __sc_import_from__('math', ('sqrt', 'pi'))",
        ),
        ("from __future__ import annotations", "pass"),
    ],
    LoopIterables: [
        ("for x in xs:\n    pass", "for x in __sc_iter__(xs):\n    pass"),
        ("y = [x for x in xs if x]", "y = [x for x in __sc_iter__(xs) if x]"),
        (
            "y = {k: v for k, v in items for _ in r}",
            "y = {k: v for k, v in __sc_iter__(items) for _ in __sc_iter__(r)}",
        ),
        ("y = (x for x in xs)", "y = (x for x in __sc_iter__(xs))"),
    ],
    WhileTests: [
        ("while x:\n    pass", "for () in __sc_loop__(None):\n    if not x:\n        break\n    pass"),
        ("while True:\n    break", "for () in __sc_loop__(None):\n    break"),
        ("while 1:\n    break", "for () in __sc_loop__(None):\n    if not 1:\n        break\n    break"),
        (
            "while x:\n    pass\nelse:\n    y = 1",
            "while __sc_tick__() or x:\n    pass\nelse:\n    y = 1",
        ),
    ],
    Yields: [
        (
            "def g():\n    yield 1",
            "@__sc_generator__\ndef g():\n    __sc_enter__(None)\n    yield 1",
        ),
        ("f = lambda: (yield)", "f = __sc_generator__(lambda: __sc_enter__(None) or (yield))"),
    ],
    FunctionEntries: [
        ("def f():\n    return 1", "def f():\n    __sc_enter__(None)\n    return 1"),
        (
            "def f():\n    'doc'\n    return 1",
            'def f():\n    """doc"""\n    __sc_enter__(None)\n    return 1',
        ),
        ("f = lambda: 1", "f = lambda: __sc_enter__(None) or 1"),
        (
            "class A:\n\n    def m(self):\n        return self._y",
            "class A:\n\n    def m(self):\n        __sc_enter_method__(self)\n        return self._y",
        ),
        (
            "class A:\n\n    @staticmethod\n    def s(x):\n        return x._y",
            "class A:\n\n    @staticmethod\n    def s(x):\n        __sc_enter__(None)\n"
            "        return __sc_getattr__(x, '_y')",
        ),
        (
            "class A:\n\n    def m(self):\n        self = other\n        return self._y",
            "class A:\n\n    def m(self):\n        __sc_enter__(None)\n        self = other\n"
            "        return __sc_getattr__(self, '_y')",
        ),
    ],
}

CASES = [
    pytest.param(before, after, id=f"{unit.__name__}-{index}")
    for unit, pairs in BEFORE_AFTER.items()
    for index, (before, after) in enumerate(pairs, start=1)
]


@pytest.mark.parametrize(("before", "after"), CASES)
def test_unit_rewrites_source_as_documented(before, after):
    assert rewritten(before) == after


@pytest.mark.parametrize("rebinding", [
    "self = other",
    "for self in others: pass",
    "with other as self: pass",
    "(self := other)",
    "match other:\n            case self: pass",
    "match other:\n            case [*self]: pass",
    "match other:\n            case {**self}: pass",
    "match other:\n            case [_ as self]: pass",
    "try:\n            pass\n        except Exception as self:\n            pass",
    "import math as self",
    "global self",
    "def self(): pass",
    "class self: pass",
    "del self",
])
def test_a_method_that_rebinds_its_first_parameter_has_no_verified_owner(rebinding):
    # every binding form: after it, `self` may be any object, so its reads
    # keep the guard and the entry checks nothing about it
    source = f"class A:\n    def m(self):\n        {rebinding}\n        return self._y"
    after = rewritten(source)
    assert "__sc_enter_method__" not in after
    assert "__sc_getattr__(self, '_y')" in after


def test_before_after_table_covers_every_unit():
    assert set(BEFORE_AFTER) == set(transformers.ORDER)


def test_match_patterns_are_left_alone():
    source = "match p:\n    case Point(x=0):\n        pass"
    assert rewritten(source) == source


def test_rewriting_is_one_walk_a_second_rewrite_of_the_same_source_is_identical():
    source = "for x in xs:\n    y = x ** 2\n    obj._z = y"
    assert rewritten(source) == rewritten(source)


def test_rewritten_nodes_keep_the_users_line_numbers():
    source = textwrap.dedent("""\
        import math
        total = 0
        for i in range(3):
            total += i ** 2
        while total > 100:
            total -= 1
        obj = None
        value = [n << 1 for n in range(2)]
        f = lambda: obj._x
    """)
    tree = transformers.rewrite(ast.parse(source))
    lines = source.count("\n")
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt | ast.expr):
            assert 1 <= node.lineno <= lines, ast.dump(node)
            assert node.lineno <= node.end_lineno


# --- the rewritten code runs --------------------------------------------------------

RUNS = {
    "attribute reads and writes on own objects": """
        class Box:
            def __init__(self):
                self._items = []
                self.size = 0
        box = Box()
        box._items.append(1)
        box.size, other = 5, 6
        box.size += 1
        del box.size
        box.size = 3
        print(box._items, hasattr(box, "size"), box.size, "{}-{}".format(1, 2))
    """,
    "operators": """
        x = 2 ** 10
        y = 3 << 4
        x **= 2
        y <<= 1
        cells = [2, 3]
        cells[0] **= 3
        cells[1] <<= 2
        class Holder:
            pass
        h = Holder()
        h.v = 3
        h.v **= 2
        print(x, y, cells, h.v, 2 ** -1, 2.0 ** 0.5, pow(3, 4, 5))
    """,
    "imports": """
        import math, json
        import datetime as dt
        from collections import Counter, deque as dq
        print(math.floor(2.5), json.dumps({"a": 1}), dt.date(2024, 1, 2).isoformat(),
              Counter("abca").most_common(1), list(dq([1, 2])))
    """,
    "loops and comprehensions": """
        total = 0
        for i in range(5):
            total += i
        n = 0
        while n < 3:
            n += 1
        squares = [i * i for i in range(4) if i]
        pairs = {k: v for k, v in zip("ab", (1, 2))}
        gen = sum(x for x in range(10))
        print(total, n, squares, pairs, gen)
    """,
    "while loops: continue, break, else, walrus, nesting, generators": """
        n, seen = 0, []
        while n < 10:
            n += 1
            if n % 3 == 0:
                continue
            if n == 8:
                break
            seen.append(n)
        m = 0
        while m < 3:
            m += 1
        else:
            seen.append("else")
        for k in range(3):
            while True:
                if k == 1:
                    break
                seen.append(("k", k))
                break
            else:
                seen.append("never")
        data = [5, 4, 0, 2]
        while (head := data.pop()) != 0:
            seen.append(head)
        def countdown(start):
            while start:
                yield start
                start -= 1
        def first_even(values):
            i = 0
            while i < len(values):
                if values[i] % 2 == 0:
                    return values[i]
                i += 1
            return None
        try:
            while True:
                raise ValueError("out")
        except ValueError as exc:
            seen.append(str(exc))
        print(seen, list(countdown(3)), first_even([3, 5, 6, 7]), head, data)
    """,
    "functions, lambdas, methods and docstrings": """
        def add(a, b=1, *rest, scale=1, **named):
            "Add things."
            return (a + b + sum(rest)) * scale
        double = lambda x: x * 2
        class Counter:
            def __init__(self):
                self._n = 0
            def bump(self):
                self._n += 1
                return self._n
            @staticmethod
            def twice(x):
                return double(x)
            @classmethod
            def make(cls):
                return cls()
        c = Counter.make()
        c.bump()
        print(add(1, 2, 3, scale=2), double(4), c.bump(), Counter.twice(5))
    """,
}


@pytest.mark.parametrize("source", RUNS.values(), ids=RUNS.keys())
def test_rewritten_code_prints_what_plain_python_prints(source):
    assert safe_exec(textwrap.dedent(source)).output == plain_output(source)


def _script_lines(error: ScriptError) -> list[tuple[str, int]]:
    cause = error.__cause__
    assert cause is not None
    return [
        (frame.filename, frame.lineno)
        for frame in traceback.extract_tb(cause.__traceback__)
    ]


@pytest.mark.parametrize(
    ("source", "line"),
    [
        ("x = 1\ny = None\nz = y.missing\n", 3),
        ("x = 1\n\ny = 2 ** 'a'\n", 3),
        ("items = [1, 2]\nfor i in items:\n    pass\nfor j in None:\n    pass\n", 4),
        ("n = 0\nwhile n < 1:\n    n += 1\nwhile missing:\n    pass\n", 4),
        ("import math\n\nvalue = math.sqrt(-1)\n", 3),
        ("class A:\n    pass\na = A()\na.x = a.missing\n", 4),
        ("class A:\n    def m(self):\n        return self._nothing\nA().m()\n", 3),
    ],
)
def test_script_error_traceback_points_at_the_users_line(source, line):
    with pytest.raises(ScriptError) as caught:
        safe_exec(source, filename="user.py")
    assert _script_lines(caught.value)[-1] == ("user.py", line)


def test_script_error_traceback_follows_calls_through_rewritten_functions():
    source = textwrap.dedent("""\
        def outer(n):
            return inner(n)

        def inner(n):
            return [1 / x for x in range(n)]

        outer(2)
    """)
    with pytest.raises(ScriptError) as caught:
        safe_exec(source, filename="calls.py")
    # Before 3.12 the list comprehension has a frame of its own (PEP 709).
    inlined = sys.version_info >= (3, 12)
    assert [line for _, line in _script_lines(caught.value)] == [7, 2, 5] + (
        [] if inlined else [5]
    )


def test_generator_functions_and_lambdas_are_wrapped_and_nothing_else_is():
    code = rewritten("""
        def plain():
            return [x for x in range(3)]
        def gen(n=(lambda: 1)):
            def inner():
                return 1
            yield inner()
        ask = lambda: (yield)
        class C:
            def each(self):
                yield from gen()
    """)
    assert code.count("@__sc_generator__") == 2  # gen and C.each
    assert "__sc_generator__(lambda" in code
    assert "def plain" in code
    assert "@__sc_generator__\ndef plain" not in code
    assert "@__sc_generator__\n    def inner" not in code


@pytest.mark.parametrize("where", [
    ast.parse("x.y(1)").body[0],
    ast.parse("x.y(1)").body[0].value,
    ast.parse("[a for b in c]").body[0].value.generators[0],  # no location of its own
    ast.Name(id="n", ctx=ast.Load(), lineno=3, col_offset=4),  # a partial location
])
def test_call_makes_what_located_name_and_call_make(where):
    from safecompile.transformers.base import call, located, name

    arg = ast.Constant(value=None)
    expected = located(ast.Call(func=name("__sc_f__", where), args=[arg], keywords=[]), where)
    made = call("__sc_f__", [arg], where)
    assert ast.dump(made, include_attributes=True) == ast.dump(expected, include_attributes=True)
    assert made.args[0] is arg
