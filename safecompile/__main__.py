"""``python -m safecompile``: the command line (see safecompile.cli)."""

from __future__ import annotations

from .cli import main

raise SystemExit(main())
