"""Run-time guards: the functions rewritten code calls, builtins, views, budgets.

The hot pieces have a C implementation (``_native``) and a pure-Python twin
(``_pure``).  ``SAFECOMPILE_PURE=1`` selects the twin; unset selects C, and a
missing C build is an error that says how to build it, never a silent
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
    IMPLEMENTATION = "c"
    if not hasattr(impl, "Proxy"):  # pragma: no cover - interim, until the C Proxy lands
        from . import _native, _pure

        class _Combined:
            """The C counter with the pure Proxy (interim)."""

            Budget = _native.Budget
            CLOCK_EVERY = _native.CLOCK_EVERY
            Proxy = _pure.Proxy
            make_proxy = staticmethod(_pure.make_proxy)
            unwrap = staticmethod(_pure.unwrap)

        impl = _Combined  # type: ignore[assignment]

__all__ = ["IMPLEMENTATION", "impl"]
