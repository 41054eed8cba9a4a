"""Fixtures shared by the whole suite.

* ``host_integrity`` (autouse): every test must leave the host as it found it:
  builtins, ``sys.modules``, ``decimal`` contexts, the global ``random``
  state, the recursion limit, warning filters, threads, open file
  descriptors, the working directory, the environment, and the namespaces of
  the stdlib modules (and their public classes) that scripts may import.
* hypothesis profiles: ``dev`` (default, fast) and ``ci`` (derandomized, more
  examples), chosen with ``HYPOTHESIS_PROFILE``.
* rule case files (``tests/rules/cases/SCxxx.py``): parsed here once;
  ``case_chunk`` parametrises a test over every chunk, ``case_files`` hands
  the parsed files to the meta tests.
"""

from __future__ import annotations

import builtins
import codecs
import decimal
import importlib
import os
import random
import re
import sys
import tempfile
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir

import safecompile
from safecompile.policy import DEFAULT_MODULES, Policy

# --- hypothesis profiles --------------------------------------------------------------

# No example database, and hypothesis's other files (constants cache,
# failure patches) go to a temporary directory: nothing is written into the
# work tree.  `ci` is derandomized anyway.
if "HYPOTHESIS_STORAGE_DIRECTORY" not in os.environ:
    set_hypothesis_home_dir(
        os.path.join(tempfile.gettempdir(), "safecompile-hypothesis")
    )
settings.register_profile("dev", deadline=None, max_examples=100, database=None)
settings.register_profile(
    "ci",
    deadline=None,
    derandomize=True,
    max_examples=1000,
    database=None,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


# --- host integrity -------------------------------------------------------------------

#: The stdlib modules the default policy lets scripts import.
SANDBOX_MODULES = tuple(sorted(DEFAULT_MODULES))
for _module in SANDBOX_MODULES:
    importlib.import_module(_module)

# The library builds its module views lazily, on a script's first import.
# Build them now, before the first snapshot, so that one-time setup is not
# charged to whichever test happens to run first.  Whether that setup itself
# leaves the stdlib alone is tested on its own, in a fresh interpreter
# (tests/guards/test_imports.py::test_first_imports_of_every_module_leave_the_stdlib_unchanged).
safecompile.safe_exec("import " + ", ".join(SANDBOX_MODULES))


def _namespace(mapping: Any) -> dict[str, object]:
    """Names and the objects they hold (the objects are kept, so ids stay valid)."""
    return dict(mapping)


def _public_classes(module: Any) -> dict[str, type]:
    found = {}
    for name in dir(module):
        if name.startswith("_"):
            continue
        value = getattr(module, name, None)
        if isinstance(value, type):
            found[f"{module.__name__}.{name}"] = value
    return found


def _decimal_reprs() -> dict[str, str]:
    return {
        "current": repr(decimal.getcontext()),
        "DefaultContext": repr(decimal.DefaultContext),
        "BasicContext": repr(decimal.BasicContext),
        "ExtendedContext": repr(decimal.ExtendedContext),
    }


#: Environment variables pytest itself changes between a test's phases.
_PYTEST_ENV = frozenset({"PYTEST_CURRENT_TEST"})


def _environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in _PYTEST_ENV}


def _open_fds() -> list[str]:
    return os.listdir("/proc/self/fd")


