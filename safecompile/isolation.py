"""Process isolation (opt-in): run a script in a pooled worker process.

``Policy(isolation="process")`` or ``safe_exec(..., isolate=True)`` runs the
script in a worker process that holds OS limits and can be killed.  The
worker runs the ordinary in-process pipeline (``compile_restricted`` and the
run-time guards and budgets), so every in-process layer still applies inside
it; this module adds the one layer that does not depend on the interpreter
getting control back.

What each layer stops
---------------------
The in-process budgets (steps, wall time, recursion, output, operand size and
the allocator hook) are checked when the interpreter runs the script's own
bytecode or one of the guards, and a watchdog thread interrupts Python code
that never ticks (the standard library's own loops) at the deadline.  They
stop runaway *Python* code: loops, comprehensions, recursion, big powers,
products and shifts, quadratic integer functions and decimal precision
past their bounds, long repeated sequences, printing, and allocations the
hook sees.  They cannot stop:

* a C call that runs for a long time without returning to the interpreter.
  Scripts can reach such calls: ``decimal.Decimal(1) + 3 ** 1600000``
  converts a 763,000-digit int (within the operand budget) exactly, about
  ten seconds of libmpdec; a ``set()`` of 100,000 ints that all hash alike
  is quadratic, more than half a minute.  The wall-time budget only looks
  at the clock again after the call returns;
* an interpreter crash: a segfault or abort in C code, a CPython bug, or a
  hole in a guard (the ``except*`` crash of CVE-2025-22153 is one
  ``split`` override away), which takes the whole process down;
* memory the allocator hook does not see (C libraries calling ``malloc``
  directly, fragmentation, the interpreter's own arenas).

Only isolation stops those: once the worker reports that the script has
compiled and starts running, the parent waits at most ``limits.time +
grace`` seconds for the answer, then kills the worker (SIGKILL) and raises
``LimitExceeded("time")``; ``RLIMIT_CPU`` is a second clock inside the
worker; ``RLIMIT_AS`` caps its address space at ``limits.memory`` plus
interpreter headroom; a crash ends the worker, not the host.  The pool
replaces a dead worker at once.  Compiling and sending the result back get
``phase_timeout`` seconds each (30 by default), so a run takes at most
``2 * phase_timeout + limits.time + grace`` of wall time.  With
``limits.time = None`` nothing is killed for time (the caller asked for no
limit) and with ``limits.memory = None`` there is no ``RLIMIT_AS``.

How a worker dying is reported (the rules)
------------------------------------------
* killed by the pool after the wall time: ``LimitExceeded("time")``;
* killed by ``SIGXCPU`` (``RLIMIT_CPU``): ``LimitExceeded("time")``;
* a ``MemoryError`` inside the worker (allocator hook or ``RLIMIT_AS``) is
  reported by the worker itself: ``LimitExceeded("memory")``, and the worker
  is replaced;
* any other signal (``SIGSEGV``, ``SIGABRT``, ``SIGBUS``, a ``SIGKILL`` sent
  by someone else such as the kernel's out-of-memory killer):
  ``SafeCompileError("worker crashed: signal N (NAME)")``.  A C library that
  crashes because ``RLIMIT_AS`` refused it memory ends up here too: a signal
  cannot tell "out of memory" from "bug";
* any other exit: ``SafeCompileError("worker exited unexpectedly ...")``;
  a reply that is not valid data: ``SafeCompileError`` (and a kill).

What crosses the process boundary
---------------------------------
Plain data only, both ways, as tagged JSON over a
``multiprocessing.connection`` pipe (never pickle: the parent must not run
anything a compromised worker sends it).  Plain data is the membrane's
(None, bool, int, float, complex, str, bytes, ``datetime`` values with no
tzinfo or a ``datetime.timezone``, ``Decimal``, ``Fraction``, and lists,
tuples, dicts, sets and frozensets of them, exact types, nested at most
``membrane.MAX_DEPTH`` deep); types survive the trip (a tuple stays a tuple).

* Grants and ``Policy.builtins`` must be plain data: anything else raises
  ``TypeError`` before a worker is used.  **Proxied host objects cannot
  cross a process boundary**: exposed host classes, ``Grant``, host
  functions and callbacks live in the host's memory, and a worker can only
  receive a copy of data.  Hosts that need them run without isolation.
* Results: ``output`` and ``usage`` as usual; ``namespace`` (and the value
  of ``eval_isolated``) holds plain data, and every value that is not plain data
  (functions, classes, instances of script classes, module views) is
  replaced by an :class:`Opaque` string describing it, e.g.
  ``"<function area>"``, ``"<class Point>"``, ``"<Point object>"``,
  ``"<module math>"``.  ``Opaque`` is a ``str`` subclass, so the namespace
  stays printable and JSON-serialisable, and ``isinstance(v, Opaque)``
  tells a placeholder from a string the script defined.
* Errors: ``CompileRejected`` (with its violations), ``AccessDenied``,
  ``ImportDenied``, ``LimitExceeded`` (limit, allowed, used, ``usage``,
  ``output``), ``ScriptError`` (``type_name``, ``output``; its
  ``__cause__`` is rebuilt as the builtin exception type with the same
  plain arguments, without a traceback) and the API's own
  ``TypeError``/``ValueError`` are rebuilt in the host.

A worker that escaped the in-process guards could forge its own reply, but
only as plain data: nothing it sends is executed by the host.

Workers
-------
Started from a clean interpreter with the ``forkserver`` start method (or
``spawn`` where there is no fork server): never ``fork``, which would copy the
host's memory (secrets, grants, locks held by other threads) into the
worker.  The fork server is an interpreter started by exec, and forking a new
worker from it is a little cheaper than starting an interpreter, which
matters when killed workers are replaced (measured on 2 cores: the first run
of a pool about 0.8 s, a warm run about 0.5 ms over the in-process cost, a
kill and replacement about 0.2 s; ``spawn`` 10-20 % slower at start).  As
with every spawn/forkserver program, the
host's ``__main__`` module is imported in the worker (as ``__mp_main__``): a
host script must keep its top-level code under ``if __name__ == "__main__":``.

Each worker, before it accepts a job: imports safecompile and the default
policy's modules and runs a warm-up script; sends stdout/stderr to
``/dev/null``; closes its inherited pipes to the host's multiprocessing
resource tracker and fork server; replaces the inherited multiprocessing
authentication key; ignores ``SIGINT`` (the pool ends workers) and
``SIGXFSZ``; then sets ``RLIMIT_AS`` (``limits.memory`` + headroom),
``RLIMIT_FSIZE`` 0, ``RLIMIT_NOFILE`` 64, ``RLIMIT_NPROC`` 0 and
``RLIMIT_CORE`` 0, soft and hard alike.  ``RLIMIT_CPU`` is set per job as a soft limit: CPU time used so far
plus ``ceil(limits.time) + 1`` seconds (CPU time accumulates over a pooled
worker's life).  ``RLIMIT_NPROC`` does not bind root (the kernel exempts
uid 0 and ``CAP_SYS_ADMIN``/``CAP_SYS_RESOURCE``): a worker running as root
can still fork unless the seccomp filter is active.

When ``libseccomp`` (``libseccomp.so.2``) is installed, the worker loads a
seccomp filter through ``ctypes`` (the ``python3-seccomp`` bindings exist
for the system Python only; the C library works for every interpreter).  It
is a deny-list backstop, not an allowlist: ``execve``, process creation
(``fork``, ``vfork``, ``clone``, ``clone3``), ``socket``, ``ptrace`` and
cross-process memory access, ``io_uring``, signals to other processes, opening
files for writing or creating them, and changing the file system fail with
``EPERM``.  ``SECCOMP_AVAILABLE`` says whether the library was found;
without it the filter is skipped silently.

Workers run one job at a time; a worker is retired after ``max_runs`` jobs,
after a memory limit, or when a job needs a different address-space limit.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import datetime
import decimal
import errno
import fractions
import importlib
import json
import math
import multiprocessing
import os
import signal
import sys
import threading
import time
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any, Final, Literal

from .api import compile_restricted, safe_exec
from .errors import (
    AccessDenied,
    CompileRejected,
    ImportDenied,
    LimitExceeded,
    SafeCompileError,
    ScriptError,
    Violation,
)
from .guards.access import type_name
from .guards.membrane import MAX_DEPTH
from .limits import Limits, MiB, Usage
from .policy import DEFAULT_MODULES, DEFAULT_POLICY, Policy
from .runtime import Result, ScriptObject
from .source import gate

__all__ = [
    "SECCOMP_AVAILABLE",
    "Opaque",
    "WorkerPool",
    "default_pool",
    "eval_isolated",
    "run_isolated",
]

Mode = Literal["exec", "eval"]

#: Address space granted to a worker on top of ``limits.memory``.
HEADROOM: Final = 256 * MiB
#: ``RLIMIT_NOFILE`` of a worker: its pipe, /dev/null and module files.
OPEN_FILES: Final = 64
#: Largest reply a worker may send (bytes of JSON).
MAX_REPLY: Final = 256 * MiB

_LIBSECCOMP: Final = ("libseccomp.so.2", "libseccomp.so")


def _libseccomp_present() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    for name in _LIBSECCOMP:
        try:
            ctypes.CDLL(name)
        except OSError:
            continue
        return True
    return False


#: Whether libseccomp was found, so workers install the seccomp filter.
SECCOMP_AVAILABLE: Final[bool] = _libseccomp_present()


class Opaque(str):
    """A placeholder for a value that is not plain data and stayed in the worker.

    Its text describes the value: ``"<function f>"``, ``"<class P>"``,
    ``"<P object>"``, ``"<module math>"``.
    """

    __slots__ = ()


# --- the wire format: plain data as tagged JSON ---------------------------------------
#
# JSON null/true/false/strings/floats/small ints/arrays stand for themselves
# (arrays are lists); every JSON object is a tag {"$": kind, "v": payload}.

_BIG: Final = 1 << 62
_TAGGED_DEPTH: Final = 2 * MAX_DEPTH + 8


class _NotPlain(Exception):
    """A value that is not plain data (its type name is the argument)."""


class _Malformed(Exception):
    """A message that does not follow the wire format."""


def _encode(value: Any, describe: Callable[[Any], str] | None = None, depth: int = 0) -> Any:
    """``value`` as JSON-ready data; non-plain values raise ``_NotPlain``,
    or become an opaque tag when ``describe`` is given."""
    kind = type(value)
    if value is None or kind is bool or kind is str or kind is float:
        return value
    if kind is int:
        return value if -_BIG < value < _BIG else {"$": "int", "v": hex(value)}
    try:
        if depth >= MAX_DEPTH:
            raise _NotPlain("nested too deeply")
        return _encode_compound(value, kind, describe, depth + 1)
    except _NotPlain:
        if describe is None:
            raise
        return {"$": "opaque", "v": describe(value)}


def _encode_compound(value: Any, kind: type, describe: Callable[[Any], str] | None,
                     depth: int) -> Any:
    if kind is list:
        return [_encode(item, describe, depth) for item in value]
    if kind is tuple or kind is set or kind is frozenset:
        tag = kind.__name__
        return {"$": tag, "v": [_encode(item, describe, depth) for item in value]}
    if kind is dict:
        if describe is not None:
            # A key must stay a key: never an opaque placeholder.
            pairs = [[_encode(k, None, depth), _encode(v, describe, depth)] for k, v in value.items()]
        else:
            pairs = [[_encode(k, None, depth), _encode(v, None, depth)] for k, v in value.items()]
        return {"$": "dict", "v": pairs}
    if kind is complex:
        return {"$": "complex", "v": [value.real, value.imag]}
    if kind is bytes:
        return {"$": "bytes", "v": base64.b64encode(value).decode("ascii")}
    if kind is decimal.Decimal:
        return {"$": "Decimal", "v": str(value)}
    if kind is fractions.Fraction:
        return {"$": "Fraction", "v": [_encode(value.numerator), _encode(value.denominator)]}
    if kind is datetime.timedelta:
        return {"$": "timedelta", "v": [value.days, value.seconds, value.microseconds]}
    if kind is datetime.timezone:
        offset = value.utcoffset(None)
        name = value.tzname(None)
        default = datetime.timezone(offset).tzname(None)
        return {"$": "timezone", "v": [_encode(offset), None if name == default else name]}
    if kind is datetime.date:
        return {"$": "date", "v": [value.year, value.month, value.day]}
    if kind is datetime.time:
        return {"$": "time", "v": [value.hour, value.minute, value.second, value.microsecond,
                                   _encode_tz(value.tzinfo), value.fold]}
    if kind is datetime.datetime:
        return {"$": "datetime", "v": [value.year, value.month, value.day, value.hour,
                                       value.minute, value.second, value.microsecond,
                                       _encode_tz(value.tzinfo), value.fold]}
    raise _NotPlain(kind.__name__)


def _encode_tz(tzinfo: datetime.tzinfo | None) -> Any:
    if tzinfo is not None and type(tzinfo) is not datetime.timezone:
        raise _NotPlain(f"{type(tzinfo).__name__} tzinfo")
    return _encode(tzinfo)


def _decode(data: Any, depth: int = 0) -> Any:
    """The value ``data`` (from ``json.loads``) stands for; ``_Malformed`` if
    it is not valid wire data.  Never runs code other than builtin
    constructors of plain types."""
    kind = type(data)
    if data is None or kind is bool or kind is str or kind is float or kind is int:
        return data
    if depth > _TAGGED_DEPTH:
        raise _Malformed("nested too deeply")
    if kind is list:
        return [_decode(item, depth + 1) for item in data]
    if kind is not dict or set(data) != {"$", "v"}:
        raise _Malformed("unexpected JSON value")
    tag, payload = data["$"], data["v"]
    try:
        return _decode_tag(tag, payload, depth + 1)
    except _Malformed:
        raise
    except (TypeError, ValueError, ArithmeticError, OverflowError, decimal.InvalidOperation) as exc:
        raise _Malformed(f"bad {tag!r} value") from exc


def _decode_tag(tag: Any, payload: Any, depth: int) -> Any:
    if tag in ("tuple", "set", "frozenset", "dict", "complex", "Fraction", "timedelta",
               "timezone", "date", "time", "datetime") and type(payload) is not list:
        raise _Malformed(f"{tag!r} needs a list")
    if tag == "tuple":
        return tuple([_decode(item, depth) for item in payload])
    if tag == "set":
        return {_decode(item, depth) for item in payload}
    if tag == "frozenset":
        return frozenset([_decode(item, depth) for item in payload])
    if tag == "dict":
        result = {}
        for pair in payload:
            if type(pair) is not list or len(pair) != 2:
                raise _Malformed("dict items must be pairs")
            result[_decode(pair[0], depth)] = _decode(pair[1], depth)
        return result
    if tag == "opaque" and type(payload) is str:
        return Opaque(payload)
    if tag == "int" and type(payload) is str:
        return int(payload, 16)
    if tag == "bytes" and type(payload) is str:
        return base64.b64decode(payload.encode("ascii"), validate=True)
    if tag == "Decimal" and type(payload) is str:
        return decimal.Decimal(payload)
    items = [_decode(item, depth) for item in payload] if type(payload) is list else None
    if items is not None and all(type(item) in _FIELD_TYPES for item in items):
        builder = _BUILDERS.get(tag) if type(tag) is str else None
        if builder is not None:
            return builder(*items)
    raise _Malformed(f"unknown tag {tag!r}")


def _complex(real: float, imag: float) -> complex:
    if type(real) is not float or type(imag) is not float:
        raise TypeError("complex parts must be floats")
    return complex(real, imag)


def _fraction(numerator: int, denominator: int) -> fractions.Fraction:
    if type(numerator) is not int or type(denominator) is not int:
        raise TypeError("fraction parts must be ints")
    return fractions.Fraction(numerator, denominator)


def _timezone(offset: datetime.timedelta, name: str | None) -> datetime.timezone:
    if type(offset) is not datetime.timedelta:
        raise TypeError("timezone offset must be a timedelta")
    return datetime.timezone(offset) if name is None else datetime.timezone(offset, name)


_FIELD_TYPES: Final = frozenset({int, float, str, type(None), datetime.timedelta, datetime.timezone})
_BUILDERS: Final[dict[str, Callable[..., Any]]] = {
    "complex": _complex,
    "Fraction": _fraction,
    "timedelta": datetime.timedelta,
    "timezone": _timezone,
    "date": datetime.date,
    "time": lambda h, mi, s, us, tz, fold: datetime.time(h, mi, s, us, tz, fold=fold),
    "datetime": lambda y, mo, d, h, mi, s, us, tz, fold: datetime.datetime(
        y, mo, d, h, mi, s, us, tz, fold=fold),
}


def _dump(message: Mapping[str, Any]) -> bytes:
    return json.dumps(message, ensure_ascii=True, allow_nan=True, separators=(",", ":")).encode("ascii")


def _load(data: bytes) -> dict[str, Any]:
    try:
        message = json.loads(data.decode("ascii"))
    except (ValueError, RecursionError) as exc:
        raise _Malformed("not JSON") from exc
    if type(message) is not dict or type(message.get("event")) is not str:
        raise _Malformed("not a message")
    return message


# --- jobs: what the parent sends --------------------------------------------------------

_POLICY_FIELDS: Final = frozenset(
    {"modules", "sources", "builtins", "limits", "script_name", "ignore", "isolation"}
)
_PLAIN_TEXT: Final = (
    "only plain data can cross into an isolated worker process: None, bool, int, float, "
    "complex, str, bytes, datetime values (no tzinfo or a datetime.timezone), Decimal, "
    "Fraction, and lists, tuples, dicts, sets and frozensets of them. Proxied host objects "
    "(exposed classes, Grant, host functions and callbacks, modules) cannot cross a process "
    "boundary: pass their data instead, or run without isolation"
)


def _plain(value: Any, what: str) -> Any:
    try:
        return _encode(value)
    except _NotPlain as exc:
        raise TypeError(f"{what} is or holds a {exc.args[0]}: {_PLAIN_TEXT}") from None


def _limits_data(limits: Limits) -> dict[str, Any]:
    data = {}
    for item in fields(limits):
        value = getattr(limits, item.name)
        if value is not None and type(value) not in (int, float):
            raise TypeError(f"Limits.{item.name} must be a number or None")
        data[item.name] = value
    return data


def _policy_data(policy: Policy) -> dict[str, Any]:
    for item in fields(policy):
        if item.name not in _POLICY_FIELDS and getattr(policy, item.name) != getattr(DEFAULT_POLICY, item.name):
            # Fail closed: a setting this module does not know could be a restriction.
            raise TypeError(f"Policy.{item.name} cannot be sent to an isolated worker yet")
    builtins = {}
    for name, value in policy.builtins.items():
        if type(name) is not str:
            raise TypeError("Policy.builtins keys must be str")
        builtins[name] = _plain(value, f"Policy.builtins[{name!r}]")
    return {
        "modules": sorted(policy.modules),
        "sources": dict(policy.sources),
        "builtins": builtins,
        "script_name": policy.script_name,
        "ignore": sorted(policy.ignore),
        "limits": _limits_data(policy.limits),
    }


def _job(source: str | bytes, grants: Mapping[str, Any] | None, policy: Policy,
         filename: str, limits: Limits, mode: Mode, phase_timeout: float) -> bytes:
    """The job message; TypeError (before any worker is used) for what cannot cross."""
    if type(source) is not str and type(source) is not bytes:
        source = gate(source, filename, None)  # TypeError, or the plain text of a str subclass
    if type(filename) is not str:
        raise TypeError("filename must be str")
    if mode not in ("exec", "eval"):
        raise ValueError("mode must be 'exec' or 'eval'")
    encoded_grants: dict[str, Any] | None = None
    if grants is not None:
        if not isinstance(grants, Mapping):
            raise TypeError("grants must be a mapping of names to values")
        encoded_grants = {}
        for name, value in grants.items():
            if type(name) is not str:
                raise TypeError(f"grant names must be identifiers without leading '__', not {name!r}")
            encoded_grants[name] = _plain(value, f"grant {name!r}")
    return _dump({
        "event": "run",
        "source": _encode(source),
        "grants": encoded_grants,
        "policy": _policy_data(policy),
        "limits": _limits_data(limits),
        "filename": filename,
        "mode": mode,
        "phase_timeout": phase_timeout,
    })


# --- the worker ---------------------------------------------------------------------------


def _describe(value: Any) -> str:
    """The Opaque text for a value that stays in the worker."""
    if type(value) is ScriptObject:
        try:
            value = object.__getattribute__(value, "_sc_obj")
        except AttributeError:  # pragma: no cover - runtime's handle changed shape
            return "<object>"
    if isinstance(value, types.ModuleType):  # module views included
        name = value.__dict__.get("__name__")
        return f"<module {name}>" if type(name) is str else "<module>"
    if isinstance(value, type):
        name = type.__dict__["__name__"].__get__(value)
        return f"<class {name}>" if type(name) is str else "<class>"
    if isinstance(value, types.FunctionType | types.BuiltinFunctionType | types.MethodType):
        name = getattr(value, "__name__", None)
        return f"<function {name}>" if type(name) is str else "<function>"
    return f"<{type_name(value)} object>"


def _set_cpu_limit(seconds: float | None) -> None:
    """Soft RLIMIT_CPU: the CPU time used so far plus ``ceil(seconds) + 1``."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX
        return
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    if seconds is None:
        limit = hard
    else:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        limit = math.ceil(usage.ru_utime + usage.ru_stime + seconds) + 1
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (limit, hard))


