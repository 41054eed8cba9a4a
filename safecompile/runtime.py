"""Run compiled code: namespace, budgets, imports, errors, values out.

``execute`` builds a fresh run (builtins, guards bound to a fresh budget, the
script's globals), runs the code in a copied ``contextvars`` context with a
fresh ``decimal`` context, maps every way the run can end onto the public
errors, and hands back a ``Result`` whose values cross the membrane.
"""

from __future__ import annotations

import _contextvars
import _thread
import builtins as _builtins
import contextlib
import decimal
import functools
import operator
import sys
import time
import types
import weakref
from collections.abc import Callable, Iterator, Mapping

from . import names
from .compiler import CACHE, FAST_BUILTINS, Compiled
from .errors import (
    AccessDenied,
    CompileRejected,
    ImportDenied,
    LimitExceeded,
    SafeCompileError,
    ScriptError,
)
from .guards import IMPLEMENTATION, membrane

# Imported with the library, not on a script's first `import re`: importing
# `regex` registers its pattern type with copyreg, and that must not happen
# during a safe_exec call (the host's state is unchanged by runs; the shared
# attack harness checks it around each call).
from .guards import regex as _regex_view  # noqa: F401

if sys.version_info >= (3, 12):
    # From 3.12, importing typing registers ParamSpecArgs/ParamSpecKwargs
    # with copyreg: like regex, it is imported with the library there, never
    # by a script's first `import typing` (3.11's typing registers nothing).
    import typing  # noqa: F401
from .guards.access import Ownership, guards_for, type_name
from .guards.budget import RunBudget
from .guards.builtins import (
    EXCEPTION_NAMES,
    IMPLEMENTATION_IMPORTS,
    SafeRange,
    make_builtins,
    operand_guards,
)
from .guards.imports import CURRENT, stdlib_view
from .guards.modules import (
    ModuleView,
    allowed_names,
    make_view,
    view_modules,
    view_names,
)
from .guards.number_views import bounded_context
from .limits import Limits, Usage
from .policy import Policy

TYPE_CHECKING = False
if TYPE_CHECKING:
    import random
    from typing import Any

try:  # the allocator hook is C only; without it memory is not accounted
    from .guards import _memory
except ImportError:  # pragma: no cover - depends on the build
    _memory = None  # type: ignore[assignment]
if _memory is not None and not _memory.installed():  # type: ignore[redundant-expr]  # pragma: no cover
    # -X dev, debug or mimalloc allocators: blocks cannot be sized, so the
    # hook is not installed and memory is not accounted in-process.
    _memory = None  # type: ignore[assignment]


try:  # the deadline watchdog is C only; without it untimed stdlib loops overrun
    from .guards._deadline import TimeUp, configure, watched
except ImportError:  # pragma: no cover - depends on the build
    class TimeUp(BaseException):  # type: ignore[no-redef]
        """Never raised: there is no watchdog."""

    def watched(seconds: float, function: Callable[[], Any], error: type[TimeUp] = TimeUp, /) -> Any:  # type: ignore[misc]
        return function()
else:
    # The watchdog fires only when the innermost code, past frames of the
    # modules scripts use (the views' modules, what CPython imports for
    # them, regex) and of safecompile itself, is the script's.  Any other
    # frame defers it: a host function the script called through a grant,
    # and the interpreter's own callbacks run in the script's thread (a
    # weakref callback in _weakrefset, a gc callback, a host __del__).
    configure(frozenset({name.split(".")[0] for name in view_modules()})
              | IMPLEMENTATION_IMPORTS | {"regex", "_pylong", "_pydecimal", "safecompile"})


def _load_before_run(compiled: Compiled, policy: Policy) -> None:
    """Build, before the run and outside its budgets, the views of the
    modules the script names (``compiled.modules``), so the first import of
    a module (``json``, ``typing``, ``dataclasses``, ``fractions``...) never
    happens inside a run, where the memory budget would count it and the
    watchdog could stop it half done.  (The library used to import several
    of them itself; it now leaves them to the scripts that use them.)

    The import rewrite names every module a script imports as a constant
    (compiler._module_names finds them all).  Restricted-source modules
    (``policy.sources``) are compiled during the run: the modules their text
    names are loaded here too.  A failure here is left to the run's own
    import to report.
    """
    wanted = compiled.modules
    if policy.sources:
        wanted = wanted | _named_in_sources(policy)
    for name in wanted & policy.modules:
        if name not in policy.sources:
            with contextlib.suppress(Exception):  # the run's own import reports it
                stdlib_view(name, policy.script_name)


#: id(policy.sources) -> (that mapping, the view modules its texts name);
#: the mapping is kept so its id is not reused; a few policies at most.
_SOURCE_MODULES: dict[int, tuple[object, frozenset[str]]] = {}


