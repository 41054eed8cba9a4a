"""``check --format json|sarif|github``: the output schemas, end to end.

The SARIF log is validated against ``sarif-2.1.0-subset.schema.json``: a
hand-written, faithful SUBSET of the official OASIS SARIF 2.1.0 JSON schema
(the official file cannot be downloaded here).  It keeps the official
required fields, types, enums (``level``, ``columnKind``, ``version:
"2.1.0"``), minimums and ``additionalProperties: false`` for every object
safecompile emits, so a misspelt or invented property fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.parse
from pathlib import Path
from typing import Any

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent

BAD = "import os\nx = ().__class__\nexec('1')\n"


def sc(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "SAFECOMPILE_PURE": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "safecompile", *args],
        cwd=cwd, capture_output=True, text=True, env=environ, timeout=120, check=False,
    )


def validate(document: Any, schema_file: str) -> None:
    schema = json.loads((HERE / schema_file).read_text())
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    validator.validate(document)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "a.py").write_text(BAD)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b,c.py").write_text("x = 1\ny.__dict__\n")
    (tmp_path / "ok.py").write_text("print(1)\n")
    (tmp_path / "dangling.py").symlink_to(tmp_path / "missing.py")
    return tmp_path


def test_json_output_follows_the_documented_schema(tree: Path) -> None:
    result = sc("check", ".", "--format", "json", cwd=tree)
    assert result.returncode == 2  # a dangling link could not be read
    document = json.loads(result.stdout)
    validate(document, "check-json.schema.json")
    assert document["summary"] == {"files_checked": 3, "files_with_violations": 2, "violations": 4, "errors": 1}
    first = document["violations"][0]
    assert first == {
        "path": "a.py", "code": "SC301", "rule": "import-not-allowed", "level": "warning",
        "message": "import of module 'os' is not allowed by the policy",
        "fix": first["fix"], "start": {"line": 1, "column": 1}, "end": {"line": 1, "column": 10},
        "url": first["url"],
    }
    assert first["url"].endswith("docs/rules.md#sc301")
    assert [v["path"] for v in document["violations"]] == ["a.py", "a.py", "a.py", "sub/b,c.py"]
    assert document["errors"] == [{"path": "dangling.py", "message": "cannot read the file: No such file or directory"}]


def test_json_output_for_a_clean_run(tmp_path: Path) -> None:
    (tmp_path / "ok.py").write_text("print(1)\n")
    result = sc("check", "ok.py", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0
    document = json.loads(result.stdout)
    validate(document, "check-json.schema.json")
    assert document["violations"] == []


def test_sarif_output_validates_against_the_sarif_2_1_0_schema(tree: Path) -> None:
    result = sc("check", ".", "--format", "sarif", cwd=tree)
    log = json.loads(result.stdout)
    validate(log, "sarif-2.1.0-subset.schema.json")
    assert log["version"] == "2.1.0"
    run = log["runs"][0]
    # jsonschema checks "uri" formats only with an optional package; check them here.
    absolute = [run["tool"]["driver"]["informationUri"], run["originalUriBaseIds"]["%SRCROOT%"]["uri"]]
    absolute += [rule["helpUri"] for rule in run["tool"]["driver"]["rules"]]
    for uri in absolute:
        parts = urllib.parse.urlsplit(uri)
        assert parts.scheme in ("https", "file"), uri
        assert " " not in uri
    for result in run["results"]:
        uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert not urllib.parse.urlsplit(uri).scheme
        assert urllib.parse.quote(urllib.parse.unquote(uri)) == uri
    assert run["invocations"][0]["executionSuccessful"] is False
    assert run["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"].startswith("dangling.py: ")


def test_sarif_rules_carry_the_rule_docs(tree: Path) -> None:
    from safecompile.rules import all_rules

    log = json.loads(sc("check", ".", "--format", "sarif", cwd=tree).stdout)
    driver = log["runs"][0]["tool"]["driver"]
    assert driver["name"] == "safecompile"
    rules = {rule["id"]: rule for rule in driver["rules"]}
    assert set(rules) == {rule.code for rule in all_rules()}
    dunder = rules["SC102"]
    assert dunder["name"] == "dunder-attribute"
    assert dunder["shortDescription"]["text"] == "Dunder attribute access (`x.__class__`)."
    assert dunder["fullDescription"]["text"].startswith("Reading, writing or deleting an attribute")
    assert "Why: dunder attributes are the classic road out" in dunder["help"]["text"]
    assert dunder["helpUri"].endswith("docs/rules.md#sc102")
    assert dunder["defaultConfiguration"]["level"] == "error"
    assert rules["SC301"]["defaultConfiguration"]["level"] == "warning"
    assert rules["SC203"]["defaultConfiguration"] == {"level": "none", "enabled": False}


def test_sarif_results_locate_each_violation(tree: Path) -> None:
    log = json.loads(sc("check", ".", "--format", "sarif", cwd=tree).stdout)
    run = log["runs"][0]
    results = run["results"]
    assert [r["ruleId"] for r in results] == ["SC301", "SC102", "SC105", "SC102"]
    rules = run["tool"]["driver"]["rules"]
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    dunder = results[1]
    assert dunder["level"] == "error"
    assert results[0]["level"] == "warning"
    location = dunder["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "a.py", "uriBaseId": "%SRCROOT%"}
    assert location["region"] == {"startLine": 2, "startColumn": 5, "endLine": 2, "endColumn": 17}
    assert results[3]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "sub/b%2Cc.py"
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == tree.resolve().as_uri() + "/"


def test_sarif_for_a_clean_run_has_empty_results(tmp_path: Path) -> None:
    (tmp_path / "ok.py").write_text("print(1)\n")
    result = sc("check", "ok.py", "--format", "sarif", cwd=tmp_path)
    assert result.returncode == 0
    log = json.loads(result.stdout)
    validate(log, "sarif-2.1.0-subset.schema.json")
    assert log["runs"][0]["results"] == []
    assert log["runs"][0]["invocations"][0]["executionSuccessful"] is True


def test_sarif_gate_violations_have_valid_regions(tmp_path: Path) -> None:
    (tmp_path / "latin.py").write_bytes(b"x = '\xff'\n")
    log = json.loads(sc("check", "latin.py", "--format", "sarif", cwd=tmp_path).stdout)
    validate(log, "sarif-2.1.0-subset.schema.json")
    region = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]
    assert region["startColumn"] >= 1


def test_github_format_prints_workflow_annotations(tree: Path) -> None:
    result = sc("check", ".", "--format", "github", cwd=tree)
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "::warning file=a.py,line=1,col=1,endLine=1,endColumn=10,title=SC301::"
        "import of module 'os' is not allowed by the policy%0Afix: use one of the allowed modules "
        "(math, re, json, datetime, ...) or ask the host to allow it"
    )
    assert lines[1].startswith("::error file=a.py,line=2,col=5,endLine=2,endColumn=17,title=SC102::attribute '__class__'")
    # Property values escape ',' and ':' (GitHub's rules for workflow commands).
    assert lines[3].startswith("::error file=sub/b%2Cc.py,line=2,col=1,")
    assert lines[4] == "::error file=dangling.py,title=safecompile::cannot read the file: No such file or directory"
    assert lines[-1].startswith("Found 4 violations in 2 files")