def _apply_rlimits(address_space: int | None) -> None:
    import resource

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past RLIMIT_FSIZE fails with EFBIG
    wanted = [
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_FSIZE, 0),
        (resource.RLIMIT_NOFILE, OPEN_FILES),
        (resource.RLIMIT_NPROC, 0),  # not binding for root: see the module docstring
    ]
    if address_space is not None:
        wanted.append((resource.RLIMIT_AS, address_space))
    for which, value in wanted:
        _, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(which, (value, value))


_DENIED_SYSCALLS: Final = (
    "execve", "execveat", "fork", "vfork", "clone", "clone3",  # no new programs or processes
    "socket", "socketpair", "ptrace", "process_vm_readv", "process_vm_writev",
    "pidfd_open", "pidfd_getfd", "pidfd_send_signal", "io_uring_setup", "userfaultfd",
    "bpf", "perf_event_open", "unshare", "setns", "mount", "umount2",
    "creat", "openat2", "truncate", "ftruncate", "unlink", "unlinkat", "rename", "renameat",
    "renameat2", "mkdir", "mkdirat", "rmdir", "link", "linkat", "symlink", "symlinkat",
    "mknod", "mknodat", "chmod", "fchmod", "fchmodat", "chown", "fchown", "lchown", "fchownat",
)