def _named_in_sources(policy: Policy) -> frozenset[str]:
    """The view modules whose names occur anywhere in the policy's
    restricted-source modules (a superset of what they import)."""
    sources = policy.sources
    found = _SOURCE_MODULES.get(id(sources))
    if found is not None and found[0] is sources:
        return found[1]
    names_ = frozenset(name for name in view_modules()
                       if any(name in text for text in sources.values()))
    if len(_SOURCE_MODULES) >= 64:
        _SOURCE_MODULES.clear()
    _SOURCE_MODULES[id(sources)] = (sources, names_)
    return names_


class _OutOfTime(TimeUp):
    """What the watchdog raises in a run's thread past its deadline.

    The interpreter instantiates it in that thread, inside the run, before
    any handler of the script's sees it: so the run's time budget is spent
    first, and a script that catches it (``except:``) finds every later
    tick raising ``LimitExceeded`` at once.
    """

    def __init__(self) -> None:
        super().__init__()
        run = CURRENT.get(None)
        if run is not None:
            with contextlib.suppress(Exception):
                run.over_time()

# How long past the deadline the watchdog waits: Python code that ticks is
# stopped by its step counter at the deadline itself, with the line it was on.
_WATCHDOG_GRACE = 0.05


class Result:
    """What a run produced: printed text, top-level names, budget usage.

    ``namespace`` is computed on first access (plain data as it is, script
    objects as handles), so a host that only reads ``output`` pays nothing
    for the names the script left behind.
    """

    __slots__ = ("_export", "_namespace", "output", "usage")

    def __init__(self, output: str, namespace: dict[str, Any] | Callable[[], dict[str, Any]],
                 usage: Usage) -> None:
        self.output = output
        self.usage = usage
        if callable(namespace):
            self._export: Callable[[], dict[str, Any]] | None = namespace
            self._namespace: dict[str, Any] | None = None
        else:
            self._export = None
            self._namespace = namespace

    @property
    def namespace(self) -> dict[str, Any]:
        if self._namespace is None:
            assert self._export is not None
            self._namespace = self._export()
            self._export = None
        return self._namespace

    def __repr__(self) -> str:
        return f"Result(output={self.output!r}, usage={self.usage!r})"


class _Modules:
    __slots__ = ("loading", "views")

    def __init__(self) -> None:
        self.views: dict[str, Any] = {}
        self.loading: set[str] = set()


_AUG_OPS: dict[str, Callable[[Any, Any], Any]] = {"**": operator.pow, "<<": operator.lshift}


class _Writer:
    """``__sc_write__(obj)``: the target of attribute writes in complex targets."""

    __slots__ = ("_obj", "_run")
    _obj: Any
    _run: RunState

    def __init__(self, obj: Any, run: RunState) -> None:
        object.__setattr__(self, "_obj", obj)
        object.__setattr__(self, "_run", run)

    def __getitem__(self, name: str) -> Any:
        return self._run.guards.getattr(self._obj, name)

    def __setitem__(self, name: str, value: Any) -> None:
        self._run.guards.setattr(self._obj, name, value)

    def __delitem__(self, name: str) -> None:
        self._run.guards.delattr(self._obj, name)


def _loop_iter(iterate: Callable[[Any], Iterator[Any]]) -> Callable[[Any], Iterator[Any]]:
    """The iterable of a for-loop: ranges already tick per item (SafeRange),
    everything else is wrapped once."""

    def loop_iter(iterable: Any) -> Iterator[Any]:
        if type(iterable) is SafeRange:
            return iter(iterable)
        return iterate(iterable)

    return loop_iter


