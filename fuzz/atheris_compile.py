"""Coverage-guided fuzzing (atheris / libFuzzer) of the compiler on arbitrary bytes.

Each input is handed to ``compile_restricted`` three ways: as raw bytes (the
source gate's UTF-8, BOM, NUL and bytecode-magic checks), as text decoded
from the bytes, and in ``eval`` mode; ``safecompile.compiler.check`` gets the
text too.  ``CompileRejected`` is the only acceptable exception; anything
else (or a crash, or a hang past libFuzzer's ``-timeout``) is a finding that
libFuzzer saves as ``crash-<sha1>`` in the working directory.

Long run (the first corpus directory collects new inputs; the second holds
the checked-in seeds)::

    mkdir -p .fuzz-corpus/compile
    SAFECOMPILE_PURE=1 python fuzz/atheris_compile.py -timeout=30 -rss_limit_mb=4096 \\
        -max_total_time=3600 .fuzz-corpus/compile fuzz/seeds/compile

Replay one finding: ``python fuzz/atheris_compile.py crash-<sha1>``.
If atheris is not installed for this interpreter the script says so and
exits 0 (``pip install atheris``: wheels exist for Linux x86_64; other
platforms build from source and need clang).
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``fuzz`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

try:
    import atheris
except ImportError:  # pragma: no cover - depends on the environment
    atheris = None

if atheris is not None:
    with atheris.instrument_imports(include=["safecompile"]):
        import safecompile
        from safecompile import compiler
else:  # still importable (for tests of the harness itself)
    import safecompile
    from safecompile import compiler

CompileRejected = safecompile.CompileRejected


def _one(source: str | bytes, mode: str) -> None:
    try:
        safecompile.compile_restricted(source, mode=mode)  # type: ignore[arg-type]
    except CompileRejected as exc:
        if not exc.violations:
            raise AssertionError("CompileRejected without violations") from exc


def test_one_input(data: bytes) -> None:
    """The libFuzzer entry point: only CompileRejected may come out."""
    _one(data, "exec")
    text = data.decode("utf-8", "surrogateescape")
    _one(text, "exec")
    if len(text) < 4096:
        _one(text, "eval")
    found = compiler.check(text)
    if not isinstance(found, list):
        raise AssertionError(f"check() returned {type(found).__name__}")


def main(argv: list[str] | None = None) -> int:
    if atheris is None:
        print("fuzz/atheris_compile.py: atheris is not installed for this Python "
              f"({sys.version.split()[0]}); skipping. Install it with 'pip install atheris'.",
              file=sys.stderr)
        return 0
    import warnings

    warnings.filterwarnings("ignore", category=SyntaxWarning)
    atheris.Setup(list(sys.argv if argv is None else argv), test_one_input)
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    sys.exit(main())
