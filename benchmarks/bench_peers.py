"""safecompile against plain CPython and the other Python sandboxes, in one run.

    python benchmarks/bench_peers.py [--markdown] [--quick] [--reps N]
                                     [--only WORKLOAD,...]

Implementations (columns): plain CPython, safecompile (default policy, so
every budget is ON), RestrictedPython (``compile_restricted`` + the guards its
documentation recommends), asteval, simpleeval (formulas only) and
starlark-pyo3 (formulas and calls).  A peer whose package is missing or that
cannot run a workload gets "n/a" and a footnote saying why.

Method (pyperf is not a dependency of the ``bench`` extra, so this uses
``time.perf_counter``): every (workload, implementation) pair is prepared
once, run once untimed as a warm-up whose result is checked against plain
CPython's (a mismatch aborts the run: a sandbox that computes something else
cannot win), then timed ``--reps`` times with the garbage collector off.
Within each repetition the implementations of a workload run round-robin,
starting from a different one each time, so load from other processes on
the machine is spread over all of them.  The median is reported, as a ratio
to plain CPython measured in the same run (lower is better for time; for
formula throughput higher is better).  Slow peers run a loop workload with
fewer outer repetitions and are compared per repetition.
"""

from __future__ import annotations

import argparse
import builtins
import datetime as _dt
import gc
import operator
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

IMPLS = [
    "plain",
    "safecompile",
    "restrictedpython",
    "asteval",
    "simpleeval",
    "starlark",
]
TITLES = {
    "plain": "plain CPython",
    "safecompile": "safecompile",
    "restrictedpython": "RestrictedPython",
    "asteval": "asteval",
    "simpleeval": "simpleeval",
    "starlark": "starlark-pyo3",
}

# ----------------------------------------------------------------------------------
# Workload sources.  Every script reads the grant REPS (outer repetitions; all
# inner ranges stay <= 1000 because RestrictedPython's range() is capped
# there) and leaves its answer in ``result``.  No augmented assignment to
# attributes or items: RestrictedPython refuses those at compile time.

ATTR = """
class Vec:
    def __init__(self, x, y):
        self.x = x
        self.y = y

    def shift(self, other):
        self.x = self.x + other.x
        self.y = self.y + other.y

    def size(self):
        return abs(self.x) + abs(self.y)


class Body:
    def __init__(self, n):
        self.pos = Vec(n * 3 % 97, n * 7 % 89)
        self.vel = Vec(1 + n % 4, -1 - n % 3)
        self.hits = 0
        self.name = "b" + str(n)


bodies = [Body(n) for n in range(25)]
for tick in range(REPS):
    for b in bodies:
        b.pos.shift(b.vel)
        if b.pos.x > 100 or b.pos.x < 0:
            b.vel.x = -b.vel.x
            b.hits = b.hits + 1
        if b.pos.y > 100 or b.pos.y < 0:
            b.vel.y = -b.vel.y
            b.hits = b.hits + 1
result = [(b.name, b.pos.x, b.pos.y, b.hits, b.pos.size()) for b in bodies]
"""

ITEM = """
grid = [[(r * 7 + c * 3) % 10 for c in range(24)] for r in range(24)]
keys = ["north", "east", "south", "west"]
weights = {"north": 1, "east": 2, "south": 3, "west": 5}
counts = {}
for k in range(10):
    counts[k] = 0
acc = 0
for rep in range(REPS):
    for r in range(1, 23):
        row = grid[r]
        above = grid[r - 1]
        for c in range(1, 23):
            v = row[c] + above[c] + row[c - 1]
            counts[v % 10] = counts[v % 10] + 1
            acc = acc + weights[keys[v % 4]]
            row[c] = (v + rep) % 10
result = [acc, sorted(counts.items()), grid[5][:8]]
"""

CALLS = """
def clamp(v, lo, hi):
    if v < lo:
        return lo
    if v > hi:
        return hi
    return v


def mix(a, b):
    return clamp(a * 3 + b, 0, 5000)


def step(x, i):
    return mix(x, i) - mix(i, x) // 2


def run(reps):
    total = 0
    for rep in range(reps):
        for i in range(200):
            total = total + step(rep % 50, i)
    return total


result = run(REPS)
"""

# starlark has no top-level loops, otherwise the same program
CALLS_STAR = """
def clamp(v, lo, hi):
    if v < lo:
        return lo
    if v > hi:
        return hi
    return v

def mix(a, b):
    return clamp(a * 3 + b, 0, 5000)

def step(x, i):
    return mix(x, i) - mix(i, x) // 2

def run(reps):
    total = 0
    for rep in range(reps):
        for i in range(200):
            total = total + step(rep % 50, i)
    return total

run(REPS)
"""