class RunState:
    """One run: its budget, builtins, globals and per-run module state."""

    def __init__(self, compiled: Compiled, policy: Policy, limits: Limits) -> None:
        self.compiled = compiled
        self.policy = policy
        self.limits = limits
        self.guards = guards_for(policy.script_name)
        self.ownership: Ownership = self.guards.ownership
        self.modules = _Modules()
        self._rng: random.Random | None = None
        self._decimal_templates: dict[str, decimal.Context] | None = None
        self.lock = _thread.RLock()
        self.globals: dict[str, Any] = {"__name__": policy.script_name, "__doc__": None}
        self.builtins: dict[str, Any] = {}
        self.granted: dict[str, Any] = {}
        # The generators of the script's generator functions, by creation
        # number (see track_generator and close_generators).
        self.generators: weakref.WeakKeyDictionary[types.GeneratorType[Any, Any, Any], int] = (
            weakref.WeakKeyDictionary()
        )
        self.made = 0
        self.active = 0  # handle invocations under way (see ScriptObject._enter)
        _load_before_run(compiled, policy)
        membrane.fraction_class()  # HOLDERS knows Fraction if the host loaded fractions
        self.budget = self.arm()

    # -- per-run pieces ------------------------------------------------------
    def arm(self) -> RunBudget:
        """Bind a fresh budget into the builtins and the emitted names."""
        previous: RunBudget | None = getattr(self, "budget", None)
        budget = RunBudget(self.limits, self.policy.script_name,
                           renew=None if previous is None else previous.counter)
        self.budget = budget
        self.operand = operand_guards(budget)
        extra = {name: membrane.admit(value) for name, value in self.policy.builtins.items()}
        table = make_builtins(budget, self.guards, self.build_class, extra)
        self.builtins.clear()
        self.builtins.update(table)
        guards = self.guards
        pow_guard = self.operand["pow"]
        self.globals.update({
            "__builtins__": self.builtins,
            names.GETATTR: guards.getattr,
            names.SETATTR: self.setattr_value_first,
            names.WRITE: self.writer,
            names.IMPORT: self.import_module,
            names.IMPORT_FROM: self.import_from,
            names.ITER: _loop_iter(budget.iterate),
            names.TICK: budget.tick,
            names.LOOP: budget.loop,
            names.ENTER: budget.enter_site,
            names.ENTER_METHOD: budget.enter_method,
            names.POW: pow_guard,
            names.LSHIFT: self.operand["lshift"],
            names.MUL: self.operand["mul"],
            names.AUG_ITEM: self.aug_item,
            names.GENERATOR: self.track_generator,
        })
        return budget

    def track_generator(self, function: Callable[..., Any]) -> Callable[..., Any]:
        """Wrap a script generator function so the run knows its generators."""
        generators = self.generators

        def start(*args: Any, **kwargs: Any) -> Any:
            generator = function(*args, **kwargs)
            self.made += 1
            generators[generator] = self.made
            return generator

        # The wrapper stands in for the function: same names, same module
        # (so it stays the script's own object), same attributes.
        functools.update_wrapper(start, function)
        return start

    def close_generators(self, since: int, keep: Any = None) -> None:
        """Close the generators made since ``since`` that are left suspended.

        SAFETY: a suspended generator's ``finally`` and ``with`` exits would
        otherwise run whenever the host's garbage collector gets to it,
        outside any run.  They run here, still inside the run and its
        budget; what they raise is dropped, as CPython drops what a
        generator raises when it is collected.
        """
        for generator, number in list(self.generators.items()):
            if number > since and generator is not keep and generator.gi_suspended:
                with contextlib.suppress(Exception):  # as at garbage collection, minus the noise
                    generator.close()

    def rng(self) -> random.Random:
        if self._rng is None:
            # Loaded before the run: only the random view, built (and the
            # module imported) before the run, calls this.
            import random

            self._rng = random.Random()  # noqa: S311 - the scripts' own random module
        return self._rng

    def decimal_templates(self) -> dict[str, decimal.Context]:
        if self._decimal_templates is None:
            self._decimal_templates = {
                "DefaultContext": self.fresh_decimal_context(decimal.DefaultContext.copy()),
                "BasicContext": self.fresh_decimal_context(decimal.BasicContext.copy()),
                "ExtendedContext": self.fresh_decimal_context(decimal.ExtendedContext.copy()),
            }
        return self._decimal_templates

    def fresh_decimal_context(self, context: decimal.Context | None = None) -> decimal.Context:
        """A decimal context for this run, inside the operand budget's bounds
        (guards/number_views.py) when the run has one."""
        if context is None:
            context = decimal.Context()
        if self.limits.operand is not None:
            bounded_context(context)
        return context

    # -- guards bound to this run --------------------------------------------------
    def setattr_value_first(self, value: Any, obj: Any, name: str) -> None:
        self.guards.setattr(obj, name, value)

    def enter_method(self, owner: Any) -> None:
        """A method entry: a step, the recursion check, and `self` must be the
        script's own object (its reads and writes inside are not guarded).
        The guard's ``Budget.enter_method`` (C, or its pure twin) does all
        three, with ``self.ownership.owns``'s test and this AccessDenied."""
        self.budget.enter_method(owner)

    def writer(self, obj: Any) -> _Writer:
        return _Writer(obj, self)

    def aug_item(self, container: Any, key: Any, op: str, value: Any) -> None:
        current = container[key]
        guard = {"**": "pow", "<<": "lshift", "*": "mul"}[op]
        container[key] = self.operand[guard](current, value)

    def build_class(self, func: Any, name: Any, *bases: Any, **kwargs: Any) -> Any:
        """``__build_class__`` without keywords, metaclasses or host bases."""
        if kwargs:
            raise AccessDenied("class keywords (metaclass=...) are not available to scripts")
        for base in bases:
            if membrane.is_proxy(base) or isinstance(base, ModuleView):
                raise AccessDenied(f"class {name!s} cannot derive from a host object or module")
            if not isinstance(base, type) and not hasattr(type(base), "__mro_entries__"):
                raise AccessDenied(f"class {name!s} cannot derive from a {type(base).__name__}")
        cls = _builtins.__build_class__(func, name, *bases)
        if isinstance(cls, type) and issubclass(cls, BaseExceptionGroup):
            overridden = names.EXCEPTION_GROUP_TRUSTED & set(vars(cls))
            if overridden:
                # CVE-2025-22153: except* trusts what split() returns.
                raise AccessDenied(
                    f"class {name!s} may not override {', '.join(sorted(overridden))}() "
                    "of exception groups: except* relies on the builtin method"
                )
        return cls

    def import_module(self, name: Any, bind_top: bool = False) -> Any:
        """``import name``: a read-only view of an allowed module."""
        if type(name) is not str:
            raise ImportDenied("module names must be str")
        view = self.modules.views.get(name)
        if view is not None:
            return view
        policy = self.policy
        if name in policy.sources:
            view = self._load_source_module(name)
        elif name in policy.modules and allowed_names(name) is not None:
            view = stdlib_view(name, policy.script_name)
        else:
            raise ImportDenied(f"import of module {names.shown(name)} is not allowed in scripts")
        self.modules.views[name] = view
        return view

    def import_from(self, module: Any, wanted: tuple[str, ...]) -> tuple[Any, ...]:
        """``from module import a, b``."""
        view = self.import_module(module)
        values = []
        for name in wanted:
            if type(name) is not str or name.startswith("_") or name not in view_names(view):
                raise ImportDenied(f"cannot import name {names.shown(name)} from {names.shown(module)}: not available to scripts")
            values.append(getattr(view, name))
        return tuple(values)

    def _load_source_module(self, name: str) -> Any:
        if name in self.modules.loading:
            raise ImportDenied(f"circular import of module {names.shown(name)}")
        self.modules.loading.add(name)
        try:
            compiled = CACHE.get(self.policy.sources[name], f"<module {name}>", "exec", self.policy)
            namespace: dict[str, Any] = {
                "__name__": self.policy.script_name, "__doc__": None,
            }
            namespace.update({k: v for k, v in self.globals.items() if k.startswith(names.EMITTED_PREFIX)})
            namespace["__builtins__"] = self.builtins
            exec(compiled.code, namespace)
        finally:
            self.modules.loading.discard(name)
        public = {k: v for k, v in namespace.items() if not k.startswith("_")}
        return make_view(name, public)

    # -- running ---------------------------------------------------------------------
    def run_in_context(self, function: Callable[[], Any]) -> Any:
        """Run ``function`` as part of this run (context, decimal, memory)."""
        context = _contextvars.copy_context()
        return context.run(self._enter_and_run, function)

    def _enter_and_run(self, function: Callable[[], Any]) -> Any:
        CURRENT.set(self)
        decimal.setcontext(self.fresh_decimal_context())
        memory = _memory
        limit = self.limits.memory
        if memory is not None:
            memory.begin(-1 if limit is None else limit)
        try:
            # SAFETY: the watchdog raises TimeUp in this thread only inside
            # watched(), which leaves none pending when it returns, so the
            # accounting below always runs (guards/_deadline.c).
            return watched(self.seconds_left() + _WATCHDOG_GRACE, function, _OutOfTime)
        finally:
            if memory is not None:
                used, peak, exceeded = memory.end()
                self.budget.memory_used = used
                self.budget.memory_peak = max(self.budget.memory_peak, peak)
                if exceeded:
                    self.budget.exceed("memory", limit, peak)

    def seconds_left(self) -> float:
        """Seconds until this run's wall-time budget is spent (inf: none)."""
        limit = self.limits.time
        if limit is None:
            return float("inf")
        return self.budget.started + limit - time.monotonic()

    def over_time(self) -> bool:
        """Mark the time budget spent if the deadline has passed."""
        limit = self.limits.time
        if limit is None:
            return False
        elapsed = self.budget.elapsed()
        if elapsed <= limit:
            return False
        if self.budget.spent is None:
            self.budget.exceed("time", limit, round(elapsed, 3))
        return True

    def usage(self) -> Usage:
        budget = self.budget
        return Usage(
            steps=budget.counter.steps,
            seconds=round(budget.elapsed(), 6),
            memory=budget.memory_peak,
            recursion=0,
            output=budget.output_used,
        )

    def export(self, value: Any, depth: int = 0, memo: dict[tuple[int, int], Any] | None = None) -> Any:
        """A value going to the host: plain data as is, script objects as
        handles.  ``memo`` maps (id, depth) of each container converted to
        its conversion, so shared parts are converted once (a = [a, a],
        sixty times, has 2**60 paths but 61 parts)."""
        kind = type(value)
        if kind in membrane.SCALARS or (kind in membrane.HOLDERS and membrane.holder_ok(value)):
            return value
        if membrane.is_proxy(value):
            return membrane.unwrap(value)
        if isinstance(value, ModuleView):
            return value
        # Plain data leaves as it is (the run is over; nothing is copied).
        if membrane.is_plain(value):
            return value
        if depth < membrane.MAX_DEPTH and kind in (list, tuple, dict, set, frozenset):
            if memo is None:
                memo = {}
            key = (id(value), depth)
            if key in memo:
                return memo[key]
            converted: Any = None
            if kind is list:
                converted = [self.export(item, depth + 1, memo) for item in value]
            elif kind is tuple:
                converted = tuple(self.export(item, depth + 1, memo) for item in value)
            elif kind is dict and all(type(k) in membrane.SCALARS for k in value):
                # Keys must already be plain: hashing a handle would run script code.
                converted = {k: self.export(v, depth + 1, memo) for k, v in value.items()}
            if converted is not None:
                memo[key] = converted
                return converted
        if kind is types.GeneratorType and value in self.generators:
            return GeneratorHandle(value, self)
        return ScriptObject(value, self)


