"""The vocabulary of the escape fuzzers: dangerous names, start objects, name builders.

Shared by ``fuzz/escape.py`` (hypothesis) and ``fuzz/atheris_runtime.py``
(atheris); no dependency beyond safecompile itself.
"""

from __future__ import annotations

from safecompile.names import forbidden_attribute

DANGEROUS = [
    "__class__", "__base__", "__bases__", "__mro__", "mro", "__subclasses__",
    "__globals__", "__builtins__", "__dict__", "__code__", "__closure__",
    "cell_contents", "gi_frame", "gi_code", "f_back", "f_globals", "f_locals",
    "f_builtins", "f_code", "tb_frame", "tb_next", "__traceback__", "__self__",
    "__func__", "__wrapped__", "__reduce_ex__", "__reduce__", "__import__",
    "__getattribute__", "__init__", "__new__", "__call__", "__objclass__",
    "__module__", "__loader__", "__spec__", "__defaults__", "__kwdefaults__",
    "co_consts", "cr_frame", "ag_frame", "__context__", "__cause__",
    "__getitem__", "__format__", "__setattr__", "__delattr__", "__dir__",
    "_secret", "_class_secret", "_private", "_sc_target", "_sc_checker",
    "_sc_obj", "_sc_run", "_obj", "_run", "__sc_getattr__", "__sc_import__",
    "__sc_write__", "__sc_tick__", "func_globals", "im_func", "args", "obj",
    "name", "greet", "child", "items", "format", "format_map", "system",
    "open", "modules", "os", "sys", "path", "environ", "get", "keys",
    "__name__", "__qualname__", "__doc__", "__annotations__", "__slots__",
]

# Names worth using as subscript keys (builtins dicts, module dicts, f_globals).
KEYS = ["__builtins__", "open", "__import__", "exec", "eval", "os", "sys", "CANARY",
        "_secret", "HostThing", "host_obj", "__loader__", "modules", "0", "system"]

START = [
    "host_obj", "host_fn", "host_obj.greet", "host_obj.child()", "host_fn('obj')",
    "host_fn('module')", "host_fn('class')", "host_fn('func')", "host_fn('list')",
    "g", "err", "Mine", "mine", "mine.meth", "lam", "print", "len", "getattr", "type",
    "object", "str", "int", "()", "''", "0", "[]", "{}", "iter([1])",
    "(x for x in [1])", "range(1)", "Exception", "super", "bound_format", "S('x')",
    "host_obj.items", "err_host",
]

PRELUDE = """\
def gen():
    yield 1
g = gen()
try:
    1 / 0
except Exception as exc:
    err = exc
try:
    host_fn('raise')
except Exception as exc:
    err_host = exc
else:
    err_host = None
class Mine:
    def meth(self):
        return 1
class S(str):
    pass
mine = Mine()
lam = lambda: 0
bound_format = '{0}'.format
"""


def _split_concat(name: str, cut: int) -> str:
    cut = max(0, min(cut, len(name)))
    return f"({name[:cut]!r} + {name[cut:]!r})"


def name_expr(name: str, how: int, cut: int, *, literal_ok: bool = True) -> str:
    """Source text of an expression that evaluates to the string ``name``.

    With ``literal_ok`` false, a name the static rules refuse as a literal
    (dunders, interpreter internals) is always built at run time.
    """
    if not literal_ok and forbidden_attribute(name) is not None:
        built = _name_forms(name, cut)[1:]
        return built[how % len(built)]
    forms = _name_forms(name, cut)
    return forms[how % len(forms)]


def _name_forms(name: str, cut: int) -> list[str]:
    codes = ", ".join(str(ord(c)) for c in name)
    return [
        repr(name),
        _split_concat(name, cut),
        f"{name[::-1]!r}[::-1]",
        f"''.join(map(chr, [{codes}]))",
        f"''.join(chr(c) for c in [{codes}])",
        f"{name.encode()!r}.decode()",
        f"bytes([{codes}]).decode('ascii')",
        f"'%s%s' % ({name[:cut]!r}, {name[cut:]!r})",
        f"'{{}}{{}}'.format({name[:cut]!r}, {name[cut:]!r})",
        'f"{' + repr(name[:cut]) + "}{" + repr(name[cut:]) + '}"',
        f"{name.upper()!r}.lower()" if name.lower() == name else _split_concat(name, cut),
        f"{name.replace('_', '-')!r}.replace('-', '_')",
        f"''.join(reversed({name[::-1]!r}))",
        f"S({name!r})",
        f"str(S({name!r}))",
        f"'x{name}y'[1:-1]",
        f"chr(95) * 2 + {name.strip('_')!r} + chr(95) * 2" if name.startswith("__") and name.endswith("__")
        else _split_concat(name, cut + 1),
        f"'_'.join({name.split('_')!r})",
    ]
