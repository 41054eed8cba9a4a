"""The source gate: only Python source text gets past it.

Bytecode, marshal data, code objects and pre-built ASTs are refused: bytecode
can crash the interpreter, and an AST built by hand can hold nodes the parser
never produces.
"""

from __future__ import annotations

import ast
import os
import types
from importlib._bootstrap_external import MAGIC_NUMBER

from .errors import CompileRejected, Violation

# CPython's bytecode magic of the running interpreter, and the shape every
# CPython magic has since 3.0: two little-endian bytes then b"\r\n".
# (importlib.util.MAGIC_NUMBER is this same value; importlib.util itself is
# not needed at startup.)
_MAGIC = MAGIC_NUMBER


def _reject(code: str, message: str, filename: str, fix: str, line: int = 1) -> CompileRejected:
    return CompileRejected([Violation(code, message, line, 1, line, 1, fix)], filename)


def _looks_like_bytecode(data: bytes) -> bool:
    """Return whether ``data`` starts like a .pyc of any CPython 3 release."""
    if data.startswith(_MAGIC):
        return True
    # Every CPython 3 magic is a little-endian number in 3000..3999 then CRLF.
    return len(data) >= 4 and data[2:4] == b"\r\n" and 3000 <= int.from_bytes(data[:2], "little") < 4000


def gate(source: object, filename: str, max_bytes: int | None) -> str:
    """Return ``source`` as text, or raise TypeError / CompileRejected.

    Accepts ``str``, or ``bytes`` holding UTF-8 source text.
    """
    if isinstance(source, types.CodeType | ast.AST):
        raise TypeError(
            f"safecompile compiles source text only, not {type(source).__name__} objects"
        )
    if isinstance(source, os.PathLike):
        raise TypeError(
            "safecompile compiles source text, not paths: read the file and pass its text"
        )
    if type(source) is bytes:
        if _looks_like_bytecode(source):
            raise _reject("SC003", "input starts with a CPython bytecode magic number; only source text is compiled",
                          filename, "pass the script's source text, never a .pyc or marshal data")
        try:
            text = source.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = source.count(b"\n", 0, exc.start) + 1
            raise _reject("SC004", f"source is not valid UTF-8 (byte offset {exc.start})",
                          filename, "save the script as UTF-8 text", line) from None
        source = text.removeprefix("\ufeff")
    elif type(source) is not str:
        if isinstance(source, str):
            # A str subclass may lie about its contents; take the plain text.
            source = str.__str__(source)
        else:
            raise TypeError(
                f"source must be str (or UTF-8 bytes), not {type(source).__name__}"
            )
    assert type(source) is str
    if max_bytes is not None and len(source) > max_bytes:
        raise _reject(
            "SC002", f"source is {len(source)} characters; the policy allows {max_bytes}",
            filename, "split the script or raise Limits.source in the policy",
        )
    if "\x00" in source:
        line = source.count("\n", 0, source.index("\x00")) + 1
        raise CompileRejected(
            [Violation("SC003", "source contains a NUL character", line, 1, line, 1,
                       "remove the NUL character; source must be plain text")],
            filename,
        )
    try:
        source.encode("utf-8")
    except UnicodeEncodeError as exc:
        line = source.count("\n", 0, exc.start) + 1
        raise _reject("SC004", f"source holds a lone surrogate at character {exc.start}",
                      filename, "remove the unpaired surrogate from the text", line) from None
    return source