# --- results and errors ---------------------------------------------------------------


def _script_codes(code: types.CodeType) -> set[types.CodeType]:
    found = {code}
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            found |= _script_codes(const)
    return found


def _script_traceback(tb: types.TracebackType | None, codes: set[types.CodeType]) -> types.TracebackType | None:
    """The traceback entries of the script's own code only."""
    kept: list[types.TracebackType] = []
    while tb is not None:
        if tb.tb_frame.f_code in codes:
            kept.append(tb)
        tb = tb.tb_next
    result: types.TracebackType | None = None
    for entry in reversed(kept):
        result = types.TracebackType(result, entry.tb_frame, entry.tb_lasti, entry.tb_lineno)
    return result


def _safe_text(exc: BaseException) -> str:
    try:
        text: object = str(exc)
    except BaseException:
        return f"<unprintable {type(exc).__name__}>"
    if type(text) is not str:
        # str() can hand back a str subclass made by the script's __str__.
        return str.__str__(text) if isinstance(text, str) else "<unprintable>"
    return text[:2000]


def _last_line(tb: types.TracebackType | None) -> int | None:
    line = None
    while tb is not None:
        line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _limit_from(run: RunState) -> LimitExceeded:
    spent = run.budget.spent
    assert spent is not None
    limit, allowed, used = spent
    error = LimitExceeded(limit, allowed, used, run.budget.detail)
    error.usage = run.usage()  # type: ignore[attr-defined]
    error.output = run.budget.output()  # type: ignore[attr-defined]
    return error