def _install_seccomp() -> bool:
    """Load the deny-list filter (see the module docstring); False without libseccomp."""
    import ctypes

    lib = None
    for name in _LIBSECCOMP:
        try:
            lib = ctypes.CDLL(name, use_errno=True)
            break
        except OSError:
            continue
    if lib is None:
        return False

    class ArgCmp(ctypes.Structure):
        _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int),
                    ("datum_a", ctypes.c_uint64), ("datum_b", ctypes.c_uint64)]

    allow, deny = 0x7FFF0000, 0x00050000 | errno.EPERM  # SCMP_ACT_ALLOW, SCMP_ACT_ERRNO(EPERM)
    not_equal, masked_equal = 1, 7  # SCMP_CMP_NE, SCMP_CMP_MASKED_EQ
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int,
                                           ctypes.c_uint, ctypes.POINTER(ArgCmp)]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    ctx = lib.seccomp_init(allow)
    if not ctx:
        return False

    def rule(syscall: str, *compare: tuple[int, int, int, int]) -> None:
        number = lib.seccomp_syscall_resolve_name(syscall.encode("ascii"))
        if number < 0:
            return  # not a syscall of this architecture
        args = (ArgCmp * len(compare))(*(ArgCmp(*c) for c in compare)) if compare else None
        if lib.seccomp_rule_add_array(ctx, deny, number, len(compare), args) != 0:
            raise OSError(f"seccomp: cannot add a rule for {syscall}")

    try:
        for syscall in _DENIED_SYSCALLS:
            rule(syscall)
        pid = os.getpid()
        for syscall in ("kill", "tkill", "tgkill"):
            rule(syscall, (0, not_equal, pid, 0))  # signals to other processes
        for flag in (os.O_WRONLY, os.O_RDWR, os.O_CREAT, os.O_TRUNC, os.O_APPEND):
            rule("open", (1, masked_equal, flag, flag))
            rule("openat", (2, masked_equal, flag, flag))
        return bool(lib.seccomp_load(ctx) == 0)
    finally:
        lib.seccomp_release(ctx)


