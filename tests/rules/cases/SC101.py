# SC101 dunder-name: no identifier may start with two underscores, wherever it is bound or read.
__builtins__["open"]  # error: SC101
# ---
loader = __import__  # error: SC101
# ---
__sc_getattr__ = lambda obj, name: name  # error: SC101
# ---
x = __sc_tick__  # error: SC101
# ---
def positional_only(__sc_getattr__, /):  # error: SC101
    return 1
# ---
def keyword_only(*, __key):  # error: SC101
    return 1
# ---
def star_args(*__args):  # error: SC101
    return 1
# ---
def star_kwargs(**__kw):  # error: SC101
    return 1
# ---
def with_default(__value=1):  # error: SC101
    return 1
# ---
shout = lambda __text: 1  # error: SC101
# ---
try:
    pass
except ValueError as __error:  # error: SC101
    pass
# ---
with context() as __handle:  # error: SC101
    pass
# ---
if (__found := 10) > 5:  # error: SC101
    pass
# ---
squares = [__i * 2 for __i in range(3)]  # error: SC101
# ---
table = {__k: 1 for __k in "ab"}  # error: SC101
# ---
for __item in range(3):  # error: SC101
    pass
# ---
first, *__rest = [1, 2, 3]  # error: SC101
# ---
match value:
    case __capture:  # error: SC101
        pass
# ---
match value:
    case [1, *__tail]:  # error: SC101
        pass
# ---
match value:
    case {"a": 1, **__others}:  # error: SC101
        pass
# ---
match value:
    case (1 | 2) as __either:  # error: SC101
        pass
# ---
import math as __m  # error: SC101
# ---
from math import sqrt as __sqrt  # error: SC101
# ---
from math import __doc__  # error: SC101, SC304
# ---
import __hello__  # error: SC101, SC301
# ---
def counter():
    global __count  # error: SC101
    return 1
# ---
def outer():
    __total = 0  # error: SC101
    def inner():
        nonlocal __total  # error: SC101
    return inner
# ---
print("x", __end="")  # error: SC101
# ---
class __Hidden:  # error: SC101
    pass
# ---
class Sneaky:
    __getattr__ = lambda self, name: 1  # error: SC101
# ---
del __anything  # error: SC101
# ---
print(f"{__name__}")  # error: SC101
# ---
# Several violations in one source are all reported.
a = __one  # error: SC101
b = __two  # error: SC101
c = __three  # error: SC101
# ---
# Single-underscore names are the script's own business.
_private = 1
_ = "throwaway"
def _helper(_x, /, _y=2, *_args, _key=3, **_kw):
    return _x + _y + _key
class _Internal:
    def __init__(self):
        self._value = 1
    def _method(self):
        return self._value
for _ in range(2):
    pass
try:
    _helper(1)
except ValueError as _error:
    pass
print(_helper(1), _Internal()._method(), _private)
# ---
# Walrus, comprehensions, generators, lambdas, star-unpacking.
data = [1, 2, 3, 4]
if (n := len(data)) > 3:
    print(n)
evens = [x for x in data if x % 2 == 0]
pairs = {k: v for k, v in zip("abcd", data)}
unique = {x % 3 for x in data}
total = sum(x * x for x in data)
double = lambda x, *rest, scale=2, **options: x * scale
first, *middle, last = data
merged = [*data, *evens]
options = {**pairs, "e": 5}
print(evens, pairs, unique, total, double(3), middle, merged, options)
# ---
# f-strings (format specs and conversions included).
name = "world"
width = 10
print(f"hello {name!r:>{width}} {3.14159:.2f} {name=}")
# ---
# Keyword arguments and ** in calls.
def area(width, height=1):
    return width * height
print(area(width=2, height=3), area(**{"width": 4}))
# ---
import math as m
from json import dumps as to_json
print(m.pi, to_json([1]))