def _fail(run: RunState, exc: BaseException) -> SafeCompileError:
    """The public error for an exception that ended the run."""
    codes = _script_codes(run.compiled.code)
    if (run.budget.spent is not None and not isinstance(exc, AccessDenied | CompileRejected)) or isinstance(exc, LimitExceeded):
        if run.budget.spent is None:
            assert isinstance(exc, LimitExceeded)
            run.budget.exceed(exc.limit, exc.allowed, exc.used)
        error: SafeCompileError = _limit_from(run)
    elif isinstance(exc, RecursionError):
        run.budget.exceed("recursion", run.limits.recursion, "interpreter limit",
                          "nesting too deep for the interpreter")
        error = _limit_from(run)
    elif isinstance(exc, MemoryError):
        run.budget.exceed("memory", run.limits.memory, "allocation refused")
        error = _limit_from(run)
    elif isinstance(exc, SafeCompileError):
        error = type(exc).__new__(type(exc))
        error.__dict__.update(exc.__dict__)
        error.args = exc.args
        error.output = run.budget.output()  # type: ignore[attr-defined]
    else:
        text = _safe_text(exc)
        kind = type(exc).__name__
        if type(kind) is not str:
            kind = "Exception"
        line = _last_line(_script_traceback(exc.__traceback__, codes))
        where = f" (line {line})" if line else ""
        message = f"{kind}: {text}{where}" if text else f"{kind}{where}"
        error = ScriptError(message, kind, run.budget.output())
        cause = membrane.sanitize_exception(exc)
        if not cause.args and text:
            cause.args = (text,)
        cause.__traceback__ = _script_traceback(exc.__traceback__, codes)
        error.__cause__ = cause
    error.__traceback__ = None
    error.__suppress_context__ = True
    return error


