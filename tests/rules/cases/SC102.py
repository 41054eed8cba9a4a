# SC102 dunder-attribute: no attribute whose name starts with two underscores.
classes = ().__class__.__base__  # error: SC102
# ---
def f():
    pass
print(f.__globals__)  # error: SC102
# ---
obj.__dict__["x"] = 1  # error: SC102
# ---
obj.__class__ = Other  # error: SC102
# ---
del obj.__x  # error: SC102
# ---
class Account:
    def __init__(self):
        self.__secret = 1  # error: SC102
# ---
print("%s" % value.__doc__)  # error: SC102
# ---
items = [x.__len__() for x in data]  # error: SC102
# ---
super().__class__  # error: SC102
# ---
super().__init_subclass__()  # error: SC102
# ---
super().__init__ = None  # error: SC102
# ---
class A:
    def __init__(self):
        self.__init__()  # error: SC102
# ---
# Calling an allowed dunder method on super() is the one exception.
class Base:
    def __init__(self, x):
        self.x = x
    def __repr__(self):
        return "Base"
class Child(Base):
    def __init__(self, x):
        super().__init__(x)
    def __repr__(self):
        return "Child of " + super().__repr__()
class Grandchild(Child):
    def __init__(self):
        super(Grandchild, self).__init__(3)
print(Child(1), Grandchild().x)
# ---
# Single-underscore and public attributes are not this rule's business.
class Box:
    def __init__(self):
        self._content = []
        self.label = "box"
box = Box()
box._content.append(1)
print(box.label, box._content)
