"""Properties over generated input (hypothesis).

* Generated safe programs print the same under ``safe_exec`` as under plain
  ``exec`` (and fail with the same exception type when they fail).
* ``compiler.check`` and ``compile_restricted`` never raise anything but
  ``CompileRejected`` (``check`` never raises at all), on arbitrary text and
  on syntactically valid programs from hypothesmith.

Example counts come from the profile (``HYPOTHESIS_PROFILE``; see conftest).
"""

from __future__ import annotations

import contextlib
import io
import warnings

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safecompile import CompileRejected, ScriptError, compile_restricted, safe_exec
from safecompile.compiler import check

with warnings.catch_warnings():
    # hypothesmith's dependencies (libcst, mypy_extensions) warn at import.
    warnings.simplefilter("ignore", DeprecationWarning)
    import hypothesmith

# --- generated safe programs --------------------------------------------------------

PRELUDE = """\
def scale(x, factor=2):
    return x * factor

def describe(value, *rest, sep="-", **named):
    return sep.join([str(value), *[str(r) for r in rest], *sorted(named)])

class Point:
    def __init__(self, x, y):
        self.x = x
        self._y = y

    def total(self):
        return self.x + self._y

    def __repr__(self):
        return f"Point({self.x!r}, {self._y!r})"

    def __eq__(self, other):
        return isinstance(other, Point) and self.total() == other.total()

    def __add__(self, other):
        return Point(self.x + other.x, self._y + other._y)

class Oops(ValueError):
    pass

items = [3, 1, 2]
table = {"a": 1}
count = 0
word = "ab"
ratio = 0.5
"""

SMALL = st.integers(-30, 30)
TEXT = st.text(alphabet="abcxyz _-!", max_size=6)
FLOAT = st.floats(-1000, 1000, allow_nan=False, allow_infinity=False).map(
    lambda f: round(f, 3)
)


def _int_expr(depth: int = 2) -> st.SearchStrategy[str]:
    leaf = st.one_of(
        SMALL.map(str),
        st.sampled_from(
            ["count", "len(items)", "len(word)", "table.get('a', 0)", "abs(count)"]
        ),
    )
    if depth == 0:
        return leaf
    sub = _int_expr(depth - 1)
    return st.one_of(
        leaf,
        st.tuples(sub, st.sampled_from(["+", "-", "*", "//", "%"]), sub).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        st.tuples(sub, st.integers(0, 3)).map(lambda t: f"({t[0]}) ** {t[1]}"),
        st.tuples(sub, st.integers(0, 4)).map(lambda t: f"({t[0]}) << {t[1]}"),
        sub.map(lambda e: f"scale({e})"),
        sub.map(lambda e: f"Point({e}, 1).total()"),
        st.tuples(sub, sub).map(lambda t: f"max({t[0]}, {t[1]})"),
    )


def _str_expr(depth: int = 2) -> st.SearchStrategy[str]:
    leaf = st.one_of(
        TEXT.map(repr), st.just("word"), _int_expr(1).map(lambda e: f"str({e})")
    )
    if depth == 0:
        return leaf
    sub = _str_expr(depth - 1)
    return st.one_of(
        leaf,
        st.tuples(sub, sub).map(lambda t: f"({t[0]} + {t[1]})"),
        st.tuples(sub, st.integers(0, 3)).map(lambda t: f"({t[0]}) * {t[1]}"),
        sub.map(lambda e: f"({e}).upper()"),
        sub.map(lambda e: f"({e})[::-1]"),
        st.tuples(sub, SMALL).map(lambda t: f"({t[0]})[{t[1]}:]"),
        st.sampled_from(
            ["f'{word!r}:{count:>4}'", "f'{word=}'", "f'{items[0]:03d}|{ratio:.2f}'"]
        ),
        st.tuples(sub, sub).map(lambda t: f"'{{}}/{{}}'.format({t[0]}, {t[1]})"),
        st.tuples(sub, sub).map(lambda t: f"describe({t[0]}, {t[1]}, sep='+', k=1)"),
    )


def _float_expr() -> st.SearchStrategy[str]:
    ints = _int_expr(1)
    return st.one_of(
        FLOAT.map(repr),
        st.just("ratio"),
        st.tuples(ints, ints).map(lambda t: f"({t[0]}) / ({t[1]})"),
        st.tuples(FLOAT, ints).map(lambda t: f"round({t[0]!r} * ({t[1]}), 2)"),
    )