STRINGS = """
names = ["alpha", "beta", "gamma", "delta", "epsilon"]
kept = []
total = 0
for rep in range(REPS):
    for i in range(100):
        name = names[i % 5]
        price = (i * 37 + rep) / 8
        a = f"{name:>8}|{i:05d}|{price:10.2f}|{i / 7:.3%}"
        b = "%s-%d-%.3f-%5s" % (name, i, price, name[:3])
        c = "{0}:{1:x}:{2!r}".format(name, i, price)
        d = ", ".join([name, str(i), name.upper(), name.title()])
        line = a + b + c + d
        total = total + len(line)
        if i == rep % 100:
            kept.append(line)
result = [total, kept[-3:]]
"""

# RestrictedPython's safer_getattr and asteval refuse str.format by design:
# the same workload without the .format line, so they can be compared too
STRINGS_NOFMT = STRINGS.replace(
    '        c = "{0}:{1:x}:{2!r}".format(name, i, price)\n',
    '        c = name + ":" + str(i) + ":" + repr(price)\n',
)

SCRIPTS = {
    "attr": ATTR,
    "item": ITEM,
    "calls": CALLS,
    "strings": STRINGS,
    "strings_nofmt": STRINGS_NOFMT,
}
# outer repetitions: normal, --quick, and for interpreters that walk the AST
REPS = {
    "attr": (400, 40, 20),
    "item": (60, 6, 3),
    "calls": (200, 20, 10),
    "strings": (150, 15, 15),
    "strings_nofmt": (150, 15, 15),
}

FORMULA = "a * b + c / 2 if a > 0 else -c"
FORMULA_ROWS = 100_000

