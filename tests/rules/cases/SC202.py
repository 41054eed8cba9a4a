# SC202 class-keyword: metaclasses and class keywords.
class Page(metaclass=Meta):  # error: SC202
    pass
# ---
class Plugin(Base, register=True):  # error: SC202
    pass
# ---
options = {"metaclass": Meta}
class Configured(**options):  # error: SC202
    pass
# ---
class Both(Base,
           metaclass=Meta,  # error: SC202
           flag=1):  # error: SC202
    pass
# ---
class Base:
    pass
class Mixin:
    def hello(self):
        return "hi"
class Child(Base, Mixin):
    pass
class Plain:
    pass
print(Child().hello(), Plain())
# ---
from enum import Enum
from typing import Generic, TypeVar
T = TypeVar("T")
class Color(Enum):
    RED = 1
class Pair(Generic[T]):
    left: int
    right: int
print(Color.RED, Pair())