def _close_host_pipes(keep: int) -> None:
    """Close the inherited pipes to the host's resource tracker and fork server.

    Through the tracker's pipe a compromised worker could register names the
    tracker then unlinks (the host's shared memory and semaphores); the fork
    server's "alive" pipe would let it outlive the host's fork server.  The
    other inherited descriptors are multiprocessing's own: the read end of a
    pipe from the parent, and with ``spawn`` the write end whose closing
    tells the parent the worker ended (closing that would fool ``join``).
    """
    from multiprocessing import forkserver, resource_tracker

    for owner, name in ((getattr(resource_tracker, "_resource_tracker", None), "_fd"),
                        (getattr(forkserver, "_forkserver", None), "_forkserver_alive_fd")):
        fd = getattr(owner, name, None)
        if type(fd) is int and fd > 2 and fd != keep:
            with contextlib.suppress(OSError):
                os.close(fd)
            setattr(owner, name, None)


def _prepare_worker(conn: Connection, address_space: int | None, seccomp: bool) -> bool:
    """Everything before the first job; returns whether seccomp is active."""
    sys.dont_write_bytecode = True
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the host's; the pool ends workers
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)
    for name in sorted(DEFAULT_MODULES):
        importlib.import_module(name)
    safe_exec("import math\nprint(math.floor(2.5))")  # warm the compiler and guards
    # The deadline watchdog is a thread: it must exist before RLIMIT_NPROC
    # and seccomp forbid new ones (guards/_deadline.c).
    try:
        from .guards import _deadline
    except ImportError:  # pragma: no cover - depends on the build
        pass
    else:
        _deadline.start()
    _close_host_pipes(conn.fileno())
    multiprocessing.current_process().authkey = os.urandom(32)  # the host's key stays in the host
    if sys.platform.startswith("linux") or sys.platform == "darwin":
        _apply_rlimits(address_space)
    return _install_seccomp() if seccomp and SECCOMP_AVAILABLE else False