# A realistic ~300-line script for the compile workload (it is also run, to
# check every compiler produced working code with the same result).
LEDGER = '''"""Month-end ledger: invoices, payments, ageing, a text report."""

TAX_RATES = {"standard": 0.2, "reduced": 0.05, "zero": 0.0}
CURRENCY_RATES = {"EUR": 1.0, "USD": 0.92, "GBP": 1.17, "CHF": 1.04}
TERMS_DAYS = {"net15": 15, "net30": 30, "net60": 60}
BUCKETS = [(0, "current"), (30, "1-30"), (60, "31-60"), (90, "61-90"), (10000, "90+")]


class LedgerError(Exception):
    pass


class Customer:
    def __init__(self, code, name, country, terms="net30", credit_limit=5000):
        if terms not in TERMS_DAYS:
            raise LedgerError("unknown terms " + terms)
        self.code = code
        self.name = name
        self.country = country
        self.terms = terms
        self.credit_limit = credit_limit
        self.notes = []

    def due_days(self):
        return TERMS_DAYS[self.terms]

    def label(self):
        return "%s (%s)" % (self.name, self.code)


class Line:
    def __init__(self, sku, quantity, unit_price, tax="standard", discount=0.0):
        self.sku = sku
        self.quantity = quantity
        self.unit_price = unit_price
        self.tax = tax
        self.discount = discount

    def net(self):
        gross = self.quantity * self.unit_price
        return round(gross * (1 - self.discount), 2)

    def tax_amount(self):
        return round(self.net() * TAX_RATES[self.tax], 2)

    def total(self):
        return round(self.net() + self.tax_amount(), 2)


class Invoice:
    def __init__(self, number, customer, day, currency="EUR"):
        self.number = number
        self.customer = customer
        self.day = day
        self.currency = currency
        self.lines = []
        self.payments = []

    def add(self, line):
        if line.quantity <= 0:
            raise LedgerError("invoice %s: quantity must be positive" % self.number)
        self.lines.append(line)
        return self

    def net(self):
        return round(sum(line.net() for line in self.lines), 2)

    def tax(self):
        return round(sum(line.tax_amount() for line in self.lines), 2)

    def total(self):
        return round(self.net() + self.tax(), 2)

    def total_eur(self):
        return round(self.total() * CURRENCY_RATES[self.currency], 2)

    def paid(self):
        return round(sum(amount for day, amount in self.payments), 2)

    def open_amount(self):
        return round(self.total() - self.paid(), 2)

    def due_day(self):
        return self.day + self.customer.due_days()

    def is_settled(self):
        return self.open_amount() <= 0.005


def make_customers():
    raw = [
        ("C001", "Acme Tools", "DE", "net30", 8000),
        ("C002", "Blue Harbor", "FR", "net15", 3000),
        ("C003", "Cobalt Labs", "CH", "net60", 12000),
        ("C004", "Delta Foods", "GB", "net30", 4000),
        ("C005", "Evergreen", "US", "net15", 2500),
        ("C006", "Fjord Design", "NO", "net60", 6000),
    ]
    customers = {}
    for code, name, country, terms, limit in raw:
        customers[code] = Customer(code, name, country, terms, limit)
    return customers


def currency_for(country):
    if country == "US":
        return "USD"
    if country == "GB":
        return "GBP"
    if country == "CH":
        return "CHF"
    return "EUR"


def make_invoices(customers, count):
    skus = ["bolt", "nut", "gear", "belt", "pump", "valve", "hose"]
    prices = {"bolt": 0.35, "nut": 0.12, "gear": 14.5, "belt": 22.0,
              "pump": 310.0, "valve": 48.75, "hose": 9.9}
    codes = sorted(customers)
    invoices = []
    for n in range(count):
        customer = customers[codes[n % len(codes)]]
        invoice = Invoice("INV-%05d" % (n + 1), customer, n * 3 % 120,
                          currency_for(customer.country))
        for k in range(1 + n % 4):
            sku = skus[(n + k * 3) % len(skus)]
            tax = "reduced" if sku in ("nut", "bolt") else "standard"
            if customer.country == "CH":
                tax = "zero"
            discount = 0.1 if k == 2 else 0.0
            invoice.add(Line(sku, 1 + (n * k) % 9, prices[sku], tax, discount))
        invoices.append(invoice)
    return invoices


def apply_payments(invoices):
    for index, invoice in enumerate(invoices):
        if index % 5 == 0:
            continue
        if index % 3 == 0:
            invoice.payments.append((invoice.day + 10, invoice.total()))
        elif index % 3 == 1:
            half = round(invoice.total() / 2, 2)
            invoice.payments.append((invoice.day + 5, half))
            invoice.payments.append((invoice.day + 40, half))
        else:
            invoice.payments.append((invoice.day + 20, round(invoice.total() * 0.3, 2)))


def bucket_for(days_late):
    for limit, name in BUCKETS:
        if days_late <= limit:
            return name
    return BUCKETS[-1][1]


def ageing(invoices, today):
    table = {}
    for invoice in invoices:
        if invoice.is_settled():
            continue
        late = max(0, today - invoice.due_day())
        name = invoice.customer.code
        row = table.get(name)
        if row is None:
            row = {}
            for limit, bucket in BUCKETS:
                row[bucket] = 0.0
            table[name] = row
        bucket = bucket_for(late)
        row[bucket] = round(row[bucket] + invoice.open_amount(), 2)
    return table


def credit_alerts(customers, invoices):
    exposure = {}
    for invoice in invoices:
        code = invoice.customer.code
        exposure[code] = round(exposure.get(code, 0.0) + invoice.open_amount(), 2)
    alerts = []
    for code in sorted(exposure):
        customer = customers[code]
        if exposure[code] > customer.credit_limit:
            over = round(exposure[code] - customer.credit_limit, 2)
            alerts.append((code, over))
            customer.notes.append("over limit by %.2f" % over)
    return alerts


def tax_summary(invoices):
    summary = {}
    for invoice in invoices:
        for line in invoice.lines:
            key = (line.tax, invoice.currency)
            net, tax = summary.get(key, (0.0, 0.0))
            summary[key] = (round(net + line.net(), 2), round(tax + line.tax_amount(), 2))
    return sorted(summary.items())


def top_products(invoices, limit=3):
    revenue = {}
    for invoice in invoices:
        rate = CURRENCY_RATES[invoice.currency]
        for line in invoice.lines:
            revenue[line.sku] = revenue.get(line.sku, 0.0) + line.net() * rate
    ranked = sorted(revenue.items(), key=lambda item: (-item[1], item[0]))
    return [(sku, round(value, 2)) for sku, value in ranked[:limit]]


def validate(invoices):
    problems = []
    seen = set()
    for invoice in invoices:
        if invoice.number in seen:
            problems.append("duplicate " + invoice.number)
        seen.add(invoice.number)
        if not invoice.lines:
            problems.append("empty " + invoice.number)
        if invoice.paid() - invoice.total() > 0.01:
            problems.append("overpaid " + invoice.number)
    try:
        Line("x", 0, 1.0)
        Invoice("INV-X", Customer("C9", "Test", "DE"), 0).add(Line("x", 0, 1.0))
    except LedgerError as exc:
        problems.append("rejected: " + str(exc))
    return problems


def pad(text, width):
    text = str(text)
    if len(text) >= width:
        return text[:width]
    return text + " " * (width - len(text))


def money(value):
    return f"{value:>12,.2f}"


def render(customers, invoices, today):
    lines = []
    lines.append("LEDGER REPORT day %d" % today)
    lines.append("=" * 48)
    by_customer = {}
    for invoice in invoices:
        by_customer.setdefault(invoice.customer.code, []).append(invoice)
    for code in sorted(by_customer):
        customer = customers[code]
        mine = by_customer[code]
        billed = round(sum(i.total_eur() for i in mine), 2)
        still_open = round(sum(i.open_amount() for i in mine if not i.is_settled()), 2)
        lines.append(pad(customer.label(), 24) + money(billed) + money(still_open))
    lines.append("-" * 48)
    ages = ageing(invoices, today)
    header = pad("customer", 10) + "".join(pad(name, 10) for limit, name in BUCKETS)
    lines.append(header)
    for code in sorted(ages):
        row = ages[code]
        cells = [pad("%.2f" % row[name], 10) for limit, name in BUCKETS]
        lines.append(pad(code, 10) + "".join(cells))
    lines.append("-" * 48)
    for (tax, currency), (net, amount) in tax_summary(invoices):
        lines.append(f"{tax:<9}{currency:<5}{net:>12.2f}{amount:>12.2f}")
    return lines


def checksum(lines):
    value = 7
    for line in lines:
        for ch in line:
            value = (value * 31 + ord(ch)) % 1000003
    return value


customers = make_customers()
invoices = make_invoices(customers, 60)
apply_payments(invoices)
alerts = credit_alerts(customers, invoices)
report = render(customers, invoices, 150)
problems = validate(invoices)
settled = len([i for i in invoices if i.is_settled()])
result = {
    "invoices": len(invoices),
    "settled": settled,
    "alerts": alerts,
    "top": top_products(invoices),
    "problems": problems,
    "lines": len(report),
    "checksum": checksum(report),
    "notes": {code: c.notes for code, c in customers.items() if c.notes},
}
'''
COMPILE_CALLS = 10  # compiles per timed run