def _fail_in_run(run: RunState, exc: BaseException) -> SafeCompileError:
    """``_fail`` as part of the run: describing the exception calls the
    script's own ``__str__`` (and its args' ``__str__``), which must run
    under the run's budgets, decimal context and memory accounting, never
    as host code."""
    if (run.over_time() or isinstance(exc, TimeUp)) and run.budget.spent is not None:
        # Past the deadline nothing more of the script runs, not even its
        # __str__: the run ran out of time, whatever it raised.
        return _limit_from(run)
    try:
        failure: SafeCompileError = run.run_in_context(lambda: _fail(run, exc))
    except BaseException:  # describing it failed too: say only what it was
        kind = type(exc).__name__
        failure = ScriptError(f"{kind if type(kind) is str else 'Exception'}: <unprintable>",
                              "Exception", run.budget.output())
    if run.budget.spent is not None and isinstance(failure, ScriptError):
        failure = _limit_from(run)  # the description itself ran out of a budget
    return failure


def _run_guarded(run: RunState, function: Callable[[], Any], close: bool = False) -> Any:
    """Run ``function`` in ``run``; raise only public errors.

    With ``close``, generators the function made and left suspended are
    closed before the run ends (all but the one it returns).
    """
    failure: SafeCompileError | None = None
    outcome: Any = None
    since = run.made
    try:
        outcome = run.run_in_context(function)
    except BaseException as exc:
        failure = _fail_in_run(run, exc)
        del exc
    if close and run.made > since:
        try:
            run.run_in_context(lambda: run.close_generators(since, keep=outcome))
        except BaseException as exc:  # a limit reached by a finally block
            if failure is None:
                failure = _fail_in_run(run, exc)
            del exc
    if failure is None and run.budget.spent is None:
        # A long C call (no ticks) may have run past the deadline: the clock
        # is read once more when the run ends.
        run.over_time()
    if failure is None and run.budget.spent is not None:
        failure = _limit_from(run)
    # The run is over: script code that outlives it (a suspended generator's
    # finally block at garbage collection, a __del__) finds its budget spent.
    run.budget.counter.spend("time", run.limits.time, "run finished")
    if failure is not None:
        raise failure
    return outcome


_BUILTIN_NAMES: dict[frozenset[str], frozenset[str]] = {}


def builtin_names(policy: Policy) -> frozenset[str]:
    """The names a run under ``policy`` finds in its builtins."""
    key = frozenset(policy.builtins)
    names_ = _BUILTIN_NAMES.get(key)
    if names_ is None:
        probe = RunState(CACHE.get("pass", "<builtins>", "exec", policy), policy, policy.limits)
        names_ = _BUILTIN_NAMES[key] = frozenset(probe.builtins)
    return names_


def _admit_grants(run: RunState, grants: Mapping[str, Any] | None) -> None:
    if grants is None:
        return
    if not isinstance(grants, Mapping):
        raise TypeError("grants must be a mapping of names to values")
    for name, value in grants.items():
        if type(name) is not str or not name.isidentifier() or name.startswith("__"):
            raise TypeError(f"grant names must be identifiers without leading '__', not {name!r}")
        admitted = membrane.admit(value)
        run.granted[name] = admitted
        run.globals[name] = admitted


def execute(compiled: Compiled, grants: Mapping[str, Any] | None, policy: Policy,
            limits: Limits | None = None) -> Result:
    """Run exec-mode code; return its Result or raise a public error."""
    run = RunState(compiled, policy, limits or policy.limits)
    _admit_grants(run, grants)
    code = compiled.code
    glb = run.globals

    def body() -> None:
        exec(code, glb)

    _run_guarded(run, body, close=True)
    output, usage = run.budget.output(), run.usage()
    names_at_end = dict(glb)  # what the run left, whatever handles do later

    def namespace() -> dict[str, Any]:
        return {
            key: run.export(value) for key, value in names_at_end.items()
            if not key.startswith("__") and not (key in run.granted and value is run.granted[key])
        }

    return Result(output, namespace, usage)


def evaluate(compiled: Compiled, names_: Mapping[str, Any] | None, policy: Policy,
             limits: Limits | None = None) -> Any:
    """Run eval-mode code; return its value (exported) or raise."""
    run = RunState(compiled, policy, limits or policy.limits)
    _admit_grants(run, names_)
    code = compiled.code
    glb = run.globals

    def body() -> Any:
        return eval(code, glb)  # noqa: S307 - compiled, checked code

    value = _run_guarded(run, body, close=True)
    return run.export(value)


# --- the formula fast path ------------------------------------------------------------

_NUMBERS = (int, float, complex, decimal.Decimal)


def _fast_sum(iterable: Any, /, start: Any = 0) -> Any:
    """sum() of numbers (linear time); other starts need the full run."""
    number = isinstance(start, (*_NUMBERS, membrane.fraction_class()))
    if not number:
        raise AccessDenied("sum() with a non-number start is not available in formulas")
    return _builtins.sum(iterable, start)


def _fast_builtins(_fast_operand: dict[str, Callable[..., Any]]) -> dict[str, Any]:
    table = {name: getattr(_builtins, name) for name in FAST_BUILTINS}
    table["sum"] = _fast_sum
    table["pow"] = _fast_operand["pow"]
    table["round"] = _fast_operand["round"]
    for name in EXCEPTION_NAMES:
        table[name] = getattr(_builtins, name)
    return table


