"""SC0xx: the source itself (syntax, size, encoding, not-source input).

These are raised by the gate and the parser rather than found in the walk
(except SC005, which the walker also raises for trees nested too deep); they
are registered so that ``explain``, SARIF and the docs know them.
"""

from __future__ import annotations

from . import Rule, register


@register
class SyntaxErrorRule(Rule):
    """The source is not valid Python."""

    code = "SC001"
    name = "syntax-error"
    message = "{detail}"
    fix = "correct the syntax; the message and position are Python's own"
    docs = """
What: the source does not parse as Python.
Why: nothing is checked or run until the whole source parses.
Example: `def f(:`
Fix: correct the syntax at the reported position.
"""


@register
class SourceTooLarge(Rule):
    """The source is larger than the policy allows."""

    code = "SC002"
    name = "source-too-large"
    message = "source is {size} characters; the policy allows {limit}"
    fix = "split the script or raise Limits.source in the policy"
    docs = """
What: the source text is longer than `Limits.source` (1 MiB by default).
Why: parsing and compiling cost grows with the text; a multi-megabyte script
is a way to exhaust the host before any budget applies.
Example: two million statements of `x = 1`.
Fix: split the script, or raise `Limits.source` if large scripts are expected.
"""


@register
class NotSourceText(Rule):
    """The input is bytecode or holds NUL characters."""

    code = "SC003"
    name = "not-source-text"
    message = "input is not source text ({detail})"
    fix = "pass the script's source text, never a .pyc or marshal data"
    docs = """
What: the input starts with a CPython bytecode magic number or holds a NUL
character.
Why: bytecode is never accepted (hand-made bytecode can crash the
interpreter), and NUL characters are a classic way to make tools disagree on
where the text ends.
Example: the bytes of a `.pyc` file.
Fix: pass Python source text.
"""


@register
class SourceEncoding(Rule):
    """The source is not valid UTF-8 text."""

    code = "SC004"
    name = "source-encoding"
    message = "source is not valid UTF-8 text ({detail})"
    fix = "save the script as UTF-8 text"
    docs = """
What: bytes that are not UTF-8, or text holding an unpaired surrogate.
Why: every layer must read the same characters; invalid text is refused
rather than guessed at.
Example: `b"x = '\\xff'"`.
Fix: save the script as UTF-8.
"""


@register
class SourceTooComplex(Rule):
    """The source nests deeper than the compiler handles safely."""

    code = "SC005"
    name = "source-too-complex"
    message = "source nests more than {depth} levels deep"
    fix = "flatten the expression: use intermediate variables or helper functions"
    docs = """
What: expressions or statements nested deeper than the compiler accepts
(hundreds of levels: `-----...1`, `a.b.b.b...`, nested lambdas or brackets).
Why: deep nesting exhausts the parser's or compiler's recursion and can crash
a host; safecompile refuses it with a clear error instead.
Example: `x = ` followed by 100,000 minus signs and `1`.
Fix: break the expression into steps with intermediate names.
"""