STARTUP = {
    "plain": "x = 1; print(x)",
    "safecompile": "import safecompile; print(safecompile.safe_exec('x = 1').namespace['x'])",
    "restrictedpython": (
        "from RestrictedPython import compile_restricted, safe_globals; "
        "g = dict(safe_globals); exec(compile_restricted('x = 1', '<s>', 'exec'), g); "
        "print(g['x'])"
    ),
    "asteval": (
        "from asteval import Interpreter; a = Interpreter(); a.eval('x = 1'); "
        "print(a.symtable['x'])"
    ),
    "simpleeval": "from simpleeval import simple_eval; print(simple_eval('x', names={'x': 1}))",
    "starlark": (
        "import starlark as sl; "
        "print(sl.eval(sl.Module(), sl.parse('s', 'x = 1\\nx'), sl.Globals.standard()))"
    ),
}


class NotApplicable(Exception):
    """This implementation cannot run this workload (the message says why)."""


# ----------------------------------------------------------------------------------
# How each implementation runs a script: prepare(source, reps) returns
# (timed, value): ``timed()`` is what is measured, ``value()`` runs once more
# and returns the script's ``result`` for the cross-check.


def plain_script(source: str, reps: int):
    code = compile(source, "<script>", "exec", dont_inherit=True)

    def timed() -> dict:
        namespace = {"__builtins__": builtins, "__name__": "script", "REPS": reps}
        exec(code, namespace)
        return namespace

    return timed, lambda: timed()["result"]


def safecompile_script(source: str, reps: int):
    from safecompile import compile_restricted

    script = compile_restricted(source, "<script>")  # default policy: budgets on
    grants = {"REPS": reps}

    def timed() -> Any:
        return script.run(grants)

    return timed, lambda: timed().namespace["result"]


# --- RestrictedPython, configured as its documentation recommends --------------

RP_SCRIPT_NAME = "restricted_script"
_INPLACE = {
    "+=": operator.iadd,
    "-=": operator.isub,
    "*=": operator.imul,
    "/=": operator.itruediv,
    "//=": operator.ifloordiv,
    "%=": operator.imod,
    "**=": operator.ipow,
    "&=": operator.iand,
    "|=": operator.ior,
    "^=": operator.ixor,
    "<<=": operator.ilshift,
    ">>=": operator.irshift,
}


def rp_globals() -> dict[str, Any]:
    """safe_globals with safe/limited/utility builtins and the recommended
    guards.  RestrictedPython has no ``_inplacevar_``/``_write_`` policy for a
    script's own classes; ours maps the operator and lets a script write to
    instances of classes it defined (``full_write_guard`` for all else)."""
    from RestrictedPython import (
        limited_builtins,
        safe_builtins,
        safe_globals,
        utility_builtins,
    )
    from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
    from RestrictedPython.Guards import (
        full_write_guard,
        guarded_iter_unpack_sequence,
        guarded_unpack_sequence,
        safer_getattr,
    )

    def write_guard(obj: Any) -> Any:
        kind = type(obj)
        if (
            kind is dict
            or kind is list
            or getattr(kind, "__module__", None) == RP_SCRIPT_NAME
        ):
            return obj
        return full_write_guard(obj)

    table = {**safe_builtins, **limited_builtins, **utility_builtins}
    for name in (
        "sorted",
        "enumerate",
        "zip",
        "min",
        "max",
        "sum",
        "any",
        "all",
        "dict",
        "reversed",
        "map",
        "filter",
    ):
        table[name] = getattr(builtins, name)
    namespace = dict(safe_globals)
    namespace.update(
        {
            "__builtins__": table,
            "__name__": RP_SCRIPT_NAME,
            "__metaclass__": type,
            "_getattr_": safer_getattr,
            "_getitem_": default_guarded_getitem,
            "_getiter_": default_guarded_getiter,
            "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
            "_unpack_sequence_": guarded_unpack_sequence,
            "_write_": write_guard,
            "_inplacevar_": lambda op, target, value: _INPLACE[op](target, value),
            "_apply_": lambda func, *args, **kwargs: func(*args, **kwargs),
        }
    )
    return namespace


