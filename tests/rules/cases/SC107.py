# SC107 dynamic-dunder-attribute: getattr and friends with a literal forbidden name.
def f():
    pass
scope = getattr(f, "__globals__")  # error: SC107
# ---
print(hasattr(value, "__class__"))  # error: SC107
# ---
setattr(obj, "__dict__", {})  # error: SC107
# ---
delattr(obj, "__x")  # error: SC107
# ---
frame = getattr(gen, "gi_frame")  # error: SC107
# ---
chain = getattr(int, "mro", None)  # error: SC107
# ---
# Public and single-underscore literals are left to the run-time guard; so are
# names built at run time (the guard refuses the dunder when it is asked).
class Thing:
    def __init__(self):
        self._x = 1
        self.y = 2
t = Thing()
print(getattr(t, "_x"), getattr(t, "y"), hasattr(t, "z"))
setattr(t, "y", 3)
delattr(t, "y")
name = "_" + "x"
print(getattr(t, name))
built = "__" + "class__"
