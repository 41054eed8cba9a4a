# requires: 3.12
# SC205 type-parameter-syntax: `type X = ...` and type parameter lists (Python 3.12+).
type Pair = tuple[int, int]  # error: SC205
# ---
# requires: 3.12
def first[T](items: list[T]) -> T:  # error: SC205
    return items[0]
# ---
# requires: 3.12
class Box[T]:  # error: SC205
    pass
# ---
# requires: 3.12
def call[**P, *Ts](function):  # error: SC205
    return function
# ---
# requires: 3.12
type Mapping[K, V] = dict[K, V]  # error: SC205
# ---
# requires: 3.13
def default[T = int](value: T) -> T:  # error: SC205
    return value
# ---
# The same ideas with assignments and typing.TypeVar.
from typing import Generic, TypeVar
T = TypeVar("T")
Pair = tuple[int, int]
def first(items: list[T]) -> T:
    return items[0]
class Box(Generic[T]):
    def __init__(self, item: T):
        self.item = item
print(first([1, 2]), Box(3).item)