def rp_compile(source: str, mode: str = "exec"):
    from RestrictedPython import compile_restricted

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its SyntaxWarnings about print/printed
        return compile_restricted(source, "<script>", mode)


def restrictedpython_script(source: str, reps: int):
    code = rp_compile(source)
    base = rp_globals()

    def timed() -> dict:
        namespace = dict(base)
        namespace["REPS"] = reps
        exec(code, namespace)
        return namespace

    return timed, lambda: timed()["result"]


# --- asteval ---------------------------------------------------------------------


def _asteval_interpreter():
    import io

    from asteval import Interpreter

    return Interpreter(use_numpy=False, writer=io.StringIO(), err_writer=io.StringIO())


def _asteval_run(interp, tree) -> Any:
    value = interp.eval(tree, show_errors=False, raise_errors=False)
    if interp.error:
        first = interp.error[0]
        kind = getattr(first.exc, "__name__", str(first.exc))
        message = str(first.msg).strip().splitlines()
        raise NotApplicable(f"fails: {kind}: {message[-1] if message else ''}")
    return value


def asteval_script(source: str, reps: int):
    tree = _asteval_interpreter().parse(source)

    def timed() -> Any:
        interp = _asteval_interpreter()
        interp.symtable["REPS"] = reps
        _asteval_run(interp, tree)
        return interp

    return timed, lambda: timed().symtable["result"]


# --- starlark-pyo3 ---------------------------------------------------------------


def starlark_script(source: str, reps: int):
    import starlark as sl

    star = {CALLS: CALLS_STAR}.get(source)
    if star is None:
        raise NotApplicable(
            "starlark has no classes / Python string formatting; "
            "measured on formulas and calls only"
        )
    tree = sl.parse("calls.star", star)
    glb = sl.Globals.standard()

    def timed() -> Any:
        module = sl.Module()
        module["REPS"] = reps
        return sl.eval(module, tree, glb)

    return timed, timed


SCRIPT_RUNNERS: dict[
    str, Callable[[str, int], tuple[Callable[[], Any], Callable[[], Any]]]
] = {
    "plain": plain_script,
    "safecompile": safecompile_script,
    "restrictedpython": restrictedpython_script,
    "asteval": asteval_script,
    "starlark": starlark_script,
}


# --- formulas --------------------------------------------------------------------


def formula_rows(count: int) -> list[dict[str, Any]]:
    return [{"a": (i % 17) - 4, "b": (i % 11) * 0.5, "c": i % 23} for i in range(count)]


def formula_callable(impl: str) -> Callable[[dict[str, Any]], Any]:
    """``f(row) -> value`` for FORMULA, compiled once, as each tool intends."""
    if impl == "plain":
        code = compile(FORMULA, "<formula>", "eval", dont_inherit=True)
        shared: dict[str, Any] = {}  # one globals dict, the row is the locals
        return lambda row: eval(code, shared, row)
    if impl == "safecompile":
        from safecompile import compile_restricted

        return compile_restricted(FORMULA, "<formula>", mode="eval").run
    if impl == "restrictedpython":
        code = rp_compile(FORMULA, "eval")
        glb = rp_globals()
        return lambda row: eval(code, glb, row)
    if impl == "asteval":
        interp = _asteval_interpreter()
        tree = interp.parse(FORMULA)
        symtable = interp.symtable

        def run(row: dict[str, Any]) -> Any:
            symtable.update(row)
            return _asteval_run(interp, tree)

        return run
    if impl == "simpleeval":
        from simpleeval import SimpleEval

        evaluator = SimpleEval()
        parsed = evaluator.parse(FORMULA)

        def run(row: dict[str, Any]) -> Any:
            evaluator.names = row
            return evaluator.eval(FORMULA, previously_parsed=parsed)

        return run
    if impl == "starlark":
        import starlark as sl

        module = sl.Module()
        source = f"def formula(a, b, c):\n    return {FORMULA}\n"
        sl.eval(module, sl.parse("formula.star", source), sl.Globals.standard())
        call = module.freeze().call
        return lambda row: call("formula", **row)
    raise NotApplicable("unknown implementation")


# --- compile time ----------------------------------------------------------------


