# SC104 dunder-method: dunder methods only from the allowlist, and only in a class body.
class Base:
    def __init_subclass__(cls):  # error: SC104
        pass
# ---
class Field:
    def __set_name__(self, owner, name):  # error: SC104
        pass
# ---
class Box:
    def __class_getitem__(cls, item):  # error: SC104
        return cls
# ---
class Resource:
    def __del__(self):  # error: SC104
        pass
# ---
class Lazy:
    def __getattr__(self, name):  # error: SC104
        return 1
# ---
class Spy:
    def __getattribute__(self, name):  # error: SC104
        return 1
# ---
class Pickled:
    def __reduce__(self):  # error: SC104
        return (print, ("x",))
# ---
class Writer:
    def __setattr__(self, name, value):  # error: SC104
        pass
# ---
class Maker:
    @staticmethod
    def __new__(cls):  # error: SC104
        return 1
# ---
class Descriptor:
    def __get__(self, obj, owner):  # error: SC104
        return 1
# ---
class Hidden:
    def __helper(self):  # error: SC104
        return 1
# ---
def __init__(self):  # error: SC104
    pass
# ---
def outer():
    def __repr__():  # error: SC104
        return "x"
    return __repr__  # error: SC101
# ---
class Widget:
    def method(self):
        def __eq__(other):  # error: SC104
            return True
        return 1
# ---
def decorate(function):
    return function
class Config:
    @decorate
    def __init_subclass__(cls):  # error: SC104
        pass
# ---
# Allowed protocol methods on the script's own classes, and decorators on own functions.
import functools

def logged(function):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        return function(*args, **kwargs)
    return wrapper

@functools.total_ordering
class Money:
    def __init__(self, cents):
        self.cents = cents
    def __repr__(self):
        return f"Money({self.cents})"
    def __str__(self):
        return f"{self.cents / 100:.2f}"
    def __format__(self, spec):
        return format(str(self), spec)
    def __eq__(self, other):
        return self.cents == other.cents
    def __lt__(self, other):
        return self.cents < other.cents
    def __hash__(self):
        return hash(self.cents)
    def __add__(self, other):
        return Money(self.cents + other.cents)
    def __radd__(self, other):
        return self if other == 0 else self + other
    def __mul__(self, factor):
        return Money(self.cents * factor)
    def __neg__(self):
        return Money(-self.cents)
    def __bool__(self):
        return self.cents != 0
    @logged
    def doubled(self):
        return self * 2
    @property
    def euros(self):
        return self.cents // 100
    @staticmethod
    def zero():
        return Money(0)
    @classmethod
    def of(cls, cents):
        return cls(cents)

class Bag:
    def __init__(self):
        self.items = {}
    def __len__(self):
        return len(self.items)
    def __iter__(self):
        return iter(self.items)
    def __contains__(self, key):
        return key in self.items
    def __getitem__(self, key):
        return self.items[key]
    def __setitem__(self, key, value):
        self.items[key] = value
    def __delitem__(self, key):
        del self.items[key]
    def __enter__(self):
        return self
    def __exit__(self, *exc):
        return False
    def __call__(self):
        return len(self)

with Bag() as bag:
    bag["a"] = Money(150)
print(sum([Money(1), Money(2)]), Money.of(5).doubled(), len(bag), "a" in bag, bag())
