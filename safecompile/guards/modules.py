"""Read-only views of the modules scripts may import.

A script never holds a module object.  ``import json`` binds a *view*: an
instance of a class made for that module whose attributes are the reviewed
names only.  Left out on purpose: other modules kept as attributes
(``typing.sys``, ``json.codecs``, ``dataclasses.builtins``), string-evaluating
helpers (``typing.get_type_hints``, ``ForwardRef``, ``functools.singledispatch``),
unguarded reflection (``string.Formatter``, ``operator.attrgetter``,
``functools.update_wrapper``), functions that change shared state
(``re.purge``, ``typing.overload``, ``enum.global_enum``) and module-level
mutable tables.  ``typing`` offers inert stand-ins only (guards/typing_view.py).  ``random`` and ``decimal`` are per run: a seeded instance and
a fresh context.
"""

from __future__ import annotations

import _thread
import importlib
from collections.abc import Callable, Mapping
from types import MappingProxyType, ModuleType

from ..errors import AccessDenied
from ..names import shown

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NoReturn

# Names offered per module.  A name missing here is refused by the view and
# reported statically by SC304.
_NAMES: dict[str, str] = {
    "math": "*",
    "cmath": "*",
    "decimal": """
        Decimal Context localcontext getcontext setcontext DecimalTuple
        ROUND_DOWN ROUND_HALF_UP ROUND_HALF_EVEN ROUND_CEILING ROUND_FLOOR
        ROUND_UP ROUND_HALF_DOWN ROUND_05UP MAX_PREC MAX_EMAX MIN_EMIN MIN_ETINY
        DecimalException Clamped InvalidOperation DivisionByZero Inexact Rounded
        Subnormal Overflow Underflow FloatOperation
        DefaultContext BasicContext ExtendedContext
    """,
    "fractions": "Fraction",
    "statistics": """
        mean fmean geometric_mean harmonic_mean median median_low median_high
        median_grouped mode multimode pstdev pvariance stdev variance quantiles
        NormalDist StatisticsError covariance correlation linear_regression
    """,
    "random": """
        seed random uniform randint randrange choice choices shuffle sample
        gauss normalvariate lognormvariate expovariate vonmisesvariate
        gammavariate triangular betavariate paretovariate weibullvariate
        getrandbits randbytes getstate setstate binomialvariate Random
    """,
    "string": """
        ascii_letters ascii_lowercase ascii_uppercase digits hexdigits
        octdigits punctuation printable whitespace capwords Template
    """,
    "re": """
        compile search match fullmatch split findall finditer sub subn escape
        error Pattern Match RegexFlag NOFLAG A ASCII I IGNORECASE L LOCALE
        M MULTILINE S DOTALL U UNICODE X VERBOSE
    """,
    "json": "dumps loads JSONEncoder JSONDecoder JSONDecodeError",
    "datetime": "date time datetime timedelta timezone tzinfo MINYEAR MAXYEAR UTC",
    "itertools": "*",
    "functools": """
        reduce partial partialmethod lru_cache cache cmp_to_key total_ordering
        wraps update_wrapper cached_property WRAPPER_ASSIGNMENTS WRAPPER_UPDATES
    """,
    "collections": """
        namedtuple deque Counter OrderedDict defaultdict ChainMap UserDict
        UserList UserString
    """,
    "heapq": """
        heappush heappop heapify heapreplace heappushpop nlargest nsmallest merge
    """,
    "bisect": "bisect bisect_left bisect_right insort insort_left insort_right",
    "textwrap": "dedent indent wrap fill shorten TextWrapper",
    "operator": "*",
    "dataclasses": """
        dataclass field fields asdict astuple replace is_dataclass
        FrozenInstanceError InitVar KW_ONLY MISSING Field
    """,
    "enum": """
        Enum IntEnum StrEnum Flag IntFlag auto unique member
        nonmember property verify EnumCheck FlagBoundary STRICT CONFORM EJECT
        KEEP CONTINUOUS NAMED_FLAGS UNIQUE
    """,
    "typing": """
        Any Optional Union List Dict Tuple Set FrozenSet Callable Iterable
        Iterator Generator Sequence MutableSequence Mapping MutableMapping
        AbstractSet MutableSet Collection Container Hashable Sized Reversible
        TypedDict Literal Final ClassVar TypeVar Generic cast
        NewType Annotated Type Deque DefaultDict Counter OrderedDict ChainMap
        NoReturn Never Self LiteralString TYPE_CHECKING Required NotRequired
        SupportsInt SupportsFloat SupportsAbs SupportsIndex SupportsRound
        TypeAlias ParamSpec Concatenate TypeGuard Unpack TypeVarTuple
        AnyStr Text assert_never assert_type Protocol
    """,
}