def _worker_main(conn: Connection, address_space: int | None, seccomp: bool,
                 hook: Callable[[str], str] | None) -> None:
    """The worker's loop: one job at a time until the parent stops or goes."""
    try:
        active = _prepare_worker(conn, address_space, seccomp)
    except BaseException as exc:  # report and end: the parent raises the failure
        conn.send_bytes(_dump({"event": "failed", "message": f"{type(exc).__name__}: {exc}"}))
        return
    conn.send_bytes(_dump({"event": "ready", "seccomp": active}))
    while True:
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError):
            return
        try:
            job = json.loads(data)
            if job.get("event") != "run":
                return
            reply = _serve(conn, job, hook)
        except MemoryError:
            reply = _dump({"event": "error", "kind": "LimitExceeded", "limit": "memory",
                           "message": "memory limit exceeded in the isolated worker",
                           "allowed": None, "used": None})
        conn.send_bytes(reply)


def _serve(conn: Connection, job: dict[str, Any], hook: Callable[[str], str] | None) -> bytes:
    try:
        wire = job["policy"]
        limits = Limits(**job["limits"])
        policy = Policy(
            modules=frozenset(wire["modules"]),
            sources=wire["sources"],
            builtins={k: _decode(v) for k, v in wire["builtins"].items()},
            limits=Limits(**wire["limits"]),
            script_name=wire["script_name"],
            ignore=frozenset(wire["ignore"]),
        )
        source = _decode(job["source"])
        grants = job["grants"]
        if grants is not None:
            grants = {name: _decode(value) for name, value in grants.items()}
        phase_timeout = float(job["phase_timeout"])
        _set_cpu_limit(phase_timeout)
        value: Any = None
        if hook is not None:
            conn.send_bytes(_dump({"event": "running"}))
            _set_cpu_limit(limits.time)
            result = Result(hook(source), {}, Usage())
        else:
            script = compile_restricted(source, job["filename"], job["mode"], policy)
            conn.send_bytes(_dump({"event": "running"}))
            _set_cpu_limit(limits.time)
            if job["mode"] == "exec":
                result = script.run(grants, limits=limits)
            else:
                value = script.run(grants, limits=limits)
                result = Result("", {}, Usage())
        conn.send_bytes(_dump({"event": "finished"}))
        _set_cpu_limit(phase_timeout)
        return _dump({
            "event": "done",
            "output": result.output,
            "namespace": {name: _encode(item, _describe) for name, item in result.namespace.items()
                          if type(name) is str},
            "usage": _usage_data(result.usage),
            "value": _encode(value, _describe),
        })
    except MemoryError:
        raise
    except BaseException as exc:
        return _dump(_error_data(exc))


def _usage_data(usage: Usage) -> dict[str, Any]:
    return {item.name: getattr(usage, item.name) for item in fields(usage)}


_KINDS: Final[dict[str, type[Exception]]] = {
    "CompileRejected": CompileRejected,
    "ImportDenied": ImportDenied,
    "AccessDenied": AccessDenied,
    "LimitExceeded": LimitExceeded,
    "ScriptError": ScriptError,
    "SafeCompileError": SafeCompileError,
    "TypeError": TypeError,
    "ValueError": ValueError,
}


