"""``safecompile check`` over the shared corpora (skipped when ../shared is absent).

* compat: benign scripts; none may produce a violation other than an advisory
  one (imports refused at run time, not at compile time).
* attacks: escape and denial-of-service scripts; many are stopped only at run
  time (by guards or budgets), so only a floor is asserted: measured 112 of
  200 files with at least one violation (86 with a refusing one) when this
  test was written.  A drop means a rule stopped firing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from safecompile.compiler import ADVISORY

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
ATTACK_FLOOR = 112

pytestmark = pytest.mark.skipif(not (SHARED / "attacks" / "cases").is_dir(),
                                reason="the shared corpora (../shared) are not checked out")


def check_json(folder: Path) -> dict[str, Any]:
    environ = {**os.environ, "SAFECOMPILE_PURE": "1", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "safecompile", "check", str(folder), "--format", "json", "--no-config"],
        cwd=ROOT, capture_output=True, text=True, env=environ, timeout=600, check=False,
    )
    assert result.returncode in (0, 1), result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def test_compat_cases_produce_no_violations_except_advisory_ones() -> None:
    document = check_json(SHARED / "compat" / "cases")
    assert document["summary"]["files_checked"] == len(list((SHARED / "compat" / "cases").rglob("*.py")))
    assert document["errors"] == []
    refusing = [f"{v['path']}:{v['start']['line']}: {v['code']} {v['message']}"
                for v in document["violations"] if v["code"] not in ADVISORY]
    assert refusing == []


def test_attack_cases_are_reported_by_the_static_rules() -> None:
    document = check_json(SHARED / "attacks" / "cases")
    assert document["errors"] == []
    assert document["summary"]["files_checked"] == len(list((SHARED / "attacks" / "cases").rglob("*.py")))
    detected = {v["path"] for v in document["violations"]}
    assert len(detected) == document["summary"]["files_with_violations"]
    assert len(detected) >= ATTACK_FLOOR, f"only {len(detected)} attack files get a violation"