@dataclass
class HostSnapshot:
    """What a test must not change."""

    builtins: dict[str, object] = field(default_factory=dict)
    modules: dict[str, object] = field(default_factory=dict)
    decimal: dict[str, str] = field(default_factory=dict)
    random_state: object = None
    recursion_limit: int = 0
    warning_filters: list[object] = field(default_factory=list)
    threads: int = 0
    fds: list[str] = field(default_factory=list)
    cwd: str = ""
    environ: dict[str, str] = field(default_factory=dict)
    module_dicts: dict[str, dict[str, object]] = field(default_factory=dict)
    class_dicts: dict[str, dict[str, object]] = field(default_factory=dict)

    @classmethod
    def take(cls) -> HostSnapshot:
        snap = cls()
        snap.builtins = _namespace(vars(builtins))
        snap.modules = dict(sys.modules)
        snap.decimal = _decimal_reprs()
        snap.random_state = random.getstate()
        snap.recursion_limit = sys.getrecursionlimit()
        snap.warning_filters = list(warnings.filters)
        snap.threads = threading.active_count()
        snap.fds = _open_fds()
        snap.cwd = os.getcwd()
        snap.environ = _environ()
        for name in SANDBOX_MODULES:
            module = sys.modules[name]
            snap.module_dicts[name] = _namespace(vars(module))
            for qualified, klass in _public_classes(module).items():
                snap.class_dicts.setdefault(qualified, _namespace(vars(klass)))
        return snap

    def differences(self, after: HostSnapshot) -> list[str]:
        problems: list[str] = []
        problems += _changed_names("builtins", self.builtins, after.builtins)
        for name, module in self.modules.items():
            if after.modules.get(name) is not module:
                problems.append(f"sys.modules[{name!r}] was replaced or removed")
        if self.decimal != after.decimal:
            problems.append(
                f"decimal contexts changed: {self.decimal} -> {after.decimal}"
            )
        if self.random_state != after.random_state:
            problems.append("the global random state changed")
        if self.recursion_limit != after.recursion_limit:
            problems.append(
                f"recursion limit changed: {self.recursion_limit} -> {after.recursion_limit}"
            )
        if self.warning_filters != after.warning_filters:
            problems.append("warnings.filters changed")
        if self.threads != after.threads:
            problems.append(f"thread count changed: {self.threads} -> {after.threads}")
        if len(self.fds) != len(after.fds):
            problems.append(f"open file descriptors changed: {self.fds} -> {after.fds}")
        if self.cwd != after.cwd:
            problems.append(f"working directory changed: {self.cwd} -> {after.cwd}")
        if self.environ != after.environ:
            changed = set(self.environ.items()) ^ set(after.environ.items())
            problems.append(f"environment changed: {sorted(k for k, _ in changed)}")
        for name, before in self.module_dicts.items():
            problems += _changed_names(
                f"module {name}", before, after.module_dicts[name]
            )
        for name, before in self.class_dicts.items():
            problems += _changed_names(
                f"class {name}", before, after.class_dicts.get(name, {})
            )
        return problems


def _changed_names(
    where: str, before: dict[str, object], after: dict[str, object]
) -> list[str]:
    if before.keys() == after.keys() and all(after[k] is v for k, v in before.items()):
        return []
    added = sorted(after.keys() - before.keys())
    removed = sorted(before.keys() - after.keys())
    replaced = sorted(
        k for k in before.keys() & after.keys() if after[k] is not before[k]
    )
    return [f"{where}: added {added}, removed {removed}, replaced {replaced}"]


@pytest.fixture(autouse=True)
def host_integrity() -> Iterator[None]:
    """Fail the test if it left any host state changed."""
    before = HostSnapshot.take()
    yield
    problems = before.differences(HostSnapshot.take())
    assert not problems, "host state changed:\n" + "\n".join(problems)


@pytest.fixture
def policy() -> Policy:
    """The default policy."""
    return Policy()


# --- host objects ------------------------------------------------------------------


class Account:
    """A host class as hosts write them: public surface declared with ``expose``."""

    def __init__(self, name: str = "alice", balance: int = 10) -> None:
        self.name = name
        self.balance = balance
        self.notes = "undeclared"
        self._token = "HOST-SECRET-TOKEN"  # noqa: S105 - the canary scripts must not read

    def deposit(self, amount: int) -> int:
        self.balance += amount
        return self.balance

    def history(self) -> list[int]:
        return [1, 2, 3]

    def audit(self, value: object) -> str:
        return type(value).__name__

    def fail(self) -> None:
        raise ValueError(self)

    def internal(self) -> str:
        return self._token


safecompile.expose(Account, "name", "balance", "deposit", "history", "audit", "fail")


@pytest.fixture
def host_account() -> Account:
    """A fresh host object whose class exposes a few names."""
    return Account()


# --- rule case files ----------------------------------------------------------------

CASES_DIR = Path(__file__).parent / "rules" / "cases"
CASE_CODE = re.compile(r"SC\d{3}")
SEPARATOR = "# ---"
MARKER = re.compile(r"#\s*error:\s*(SC\d{3}(?:\s*,\s*SC\d{3})*)\s*$")
DIRECTIVE = re.compile(r"#\s*(requires|input|limits|xfail):\s*(.*?)\s*$")