def _error_data(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, MemoryError):
        exc = LimitExceeded("memory", None, "allocation refused")
    kind = next((klass.__name__ for klass in type(exc).__mro__ if klass.__name__ in _KINDS
                 and _KINDS[klass.__name__] is klass), None)
    if kind is None:
        kind = "SafeCompileError"
        message = f"the isolated worker failed: {type(exc).__name__}: {str(exc)[:500]}"
    else:
        message = str(exc)
    data: dict[str, Any] = {"event": "error", "kind": kind, "message": message}
    output = getattr(exc, "output", None)
    data["output"] = output if type(output) is str else None
    if isinstance(exc, LimitExceeded):
        data.update(limit=exc.limit, allowed=_encode(exc.allowed, _describe),
                    used=_encode(exc.used, _describe))
        usage = getattr(exc, "usage", None)
        if type(usage) is Usage:
            data["usage"] = _usage_data(usage)
    elif isinstance(exc, CompileRejected):
        data["filename"] = exc.filename
        data["violations"] = [
            {item.name: getattr(v, item.name) for item in fields(v)} for v in exc.violations
        ]
    elif isinstance(exc, ScriptError):
        data["type_name"] = exc.type_name
        cause = exc.__cause__
        if cause is not None:
            data["cause"] = [type(cause).__name__, [_encode(arg, _describe) for arg in cause.args]]
    return data


# --- the parent side --------------------------------------------------------------------


def _rebuild_error(message: dict[str, Any]) -> BaseException:
    """The host-side exception for an error reply (``_Malformed`` if it is not one)."""
    kind = _KINDS.get(message.get("kind"))  # type: ignore[arg-type]
    text = message.get("message")
    output = message.get("output")
    if kind is None or type(text) is not str or (output is not None and type(output) is not str):
        raise _Malformed("bad error reply")
    error: BaseException
    if kind is LimitExceeded:
        limit = message.get("limit")
        if type(limit) is not str:
            raise _Malformed("bad limit")
        error = LimitExceeded(limit, _decode(message.get("allowed")), _decode(message.get("used")))
        usage = message.get("usage")
        error.usage = _usage(usage) if usage is not None else Usage()  # type: ignore[attr-defined]
    elif kind is CompileRejected:
        violations = message.get("violations")
        filename = message.get("filename")
        if type(violations) is not list or type(filename) is not str:
            raise _Malformed("bad violations")
        error = CompileRejected([_violation(v) for v in violations], filename)
    elif kind is ScriptError:
        type_name_ = message.get("type_name")
        if type(type_name_) is not str:
            raise _Malformed("bad type name")
        error = ScriptError(text, type_name_, output or "")
        cause = message.get("cause")
        if cause is not None:
            error.__cause__ = _rebuild_cause(cause)
    else:
        error = kind(text)
    error.args = (text,)
    if output is not None:
        error.output = output  # type: ignore[attr-defined]
    return error


def _violation(data: Any) -> Violation:
    if type(data) is not dict:
        raise _Malformed("bad violation")
    try:
        violation = Violation(**data)
    except TypeError as exc:
        raise _Malformed("bad violation") from exc
    if any(type(value) not in (str, int) for value in data.values()):
        raise _Malformed("bad violation field")
    return violation


def _rebuild_cause(data: Any) -> Exception:
    """The script's exception as the host sees it in process (membrane.sanitize_exception)."""
    if type(data) is not list or len(data) != 2 or type(data[0]) is not str or type(data[1]) is not list:
        raise _Malformed("bad cause")
    import builtins

    args = [_decode(arg) for arg in data[1]]
    kind = getattr(builtins, data[0], None)
    if not (isinstance(kind, type) and issubclass(kind, Exception)):
        kind = Exception
    try:
        cause = kind(*args)
    except Exception:
        cause = Exception(*args)
    cause.__suppress_context__ = True
    return cause


def _usage(data: Any) -> Usage:
    if type(data) is not dict or set(data) != {item.name for item in fields(Usage)}:
        raise _Malformed("bad usage")
    for value in data.values():
        if type(value) not in (int, float):
            raise _Malformed("bad usage value")
    return Usage(**data)


def _result(message: dict[str, Any]) -> tuple[Result, Any]:
    """The Result of a "done" reply, and the value (eval mode)."""
    output, namespace = message.get("output"), message.get("namespace")
    if type(output) is not str or type(namespace) is not dict:
        raise _Malformed("bad result")
    result = Result(output, {name: _decode(value) for name, value in namespace.items()},
                    _usage(message.get("usage")))
    return result, _decode(message.get("value"))


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return "unknown signal"


def _time_error(limits: Limits, used: float, detail: str) -> LimitExceeded:
    error = LimitExceeded("time", limits.time, round(used, 3), detail)
    error.usage = Usage(seconds=round(used, 6))  # type: ignore[attr-defined]
    error.output = ""  # type: ignore[attr-defined]
    return error


@dataclass(eq=False)
class _Worker:
    process: BaseProcess
    conn: Connection
    address_space: int | None
    ready: bool = False
    seccomp: bool = False
    runs: int = 0
    usable: bool = True
    busy: bool = False
    killed: bool = False
    closed: bool = False