def _statement() -> st.SearchStrategy[str]:
    ints, strs, floats = _int_expr(), _str_expr(), _float_expr()
    return st.one_of(
        ints.map(lambda e: f"count = {e}"),
        strs.map(lambda e: f"word = {e}"),
        floats.map(lambda e: f"ratio = {e}"),
        st.tuples(ints, strs, floats).map(lambda t: f"print({t[0]}, {t[1]}, {t[2]})"),
        st.sampled_from(
            [
                "print(f'{count} {ratio:.3f} {word!r:>8}')",
                "print(f'{count + 1:+d}|{word:^9}|')",
            ]
        ),
        ints.map(lambda e: f"items.append({e})"),
        st.just("items.sort()\nprint(items)"),
        st.tuples(strs, ints).map(
            lambda t: f"table[{t[0]}] = {t[1]}\nprint(sorted(table.items()))"
        ),
        ints.map(lambda e: f"print(items[{e}])"),
        st.tuples(st.integers(0, 8), ints).map(
            lambda t: (
                f"for i in range({t[0]}):\n    count += i * ({t[1]})\nprint(count)"
            )
        ),
        st.integers(0, 8).map(
            lambda n: (
                f"n = 0\nwhile n < {n}:\n    n += 1\n    if n == 5:\n        break\nprint(n)"
            )
        ),
        st.just("print([x * 2 for x in items if x % 2], {k: len(k) for k in table})"),
        st.just("print(sum(x for x in items), sorted(items, key=lambda v: -v)[:3])"),
        st.just("first, *rest = items\nprint(first, rest)"),
        st.tuples(ints, ints).map(
            lambda t: (
                f"p = Point({t[0]}, {t[1]}) + Point(1, 2)\nprint(p, p.total(), p == Point(0, 0))"
            )
        ),
        st.tuples(ints, ints).map(
            lambda t: (
                f"try:\n    print(({t[0]}) // ({t[1]}))\nexcept ZeroDivisionError as error:\n"
                f"    print('zero', error)"
            )
        ),
        strs.map(
            lambda e: (
                f"try:\n    raise Oops({e})\nexcept ValueError as error:\n"
                f"    print(isinstance(error, Oops), error.args)\nfinally:\n    print('done')"
            )
        ),
        st.tuples(ints, strs).map(lambda t: f"print(({t[0]}) + {t[1]})"),
        strs.map(lambda e: f"print(int({e}))"),
        st.just(
            "print(tuple(items), {1, 2} | {3}, list(zip(items, 'abc')), dict(a=1))"
        ),
        st.just(
            "def gen(n):\n    for i in range(n):\n        yield i * i\nprint(list(gen(4)))"
        ),
        st.just(
            "match items:\n    case [first, *_]:\n        print('first', first)\n    case _:\n        print('empty')"
        ),
    )


PROGRAMS = st.lists(_statement(), min_size=1, max_size=8).map(
    lambda statements: PRELUDE + "\n".join(statements) + "\n"
)


def _plain_outcome(source: str) -> tuple[str, str | None]:
    buffer = io.StringIO()
    error = None
    with contextlib.redirect_stdout(buffer):
        try:
            exec(
                compile(source, "<plain>", "exec", dont_inherit=True),
                {"__name__": "script"},
            )
        except Exception as exc:
            error = type(exc).__name__
    return buffer.getvalue(), error


def _safe_outcome(source: str) -> tuple[str, str | None]:
    try:
        return safe_exec(source).output, None
    except ScriptError as exc:
        return exc.output, exc.type_name


@given(PROGRAMS)
def test_generated_safe_programs_print_what_plain_python_prints(source):
    assert _safe_outcome(source) == _plain_outcome(source)


def test_the_prelude_of_generated_programs_runs_on_its_own():
    assert _safe_outcome(
        PRELUDE + "print(Point(1, 2), scale(3), describe(1, 2, z=0))"
    ) == ("Point(1, 2) 6 1-2-z\n", None)


# --- the compiler never crashes ---------------------------------------------------------


def _compile_outcome(source) -> None:
    assert isinstance(check(source), list)
    for mode in ("exec", "eval"):
        violations = None
        try:
            compile_restricted(source, mode=mode)
        except CompileRejected as exc:
            violations = exc.violations
        assert violations is None or violations


@given(st.text())
def test_the_compiler_raises_only_compile_rejected_on_arbitrary_text(source):
    _compile_outcome(source)


@given(st.binary())
def test_the_compiler_raises_only_compile_rejected_on_arbitrary_bytes(source):
    _compile_outcome(source)


@settings(
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ]
)
@given(hypothesmith.from_grammar())
def test_the_compiler_raises_only_compile_rejected_on_valid_python(source):
    _compile_outcome(source)