class _OperandOnly:
    """The operand checks of the fast path: no steps, no clock."""

    __slots__ = ("limits",)

    def __init__(self, limits: Limits) -> None:
        self.limits = limits

    def exceed(self, limit: str, allowed: Any, used: Any, detail: str = "") -> LimitExceeded:
        return LimitExceeded(limit, allowed, used, detail)

    check_bits = RunBudget.check_bits
    check_quadratic = RunBudget.check_quadratic
    check_items = RunBudget.check_items


def make_fast_formula(compiled: Compiled, policy: Policy, slow: Callable[..., Any]) -> Callable[..., Any]:
    """``run(names)`` of a fast-path formula (see compiler.fast_formula).

    The caller's mapping is the locals of the evaluation, over a shared
    globals dict that holds the fast builtins and the operand guards; no
    namespace, budget or result object is made per call.
    """
    limits = policy.limits
    operand = operand_guards(_OperandOnly(limits))  # type: ignore[arg-type]
    glb: dict[str, Any] = {
        "__builtins__": _fast_builtins(operand),
        names.POW: operand["pow"],
        names.LSHIFT: operand["lshift"],
        names.MUL: operand["mul"],
    }
    for name, value in policy.builtins.items():
        glb["__builtins__"][name] = membrane.admit(value)
    code = compiled.code
    guard_names = frozenset(compiled.code.co_names) & names.EMITTED
    # SAFETY: fast-path inputs are not admitted through the membrane, so only
    # plain scalars may take it: a host object (or a container, which would
    # be shared rather than copied) sends the call down the full path, where
    # grants are copied or proxied.
    inputs = tuple(sorted(compiled.names_read))
    # Decimal arithmetic reads and writes the thread's decimal context (its
    # flags, traps, precision): Decimal inputs take the full path, where each
    # run has a fresh context, so the host's is never touched.
    scalars = membrane.SCALARS - {decimal.Decimal}
    memory_module: Any = _memory  # None where the hook is unavailable
    metered: Any = None if memory_module is None else memory_module.eval
    memory_budget = limits.memory
    memory_limit = -1 if memory_budget is None else memory_budget
    empty: dict[str, Any] = {}

    def run(values: Mapping[str, Any] | None = None, *, limits: Any = None) -> Any:
        """Evaluate the formula with ``values`` (a mapping of input names)."""
        if limits is not None:
            return slow(values, limits=limits)
        scope = empty if values is None else values
        if guard_names:
            for guard in guard_names:
                if guard in scope:
                    raise AccessDenied(f"formula inputs may not be named {guard!r}")
        if type(scope) is dict:
            get = scope.get
            for name in inputs:
                if type(get(name)) not in scalars:  # a missing name is None: NameError later
                    return slow(values)
        else:
            for name in inputs:
                if name in scope and type(scope[name]) not in scalars:
                    return slow(values)
        try:
            if metered is None:
                return eval(code, glb, scope)  # noqa: S307 - compiled, checked code
            return metered(memory_limit, code, glb, scope)
        except SafeCompileError:
            raise
        except Exception as exc:  # MemoryError and RecursionError included
            raise _fast_failure(compiled, exc, memory_budget) from None

    if metered is None or IMPLEMENTATION != "c":
        return run

    def on_error(exc: BaseException) -> None:
        if isinstance(exc, SafeCompileError):
            raise exc
        raise _fast_failure(compiled, exc, memory_budget) from None

    # The same call in C (guards/_memory.c): ``run`` is its pure twin, and
    # takes every call that is not a dict of scalars.
    native: Callable[..., Any] = memory_module.Formula(
        code, glb, inputs, tuple(sorted(guard_names)), tuple(scalars),
        memory_limit, run, on_error,
    )
    return native


def _fast_failure(compiled: Compiled, exc: BaseException, limit: int | None) -> SafeCompileError:
    if isinstance(exc, MemoryError):
        return LimitExceeded("memory", limit, "more", "an allocation was refused")
    if isinstance(exc, RecursionError):
        return LimitExceeded("recursion", "interpreter limit", "nesting too deep")
    text = _safe_text(exc)
    kind = type(exc).__name__
    error = ScriptError(f"{kind}: {text}" if text else kind, kind)
    cause = membrane.sanitize_exception(exc)
    cause.__traceback__ = _script_traceback(exc.__traceback__, {compiled.code})
    error.__cause__ = cause
    return error


# --- handles: script objects as the host sees them -----------------------------------