class _Failure(Exception):
    """The worker is gone or unusable; ``error`` is what the caller raises."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


class WorkerPool:
    """A pool of isolation workers; ``run`` is safe to call from many threads.

    size: number of worker processes (started together on first use, kept
        at that number: a worker that dies or is retired is replaced at once).
    start_method: ``"forkserver"`` (default where available) or ``"spawn"``.
    grace: seconds the parent waits past ``limits.time`` before it kills.
    phase_timeout: seconds allowed for compiling the script, and again for
        sending its result, outside the run's own time limit.
    startup_timeout: seconds a new worker may take to get ready.
    headroom: address space granted on top of ``limits.memory``.
    max_runs: jobs before a worker is replaced (None: never).
    seccomp: install the seccomp filter when libseccomp is present.
    _test_hook: tests only; a picklable ``hook(source) -> output`` that the
        worker calls instead of compiling and running the script (with the
        limits, the filter and the wall-time kill in force).
    """

    def __init__(self, size: int = 2, *, start_method: str | None = None, grace: float = 0.5,
                 phase_timeout: float = 30.0, startup_timeout: float = 60.0,
                 headroom: int = HEADROOM, max_runs: int | None = 1000,
                 max_reply: int = MAX_REPLY, seccomp: bool = True,
                 _test_hook: Callable[[str], str] | None = None) -> None:
        if type(size) is not int or size < 1:
            raise ValueError("WorkerPool size must be a positive int")
        if start_method is None:
            methods = multiprocessing.get_all_start_methods()
            start_method = "forkserver" if "forkserver" in methods else "spawn"
        if start_method not in ("forkserver", "spawn"):
            raise ValueError("start_method must be 'forkserver' or 'spawn' (never 'fork')")
        self.size = size
        self.grace = grace
        self.phase_timeout = phase_timeout
        self.startup_timeout = startup_timeout
        self.headroom = headroom
        self.max_runs = max_runs
        self.max_reply = max_reply
        self.seccomp = seccomp
        self._context = multiprocessing.get_context(start_method)
        self._hook = _test_hook
        self._cond = threading.Condition(threading.Lock())
        self._idle: list[_Worker] = []
        self._count = 0
        self._started = False
        self._closed = False
        self._pid = os.getpid()

    # -- public ------------------------------------------------------------------------
    def run(self, source: str | bytes, grants: Mapping[str, Any] | None = None,
            policy: Policy | None = None, filename: str = "<untrusted>",
            limits: Limits | Mapping[str, Any] | None = None) -> Result:
        """``safe_exec`` in a worker: the same Result or errors as in process,
        except that values that are not plain data come back as ``Opaque``."""
        return self._call(source, grants, policy, filename, limits, "exec")[0]

    def evaluate(self, expression: str | bytes, names: Mapping[str, Any] | None = None,
                 policy: Policy | None = None, filename: str = "<expression>",
                 limits: Limits | Mapping[str, Any] | None = None) -> Any:
        """``safe_eval`` in a worker: the expression's value (plain data or ``Opaque``)."""
        return self._call(expression, names, policy, filename, limits, "eval")[1]

    def _call(self, source: str | bytes, grants: Mapping[str, Any] | None, policy: Policy | None,
              filename: str, limits: Limits | Mapping[str, Any] | None,
              mode: Mode) -> tuple[Result, Any]:
        policy = policy or DEFAULT_POLICY
        effective = _effective_limits(policy, limits)
        payload = _job(source, grants, policy, filename, effective, mode, self.phase_timeout)
        address_space = None if effective.memory is None else effective.memory + self.headroom
        worker = self._acquire(address_space)
        try:
            message = self._exchange(worker, payload, effective)
            if message["event"] == "done":
                return _result(message)
            error = _rebuild_error(message)
            if isinstance(error, LimitExceeded) and error.limit == "memory":
                worker.usable = False  # the heap may be in a poor state after RLIMIT_AS
            raise error
        except _Malformed:
            self._kill(worker)
            raise SafeCompileError("the isolated worker sent a malformed reply; it was killed") from None
        except _Failure as failure:
            raise failure.error from None
        finally:
            self._release(worker)

    def close(self) -> None:
        """Stop every idle worker now, and each busy one when its job ends."""
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._count -= len(idle)
            self._cond.notify_all()
        for worker in idle:
            self._stop(worker)

    @property
    def closed(self) -> bool:
        """Whether ``close`` was called."""
        return self._closed

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- workers -----------------------------------------------------------------------
    def _start(self, address_space: int | None) -> _Worker:
        parent, child = self._context.Pipe(duplex=True)
        process = self._context.Process(  # type: ignore[attr-defined]
            target=_worker_main, args=(child, address_space, self.seccomp, self._hook),
            name="safecompile-isolation", daemon=True,
        )
        try:
            process.start()
        except BaseException:
            parent.close()
            raise
        finally:
            child.close()
        return _Worker(process, parent, address_space)

    def _acquire(self, address_space: int | None) -> _Worker:
        """An idle worker with this address-space limit (started or swapped in
        if needed); waits while all ``size`` workers are busy."""
        retire: _Worker | None = None
        try:
            with self._cond:
                while True:
                    if self._closed:
                        raise SafeCompileError("the isolation worker pool is closed")
                    if self._pid != os.getpid():
                        raise SafeCompileError("a WorkerPool cannot be used in a forked child; make a new one")
                    if not self._started:
                        self._started = True
                        for _ in range(self.size):
                            self._idle.append(self._start(address_space))
                            self._count += 1
                    for worker in self._idle:
                        if worker.address_space == address_space:
                            self._idle.remove(worker)
                            return worker
                    if self._idle:
                        retire = self._idle.pop(0)
                        self._count -= 1
                    if self._count < self.size:
                        worker = self._start(address_space)
                        self._count += 1
                        return worker
                    self._cond.wait()
        finally:
            if retire is not None:
                self._stop(retire)

    def _release(self, worker: _Worker) -> None:
        """Back to the idle list, or stopped and replaced at once."""
        worker.runs += 1
        healthy = worker.usable and not worker.busy and (
            self.max_runs is None or worker.runs < self.max_runs)
        with self._cond:
            if healthy and not self._closed:
                self._idle.append(worker)
            else:
                self._count -= 1
                if not self._closed:
                    # If this start fails, _acquire starts one (and reports why) when needed.
                    with contextlib.suppress(Exception):
                        self._idle.append(self._start(worker.address_space))
                        self._count += 1
            self._cond.notify()
        if not healthy or self._closed:
            self._stop(worker)

    def _stop(self, worker: _Worker) -> None:
        """End a worker: politely when it is idle and well, by SIGKILL otherwise."""
        if worker.usable and not worker.busy and worker.process.is_alive():
            with contextlib.suppress(OSError):
                worker.conn.send_bytes(_dump({"event": "stop"}))
            _reap(worker.process, 0.5)
        self._kill(worker)

    def _kill(self, worker: _Worker) -> None:
        """SIGKILL (if still running), reap, and release the worker's descriptors."""
        worker.usable = False
        if worker.closed:
            return
        if worker.process.exitcode is None:
            worker.killed = True
            worker.process.kill()
            worker.process.join(5)  # returns at once: nothing outlives SIGKILL
        worker.conn.close()
        if worker.process.exitcode is not None:
            worker.process.close()
            worker.closed = True

    # -- one job -------------------------------------------------------------------------
    def _exchange(self, worker: _Worker, payload: bytes, limits: Limits) -> dict[str, Any]:
        if not worker.ready:
            message = self._receive(worker, self.startup_timeout, limits, "start")
            if message["event"] != "ready":
                detail = message.get("message")
                self._kill(worker)
                raise _Failure(SafeCompileError(
                    f"an isolation worker could not start: {detail if type(detail) is str else 'unknown'}"))
            worker.ready = True
            worker.seccomp = message.get("seccomp") is True
        worker.busy = True  # until the last message of this job is read
        try:
            worker.conn.send_bytes(payload)
        except OSError:
            raise _Failure(self._death(worker, limits, 0.0)) from None
        message = self._receive(worker, self.phase_timeout, limits, "compile")
        if message["event"] == "running":
            timeout = None if limits.time is None else limits.time + self.grace
            message = self._receive(worker, timeout, limits, "run")
            if message["event"] == "finished":
                message = self._receive(worker, self.phase_timeout, limits, "reply")
        if message["event"] not in ("done", "error"):
            raise _Malformed(f"unexpected event {message['event']!r}")
        worker.busy = False
        return message

    def _receive(self, worker: _Worker, timeout: float | None, limits: Limits,
                 phase: str) -> dict[str, Any]:
        started = time.monotonic()
        ready = wait([worker.conn, worker.process.sentinel], timeout)
        elapsed = time.monotonic() - started
        if not ready:
            self._kill(worker)
            if phase == "run":
                raise _Failure(_time_error(
                    limits, elapsed,
                    "the isolated worker was still busy (a call that never returned to the "
                    "interpreter?) and was killed"))
            raise _Failure(SafeCompileError(
                f"the isolated worker took more than {timeout} s to {_PHASES[phase]}; it was killed"))
        try:
            if not worker.conn.poll():
                raise EOFError
            data = worker.conn.recv_bytes(self.max_reply)
        except EOFError:
            raise _Failure(self._death(worker, limits, elapsed, phase)) from None
        except OSError:
            if worker.process.exitcode is not None:
                raise _Failure(self._death(worker, limits, elapsed, phase)) from None
            self._kill(worker)
            raise _Failure(SafeCompileError(
                f"the isolated worker's reply was unreadable or larger than {self.max_reply} "
                "bytes; it was killed")) from None
        return _load(data)

    def _death(self, worker: _Worker, limits: Limits, elapsed: float,
               phase: str = "run") -> BaseException:
        """The error for a worker that went away (it is reaped and closed)."""
        killed_by_us = worker.killed
        code = None
        if not worker.closed:
            code = _reap(worker.process, 2)
        self._kill(worker)
        if code == -signal.SIGXCPU and phase == "run":
            return _time_error(limits, elapsed, "the isolated worker used up its CPU time (RLIMIT_CPU)")
        if code == -signal.SIGXCPU:
            text = f"the isolated worker ran out of CPU time (RLIMIT_CPU) trying to {_PHASES[phase]}"
        elif killed_by_us:
            text = "the isolated worker was killed by the pool"
        elif code is not None and code < 0:
            text = f"worker crashed: signal {-code} ({_signal_name(-code)})"
            if code == -signal.SIGKILL:
                text += ", sent from outside the pool (the kernel's out-of-memory killer?)"
        elif code is None:
            text = "the isolated worker closed its pipe; it was killed"
        else:
            text = f"the isolated worker exited unexpectedly with status {code}"
        if phase == "start":
            text = (f"an isolation worker could not start: {text} (the worker imports the host's "
                    "__main__ module: keep a script's top-level code under "
                    "`if __name__ == '__main__':`)")
        return SafeCompileError(text)


