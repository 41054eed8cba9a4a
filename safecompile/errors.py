"""The exceptions of the public API and the Violation record."""

from __future__ import annotations

from ._records import Record, install

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class Violation(Record):
    """One finding of the static rules: what, where and how to fix."""

    # A frozen record (was a frozen dataclass; see _records.py).
    __slots__ = ("code", "col", "end_col", "end_lineno", "fix", "lineno", "message")

    code: str
    message: str
    lineno: int
    col: int
    end_lineno: int
    end_col: int
    fix: str

    def __init__(self, code: str, message: str, lineno: int, col: int, end_lineno: int,
                 end_col: int, fix: str = "") -> None:
        self._set_fields(locals())

    def __str__(self) -> str:
        return f"{self.lineno}:{self.col}: {self.code} {self.message}"


install(Violation)


class SafeCompileError(Exception):
    """Base of every error safecompile raises on purpose."""


class CompileRejected(SafeCompileError):
    """The static rules refused the source; ``violations`` lists every finding."""

    def __init__(self, violations: list[Violation], filename: str = "<untrusted>") -> None:
        self.violations = sorted(violations, key=lambda v: (v.lineno, v.col, v.code))
        self.filename = filename
        lines = [f"{filename}:{v.lineno}:{v.col}: {v.code} {v.message}" for v in self.violations]
        count = len(self.violations)
        head = f"source rejected ({count} violation{'s' if count != 1 else ''})"
        super().__init__("\n".join([head, *lines]))


class AccessDenied(SafeCompileError):
    """A run-time guard refused an operation.

    The message names the operation and the type only, never a value's repr
    or a host path.
    """


class ImportDenied(AccessDenied, ImportError):
    """An import the policy does not allow (also an ImportError, so scripts
    that probe for optional modules with ``except ImportError`` keep working)."""


class LimitExceeded(SafeCompileError):
    """A budget ran out: ``limit`` names it, with the allowed and used amounts."""

    def __init__(self, limit: str, allowed: Any, used: Any, detail: str = "") -> None:
        self.limit = limit
        self.allowed = allowed
        self.used = used
        text = f"{limit} limit exceeded (limit {allowed}, used {used})"
        if detail:
            text = f"{text}: {detail}"
        super().__init__(text)


class ScriptError(SafeCompileError):
    """The script raised an exception it did not catch.

    ``__cause__`` is the original exception (sanitised: plain text arguments,
    a traceback of the script's own lines only); ``type_name`` is its type's
    name and ``output`` what the script printed before it failed.
    """

    def __init__(self, message: str, type_name: str, output: str = "") -> None:
        super().__init__(message)
        self.type_name = type_name
        self.output = output
