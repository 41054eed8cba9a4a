# SC106 match-class-attribute: class patterns may only read public attributes.
match account:
    case Account(_token=t):  # error: SC106
        print(t)
# ---
match value:
    case object(__class__=kind):  # error: SC106
        print(kind)
# ---
match generator:
    case Generator(gi_frame=frame):  # error: SC106
        print(frame)
# ---
match value:
    case Point(x=0, _hidden=h):  # error: SC106
        pass
    case Point(f_back=f):  # error: SC106
        pass
# ---
# match statements with public attributes, positions, literals, captures and guards.
from dataclasses import dataclass

@dataclass
class Point:
    x: int
    y: int

def describe(value):
    match value:
        case Point(x=0, y=0):
            return "origin"
        case Point(x=0, y=y):
            return f"on the y axis at {y}"
        case Point(x, y) if x == y:
            return "diagonal"
        case [first, *rest]:
            return f"list starting {first} with {len(rest)} more"
        case {"kind": "circle", "radius": r}:
            return f"circle {r}"
        case str() | bytes():
            return "text"
        case int(n) if n > 100:
            return "big"
        case None:
            return "nothing"
        case _:
            return "something"

for item in (Point(0, 0), Point(0, 3), Point(2, 2), [1, 2, 3], {"kind": "circle", "radius": 2}, "s", 500, None, 1.5):
    print(describe(item))
