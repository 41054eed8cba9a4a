"""Grammar fuzzer: the compiler never fails except with CompileRejected.

Sources come from hypothesmith (``from_grammar()`` for syntactically valid
text, ``from_node()`` for libcst-generated modules), from mutations of those
(a character dropped, duplicated or swapped), and from plain ``st.text()`` and
``st.binary()``.  For each, in ``exec`` and ``eval`` mode:

* ``compile_restricted`` returns a Script or raises ``CompileRejected`` with
  at least one well-formed violation; any other exception is a finding, and
  so is a crash (the process dies) or a hang (``--hang`` seconds);
* ``safecompile.compiler.check`` returns a list and never raises; it reports
  no refusing code for a source that compiled, and something for one that
  was rejected;
* nothing CPython's own ``compile()`` refuses with a SyntaxError compiles;
* optionally (``--run``), a compiled script runs under tight budgets with
  the escape oracle of ``fuzz/oracle.py``.

Long run::

    SAFECOMPILE_PURE=1 python fuzz/grammar.py --examples 200000 --run
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``fuzz`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import warnings

from hypothesis import strategies as st

with warnings.catch_warnings():
    # Older libcst releases (under hypothesmith) warn on import about
    # mypy_extensions.TypedDict; the suite turns warnings into errors.
    warnings.simplefilter("ignore", DeprecationWarning)
    import hypothesmith

from safecompile import CompileRejected, Script, compile_restricted
from safecompile import compiler as _compiler

#: An example slower than this is reported as a (soft) hang.
SLOW_SECONDS = 20.0

_ADVISORY: frozenset[str] = frozenset(getattr(_compiler, "ADVISORY", frozenset()))

#: Fragments that make random text look more like Python (and like attacks).
_TOKENS = [
    "def ", "class ", "lambda", ":", "(", ")", "[", "]", "{", "}", ",", ".", "=", "==", "**",
    "*", "@", "->", "async ", "await ", "yield", "match ", "case ", "try:", "except*", "finally",
    "with ", "as ", "global ", "nonlocal ", "del ", "import ", "from ", "__", "_", "x", "1", "0x",
    "'", '"', '"""', "f'", "b'", "rb'", "{x!r:>{w}}", "\\", "\n", "    ", "\t", "#", ";", "if ",
    "else", "elif ", "for ", "in ", "while ", "not ", "print", "type", "__class__", "gi_frame",
    "\x00", "\ufeff", "\r", "\u2028", "\udcff", "é", "\U0001d518", ":=", "...", "~", "|", "&", "^", "%",
]


def _mutate(source: str, data: st.DataObject) -> str:
    if not source:
        return source
    i = data.draw(st.integers(0, len(source) - 1), label="position")
    op = data.draw(st.sampled_from(["drop", "dup", "insert", "swap"]), label="mutation")
    if op == "drop":
        return source[:i] + source[i + 1:]
    if op == "dup":
        return source[:i] + source[i] + source[i:]
    if op == "insert":
        return source[:i] + data.draw(st.sampled_from(_TOKENS)) + source[i:]
    j = data.draw(st.integers(0, len(source) - 1), label="other")
    chars = list(source)
    chars[i], chars[j] = chars[j], chars[i]
    return "".join(chars)


@st.composite
def mutated(draw: Any, base: st.SearchStrategy[str]) -> str:
    source = draw(base)
    data = draw(st.data())
    for _ in range(draw(st.integers(1, 3))):
        source = _mutate(source, data)
    return source


def token_soup() -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(_TOKENS), max_size=40).map("".join)


def valid_sources() -> st.SearchStrategy[str]:
    """Syntactically valid Python (by grammar, and by libcst node)."""
    return st.one_of(hypothesmith.from_grammar(), hypothesmith.from_node())


def sources() -> st.SearchStrategy[str | bytes]:
    """Everything the grammar fuzzer feeds the compiler."""
    return st.one_of(
        hypothesmith.from_grammar(),
        hypothesmith.from_node(),
        mutated(hypothesmith.from_grammar()),
        token_soup(),
        st.text(),
        st.binary(),
        st.text().map(lambda s: s.encode("utf-8", "surrogatepass")),
    )


def _check_violations(exc: CompileRejected) -> None:
    assert exc.violations, "CompileRejected without any violation"
    for v in exc.violations:
        assert type(v.code) is str, v
        assert v.code.startswith("SC"), v
        assert type(v.message) is str, v
        assert v.message, v
        for field in (v.lineno, v.col, v.end_lineno, v.end_col):
            assert type(field) is int, v


def check(source: str | bytes, mode: str = "exec", *, run: bool = False) -> None:
    """The property: CompileRejected or a Script; check() agrees; no hang."""
    started = time.monotonic()
    compiled: Script | None = None
    rejected: list[Any] = []
    try:
        compiled = compile_restricted(source, mode=mode)  # type: ignore[arg-type]
    except CompileRejected as exc:
        _check_violations(exc)
        rejected = list(exc.violations)
    except Exception as exc:  # the finding itself
        raise AssertionError(
            f"compile_restricted raised {type(exc).__name__}: {exc!s:.300}"
        ) from exc
    else:
        assert isinstance(compiled, Script), type(compiled)
    try:
        found = _compiler.check(source, mode=mode)  # type: ignore[arg-type]
    except Exception as exc:  # the finding itself
        raise AssertionError(f"compiler.check raised {type(exc).__name__}: {exc!s:.300}") from exc
    assert isinstance(found, list), type(found)
    refusing = [v.code for v in found if v.code not in _ADVISORY]
    if compiled is not None:
        assert not refusing, f"compiled, yet check() reports {refusing}"
    else:
        # fuzz-check-sc001 (tests/regressions/test_fuzz_check_sc001.py)
        assert found, f"rejected with {[v.code for v in rejected]}, yet check() reports nothing"
    elapsed = time.monotonic() - started
    assert elapsed < SLOW_SECONDS, f"compiling took {elapsed:.1f}s (hang?)"
    if compiled is not None:
        # fuzz-future-import (tests/regressions/test_fuzz_future_import.py)
        refusal = _cpython_refusal(source, mode)
        assert refusal is None, f"CPython refuses this source ({refusal}), yet it compiled"
    if run and compiled is not None and mode == "exec":
        from fuzz import oracle

        problems = oracle.check_run(source)
        assert not problems, problems


def _cpython_refusal(source: str | bytes, mode: str) -> str | None:
    """CPython's own SyntaxError message for ``source``, or None if it compiles."""
    if isinstance(source, bytes):
        try:
            source = source.decode("utf-8").removeprefix("\ufeff")
        except UnicodeDecodeError:
            return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(source, "<plain>", mode, dont_inherit=True)
    except SyntaxError as exc:
        return str(exc.msg)
    except (ValueError, RecursionError, MemoryError):
        return None
    return None


def _check_both(source: str | bytes) -> None:
    check(source, "exec", run=_RUN)
    if isinstance(source, str) and len(source) < 2000:
        check(source, "eval")


_RUN = False


def main(argv: list[str] | None = None) -> int:
    global _RUN
    from fuzz import _runner, oracle

    argv = list(sys.argv[1:] if argv is None else argv)
    if "--run" in argv:
        argv.remove("--run")
        _RUN = True
    return _runner.main("grammar", sources(), _check_both, argv,
                        setup=oracle.warm_up if _RUN else None)


if __name__ == "__main__":
    sys.exit(main())
