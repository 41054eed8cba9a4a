# SC302 relative-import: a script is not part of a package.
from . import helpers  # error: SC302
# ---
from ..package import tool  # error: SC302
# ---
from .sibling import name  # error: SC302
# ---
from math import pi
print(pi)
