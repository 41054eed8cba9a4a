"""A host program that runs a customer's script with safecompile.

Run it with:  python examples/quickstart.py
"""

from __future__ import annotations

from safecompile import (
    AccessDenied,
    LimitExceeded,
    Limits,
    Policy,
    compile_restricted,
    expose,
    safe_exec,
)


class Shop:
    """A host object: the script may call `price` and `describe`, nothing else."""

    def __init__(self) -> None:
        self._prices = {"tea": 3.5, "cake": 4.25}
        self._api_key = "host-secret"          # never reachable from a script

    def price(self, item: str) -> float:
        return self._prices[item]

    def describe(self) -> str:
        return f"{len(self._prices)} products"

    def delete_everything(self) -> None:      # not exposed
        self._prices.clear()


expose(Shop, "price", "describe")

SCRIPT = """
import math
from decimal import Decimal, ROUND_HALF_UP

basket = {"tea": 2, "cake": 3}
total = sum(shop.price(item) * qty for item, qty in basket.items())
rounded = Decimal(str(total)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
print(f"{shop.describe()}: basket of {sum(basket.values())} items costs {rounded} EUR")
print("sqrt of the total:", round(math.sqrt(total), 3))
"""

result = safe_exec(SCRIPT, {"shop": Shop()})
print(result.output, end="")
print("script defined:", sorted(result.namespace))
print("usage:", result.usage)

# Reaching for an undeclared method is denied with a clear message.
try:
    safe_exec("shop.delete_everything()", {"shop": Shop()})
except AccessDenied as exc:
    print("denied:", exc)

# So is reading private state, statically or dynamically.
try:
    safe_exec("print(getattr(shop, '_api_' + 'key'))", {"shop": Shop()})
except AccessDenied as exc:
    print("denied:", exc)

# Budgets stop runaway scripts; the host goes on.
try:
    safe_exec("while True:\n    pass", policy=Policy(limits=Limits(steps=100_000)))
except LimitExceeded as exc:
    print("stopped:", exc)

# A formula compiled once, evaluated for many rows.
formula = compile_restricted("price * qty * (1 + vat)", mode="eval")
rows = [{"price": 9.5, "qty": 3, "vat": 0.2}, {"price": 2.0, "qty": 10, "vat": 0.1}]
print("formula inputs:", sorted(formula.inputs))
print("formula values:", [round(formula.run(row), 2) for row in rows])
