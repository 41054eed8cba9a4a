"""Escape-seeking fuzzer: compose known escape moves and check nothing leaks.

Each generated script is a short prelude (a generator, a caught exception
with its traceback, a class of the script's own, a lambda, ...) followed by
a few *attempts*, each wrapped in ``try/except BaseException`` so that one
refused step does not end the run.  An attempt starts from an object (a
grant, a builtin, a literal, a prelude object) and applies steps drawn from
the moves of published sandbox escapes:

* attribute reads with a dangerous name (``__class__``, ``__subclasses__``,
  ``__globals__``, ``gi_frame``, ``f_back``, ``tb_frame``, ``cell_contents``,
  ``_secret``, ``mro`` ...): written statically (``x.__class__``, which the
  static rules must refuse) or, mostly, as ``getattr`` with a name *built at
  run time* (concatenation, slicing, reversal, ``chr`` joins, bytes decode,
  ``%``/``format``/f-string assembly, ``str.lower``/``replace``, a ``str``
  subclass, ``"".join(reversed(...))``);
* ``hasattr``/``setattr``/``delattr``/``vars``/``dir`` with those names;
* formatting paths: ``"{0.<chain>}".format(x)``, ``format_map``,
  ``string.Formatter().format``, a stored bound ``format``, format specs;
* ``match`` class patterns (``case object(_secret=s)``);
* calls, subscripts (``["__builtins__"]``, ``["open"]``), ``next()``,
  ``type()``, subclass walks (``[c for c in subclasses() if ...]``);
* payloads at the end of a chain: ``open(MARKER, "w")``, ``system("touch
  MARKER")``, ``__import__("os")``.

The oracle (``fuzz/oracle.py``): the canary never appears in the output, the
namespace, exception messages or formatted tracebacks; the marker file never
exists; builtins, ``sys.modules`` keys, the ``decimal`` contexts, the global
``random`` state and the host objects are unchanged; nothing but a
``SafeCompileError`` leaves ``safe_exec``.

Long run::

    SAFECOMPILE_PURE=1 python fuzz/escape.py --examples 200000
    python fuzz/escape.py --examples 200000          # the C guards
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``fuzz`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hypothesis import strategies as st

from fuzz import oracle
from fuzz.vocabulary import DANGEROUS, KEYS, PRELUDE, START, name_expr
from safecompile.names import forbidden_attribute


@st.composite
def names(draw: Any, static_ok: bool = False) -> str:
    name = draw(st.sampled_from(DANGEROUS))
    how = draw(st.integers(0, 40))
    cut = draw(st.integers(0, len(name)))
    return name_expr(name, how, cut, literal_ok=static_ok)


@st.composite
def steps(draw: Any, static_ok: bool) -> str:
    """One move applied to ``t`` (a statement that rebinds ``t``)."""
    kind = draw(st.integers(0, 19))
    name = draw(st.sampled_from(DANGEROUS))
    built = draw(names(static_ok))
    if kind <= 5:
        return f"t = getattr(t, {built})"
    if kind == 6:
        if static_ok or forbidden_attribute(name) is None:
            return f"t = t.{name}"
        return f"t = getattr(t, {built}, None)"
    if kind == 7:
        args = draw(st.sampled_from(["", "0", "'os'", f"{str(oracle.MARKER)!r}, 'w'",
                                     f"'touch ' + {str(oracle.MARKER)!r}", "t"]))
        return f"t = t({args})"
    if kind == 8:
        key = draw(st.sampled_from(KEYS))
        return draw(st.sampled_from([f"t = t[{key!r}]", "t = t[0]", "t = t[-1]", f"t = t[{built}]"]))
    if kind == 9:
        return draw(st.sampled_from(["t = next(iter(t))", "t = type(t)", "t = list(t)",
                                     "t = dir(t)", "t = vars(t)" if static_ok else "t = dir(t)[:3]",
                                     "t = repr(t)", "t = t.keys()",
                                     "t = [c for c in t() if 'wrap' in str(c) or 'File' in str(c)]",
                                     "t = t()[-1]"]))
    if kind == 10:
        chain = ".".join(draw(st.lists(st.sampled_from(DANGEROUS), min_size=1, max_size=4)))
        field = draw(st.sampled_from([f"0.{chain}", f"0[{draw(st.sampled_from(KEYS))}]",
                                      f"0.{chain}[{draw(st.sampled_from(KEYS))}]", "0!r:{1}"]))
        template = "{" + field + "}"
        return draw(st.sampled_from([
            f"t = {template!r}.format(t, 5)",
            f"t = {template.replace('{0', '{x')!r}.format_map({{'x': t}})",
            f"t = ('{{0.' + {built} + '}}').format(t)",
            "t = bound_format.__self__.format(t)" if static_ok else "t = bound_format(t)",
            f"t = format(t, {draw(st.sampled_from(['', '>10', '!r', '{0.__class__}']))!r})",
            f"t = str.format({template!r}, t, 1)",
            f"import string\nt = string.Formatter().format({template!r}, t, 1)",
            f"import string\nt = string.Formatter().get_field({field!r}, (t,), {{}})",
            f"t = f'{{t!r:>{draw(st.integers(0, 30))}}}'",
        ]))
    if kind == 11:
        attr = draw(st.sampled_from(["_secret", "name", "gi_frame", "tb_frame", "f_globals",
                                     "cell_contents", "args", "_sc_target", "_obj"]))
        if not static_ok and (forbidden_attribute(attr) is not None or attr.startswith("_")):
            attr = "name"  # the static rule SC106 refuses the others (tested when static_ok)
        return (f"match t:\n    case object({attr}=v):\n        t = v\n"
                f"    case _:\n        t = None")
    if kind == 12:
        value = draw(st.sampled_from(["'pwned'", "lam", "print", "None", "host_fn"]))
        return draw(st.sampled_from([
            f"setattr(t, {built}, {value})",
            f"delattr(t, {built})",
            f"t = hasattr(t, {built})",
        ]))
    if kind == 13:
        return draw(st.sampled_from([
            "t = host_fn(t)", "t = host_obj.greet(t)", "t = host_fn('x', t)",
            "t = host_obj.greet(mine)", "t = host_fn(lam)",
        ]))
    if kind == 14:
        return draw(st.sampled_from([
            f"t = [c for c in getattr(getattr(getattr((), {name_expr('__class__', draw(st.integers(0, 40)), 3, literal_ok=static_ok)}), "
            f"{name_expr('__base__', draw(st.integers(0, 40)), 4, literal_ok=static_ok)}), {name_expr('__subclasses__', draw(st.integers(0, 40)), 6, literal_ok=static_ok)})()"
            " if 'wrap' in str(c)]",
            f"t = getattr(getattr(g, {name_expr('gi_frame', draw(st.integers(0, 40)), 3, literal_ok=static_ok)}), "
            f"{name_expr('f_back', draw(st.integers(0, 40)), 2, literal_ok=static_ok)})",
            f"t = getattr(getattr(err, {name_expr('__traceback__', draw(st.integers(0, 40)), 5, literal_ok=static_ok)}), "
            f"{name_expr('tb_frame', draw(st.integers(0, 40)), 3, literal_ok=static_ok)})",
            f"t = getattr(getattr(lam, {name_expr('__globals__', draw(st.integers(0, 40)), 5, literal_ok=static_ok)}), 'get')"
            f"({name_expr('__builtins__', draw(st.integers(0, 40)), 4, literal_ok=static_ok)})",
        ]))
    if kind == 15:
        # Payloads: what an escape would do with what it reached.
        return draw(st.sampled_from([
            f"t = t({str(oracle.MARKER)!r}, 'w')",
            f"t = t['open']({str(oracle.MARKER)!r}, 'w')",
            f"t = getattr(t('os'), 'system')('touch ' + {str(oracle.MARKER)!r})",
            f"t = getattr(t, 'system')('touch ' + {str(oracle.MARKER)!r})",
            f"t = t['__import__']('os').system('touch ' + {str(oracle.MARKER)!r})",
        ]))
    if kind == 16:
        # Exceptions as carriers: raise what we hold, catch it, look inside.
        return ("try:\n    raise ValueError(t)\nexcept ValueError as caught:\n"
                f"    t = getattr(caught, {built}, caught.args)")
    if kind == 17:
        return draw(st.sampled_from(["t = t.__class__.__mro__[-1].__subclasses__()" if static_ok
                                     else "t = type(t)",
                                     "t = super(type(t), t)", "t = type(t)(t)" ,
                                     "t = isinstance(t, type)", "t = {t: 1}", "t = sorted([t, t])"]))
    if kind == 18:
        return f"t = [x for x in [t] if (t := getattr(x, {built}, x))]"
    return f"print({built}, getattr(t, {built}, 'absent'))"


def _indent(text: str, by: str = "    ") -> str:
    return "\n".join(by + line for line in text.split("\n"))


@st.composite
def attempts(draw: Any, static_ok: bool) -> str:
    start = draw(st.sampled_from(START))
    body = [f"t = {start}"]
    for step in draw(st.lists(steps(static_ok), min_size=1, max_size=5)):
        body.append(step)
        body.append("print(t)")
    handler = draw(st.sampled_from([
        "print('E', e)", "print('E', repr(e))", "print('E', e.args)", "print('E', str(e), e.args)",
    ]))
    return ("try:\n" + _indent("\n".join(body)) +
            f"\nexcept BaseException as e:\n    {handler}\n")


@st.composite
def scripts(draw: Any) -> str:
    """A whole escape-seeking script (source text)."""
    static_ok = draw(st.integers(0, 9)) == 0  # mostly scripts the static rules let through
    parts = [PRELUDE]
    parts += [draw(attempts(static_ok)) for _ in range(draw(st.integers(1, 4)))]
    if draw(st.booleans()):
        parts.append("result = t\n")
    return "\n".join(parts)


def check(source: str) -> None:
    """The property: the oracle finds no evidence of an escape."""
    problems = oracle.check_run(source)
    if problems:
        oracle.restore_host()
    assert not problems, "escape evidence:\n  " + "\n  ".join(problems)


def main(argv: list[str] | None = None) -> int:
    from fuzz import _runner

    return _runner.main("escape", scripts(), check, argv, setup=oracle.warm_up)


if __name__ == "__main__":
    sys.exit(main())