@dataclass(frozen=True)
class Chunk:
    """One independent piece of a case file.

    ``source`` is the text handed to the checker (directive lines removed);
    ``expected`` the (line, code) pairs its ``# error:`` markers name.
    Directives, at the top of a chunk only:
    ``# requires: 3.12`` (skip on older Pythons), ``# input: escaped-bytes``
    (pass the text as bytes after processing backslash escapes),
    ``# limits: source=40`` (policy limits), ``# xfail: BUG: ...``.
    """

    code: str
    index: int
    first_line: int
    source: str | bytes
    expected: frozenset[tuple[int, str]]
    requires: tuple[int, int] | None = None
    limits: tuple[tuple[str, int], ...] = ()
    xfail: str | None = None

    @property
    def id(self) -> str:
        return f"{self.code}-{self.index}"

    def policy(self) -> Policy:
        policy = Policy()
        if self.limits:
            policy = policy.with_limits(**dict(self.limits))
        return policy


def parse_case_file(path: Path) -> list[Chunk]:
    """Cut a case file into chunks (see STYLE.md section 4)."""
    code = path.stem
    chunks: list[Chunk] = []
    lines = path.read_text(encoding="utf-8").split("\n")
    groups: list[tuple[int, list[str]]] = [(1, [])]
    for number, line in enumerate(lines, start=1):
        if line.strip() == SEPARATOR:
            groups.append((number + 1, []))
        else:
            groups[-1][1].append(line)
    for index, (first_line, body) in enumerate(groups, start=1):
        requires = None
        raw = False
        limits: list[tuple[str, int]] = []
        xfail = None
        while body and (directive := DIRECTIVE.fullmatch(body[0].strip())):
            kind, value = directive.groups()
            if kind == "requires":
                major, minor = value.split(".")
                requires = (int(major), int(minor))
            elif kind == "input":
                if value != "escaped-bytes":
                    raise ValueError(f"{path.name}: unknown input kind {value!r}")
                raw = True
            elif kind == "limits":
                for item in value.split(","):
                    key, number_text = item.split("=")
                    limits.append((key.strip(), int(number_text)))
            else:
                xfail = value
            body = body[1:]
            first_line += 1
        text = "\n".join(body)
        expected = set()
        for lineno, line in enumerate(body, start=1):
            found = MARKER.search(line)
            if found:
                for item in found.group(1).split(","):
                    expected.add((lineno, item.strip()))
        source: str | bytes = (
            codecs.escape_decode(text.encode("utf-8"))[0] if raw else text
        )
        chunks.append(
            Chunk(
                code,
                index,
                first_line,
                source,
                frozenset(expected),
                requires,
                tuple(limits),
                xfail,
            )
        )
    return chunks


def case_files() -> dict[str, list[Chunk]]:
    """Every case file, by rule code."""
    return {
        path.stem: parse_case_file(path)
        for path in sorted(CASES_DIR.glob("SC*.py"))
        if CASE_CODE.fullmatch(path.stem)
    }


@pytest.fixture(name="case_files")
def case_files_fixture() -> dict[str, list[Chunk]]:
    return case_files()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrise tests over every case chunk.

    ``case_chunk`` carries the chunk's ``# xfail:`` directive as a strict
    xfail mark (the directive describes a bug of ``check``);
    ``unmarked_case_chunk`` is the same chunk without it, for tests that
    compare two stages with each other rather than with the markers.
    """
    for argument, honour_xfail in (
        ("case_chunk", True),
        ("unmarked_case_chunk", False),
    ):
        if argument not in metafunc.fixturenames:
            continue
        params = []
        for chunks in case_files().values():
            for chunk in chunks:
                marks = []
                if chunk.requires is not None and sys.version_info[:2] < chunk.requires:
                    marks.append(
                        pytest.mark.skip(
                            reason=f"needs Python {chunk.requires[0]}.{chunk.requires[1]}"
                        )
                    )
                if honour_xfail and chunk.xfail is not None:
                    marks.append(pytest.mark.xfail(strict=True, reason=chunk.xfail))
                params.append(pytest.param(chunk, id=chunk.id, marks=marks))
        metafunc.parametrize(argument, params)