class ScriptObject:
    """A script's object handed to the host.

    Every operation the host performs on it (call, ``repr``, ``str``,
    ``format``, ``bool``, iteration, comparison, hashing, attribute reads)
    runs the script's code under a fresh budget of the run's policy, and what
    comes back crosses the membrane again.
    """

    __slots__ = ("_sc_obj", "_sc_run")

    def __init__(self, obj: Any, run: RunState) -> None:
        object.__setattr__(self, "_sc_obj", obj)
        object.__setattr__(self, "_sc_run", run)

    def _invoke(self, function: Callable[..., Any], *args: Any, close: bool = False) -> Any:
        obj = object.__getattribute__(self, "_sc_obj")
        return self._invoke_on(obj, lambda target: function(target, *args), close=close)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        run: RunState = object.__getattribute__(self, "_sc_run")
        admitted = [membrane.admit(arg) for arg in args]
        admitted_kw = {k: membrane.admit(v) for k, v in kwargs.items()}
        result = self._invoke(lambda obj: obj(*admitted, **admitted_kw), close=True)
        return run.export(result)

    def __repr__(self) -> str:
        return str.__str__(self._invoke(_text_of, repr))

    def __str__(self) -> str:
        return str.__str__(self._invoke(_text_of, str))

    def __format__(self, spec: str) -> str:
        return str.__str__(self._invoke(lambda obj: _text_of(obj, lambda o: format(o, spec))))

    def __bool__(self) -> bool:
        return bool(self._invoke(lambda obj: bool(obj)))

    def __len__(self) -> int:
        obj = object.__getattribute__(self, "_sc_obj")
        if not hasattr(type(obj), "__len__"):
            # As Python's own TypeError, so list() and friends fall back to iterating.
            raise TypeError(f"object of type {type(obj).__qualname__!r} has no len()")
        return int(self._invoke(lambda obj: len(obj)))

    def __iter__(self) -> Iterator[Any]:
        run: RunState = object.__getattribute__(self, "_sc_run")
        iterator = self._invoke(lambda obj: iter(obj))
        while True:
            try:
                item = self._invoke_on(iterator, next)
            except ScriptError as exc:
                if exc.type_name == "StopIteration":
                    return
                raise
            yield run.export(item)

    def _invoke_on(self, target: Any, function: Callable[[Any], Any], close: bool = False) -> Any:
        run: RunState = object.__getattribute__(self, "_sc_run")
        with run.lock:
            if run.active:
                # A host callback reached from the script's code, using the
                # same run's objects: a fresh budget here would replace the
                # one the running code is spending.
                raise AccessDenied(
                    "a script's objects cannot be used while code of the same run is running"
                )
            run.active += 1
            try:
                run.arm()
                return _run_guarded(run, lambda: function(target), close=close)
            finally:
                run.active -= 1

    def __eq__(self, other: object) -> bool:
        other = _unhandle(other)
        return bool(self._invoke(lambda obj: obj == other))

    def __lt__(self, other: object) -> bool:
        other = _unhandle(other)
        return bool(self._invoke(lambda obj: obj < other))

    def __le__(self, other: object) -> bool:
        other = _unhandle(other)
        return bool(self._invoke(lambda obj: obj <= other))

    def __gt__(self, other: object) -> bool:
        other = _unhandle(other)
        return bool(self._invoke(lambda obj: obj > other))

    def __ge__(self, other: object) -> bool:
        other = _unhandle(other)
        return bool(self._invoke(lambda obj: obj >= other))

    def __hash__(self) -> int:
        return int(self._invoke(lambda obj: hash(obj)))

    def __getattr__(self, name: str) -> Any:
        run: RunState = object.__getattribute__(self, "_sc_run")
        if name.startswith("_"):
            raise AttributeError(name)
        return run.export(self._invoke(lambda obj: run.guards.getattr(obj, name)))


def _text_of(obj: Any, function: Callable[[Any], Any]) -> str:
    text = function(obj)
    if type(text) is not str:
        raise TypeError("__repr__/__str__ returned a non-string")
    return text



class GeneratorHandle(ScriptObject):
    """A handle of a script generator that the host iterates.

    When the host drops it, a generator left suspended is closed under a
    fresh budget of the run, so its ``finally`` block runs guarded (not
    later, at garbage collection, outside any run).
    """

    __slots__ = ()

    def __del__(self) -> None:
        generator = object.__getattribute__(self, "_sc_obj")
        run: RunState = object.__getattribute__(self, "_sc_run")
        if generator.gi_suspended and not run.active:
            with contextlib.suppress(Exception):  # a finalizer has no caller to tell
                self._invoke(lambda obj: obj.close())

def _unhandle(value: object) -> Any:
    if type(value) is ScriptObject:
        return object.__getattribute__(value, "_sc_obj")
    try:
        return membrane.copy_plain(value)
    except membrane.NotPlain:
        raise AccessDenied("a script object can only be compared with plain data or script objects") from None


def type_name_of(value: object) -> str:
    return type_name(value)