def compiler(impl: str) -> tuple[Callable[[str], Any], Callable[[Any], Any]]:
    """(compile(source) -> artifact, run(artifact) -> result) for LEDGER."""
    if impl == "plain":

        def run(code: Any) -> Any:
            namespace = {"__builtins__": builtins, "__name__": "script"}
            exec(code, namespace)
            return namespace["result"]

        return (lambda src: compile(src, "<script>", "exec", dont_inherit=True)), run
    if impl == "safecompile":
        from safecompile import Script
        from safecompile.compiler import compile_source
        from safecompile.policy import DEFAULT_POLICY

        # compile_source is the whole compile stage without the CACHE lookup
        return (
            (lambda src: compile_source(src, "<script>", "exec", DEFAULT_POLICY)),
            lambda compiled: Script(compiled, DEFAULT_POLICY).run().namespace["result"],
        )
    if impl == "restrictedpython":

        def run_rp(code: Any) -> Any:
            namespace = rp_globals()
            exec(code, namespace)
            return namespace["result"]

        return rp_compile, run_rp
    if impl == "asteval":
        raise NotApplicable(
            "asteval has no compile step (it walks the AST from "
            "ast.parse) and cannot run classes"
        )
    if impl == "simpleeval":
        raise NotApplicable("simpleeval evaluates expressions only")
    raise NotApplicable("starlark is not Python: it cannot parse classes")


# ----------------------------------------------------------------------------------
# measurement


@dataclass
class Cell:
    run: Callable[[], Any] | None = None
    units: float = 1.0  # work units one run performs (time is compared per unit)
    reason: str | None = None  # why n/a
    samples: list[float] = field(default_factory=list)

    def per_unit(self) -> float:
        return statistics.median(self.samples) / self.units


def timed_once(fn: Callable[[], Any]) -> float:
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start
    finally:
        gc.enable()


def _check(workload: str, impl: str, got: Any, expected: Any) -> None:
    if not (got == expected):
        raise AssertionError(
            f"{workload}: {impl} computed {str(got)[:120]!r}, "
            f"plain CPython {str(expected)[:120]!r}"
        )


def _reason(exc: BaseException) -> str:
    if isinstance(exc, NotApplicable):
        return str(exc)
    if isinstance(exc, ImportError):
        return f"package not installed ({exc.name or exc})"
    text = str(exc).strip().splitlines()
    return f"fails: {type(exc).__name__}: {text[-1][:100] if text else ''}"


def prepare_script_workload(
    workload: str, impl: str, quick: bool, expected: dict
) -> Cell:
    if impl == "simpleeval":
        return Cell(reason="simpleeval evaluates single expressions only")
    normal, small, slow = REPS[workload]
    reps = small if quick else (slow if impl == "asteval" else normal)
    if quick and impl == "asteval":
        reps = max(1, min(small, slow) // 2)
    try:
        timed, value = SCRIPT_RUNNERS[impl](SCRIPTS[workload], reps)
        got = value()
    except AssertionError:
        raise
    except Exception as exc:  # a peer failing is a result, shown as n/a
        return Cell(reason=_reason(exc))
    key = (workload, reps)
    if key not in expected:
        expected[key] = plain_script(SCRIPTS[workload], reps)[1]()
    _check(workload, impl, got, expected[key])
    return Cell(run=timed, units=reps)


def prepare_formula(impl: str, rows: list[dict[str, Any]], expected: list[Any]) -> Cell:
    try:
        formula = formula_callable(impl)
        got = [formula(row) for row in rows]
    except Exception as exc:
        return Cell(reason=_reason(exc))
    _check("formula", impl, got, expected)
    if not all(type(g) is type(e) for g, e in zip(got, expected, strict=True)):
        raise AssertionError(f"formula: {impl} returned values of other types")

    def timed() -> None:
        f = formula
        for row in rows:
            f(row)

    return Cell(run=timed, units=len(rows))


def prepare_compile(impl: str, expected: Any) -> Cell:
    try:
        compile_fn, run_fn = compiler(impl)
        got = run_fn(compile_fn(LEDGER))
    except Exception as exc:
        return Cell(reason=_reason(exc))
    _check("compile", impl, got, expected)
    counter = [0]

    def timed() -> None:
        # a fresh trailing comment per call: nothing below can answer from a cache
        base = counter[0]
        counter[0] += COMPILE_CALLS
        for i in range(COMPILE_CALLS):
            compile_fn(f"{LEDGER}# {base + i}\n")

    return Cell(run=timed, units=COMPILE_CALLS)


def measure_startup(impls: list[str], runs: int) -> dict[str, Cell]:
    env = dict(os.environ)
    env.pop("PYTHONSTARTUP", None)
    # An installed package is byte-compiled: measure with .pyc files (the
    # first, untimed run below writes them where they are missing).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    cells: dict[str, Cell] = {}
    live = []
    for impl in impls:
        proc = subprocess.run(
            [sys.executable, "-c", STARTUP[impl]],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        if proc.returncode != 0 or proc.stdout.strip() != "1":
            last = (proc.stderr.strip().splitlines() or ["wrong output"])[-1]
            cells[impl] = Cell(reason=f"fails: {last[:100]}")
        else:
            cells[impl] = Cell(units=1)
            live.append(impl)
    for rep in range(runs):
        shift = rep % len(live) if live else 0
        for impl in live[shift:] + live[:shift]:
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, "-c", STARTUP[impl]],
                capture_output=True,
                env=env,
                check=True,
            )
            cells[impl].samples.append(time.perf_counter() - start)
    return cells