def _reap(process: BaseProcess, timeout: float) -> int | None:
    """The exit code once ``process`` has ended, or None after ``timeout`` s.

    Polls instead of ``join(timeout)``: with ``spawn``, ``join`` trusts a
    pipe the worker holds, and a worker that closed it would block ``join``
    in ``waitpid`` for as long as it lives.
    """
    deadline = time.monotonic() + timeout
    while process.exitcode is None and time.monotonic() < deadline:
        time.sleep(0.005)
    return process.exitcode


_PHASES: Final = {"start": "start", "compile": "compile the script", "run": "run the script",
                   "reply": "send its result"}


def _effective_limits(policy: Policy, limits: Limits | Mapping[str, Any] | None) -> Limits:
    if limits is None:
        return policy.limits
    if isinstance(limits, Limits):
        return limits
    return policy.limits.merged(**dict(limits))


# --- the default pool -----------------------------------------------------------------

_DEFAULT: WorkerPool | None = None
_DEFAULT_LOCK = threading.Lock()


def default_pool() -> WorkerPool:
    """The pool ``run_isolated`` uses: made on first use, closed at exit."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None or _DEFAULT.closed:
            _DEFAULT = WorkerPool()
            atexit.register(_DEFAULT.close)
        return _DEFAULT


def _forget_default_pool() -> None:
    """In a forked child: the parent's workers are not ours to use."""
    global _DEFAULT, _DEFAULT_LOCK
    _DEFAULT = None
    _DEFAULT_LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_default_pool)


def run_isolated(source: str | bytes, grants: Mapping[str, Any] | None, policy: Policy | None,
                 filename: str = "<untrusted>",
                 limits: Limits | Mapping[str, Any] | None = None) -> Result:
    """``safe_exec`` in the default pool (see the module docstring)."""
    return default_pool().run(source, grants, policy, filename, limits)


def eval_isolated(expression: str | bytes, names: Mapping[str, Any] | None, policy: Policy | None,
                  filename: str = "<expression>",
                  limits: Limits | Mapping[str, Any] | None = None) -> Any:
    """``safe_eval`` in the default pool: the value, plain data or ``Opaque``."""
    return default_pool().evaluate(expression, names, policy, filename, limits)
