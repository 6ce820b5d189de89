"""`aiapp check` as a command: exit codes, usage errors, malformed input, kustomize, parallel runs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from generator.cli import app as cli
from generator.policy import Options, check_paths
from generator.policy.engine import PARALLEL_MIN_UNITS
from tests.policy.corpus import FIXTURES

GOOD_APP = FIXTURES / "good" / "app.yaml"
BAD = FIXTURES / "bad"
AIAPP = str(Path(sys.executable).with_name("aiapp"))


def aiapp(*args: str) -> Result:
    result = CliRunner().invoke(cli, ["check", "-j1", *args])
    assert "Traceback" not in result.stdout + result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def findings(result: Result) -> list[tuple[str, str, int]]:
    data = json.loads(result.stdout)
    return [(item["rule"], Path(item["file"]).name, item["line"]) for item in data["findings"]]


def test_clean_input_exits_0_and_says_what_was_checked() -> None:
    result = aiapp(str(GOOD_APP))
    assert result.exit_code == 0, result.stdout
    assert result.stdout.strip() == "No findings: 3 objects in 1 file checked."


def test_a_path_given_twice_is_checked_once() -> None:
    report = check_paths([str(GOOD_APP), str(GOOD_APP.parent), str(GOOD_APP)], Options(jobs=1))
    assert report.files == check_paths([str(GOOD_APP.parent)], Options(jobs=1)).files


def test_an_error_finding_exits_1() -> None:
    result = aiapp(str(BAD / "AIA707-latest.yaml"))
    assert result.exit_code == 1
    assert "24: error AIA707 [image-tag]  Deployment/ai/demo" in result.stdout
    assert 'container "demo" image "ghcr.io/acme/demo:latest" uses the latest tag' in result.stdout
    assert "fix: Pin a version tag" in result.stdout


def test_warnings_pass_unless_strict() -> None:
    warning_only = str(BAD / "AIA706-no-probes.yaml")
    assert aiapp(warning_only).exit_code == 0
    assert aiapp("--strict", warning_only).exit_code == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "give at least one file or directory"),
        (("--format", "xml", "."), "--format must be one of text, json, sarif, github"),
        (("--k8s-version", "latest", "."), "--k8s-version must look like 1.32"),
        (("--list-rules", "--format", "sarif"), "--list-rules prints text, json, markdown"),
        (("--jobs", "-1", "."), "--jobs must be 0"),
        (
            ("--k8s-version", "1.10", "."),
            "--k8s-version 1.10: kubernetes-validate has no schemas for Kubernetes 1.10 (supported: 1.",
        ),
        (
            ("--k8s-version", "9.99", "."),
            "--k8s-version 9.99: kubernetes-validate has no schemas for Kubernetes 9.99 (supported: 1.",
        ),
    ],
)
def test_usage_errors_exit_2_with_one_line(args: tuple[str, ...], message: str) -> None:
    result = aiapp(*args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_the_newest_shipped_kubernetes_version_is_accepted() -> None:
    from kubernetes_validate.utils import latest_version

    newest = ".".join(latest_version().split(".")[:2])
    result = aiapp("--k8s-version", newest, str(GOOD_APP))
    assert result.exit_code in (0, 1), result.stderr
    assert "supported:" not in result.stderr


def test_help_names_values_not_python_types() -> None:
    result = CliRunner().invoke(cli, ["check", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for internal in ("<str>", "<int>", "<list", "[paths]"):
        assert internal not in result.stdout
    for metavar in ("[PATH]...", "-f, --format FORMAT", "-j, --jobs N", "--k8s-version VERSION"):
        assert metavar in result.stdout
    assert "PATH...: YAML files and directories" in result.stdout


def test_unknown_option_is_a_usage_error() -> None:
    assert aiapp("--no-such-option", ".").exit_code == 2


def test_malformed_inputs_are_findings_and_the_other_files_are_still_checked(tmp_path: Path) -> None:
    (tmp_path / "a-invalid.yaml").write_text("kind: ConfigMap\ndata:\n  a: 1\n b: 2\n")
    (tmp_path / "b-list.yaml").write_text("- just\n- a list\n")
    (tmp_path / "c-empty.yaml").write_text("")
    (tmp_path / "d-binary.yml").write_bytes(b"\x00\x01\x02binary")
    (tmp_path / "e-latin1.yaml").write_bytes("name: caf\xe9\n".encode("latin-1"))
    shutil.copy(BAD / "AIA707-latest.yaml", tmp_path / "f-latest.yaml")
    (tmp_path / "g-values.yaml").write_text("replicas: 2\n")
    (tmp_path / ".copier-answers.yml").write_text("_src_path: gh:acme/aiapp\n")
    result = aiapp("-f", "json", str(tmp_path))
    assert result.exit_code == 1
    assert findings(result) == [
        ("AIA002", "a-invalid.yaml", 4),
        ("AIA003", "b-list.yaml", 1),
        ("AIA004", "c-empty.yaml", 1),
        ("AIA001", "d-binary.yml", 1),
        ("AIA001", "e-latin1.yaml", 1),
        ("AIA707", "f-latest.yaml", 24),
    ]
    messages = {
        item["rule"] + Path(item["file"]).name: item["message"]
        for item in json.loads(result.stdout)["findings"]
    }
    assert messages["AIA002a-invalid.yaml"].startswith("invalid YAML: did not find expected key")
    assert messages["AIA001d-binary.yml"] == "binary file, not YAML"


def test_a_path_that_does_not_exist_is_a_usage_error(tmp_path: Path) -> None:
    shutil.copy(GOOD_APP, tmp_path / "app.yaml")
    result = aiapp(str(tmp_path), str(tmp_path / "missing.yaml"))
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == f"error: {tmp_path / 'missing.yaml'}: no such file or directory"
    # A dangling symlink exists: it is a finding about that file, not a typo on the command line.
    (tmp_path / "dangling.yaml").symlink_to(tmp_path / "gone.yaml")
    assert aiapp(str(tmp_path / "dangling.yaml")).exit_code == 1


def test_an_unreadable_file_is_a_finding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copy(GOOD_APP, tmp_path / "app.yaml")
    locked = tmp_path / "locked.yaml"
    locked.write_text("kind: ConfigMap\n")
    real_open = os.open

    # Files are opened with os.open (without blocking, so that a FIFO cannot hang the run).
    def guarded(file: object, *args: object, **kwargs: object) -> object:
        if str(file) == str(locked):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("os.open", guarded)
    report = check_paths([str(tmp_path)], Options(jobs=1))
    assert [(f.rule_id, f.message) for f in report.findings] == [
        ("AIA001", "cannot read the file: Permission denied")
    ]
    assert report.objects == 3


@pytest.mark.skipif(not (shutil.which("kubectl") or shutil.which("kustomize")), reason="needs kustomize")
def test_a_kustomization_that_does_not_build_is_a_finding_and_others_are_checked(tmp_path: Path) -> None:
    shutil.copytree(BAD / "AIA005-kustomize-fails", tmp_path / "broken")
    shutil.copy(BAD / "AIA707-latest.yaml", tmp_path / "latest.yaml")
    result = aiapp("-f", "json", str(tmp_path))
    assert findings(result) == [("AIA005", "kustomization.yaml", 1), ("AIA707", "latest.yaml", 24)]
    message = json.loads(result.stdout)["findings"][0]["message"]
    assert message.startswith("kustomize build failed: ") and "deployment.yaml" in message


@pytest.mark.skipif(not (shutil.which("kubectl") or shutil.which("kustomize")), reason="needs kustomize")
def test_built_objects_map_back_to_their_source_file_and_line(tmp_path: Path) -> None:
    app = tmp_path / "kustomized"
    shutil.copytree(FIXTURES / "good" / "kustomized", app)
    base = app / "base" / "app.yaml"
    base.write_text(base.read_text().replace("ghcr.io/acme/demo:1.0.0", "ghcr.io/acme/demo:latest"))
    result = aiapp("-f", "json", str(app))
    data = json.loads(result.stdout)
    assert findings(result) == [("AIA707", "app.yaml", 23)]
    assert data["findings"][0]["object"] == "Deployment/ai/team-demo", (
        "the built object: namespace and prefix"
    )
    assert data["findings"][0]["file"].endswith("kustomized/base/app.yaml")


def test_without_kustomize_a_kustomization_is_read_as_plain_files_with_a_warning(tmp_path: Path) -> None:
    app = tmp_path / "kustomized"
    shutil.copytree(FIXTURES / "good" / "kustomized", app)
    env = {**os.environ, "PATH": str(tmp_path / "empty-bin")}
    result = subprocess.run([AIAPP, "check", str(app)], capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0, result.stdout
    assert (
        "neither `kustomize` nor `kubectl` is on PATH: 1 kustomization directory was read as plain"
        in result.stderr
    )
    assert "AIA706" in result.stdout, "the patch that adds the probe was not applied"
    assert "Traceback" not in result.stderr
    assert "\x1b[" not in result.stdout, "no colour when stdout is not a terminal"


def test_namespace_of_a_plain_kustomization_is_the_default_namespace(tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / "kustomization.yaml").write_text("namespace: research\nresources: [app.yaml]\n")
    (app / "app.yaml").write_text(GOOD_APP.read_text().replace("  namespace: ai\n", ""))
    report = check_paths([str(app)], Options(build=False, jobs=1))
    assert report.findings == []
    assert report.objects == 3


def test_parallel_run_gives_the_same_report(tmp_path: Path) -> None:
    for index in range(PARALLEL_MIN_UNITS // 2 + 1):
        text = GOOD_APP.read_text().replace("demo", f"app{index}")
        if index % 10 == 0:
            text = text.replace(f"app{index}:1.0.0", f"app{index}:latest")
        (tmp_path / f"app{index}.yaml").write_text(text)
        (tmp_path / f"cm{index}.yaml").write_text(
            f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{index}\n"
        )
    serial = check_paths([str(tmp_path)], Options(jobs=1))
    parallel = check_paths([str(tmp_path)], Options(jobs=2))
    assert len(serial.findings) == PARALLEL_MIN_UNITS // 20 + 1
    assert parallel.findings == serial.findings
    assert (parallel.files, parallel.objects) == (serial.files, serial.objects)


def test_list_rules() -> None:
    result = aiapp("--list-rules")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0].split() == [
        "AIA001",
        "error",
        "unreadable-input",
        "Input",
        "path",
        "can",
        "be",
        "read",
        "as",
        "text",
    ]
    data = json.loads(aiapp("--list-rules", "--format", "json").stdout)
    assert {item["id"] for item in data} >= {"AIA101", "AIA707"}


def test_importing_the_cli_does_not_import_the_checker() -> None:
    heavy = ("generator.policy", "yaml", "jsonschema", "kubernetes_validate")
    code = f"import sys, generator.cli; print(sorted(m for m in sys.modules if m.startswith({heavy!r})))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