# Names of star modules ("*" above) that are never offered even so.
_STAR_EXCLUDED: dict[str, frozenset[str]] = {
    # SAFETY: attrgetter/methodcaller walk attributes in C without the guard;
    # the view offers guarded versions under the same names instead.
    "operator": frozenset(),
}


def _public_names(module: Any) -> frozenset[str]:
    return frozenset(
        name for name in dir(module)
        if not name.startswith("_") and not _is_module(getattr(module, name, None))
    )


def _is_module(value: object) -> bool:
    return type(value).__name__ == "module"


_allowed_cache: dict[str, frozenset[str]] = {}
_lock = _thread.allocate_lock()


def known_modules() -> frozenset[str]:
    """Modules the library has a reviewed view for."""
    return frozenset(_NAMES)


def view_modules() -> frozenset[str]:
    """The modules scripts may import (each as a view)."""
    return frozenset(_NAMES)


def allowed_names(module: str) -> frozenset[str] | None:
    """The names the view of ``module`` offers, or None if there is no view."""
    spec = _NAMES.get(module)
    if spec is None:
        return None
    cached = _allowed_cache.get(module)
    if cached is not None:
        return cached
    real = importlib.import_module(module)
    if spec.strip() == "*":
        offered = _public_names(real) - _STAR_EXCLUDED.get(module, frozenset())
    else:
        offered = frozenset(name for name in spec.split() if hasattr(real, name))
    with _lock:
        _allowed_cache[module] = offered
    return offered


class ModuleView(ModuleType):
    """A read-only module object holding only the reviewed names of a module.

    Attribute reads are plain dict lookups (no binding, no wrapper); writes
    and deletes are refused; a missing name is refused with AccessDenied.
    Names whose value is per run (``decimal.DefaultContext``) are computed by
    ``__getattr__`` from ``_sc_dynamic``.
    """

    def __getattr__(self, name: str) -> Any:
        dynamic = self.__dict__.get("_sc_dynamic", {})
        if name in dynamic:
            return dynamic[name]()
        raise AccessDenied(
            f"module {self.__name__!r} offers no attribute {shown(name)} to scripts"
        )

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AccessDenied(f"cannot set attribute {shown(name)} of module {self.__name__!r}: modules are read-only")

    def __delattr__(self, name: str) -> NoReturn:
        raise AccessDenied(f"cannot delete attribute {shown(name)} of module {self.__name__!r}: modules are read-only")

    def __repr__(self) -> str:
        return f"<module {self.__name__!r} (safecompile view)>"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        raise TypeError("module views cannot be subclassed")

    def __reduce__(self) -> NoReturn:
        raise AccessDenied("module views cannot be pickled or copied")


def make_view(module: str, values: Mapping[str, Any],
              dynamic: Mapping[str, Callable[[], Any]] | None = None) -> ModuleView:
    """Build a read-only view offering ``values`` under their names."""
    view = ModuleView(module)
    table = vars(view)
    table.update(values)
    table["__doc__"] = None
    table["_sc_dynamic"] = dict(dynamic or {})
    table["_sc_names"] = frozenset(values) | frozenset(dynamic or ())
    return view


def view_names(view: ModuleView) -> frozenset[str]:
    """The names ``view`` offers."""
    names: frozenset[str] = vars(view)["_sc_names"]
    return names


#: Modules whose view holds per-run state and is built for every run.
PER_RUN: frozenset[str] = frozenset({"random", "decimal"})

ViewFactory = Callable[[], ModuleView]
FROZEN_EMPTY: Mapping[str, Any] = MappingProxyType({})
