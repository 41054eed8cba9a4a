"""Coverage-guided fuzzing (atheris / libFuzzer) of ``safe_exec`` on small snippets.

The input bytes drive a tiny snippet builder: each byte pair picks a
fragment (a start object, an attribute name built statically or at run
time, a call, a subscript, a formatting path, a payload ...) so libFuzzer's
mutations walk the space of short escape attempts while its coverage
feedback steers towards new paths in the guards.  Each snippet runs under
the small budgets and the escape oracle of ``fuzz/oracle.py`` (canary never
seen, marker file never created, host state unchanged, only
``SafeCompileError`` out of ``safe_exec``); a finding raises, and libFuzzer
saves the input as ``crash-<sha1>``.  ``python fuzz/atheris_runtime.py
--show crash-<sha1>`` prints the snippet an input builds.

Long run::

    mkdir -p .fuzz-corpus/runtime
    SAFECOMPILE_PURE=1 python fuzz/atheris_runtime.py -timeout=30 -rss_limit_mb=4096 \\
        -max_total_time=3600 .fuzz-corpus/runtime

If atheris is not installed for this interpreter the script says so and
exits 0 (``pip install atheris``).
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
        import safecompile  # noqa: F401 - imported for instrumentation
        from fuzz import oracle
else:
    from fuzz import oracle

from fuzz.vocabulary import DANGEROUS, KEYS, PRELUDE, START, name_expr
from safecompile.names import forbidden_attribute

_MARKER = str(oracle.MARKER)

# Each op is a template over ``t`` (the current object) and ``{n}`` (a name
# expression) / ``{k}`` (a subscript key).
OPS = [
    "t = getattr(t, {n})",
    "t = getattr(t, {n}, None)",
    "t = t.{raw}",
    "t = t()",
    "t = t(t)",
    "t = t(0)",
    "t = t[{k}]",
    "t = t[0]",
    "t = type(t)",
    "t = next(iter(t))",
    "t = list(t)",
    "t = dir(t)",
    "t = ('{{0.' + {n} + '}}').format(t)",
    "t = ('{{x.' + {n} + '}}').format_map({{'x': t}})",
    "t = bound_format(t)",
    "t = format(t, '>5')",
    "setattr(t, {n}, lam)",
    "delattr(t, {n})",
    "t = hasattr(t, {n})",
    "t = host_fn(t)",
    "t = host_obj.greet(t)",
    "t = [c for c in t() if 'wrap' in str(c)]",
    f"t = t({_MARKER!r}, 'w')",
    f"t = getattr(t, 'system')('touch ' + {_MARKER!r})",
    "t = isinstance(t, type)",
    "t = {{t: 1}}",
    "t = super(type(t), t)",
    "try:\n    raise ValueError(t)\nexcept ValueError as caught:\n    t = getattr(caught, {n}, caught.args)",
    "match t:\n    case object(name=v):\n        t = v\n    case _:\n        pass",
    "import string\nt = string.Formatter().format('{{0.' + {n} + '}}', t)",
    "for x in t:\n    t = x\n    break",
    "t = sorted([t, t])",
    "t = (lambda *a, **k: a)(t, *[t], **{{'k': t}})",
]

_MAX_STEPS = 8


class Bytes:
    """Byte-at-a-time reader; reads past the end give zeros."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        if self.pos >= len(self.data):
            return 0
        value = self.data[self.pos]
        self.pos += 1
        return value

    def pick(self, options: list[str]) -> str:
        return options[self.byte() % len(options)]

    @property
    def exhausted(self) -> bool:
        return self.pos >= len(self.data)


def build(data: bytes) -> str:
    """The snippet ``data`` describes (deterministic)."""
    reader = Bytes(data)
    lines = [PRELUDE, f"t = {reader.pick(START)}"]
    for _ in range(_MAX_STEPS):
        if reader.exhausted:
            break
        op = reader.pick(OPS)
        name = reader.pick(DANGEROUS)
        how = reader.byte()
        key = reader.pick(KEYS)
        raw = name if name.isidentifier() and forbidden_attribute(name) is None else "name"
        text = op.format(n=name_expr(name, how, how % (len(name) + 1), literal_ok=False),
                         k=repr(key), raw=raw)
        lines.append("try:\n" + "\n".join("    " + line for line in text.split("\n")))
        lines.append("    print(t)\nexcept BaseException as e:\n    print('E', e, e.args)")
    lines.append("result = t")
    return "\n".join(lines) + "\n"


def test_one_input(data: bytes) -> None:
    source = build(data)
    problems = oracle.check_run(source)
    if problems:
        oracle.restore_host()
        raise AssertionError("escape evidence:\n  " + "\n  ".join(problems) + "\n--- snippet ---\n" + source)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv if argv is None else argv)
    if len(args) == 3 and args[1] == "--show":
        print(build(Path(args[2]).read_bytes()))
        return 0
    if atheris is None:
        print("fuzz/atheris_runtime.py: atheris is not installed for this Python "
              f"({sys.version.split()[0]}); skipping. Install it with 'pip install atheris'.",
              file=sys.stderr)
        return 0
    import warnings

    warnings.filterwarnings("ignore", category=SyntaxWarning)
    oracle.warm_up()
    atheris.Setup(args, test_one_input)
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    sys.exit(main())