# ----------------------------------------------------------------------------------
# reporting

LABELS = {
    "attr": "attribute-heavy (script classes, attribute r/w, methods)",
    "item": "item-heavy (list/dict subscripts in loops)",
    "calls": "call-heavy (small script functions)",
    "strings": "string formatting (f-string, %, .format, join)",
    "strings_nofmt": "string formatting without .format",
    "formula": "formula, time per eval (100k rows)",
    "formula_tput": "formula throughput, evals/s (ratio = throughput)",
    "compile": "compile ~300-line script (no cache)",
    "startup": "startup: fresh `python -c`, import + 1-line script",
}
ORDER = [
    "attr",
    "item",
    "calls",
    "strings",
    "strings_nofmt",
    "formula",
    "formula_tput",
    "compile",
    "startup",
]
TARGETS = {
    "attr": 1.3,
    "item": 1.3,
    "calls": 1.3,
    "strings": 1.3,
    "formula_tput": 0.8,
    "compile": 3.0,
    "startup": 2.0,
}


def _fmt_time(seconds: float) -> str:
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    if seconds >= 1e-6:
        return f"{seconds * 1e6:.2f} µs"
    return f"{seconds * 1e9:.0f} ns"


def build_rows(results: dict[str, dict[str, Cell]], impls: list[str]):
    """Rows of (label, [cells]) and the footnotes, shared by text and Markdown."""
    notes: list[str] = []

    def note(text: str) -> str:
        if text not in notes:
            notes.append(text)
        return f"n/a [{notes.index(text) + 1}]"

    unit_names = {
        "attr": "per tick",
        "item": "per pass",
        "calls": "per 200 calls of step",
        "strings": "per 100 lines",
        "strings_nofmt": "per 100 lines",
        "formula": "per eval",
        "compile": "per compile",
        "startup": "per process",
    }
    rows = []
    for workload in ORDER:
        source = "formula" if workload == "formula_tput" else workload
        if source not in results:
            continue
        cells = results[source]
        base = cells.get("plain")
        row = []
        for impl in impls:
            cell = cells.get(impl)
            if cell is None:
                row.append("-")
            elif cell.reason:
                where = f" ({source})" if cell.reason.startswith("fails") else ""
                row.append(note(f"{TITLES[impl]}{where}: {cell.reason}"))
            elif impl == "plain":
                if workload == "formula_tput":
                    row.append(f"{1 / cell.per_unit():,.0f}/s")
                else:
                    row.append(f"{_fmt_time(cell.per_unit())} {unit_names[source]}")
            elif base is None or base.reason or not base.samples:
                row.append("?")
            elif workload == "formula_tput":
                row.append(
                    f"{base.per_unit() / cell.per_unit():.2f}x "
                    f"({1 / cell.per_unit():,.0f}/s)"
                )
            else:
                row.append(f"{cell.per_unit() / base.per_unit():.2f}x")
        rows.append((LABELS[workload], row))
    return rows, notes


def target_lines(results: dict[str, dict[str, Cell]]) -> list[str]:
    lines = []
    for workload, limit in TARGETS.items():
        source = "formula" if workload == "formula_tput" else workload
        cells = results.get(source, {})
        sc, pl = cells.get("safecompile"), cells.get("plain")
        if (
            not sc
            or not pl
            or sc.reason
            or pl.reason
            or not sc.samples
            or not pl.samples
        ):
            continue
        if workload == "formula_tput":
            ratio = pl.per_unit() / sc.per_unit()
            ok, sign = ratio >= limit, ">="
        else:
            ratio = sc.per_unit() / pl.per_unit()
            ok, sign = ratio <= limit, "<="
        lines.append(
            f"{LABELS[workload]}: {ratio:.2f}x (target {sign} {limit}x) "
            f"{'PASS' if ok else 'MISS'}"
        )
    return lines


def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        load = "unknown"
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "date": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load": load,
    }


