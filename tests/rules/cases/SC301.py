# SC301 import-not-allowed: only modules the policy allows (advisory: compile_restricted
# leaves it to the run-time guard, which raises ImportError, so `except ImportError` works).
import os  # error: SC301
# ---
import sys, math  # error: SC301
# ---
from subprocess import run  # error: SC301
# ---
import os.path  # error: SC301
# ---
def later():
    import ctypes  # error: SC301
    return ctypes
# ---
import collections.abc  # error: SC301
# ---
try:
    import numpy  # error: SC301
except ImportError:
    numpy = None
# ---
import math
import json, re
import datetime as dt
from collections import Counter, deque
from decimal import Decimal, localcontext
print(math.pi, json.dumps([1]), re.escape("."), dt.date(2020, 1, 1), Counter("aab"), Decimal("1.5"))
# ---
# `from __future__` imports are compile flags, not module imports.
from __future__ import annotations
def area(width: Shape) -> float:
    return 1.0
