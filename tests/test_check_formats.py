"""Output formats: JSON parses, SARIF 2.1.0 is what code scanning reads, GitHub annotations, text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from generator.cli import app as cli
from generator.policy import Options, check_paths
from generator.policy.registry import rules
from generator.policy.report import github, render
from tests.conftest import ROOT
from tests.policy.corpus import FIXTURES

BAD = FIXTURES / "bad"
INPUTS = [BAD / "AIA707-latest.yaml", BAD / "AIA706-no-probes.yaml", BAD / "AIA002-invalid-yaml.yaml"]


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def run(output_format: str) -> Result:
    result = CliRunner().invoke(cli, ["check", "-j1", "--format", output_format, *map(str, INPUTS)])
    assert result.exit_code == 1
    return result


def test_json() -> None:
    data = json.loads(run("json").stdout)
    assert data["summary"] == {
        "errors": 2,
        "warnings": 1,
        "info": 0,
        "files": 3,
        "objects": 4,
        "suppressed": 0,
        "baselined": 0,
    }
    first = data["findings"][0]
    assert first == {
        "rule": "AIA002",
        "slug": "invalid-yaml",
        "severity": "error",
        "file": "tests/policy/fixtures/bad/AIA002-invalid-yaml.yaml",
        "line": 8,
        "object": "",
        "message": first["message"],
        "fix": next(rule.fix_hint for rule in rules() if rule.id == "AIA002"),
    }
    assert [(item["rule"], item["line"]) for item in data["findings"]] == [
        ("AIA002", 8),
        ("AIA706", 23),
        ("AIA707", 24),
    ]


def test_sarif_2_1_0() -> None:
    sarif = json.loads(run("sarif").stdout)
    assert sarif["version"] == "2.1.0"
    assert sarif["$schema"].endswith("sarif-2.1.0.json")
    (run_,) = sarif["runs"]
    driver = run_["tool"]["driver"]
    assert driver["name"] == "aiapp"
    assert [rule["id"] for rule in driver["rules"]] == [rule.id for rule in rules()]
    latest = next(rule for rule in driver["rules"] if rule["id"] == "AIA707")
    assert latest["name"] == "image-tag"
    assert latest["shortDescription"]["text"] == "Images are pinned (no latest, no untagged)"
    assert latest["defaultConfiguration"]["level"] == "error"
    assert latest["help"]["text"].startswith("Pin a version tag")
    levels = {result["ruleId"]: result["level"] for result in run_["results"]}
    assert levels == {"AIA002": "error", "AIA706": "warning", "AIA707": "error"}
    for result in run_["results"]:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"].startswith("tests/policy/fixtures/bad/AIA70") or location[
            "artifactLocation"
        ]["uri"].endswith("AIA002-invalid-yaml.yaml")
        assert location["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert isinstance(location["region"]["startLine"], int) and location["region"]["startLine"] >= 1
    image = next(result for result in run_["results"] if result["ruleId"] == "AIA707")
    assert image["locations"][0]["physicalLocation"]["region"]["startLine"] == 24
    assert image["message"]["text"].startswith("Deployment/ai/demo: container")


def test_github_annotations() -> None:
    lines = run("github").stdout.splitlines()
    assert lines[0].startswith(
        "::error file=tests/policy/fixtures/bad/AIA002-invalid-yaml.yaml,line=8,title=AIA002 invalid-yaml::"
    )
    assert lines[1].startswith("::warning file=tests/policy/fixtures/bad/AIA706-no-probes.yaml,line=23,")
    assert "%0Afix: " in lines[2] and "\n" not in lines[2]
    assert lines[-1] == "2 errors and 1 warning in 3 files (4 objects in 3 files checked)."


def test_github_escaping() -> None:
    assert github.escape_data("50%\nnext\r") == "50%25%0Anext%0D"
    assert github.escape_property("a:b,c") == "a%3Ab%2Cc"


def test_text_groups_by_file_and_colours_only_when_asked() -> None:
    report = check_paths([str(path) for path in INPUTS], Options(jobs=1))
    plain = render(report, "text", color=False)
    assert "\x1b[" not in plain
    assert plain.splitlines()[0] == "tests/policy/fixtures/bad/AIA002-invalid-yaml.yaml"
    coloured = render(report, "text", color=True)
    assert "\x1b[31m" in coloured and "\x1b[33m" in coloured


def test_paths_outside_the_repository_are_file_uris(tmp_path: Path) -> None:
    bad = tmp_path / "x.yaml"
    bad.write_text("- a\n")
    sarif = json.loads(render(check_paths([str(bad)], Options(jobs=1)), "sarif"))
    location = sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": bad.as_uri()}
