"""safecompile: run untrusted Python source safely inside a trusted program.

>>> from safecompile import safe_exec
>>> safe_exec("print(sum(i * i for i in range(10)))").output
'285\\n'
"""

from __future__ import annotations

from .api import Formula, Script, compile_restricted, safe_eval, safe_exec
from .errors import (
    AccessDenied,
    CompileRejected,
    ImportDenied,
    LimitExceeded,
    SafeCompileError,
    ScriptError,
    Violation,
)
from .guards.membrane import Grant, ScriptObjectHandle, expose, takes_script_objects
from .limits import Limits, Usage
from .policy import Policy
from .runtime import Result

__all__ = [
    "AccessDenied",
    "CompileRejected",
    "Formula",
    "Grant",
    "ImportDenied",
    "LimitExceeded",
    "Limits",
    "Policy",
    "Result",
    "SafeCompileError",
    "Script",
    "ScriptError",
    "ScriptObjectHandle",
    "Usage",
    "Violation",
    "compile_restricted",
    "expose",
    "safe_eval",
    "safe_exec",
    "takes_script_objects",
]

__version__ = "0.1.0"
