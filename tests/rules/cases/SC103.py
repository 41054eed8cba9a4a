# SC103 internal-attribute: frames, code, tracebacks, generators, coroutines, mro.
def gen():
    yield 1
g = gen()
print(g.gi_frame)  # error: SC103
# ---
frame = g.gi_frame.f_back  # error: SC103
# ---
code = g.gi_code  # error: SC103
# ---
code = func.co_code  # error: SC103
# ---
try:
    1 / 0
except ZeroDivisionError as e:
    tb = e.tb_frame  # error: SC103
# ---
frame = coro.cr_frame  # error: SC103
# ---
frame = agen.ag_frame  # error: SC103
# ---
chain = int.mro()  # error: SC103
# ---
obj.f_locals = {}  # error: SC103
# ---
def counter():
    yield 1
    yield 2
c = counter()
print(next(c), next(c))
# ---
# Names that merely resemble the prefixes are fine.
class Shape:
    def __init__(self):
        self.frame = 1
        self.code = "x"
        self.count = 2
        self.tbd = True
        self.coeff = 0.5
        self.format_name = "n"
        self.mros = []
s = Shape()
print(s.frame, s.code, s.count, s.tbd, s.coeff, s.format_name, s.mros)
