"""What ``import safecompile`` and a one-line script load (startup cost).

A behaviour test, not a timing test: heavy modules the library no longer
imports up front stay unimported by ``import safecompile`` plus a trivial
``safe_exec``, and each is loaded when a script needs it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import safecompile

#: Modules the library loads only when a script (or a host value) needs them.
#: (regex stays eager, and with it re, string and threading: loading the
#: engine registers its pattern type with copyreg, which must not happen
#: during a safe_exec call.)
LAZY = ("dataclasses", "inspect", "random", "textwrap", "contextvars",
        "importlib.util", "copy", "datetime", "fractions")
if sys.version_info < (3, 12):
    # From 3.12 typing registers with copyreg when imported: loaded eagerly there.
    LAZY = ("typing", *LAZY)

PROBE = textwrap.dedent("""
    import sys
    from safecompile import safe_exec
    assert safe_exec("x = 1 + 1").namespace["x"] == 2
    print(" ".join(sorted(m for m in {lazy!r} if m in sys.modules)))
""")


def _child(code: str, *, isolated: bool) -> str:
    # -S: no site, so no .pth file (an editable install's finder imports
    # re, pathlib, importlib.util, ...) loads anything first.  The package
    # and its dependency are found through PYTHONPATH instead.
    root = str(Path(safecompile.__file__).resolve().parent.parent)
    paths = [root, *(p for p in sys.path if p.endswith("site-packages"))]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(paths))
    env.pop("PYTHONSTARTUP", None)
    flags = ["-S"] if isolated else []
    # The child is this interpreter running fixed code.
    child = subprocess.run(  # noqa: S603
        [sys.executable, *flags, "-c", code],
        capture_output=True, text=True, timeout=120, check=False, env=env,
    )
    assert child.returncode == 0, child.stderr
    return child.stdout


def test_import_and_a_one_line_script_load_no_heavy_module() -> None:
    loaded = _child(PROBE.format(lazy=LAZY), isolated=True).split()
    assert loaded == []


SCRIPT = textwrap.dedent('''
    import re, random, textwrap, typing, dataclasses, json, string, datetime, fractions
    from typing import Any

    @dataclasses.dataclass
    class Point:
        x: int
        y: Any = 0

    random.seed(3)
    w = textwrap.TextWrapper(width=6)
    w.width = 4
    print(re.sub(r"\\d", "#", "a1b2"), random.randint(1, 6) in range(1, 7),
          w.wrap("ab cd"), dataclasses.asdict(Point(1)), json.dumps([1]),
          string.Template("$a").substitute(a=datetime.date(2020, 1, 2)),
          type(fractions.Fraction(1, 3) * 3) is fractions.Fraction)
''')


def test_the_lazily_loaded_modules_work_in_a_fresh_process() -> None:
    probe = textwrap.dedent(f"""
        from safecompile import safe_exec
        print(safe_exec({SCRIPT!r}).output, end="")
    """)
    out = _child(probe, isolated=False)
    assert out == "a#b# True ['ab', 'cd'] {'x': 1, 'y': 0} [1] 2020-01-02 True\n"


FRACTION_LATE = textwrap.dedent("""
    import sys
    from safecompile import LimitExceeded, safe_exec
    assert "fractions" not in sys.modules

    def make():
        import fractions  # first loaded by host code during the run
        return fractions.Fraction(10 ** 600000, 7)

    result = safe_exec("y = make()\\nprint(type(y), y > 1)", {"make": make})
    print(result.output, end="")
    try:
        safe_exec("y = make()\\nz = y * y", {"make": make})
    except LimitExceeded as exc:
        print(exc.limit)
""")


def test_a_fraction_first_loaded_during_a_run_is_plain_and_guarded() -> None:
    # The operand guards and the membrane learn fractions.Fraction when the
    # module appears, even if host code loads it in the middle of a run.
    expected = "<class 'fractions.Fraction'> True\noperand\n"
    assert _child(FRACTION_LATE, isolated=False) == expected


OUTSIDE = textwrap.dedent("""
    import sys
    from safecompile import Policy, safe_exec
    from safecompile.guards.imports import CURRENT

    WATCHED = {"typing", "dataclasses", "fractions", "textwrap", "random", "json"}
    seen = []

    class Recorder:
        def find_spec(self, name, path=None, target=None):
            if name in WATCHED:
                seen.append((name, CURRENT.get(None) is None))
            return None

    sys.meta_path.insert(0, Recorder())
    policy = Policy(sources={"helper": "import fractions\\nHALF = fractions.Fraction(1, 2)"})
    script = "import helper, random\\ndef f():\\n    import textwrap, json\\n    return textwrap.dedent(' a')\\nprint(helper.HALF, f())"
    print(safe_exec(script, policy=policy).output, end="")
    print(sorted(seen))
""")


def test_modules_scripts_and_source_modules_import_are_loaded_outside_the_run() -> None:
    out = _child(OUTSIDE, isolated=True).splitlines()
    assert out[0] == "1/2 a"
    seen = eval(out[1])
    assert {name for name, _ in seen} >= {"fractions", "textwrap", "random", "json"}
    assert all(outside for _, outside in seen), seen
