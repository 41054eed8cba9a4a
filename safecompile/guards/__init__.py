"""Run-time guards: the functions rewritten code calls, builtins, views, budgets.

The hot pieces have a C implementation (``_native``) and a pure-Python twin
(``_pure``): ``Budget`` (``tick``, ``enter``, ``enter_method``,
``iterate``), ``Proxy`` with ``make_proxy`` and ``unwrap``, and
``is_plain``.

The C ``Proxy`` keeps its target only in the C struct, and its GC traversal
does not visit the target, so ``gc.get_referents(proxy)`` never yields it.
The trade-off: a reference cycle that runs *through a target* (the host
object holds, directly or not, a proxy of itself) is invisible to the cycle
collector and lives until it is broken by hand; cycles through a proxy's
checker or membrane are collected normally.  The membrane keeps such cycles
rare: host code receives targets and copies, never proxies, so a host object
only holds a proxy that the host itself stored there.  The pure twin keeps
its target in a slot; it makes no such promise.

``SAFECOMPILE_PURE=1`` selects the twin; unset selects C, and a
missing (or out-of-date) C build is an error that says how to build it, never a silent
fallback.  ``IMPLEMENTATION`` tells which one is in use.
"""

from __future__ import annotations

import os
from types import ModuleType

_choice = os.environ.get("SAFECOMPILE_PURE", "")
if _choice not in ("", "0", "1"):
    raise ImportError("SAFECOMPILE_PURE must be unset, '0' or '1'")

impl: ModuleType
if _choice == "1":
    from . import _pure as impl

    IMPLEMENTATION = "pure"
else:
    try:
        from . import _native as impl
    except ImportError as exc:  # pragma: no cover - depends on the build
        raise ImportError(
            "safecompile's C extension is not built: install the package with "
            "'pip install .' (needs a C compiler and Python headers), or set "
            "SAFECOMPILE_PURE=1 to use the pure-Python guards"
        ) from exc
    if not hasattr(impl, "Proxy"):  # pragma: no cover - depends on the build
        raise ImportError(
            "safecompile's C extension is out of date (it has no Proxy): rebuild "
            "it with 'pip install .' (or 'pip install -e .' for a checkout)"
        )
    IMPLEMENTATION = "c"

__all__ = ["IMPLEMENTATION", "impl"]
