"""The public entry points: orchestration only, no logic of their own."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from .compiler import CACHE, Compiled
from .errors import Violation
from .limits import Limits
from .policy import DEFAULT_POLICY, Policy
from .runtime import Result, builtin_names, evaluate, execute, make_fast_formula

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .compiler import Mode


def _limits(policy: Policy, limits: Limits | Mapping[str, Any] | None) -> Limits:
    if limits is None:
        return policy.limits
    if isinstance(limits, Limits):
        return limits
    return policy.limits.merged(**dict(limits))


class Script:
    """Restricted code compiled once, run many times (also from several threads)."""

    __slots__ = ("_compiled", "policy")

    def __init__(self, compiled: Compiled, policy: Policy) -> None:
        self._compiled = compiled
        self.policy = policy

    @property
    def filename(self) -> str:
        return self._compiled.filename

    @property
    def mode(self) -> Mode:
        return self._compiled.mode

    @property
    def warnings(self) -> tuple[Violation, ...]:
        """Advisory findings (imports the run-time guard will refuse)."""
        return self._compiled.warnings

    def run(self, grants: Mapping[str, Any] | None = None, *,
            limits: Limits | Mapping[str, Any] | None = None) -> Any:
        """Run with ``grants``: a Result (exec mode) or the value (eval mode)."""
        return self._run(grants, limits=limits)

    def _run(self, grants: Mapping[str, Any] | None = None, *,
             limits: Limits | Mapping[str, Any] | None = None) -> Any:
        if self.policy.isolation == "process":
            from .isolation import eval_isolated, run_isolated  # lazy import

            isolated = eval_isolated if self._compiled.mode == "eval" else run_isolated
            return isolated(self._compiled.source, grants, self.policy, self._compiled.filename, limits)
        effective = _limits(self.policy, limits)
        if self._compiled.mode == "eval":
            return evaluate(self._compiled, grants, self.policy, effective)
        return execute(self._compiled, grants, self.policy, effective)


class Formula(Script):
    """An eval-mode script: ``run(names)`` returns the value; ``inputs`` lists
    the names the expression reads (for dependency graphs).

    Expressions made of names, constants, operators, comparisons,
    conditionals, subscripts and calls of simple builtins take a fast path:
    ``run`` is then the evaluation itself, with the caller's mapping as
    locals and no per-call namespace, budget or result object.
    """

    __slots__ = ("_evaluate", "_inputs")

    def __init__(self, compiled: Compiled, policy: Policy) -> None:
        super().__init__(compiled, policy)
        self._inputs: frozenset[str] | None = None
        self._evaluate: Callable[..., Any] = (
            make_fast_formula(compiled, policy, self._run)
            if compiled.fast and policy.isolation != "process" else self._run
        )

    @property
    def run(self) -> Callable[..., Any]:
        """``run(names, *, limits=None)``: the value of the expression.

        Keep ``f = formula.run`` and call ``f(row)`` in a loop for the
        lowest per-call cost.
        """
        return self._evaluate

    @property
    def inputs(self) -> frozenset[str]:
        """The names the expression reads that are not builtins of its runs
        (``max``, ``len``, ... and the policy's extra builtins)."""
        if self._inputs is None:
            self._inputs = self._compiled.names_read - builtin_names(self.policy)
        return self._inputs


def compile_restricted(source: str | bytes, filename: str = "<untrusted>", mode: Mode = "exec",
                       policy: Policy | None = None) -> Script:
    """Check and compile ``source``; raise CompileRejected with every violation."""
    policy = policy or DEFAULT_POLICY
    compiled = CACHE.get(source, filename, mode, policy)
    if mode == "eval":
        return Formula(compiled, policy)
    return Script(compiled, policy)


def safe_exec(source: str | bytes, grants: Mapping[str, Any] | None = None, *,
              policy: Policy | None = None, filename: str = "<untrusted>",
              limits: Limits | Mapping[str, Any] | None = None, isolate: bool = False) -> Result:
    """Compile (cached) and run ``source`` with ``grants``; return its Result.

    ``isolate=True`` or ``Policy(isolation="process")``: compile and run it in
    a worker process instead (``safecompile.isolation``).
    """
    if isolate or (policy is not None and policy.isolation == "process"):
        from .isolation import run_isolated  # lazy: keeps `import safecompile` light

        return run_isolated(source, grants, policy, filename, limits)
    result: Result = compile_restricted(source, filename, "exec", policy).run(grants, limits=limits)
    return result


def safe_eval(expression: str | bytes, names: Mapping[str, Any] | None = None, *,
              policy: Policy | None = None, filename: str = "<expression>",
              limits: Limits | Mapping[str, Any] | None = None, isolate: bool = False) -> Any:
    """Evaluate one expression with ``names``; return its value (``isolate``: as in safe_exec)."""
    if isolate or (policy is not None and policy.isolation == "process"):
        from .isolation import eval_isolated  # lazy: keeps `import safecompile` light

        return eval_isolated(expression, names, policy, filename, limits)
    return compile_restricted(expression, filename, "eval", policy).run(names, limits=limits)