def versions() -> str:
    from importlib import metadata

    parts = []
    for impl, dist in (
        ("safecompile", "safecompile"),
        ("restrictedpython", "RestrictedPython"),
        ("asteval", "asteval"),
        ("simpleeval", "simpleeval"),
        ("starlark", "starlark-pyo3"),
    ):
        try:
            parts.append(f"{TITLES[impl]} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{TITLES[impl]} (not installed)")
    try:
        from safecompile.guards import IMPLEMENTATION

        parts[0] += f" (guards: {IMPLEMENTATION})"
    except ImportError:
        pass
    return ", ".join(parts)


def render(results, impls, meta, markdown: bool) -> str:
    rows, notes = build_rows(results, impls)
    header = ["workload"] + [TITLES[i] for i in impls]
    intro = (
        f"{meta['date']}; {meta['cpu']}, {meta['cores']} cores; "
        f"{meta['implementation']} {meta['python']}; load average at start {meta['load']}.\n"
        f"{meta['versions']}.\n"
        f"Median of {meta['reps']} interleaved repetitions ({meta['startup_runs']} for "
        f"startup). plain CPython column: absolute time; other columns: ratio to plain "
        f"CPython in this run (time: lower is better; throughput row: higher is better)."
    )
    out = []
    if markdown:
        out += [intro, "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        out += ["| " + " | ".join([label, *row]) + " |" for label, row in rows]
        if notes:
            out.append("")
            out += [f"[{n}] {text}  " for n, text in enumerate(notes, 1)]
    else:
        widths = [
            max(len(header[k]), *(len(([label, *row])[k]) for label, row in rows))
            for k in range(len(header))
        ]
        out += [intro, ""]
        out.append("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
        out.append("  ".join("-" * w for w in widths))
        for label, row in rows:
            out.append(
                "  ".join(
                    c.ljust(w) for c, w in zip([label, *row], widths, strict=True)
                )
            )
        if notes:
            out.append("")
            out += [f"[{n}] {text}" for n, text in enumerate(notes, 1)]
    targets = target_lines(results)
    if targets:
        out += ["", "safecompile against the issue 7 targets (this run):"]
        out += [("- " if markdown else "  ") + line for line in targets]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--markdown", action="store_true", help="print the table as Markdown"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="few repetitions and small sizes (smoke test)",
    )
    parser.add_argument(
        "--reps", type=int, help="timed repetitions (default 7, --quick 2)"
    )
    parser.add_argument(
        "--startup-runs",
        type=int,
        help="processes per implementation (default 20, --quick 3)",
    )
    parser.add_argument(
        "--only",
        help="comma-separated workloads: "
        + ",".join([*SCRIPTS, "formula", "compile", "startup"]),
    )
    args = parser.parse_args(argv)
    reps = args.reps or (2 if args.quick else 7)
    startup_runs = args.startup_runs or (3 if args.quick else 20)
    workloads = [*SCRIPTS, "formula", "compile", "startup"]
    if args.only:
        wanted = args.only.split(",")
        unknown = set(wanted) - set(workloads)
        if unknown:
            parser.error(f"unknown workload(s): {', '.join(sorted(unknown))}")
        workloads = [w for w in workloads if w in wanted]
    meta = machine()
    meta.update(reps=str(reps), startup_runs=str(startup_runs), versions=versions())

    started = time.perf_counter()
    results: dict[str, dict[str, Cell]] = {}
    expected: dict = {}
    for workload in workloads:
        if workload == "startup":
            continue
        cells: dict[str, Cell] = {}
        if workload in SCRIPTS:
            for impl in IMPLS:
                cells[impl] = prepare_script_workload(
                    workload, impl, args.quick, expected
                )
        elif workload == "formula":
            rows = formula_rows(FORMULA_ROWS // 10 if args.quick else FORMULA_ROWS)
            plain = formula_callable("plain")
            reference = [plain(row) for row in rows]
            for impl in IMPLS:
                cells[impl] = prepare_formula(impl, rows, reference)
        elif workload == "compile":
            compile_fn, run_fn = compiler("plain")
            reference = run_fn(compile_fn(LEDGER))
            for impl in IMPLS:
                cells[impl] = prepare_compile(impl, reference)
        results[workload] = cells
        print(
            f"prepared {workload}: "
            + ", ".join(f"{i}={'ok' if c.run else 'n/a'}" for i, c in cells.items()),
            file=sys.stderr,
        )

    for rep in range(reps):
        for cells in results.values():
            live = [impl for impl in IMPLS if cells[impl].run is not None]
            shift = rep % len(live) if live else 0
            for impl in live[shift:] + live[:shift]:
                cells[impl].samples.append(timed_once(cells[impl].run))  # type: ignore[arg-type]
        print(f"repetition {rep + 1}/{reps} done", file=sys.stderr)

    if "startup" in workloads:
        results["startup"] = measure_startup(IMPLS, startup_runs)
    print(f"measured in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    print(render(results, IMPLS, meta, args.markdown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
