# requires: 3.14
# SC201 unsupported-syntax: node classes without a decision in NODE_DECISIONS are refused.
# No syntax of Python 3.11-3.13 is undecided, so the rejecting chunk needs a
# Python whose new syntax this table has not reviewed yet (template strings);
# tests/meta/test_registry.py checks the decision table itself.
greeting = t"hello {name}"  # error: SC201
# ---
# Every long-standing statement and expression form is decided.
import math
from collections import deque
x: int = 1
x += 2
y = x if x > 1 else -x
del y
assert x, "positive"
values = deque([1, 2, 3])
while values:
    item = values.popleft()
    if item == 2:
        continue
    elif item > 5:
        break
else:
    pass
try:
    raise ValueError("boom")
except (ValueError, TypeError) as error:
    message = str(error)
else:
    message = ""
finally:
    done = True
def gen(n):
    total = yield n
    yield from range(n)
ratio = math.floor(7 / 2) // 1 % 3 @ 1 if False else 1
flags = ~1 & 2 | 3 ^ 4 >> 1 << 1
check = not (1 < 2 <= 3 != 4) or (x is not None and 1 in [1] and 2 not in [1])
sliced = [1, 2, 3][::2][0:1]
print(message, done, list(gen(2)), ratio, flags, check, sliced, ..., b"bytes", 1j)
