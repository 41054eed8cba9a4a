"""The vocabulary: one table of names that rules, rewriters and guards share.

Nothing here decides policy on its own; rules (static) and guards (run time)
both read these tables, so a name forbidden in source is forbidden when it is
built at run time too.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final


# --- names the rewriter emits ------------------------------------------------
# Dunders: user code may not write a dunder identifier anywhere, so none of
# these can be read, bound or shadowed by a script.
GETATTR: Final = "__sc_getattr__"        # guarded read: __sc_getattr__(obj, "name")
SETATTR: Final = "__sc_setattr__"        # guarded write, value first: (value, obj, "name")
WRITE: Final = "__sc_write__"            # __sc_write__(obj)["name"] in complex targets
IMPORT: Final = "__sc_import__"          # __sc_import__("module")
IMPORT_FROM: Final = "__sc_import_from__"  # __sc_import_from__("module", ("a", "b"))
ITER: Final = "__sc_iter__"              # for-loop and comprehension iterables
TICK: Final = "__sc_tick__"              # while-loop tests (while ... else)
LOOP: Final = "__sc_loop__"              # while loops: for () in __sc_loop__(None)
ENTER: Final = "__sc_enter__"            # function entries (steps + recursion)
ENTER_METHOD: Final = "__sc_enter_method__"  # method entries: also checks `self` is the script's
POW: Final = "__sc_pow__"                # a ** b
LSHIFT: Final = "__sc_lshift__"          # a << b
MUL: Final = "__sc_mul__"                # a * b, when neither operand is a literal
AUG_ITEM: Final = "__sc_aug_item__"      # a[i] **= b / a[i] <<= b / a[i] *= b
GENERATOR: Final = "__sc_generator__"    # wraps generator functions: the run tracks their generators

EMITTED: Final[frozenset[str]] = frozenset(
    {GETATTR, SETATTR, WRITE, IMPORT, IMPORT_FROM, ITER, TICK, LOOP, ENTER,
     ENTER_METHOD, POW, LSHIFT, MUL, AUG_ITEM, GENERATOR}
)
EMITTED_PREFIX: Final = "__sc_"

# --- attributes ----------------------------------------------------------------
# Interpreter internals reachable without a dunder: frames, code objects,
# tracebacks, generators, coroutines and async generators (f_back, co_code,
# tb_frame, gi_frame, cr_frame, ag_frame, ...).  GHSA-wqc8-x2pr-7jqh is the
# RestrictedPython advisory for the generator spelling.
INTERNAL_PREFIXES: Final = ("f_", "co_", "tb_", "gi_", "cr_", "ag_")
INTERNAL_NAMES: Final[frozenset[str]] = frozenset({"mro"})

# Attribute names that turn a plain string into a formatting engine that
# walks attributes of its arguments (the str.format advisories).
FORMAT_METHODS: Final[frozenset[str]] = frozenset({"format", "format_map"})

# Methods of exception groups that ``except*`` calls and trusts (a script
# override returning the wrong type crashes CPython; CVE-2025-22153).
EXCEPTION_GROUP_TRUSTED: Final[frozenset[str]] = frozenset({"split", "subgroup"})

# Dunder methods a script's own class may define.  Each is a protocol hook
# the interpreter calls on the script's own instances with ordinary
# arguments; none runs implicitly at class creation, none customises
# attribute lookup, pickling or finalisation.
ALLOWED_DUNDER_METHODS: Final[frozenset[str]] = frozenset(
    {
        "__init__", "__post_init__", "__repr__", "__str__", "__format__",
        "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__hash__",
        "__len__", "__iter__", "__next__", "__reversed__", "__contains__",
        "__getitem__", "__setitem__", "__delitem__", "__missing__",
        "__enter__", "__exit__", "__bool__", "__call__",
        # arithmetic
        "__add__", "__radd__", "__iadd__", "__sub__", "__rsub__", "__isub__",
        "__mul__", "__rmul__", "__imul__", "__matmul__", "__rmatmul__",
        "__imatmul__", "__truediv__", "__rtruediv__", "__itruediv__",
        "__floordiv__", "__rfloordiv__", "__ifloordiv__", "__mod__",
        "__rmod__", "__imod__", "__divmod__", "__rdivmod__", "__pow__",
        "__rpow__", "__ipow__", "__lshift__", "__rlshift__", "__ilshift__",
        "__rshift__", "__rrshift__", "__irshift__", "__and__", "__rand__",
        "__iand__", "__or__", "__ror__", "__ior__", "__xor__", "__rxor__",
        "__ixor__", "__neg__", "__pos__", "__abs__", "__invert__",
        "__round__", "__trunc__", "__floor__", "__ceil__", "__int__",
        "__float__", "__complex__", "__index__",
    }
)

# Hooks the interpreter or the stdlib runs implicitly (class creation,
# attribute lookup, pickling, finalisation, descriptors).  Named here so the
# rule that refuses them can say why; they are refused because they are not
# in ALLOWED_DUNDER_METHODS, not because they are in this list.
DANGEROUS_HOOKS: Final[frozenset[str]] = frozenset(
    {
        "__init_subclass__", "__set_name__", "__class_getitem__", "__del__",
        "__getattr__", "__getattribute__", "__setattr__", "__delattr__",
        "__reduce__", "__reduce_ex__", "__getstate__", "__setstate__",
        "__new__", "__prepare__", "__instancecheck__", "__subclasscheck__",
        "__get__", "__set__", "__delete__", "__mro_entries__", "__dir__",
        "__copy__", "__deepcopy__", "__buffer__", "__release_buffer__",
    }
)

# Builtins that turn text into code or reach the interpreter.  Never in the
# sandbox's builtins; the static rule reports them by name when the script
# does not define them itself.
CODE_BUILTINS: Final[frozenset[str]] = frozenset(
    {
        "exec", "eval", "compile", "open", "globals", "locals", "vars",
        "input", "breakpoint", "help", "exit", "quit", "memoryview",
        "copyright", "credits", "license",
    }
)


def shown(name: object, limit: int = 80) -> str:
    """``repr(name)`` cut to ``limit`` characters, for error messages: a
    script may build megabyte-long names and every log line would repeat them."""
    text = repr(name) if type(name) is str else f"<{type(name).__name__}>"
    return text if len(text) <= limit else text[: limit - 5] + "...'"


def is_dunder(name: str) -> bool:
    """Return whether ``name`` is a double-underscore name (``__x``, ``__x__``)."""
    return name.startswith("__")


def is_private(name: str) -> bool:
    """Return whether ``name`` starts with an underscore."""
    return name.startswith("_")


def is_internal_attribute(name: str) -> bool:
    """Return whether ``name`` reaches frames, code, tracebacks or generators."""
    return name.startswith(INTERNAL_PREFIXES) or name in INTERNAL_NAMES


def forbidden_attribute(name: str) -> str | None:
    """Why the attribute ``name`` is refused everywhere, or None if it is not.

    Used by the static rules and by the run-time guard alike.  Single
    underscore names are not refused here: they are allowed on the script's
    own objects, which only the run-time guard can tell.
    """
    if is_dunder(name):
        return "dunder attributes are not available to scripts"
    if is_internal_attribute(name):
        return "it reaches interpreter internals (frames, code, tracebacks, generators)"
    return None
