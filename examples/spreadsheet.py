"""A tiny spreadsheet engine on safecompile formulas.

Each cell holds a number or a formula (text starting with "=").  Formulas
are compiled once with ``compile_restricted(..., mode="eval")``; their
``inputs`` give the dependency graph, a topological order decides the
evaluation order, and ``formula.run(values)`` evaluates each cell against the
values computed so far.  Run it with:  python examples/spreadsheet.py
"""

from __future__ import annotations

from graphlib import CycleError, TopologicalSorter

from safecompile import CompileRejected, SafeCompileError, compile_restricted

SHEET = {
    "price": "9.5",
    "qty": "3",
    "vat": "0.2",
    "discount": "=2 if qty >= 3 else 0",
    "net": "=price * qty - discount",
    "gross": "=round(net * (1 + vat), 2)",
    "label": "='bulk' if qty > 2 else 'single'",
    "check": "=max(0, gross - 100)",
    "bad": "=().__class__",                  # refused at compile time
}


def compile_sheet(sheet: dict[str, str]) -> tuple[dict, dict[str, set[str]], dict[str, str]]:
    formulas, deps, errors = {}, {}, {}
    for cell, text in sheet.items():
        if not text.startswith("="):
            deps[cell] = set()
            continue
        try:
            formula = compile_restricted(text[1:], filename=cell, mode="eval")
        except CompileRejected as exc:
            errors[cell] = exc.violations[0].code + " " + exc.violations[0].message
            continue
        formulas[cell] = formula
        deps[cell] = {name for name in formula.inputs if name in sheet}
    return formulas, deps, errors


def evaluate(sheet: dict[str, str]) -> dict[str, object]:
    formulas, deps, errors = compile_sheet(sheet)
    values: dict[str, object] = dict(errors)
    try:
        order = list(TopologicalSorter(deps).static_order())
    except CycleError as exc:
        raise SystemExit(f"cycle between cells: {exc.args[1]}") from None
    for cell in order:
        if cell in errors:
            continue
        if cell not in formulas:
            values[cell] = float(sheet[cell])
            continue
        try:
            values[cell] = formulas[cell].run({k: v for k, v in values.items() if k in deps[cell]})
        except SafeCompileError as exc:
            values[cell] = f"#ERROR {type(exc).__name__}: {exc}"
    return values


if __name__ == "__main__":
    for cell, value in evaluate(SHEET).items():
        print(f"{cell:>9} = {value}")
    # One formula over many rows: compile once, keep `run`, call it per row.
    run = compile_restricted("price * qty * (1 + vat) - discount", mode="eval").run
    rows = [{"price": 1.0 + i % 7, "qty": i % 5, "vat": 0.2, "discount": 0.5} for i in range(100_000)]
    print("100,000 rows, total:", round(sum(run(row) for row in rows), 2))
