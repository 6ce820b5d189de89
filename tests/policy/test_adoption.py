"""Adopting `aiapp check` on an existing repository: `.aiapp.yml` configuration, baselines, suppressions."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from generator.cli import app as cli
from generator.errors import UsageError
from generator.policy import config
from generator.policy.suppress import suppressions
from tests.policy.corpus import FIXTURES

GOOD_APP = FIXTURES / "good" / "app.yaml"
LATEST = FIXTURES / "bad" / "AIA707-latest.yaml"
NO_PROBES = FIXTURES / "bad" / "AIA706-no-probes.yaml"


def aiapp(*args: str) -> Result:
    result = CliRunner().invoke(cli, ["check", "-j1", *args])
    assert "Traceback" not in result.stdout + result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def rules_of(result: Result, key: str = "findings") -> list[str]:
    return [item["rule"] for item in json.loads(result.stdout)[key]]


# --- baselines ---------------------------------------------------------------------------------------


def test_baseline_round_trip(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    app = repo / "app.yaml"
    shutil.copy(LATEST, app)
    baseline = tmp_path / "baseline.json"

    written = aiapp("--write-baseline", str(baseline), str(repo))
    assert written.exit_code == 0 and "Wrote 1 finding" in written.stderr
    entry = json.loads(baseline.read_text())["findings"][0]
    assert (entry["rule"], entry["object"], entry["field"]) == (
        "AIA707",
        "Deployment/ai/demo",
        "spec.template.spec.containers[0].image",
    )
    assert "line" not in entry

    # Lines added above the finding: still baselined, so the check passes and says so.
    app.write_text("# a comment\n# and another\n" + app.read_text())
    result = aiapp("--baseline", str(baseline), str(repo))
    assert result.exit_code == 0, result.stdout
    assert result.stdout.strip() == "No findings: 2 objects in 1 file checked; 1 baselined."

    # A new violation fails alone.
    text = app.read_text().replace("runAsNonRoot: true", "runAsNonRoot: false", 1)
    app.write_text(text)
    result = aiapp("--baseline", str(baseline), "--format", "json", str(repo))
    assert result.exit_code == 1
    assert rules_of(result) == ["AIA701"]
    assert json.loads(result.stdout)["summary"]["baselined"] == 1

    # The baselined finding fixed: its entry is reported stale (not a failure).
    app.write_text(text.replace("runAsNonRoot: false", "runAsNonRoot: true").replace(":latest", ":1.4.2"))
    result = aiapp("--baseline", str(baseline), "--format", "json", str(repo))
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["findings"] == [] and [item["rule"] for item in data["stale"]] == ["AIA707"]
    text_result = aiapp("--baseline", str(baseline), str(repo))
    assert "1 baseline entry no longer occurs" in text_result.stdout


def test_a_baseline_that_is_not_one_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "baseline.json"
    bad.write_text('{"findings": 3}')
    result = aiapp("--baseline", str(bad), str(GOOD_APP))
    assert result.exit_code == 2 and "is not an aiapp baseline" in result.stderr
    result = aiapp("--baseline", str(tmp_path / "missing.json"), str(GOOD_APP))
    assert result.exit_code == 2 and "cannot be read" in result.stderr


# --- suppressions ------------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", [".", "ok", "todo", "AIA401", "  -  "])
def test_a_suppression_reason_must_say_something(reason: str) -> None:
    found = suppressions({"metadata": {"annotations": {"aiapp/ignore": f"AIA706: {reason}"}}})
    assert found.rules == frozenset()
    assert [rule for rule, _ in found.problems] == ["AIA006"]


def test_suppressed_findings_are_counted_and_shown_with_their_reason(tmp_path: Path) -> None:
    app = tmp_path / "app.yaml"
    app.write_text(
        LATEST.read_text().replace(
            "  namespace: ai\n",
            '  namespace: ai\n  annotations:\n    aiapp/ignore: "AIA707: pinned by digest in Flux"\n',
            1,
        )
    )
    result = aiapp(str(tmp_path))
    assert result.exit_code == 0 and "1 suppressed" in result.stdout
    assert "pinned by digest" not in result.stdout
    shown = aiapp("--show-suppressed", str(tmp_path))
    assert "AIA707 Deployment/ai/demo: pinned by digest in Flux" in shown.stdout


# --- .aiapp.yml check: ------------------------------------------------------------------------------


def write_config(root: Path, text: str) -> Path:
    path = root / ".aiapp.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_rules_disabled_or_regraded_with_reasons_printed_by_verbose(tmp_path: Path) -> None:
    shutil.copy(LATEST, tmp_path / "latest.yaml")
    shutil.copy(NO_PROBES, tmp_path / "no-probes.yaml")
    write_config(
        tmp_path,
        "check:\n  rules:\n"
        "    image-tag: {severity: warning, reason: Renovate pins these images within a day}\n"
        "    AIA706: {disabled: true, reason: the probes come from the service mesh here}\n",
    )
    result = aiapp("--verbose", "--format", "json", str(tmp_path))
    assert result.exit_code == 0
    assert [(item["rule"], item["severity"]) for item in json.loads(result.stdout)["findings"]] == [
        ("AIA707", "warning")
    ]
    assert "AIA707 severity warning: Renovate pins these images within a day" in result.stderr
    assert "AIA706 disabled: the probes come from the service mesh here" in result.stderr
    assert aiapp("--strict", str(tmp_path)).exit_code == 1


def test_scope_and_exclusions(tmp_path: Path) -> None:
    (tmp_path / "ai").mkdir()
    (tmp_path / "other").mkdir()
    (tmp_path / "old").mkdir()
    shutil.copy(LATEST, tmp_path / "ai" / "latest.yaml")
    shutil.copy(LATEST, tmp_path / "other" / "latest.yaml")
    (tmp_path / "old" / "broken.yaml").write_text("kind: [\n")
    write_config(
        tmp_path,
        "check:\n  scope:\n    paths: [ai]\n"
        "  exclude:\n    - {path: old, reason: retired manifests kept for the record}\n",
    )
    result = aiapp("--format", "json", str(tmp_path))
    files = {Path(item["file"]).parent.name for item in json.loads(result.stdout)["findings"]}
    assert files == {"ai"}
    write_config(tmp_path, "check:\n  scope:\n    namespaces: [elsewhere]\n")
    assert rules_of(aiapp("--format", "json", str(tmp_path / "ai"))) == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("check:\n  rules:\n    AIA999: {disabled: true, reason: no such rule here}\n", "names no rule"),
        ("check:\n  rules:\n    AIA707: {disabled: true}\n", "needs a reason"),
        ("check:\n  rules:\n    AIA707: {disabled: true, reason: legacy}\n", "needs a reason"),
        ("check:\n  rules:\n    AIA707: {severity: fatal, reason: we really mean it}\n", "must be one of"),
        ("check:\n  exclude: [old]\n", "must be `{path: DIR, reason: why}`"),
        ("check:\n  scope:\n    folders: [ai]\n", "unknown key 'folders'"),
        ("check:\n  limits:\n    max_file_bytes: -1\n", "positive whole number"),
    ],
)
def test_a_malformed_configuration_is_one_line_and_exit_2(tmp_path: Path, text: str, problem: str) -> None:
    write_config(tmp_path, text)
    with pytest.raises(UsageError, match=problem):
        config.load(config.find(tmp_path))
    result = aiapp(str(GOOD_APP), "--config", str(tmp_path / ".aiapp.yml"))
    assert result.exit_code == 2 and problem in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2  # the error and its hint


def test_the_nearest_aiapp_yml_with_check_applies(tmp_path: Path) -> None:
    write_config(
        tmp_path, "template: https://git.example.com/aiapp.git\ncheck:\n  scope:\n    namespaces: [x]\n"
    )
    (tmp_path / "apps").mkdir()
    write_config(tmp_path / "apps", "template: https://git.example.com/other.git\n")
    found = config.find(tmp_path / "apps")
    assert found == tmp_path / ".aiapp.yml"
    assert config.load(found).scope_namespaces == ("x",)
