"""Kustomization directories: every YAML file is checked once, and findings point where the value is set."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from generator.policy import Options, Report, check_paths, kustomize
from generator.policy.loader import conflicts
from tests.policy.corpus import FIXTURES

pytestmark = pytest.mark.skipif(
    not (shutil.which("kubectl") or shutil.which("kustomize")), reason="needs kustomize"
)

GOOD_APP = (FIXTURES / "good" / "app.yaml").read_text()
IMAGE = "image: ghcr.io/acme/demo:1.0.0"
LATEST = "ghcr.io/acme/demo:latest"
SECRET = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: leak\n  namespace: ai\ndata:\n  key: c2VjcmV0\n"


def check(*paths: Path) -> Report:
    return check_paths([str(path) for path in paths], Options(jobs=1))


def found(report: Report, root: Path) -> list[tuple[str, str, int]]:
    return [(f.rule_id, str(Path(f.file).relative_to(root)), f.line) for f in report.findings]


def line_of(file: Path, text: str) -> int:
    return next(n for n, line in enumerate(file.read_text().splitlines(), start=1) if text in line)


def app(directory: Path, name: str = "demo", image: str = "1.0.0", kustomization: bool = True) -> Path:
    directory.mkdir(parents=True)
    text = GOOD_APP.replace(IMAGE, f"image: ghcr.io/acme/demo:{image}").replace("demo", name)
    (directory / "app.yaml").write_text(text)
    if kustomization:
        (directory / "kustomization.yaml").write_text("resources:\n  - app.yaml\n")
    return directory


def test_a_secret_beside_a_kustomization_that_does_not_list_it_is_still_checked(tmp_path: Path) -> None:
    app(tmp_path / "app")
    (tmp_path / "app" / "secret.yaml").write_text(SECRET)
    assert found(check(tmp_path / "app"), tmp_path) == [
        ("AIA008", "app/secret.yaml", 1),
        ("AIA501", "app/secret.yaml", 6),
    ]


def test_apps_the_parent_kustomization_does_not_list_are_checked(tmp_path: Path) -> None:
    apps = tmp_path / "apps"
    app(apps / "listed")
    app(apps / "orphan", name="orphan", image="latest")
    app(apps / "loose", name="loose", image="latest", kustomization=False)
    (apps / "kustomization.yaml").write_text("resources:\n  - listed\n")
    report = check(apps)
    assert found(report, tmp_path) == [
        ("AIA008", "apps/loose/app.yaml", 1),
        ("AIA707", "apps/loose/app.yaml", 24),
        ("AIA707", "apps/orphan/app.yaml", 24),
    ]
    assert "apps/kustomization.yaml does not include this file" in report.findings[0].message
    # An unlisted kustomization is built on its own, as when it is checked directly.
    assert [f for f in report.findings if "orphan" in f.file] == check(apps / "orphan").findings


def test_a_child_the_parent_builds_is_reported_once_through_the_parent(tmp_path: Path) -> None:
    apps = tmp_path / "apps"
    app(apps / "team", image="latest")
    (apps / "kustomization.yaml").write_text("namePrefix: prod-\nresources:\n  - team\n")
    report = check(apps)
    assert found(report, tmp_path) == [("AIA707", "apps/team/app.yaml", 24)]
    assert report.findings[0].object == "Deployment/ai/prod-demo"


def test_patch_files_and_generator_inputs_are_not_checked_as_plain_files(tmp_path: Path) -> None:
    root = app(tmp_path / "app")
    (root / "probe.json6902.yaml").write_text("- op: add\n  path: /metadata/annotations\n  value: {x: y}\n")
    (root / "env.yaml").write_text("MODE: fast\n")
    (root / "kustomization.yaml").write_text(
        "resources: [app.yaml]\n"
        "patches:\n  - path: probe.json6902.yaml\n    target: {kind: Deployment}\n"
        "configMapGenerator:\n  - name: settings\n    files: [env.yaml]\n"
    )
    report = check(root)
    assert report.findings == []


def _overlay(tmp_path: Path, kustomization: str) -> Path:
    app(tmp_path / "base")
    local = tmp_path / "local"
    local.mkdir()
    (local / "kustomization.yaml").write_text(kustomization)
    return local


def test_a_value_set_by_an_inline_patch_is_reported_at_the_patch(tmp_path: Path) -> None:
    local = _overlay(
        tmp_path,
        "resources: [../base]\npatches:\n  - target: {kind: Deployment}\n    patch: |-\n"
        "      - op: replace\n        path: /spec/template/spec/containers/0/image\n"
        f"        value: {LATEST}\n",
    )
    report = check(local)
    assert found(report, tmp_path) == [("AIA707", "local/kustomization.yaml", 7)]
    assert report.findings[0].message.endswith(f"(value set by this patch, over {tmp_path}/base/app.yaml:24)")


def test_a_value_set_by_a_patch_file_is_reported_at_the_patch_file(tmp_path: Path) -> None:
    local = _overlay(tmp_path, "resources: [../base]\npatches:\n  - path: patch.yaml\n")
    patch = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: demo, namespace: ai}\n"
        f"spec:\n  template:\n    spec:\n      containers:\n        - name: demo\n          image: {LATEST}\n"
    )
    (local / "patch.yaml").write_text(patch)
    report = check(local)
    assert found(report, tmp_path) == [("AIA707", "local/patch.yaml", 9)]
    assert "(value set by this patch named in" in report.findings[0].message


def test_a_value_set_by_a_transformer_keeps_the_source_line_and_names_the_kustomization(
    tmp_path: Path,
) -> None:
    images = "images:\n  - name: ghcr.io/acme/demo\n    newTag: latest\n"
    local = _overlay(tmp_path, f"resources: [../base]\n{images}")
    report = check(local)
    assert found(report, tmp_path) == [("AIA707", "base/app.yaml", 24)]
    assert report.findings[0].message.endswith(
        f"(value set by a patch, transformer or generator in {local}/kustomization.yaml)"
    )


def test_an_unpatched_value_has_no_note(tmp_path: Path) -> None:
    images = "images:\n  - name: ghcr.io/acme/other\n    newTag: '2'\n"
    local = _overlay(tmp_path, f"resources: [../base]\n{images}")
    base = tmp_path / "base" / "app.yaml"
    base.write_text(base.read_text().replace("ghcr.io/acme/demo:1.0.0", LATEST))
    report = check(local)
    assert found(report, tmp_path) == [("AIA707", "base/app.yaml", 24)]
    assert "value set by" not in report.findings[0].message


def test_generated_objects_point_at_their_generator_entry(tmp_path: Path) -> None:
    local = _overlay(
        tmp_path,
        "resources: [../base]\n"
        "secretGenerator:\n  - name: creds\n    literals: [TOKEN=abc]\n"
        "configMapGenerator:\n  - name: settings\n    literals:\n      - MODE=fast\n"
        "      - OPENAI_BASE_URL=https://api.openai.com/v1\n",
    )
    kfile = local / "kustomization.yaml"
    assert found(check(local), tmp_path) == [
        ("AIA501", "local/kustomization.yaml", line_of(kfile, "name: creds")),
        ("AIA301", "local/kustomization.yaml", line_of(kfile, "OPENAI_BASE_URL")),
    ]


def test_conflict_markers_are_reported_at_the_marker_before_building(tmp_path: Path) -> None:
    root = app(tmp_path / "app")
    manifest = root / "app.yaml"
    manifest.write_text(
        manifest.read_text().replace(
            f"          {IMAGE}\n",
            f"<<<<<<< before updating\n          {IMAGE}\n=======\n"
            "          image: ghcr.io/acme/demo:1.1.0\n>>>>>>> after updating\n",
        )
    )
    report = check(root)
    assert found(report, tmp_path) == [("AIA002", "app/app.yaml", 24)]
    assert report.findings[0].message == (
        "unresolved merge conflict marker: `<<<<<<<` here, `>>>>>>>` at line 28"
    )


def test_conflict_markers_in_the_kustomization_itself(tmp_path: Path) -> None:
    root = app(tmp_path / "app")
    (root / "kustomization.yaml").write_text(
        "<<<<<<< HEAD\nresources: [app.yaml]\n=======\nresources: [app.yaml, x.yaml]\n>>>>>>> theirs\n"
    )
    assert found(check(root), tmp_path) == [("AIA002", "app/kustomization.yaml", 1)]


@pytest.mark.parametrize(
    ("text", "blocks"),
    [
        ("a: 1\n", []),
        ("a: |\n  =======\n  heading\n", []),
        ("<<<<<<< HEAD\na: 1\n=======\na: 2\n>>>>>>> x\n", [(1, 5)]),
        ("a: 1\n<<<<<<< HEAD\na: 2\n", [(2, None)]),
        ("a: 1\n>>>>>>> x\n", [(2, 2)]),
        ("a: <<<<<<< not a marker\n", []),
    ],
)
def test_conflict_marker_detection(text: str, blocks: list[tuple[int, int | None]]) -> None:
    assert conflicts(text) == blocks


# --- helm and build errors (issue 12) ----------------------------------------------------------------

KLOG_BLOCK = """E1201 13:58:33.186086   12117 run.go:72] "command failed" err=<
\ttrouble configuring builtin HelmChartInflationGenerator with config: `
\tname: litellm-helm
\treleaseName: litellm
\t`: must specify --enable-helm
 >
"""


def test_a_multi_line_kubectl_error_is_kept_whole() -> None:
    # kubectl's klog prints a multi-line err value as `err=<`, tab-indented lines, then ` >`.
    assert kustomize.error_text(KLOG_BLOCK) == (
        "trouble configuring builtin HelmChartInflationGenerator with config: `\n"
        "name: litellm-helm\nreleaseName: litellm\n`: must specify --enable-helm"
    )
    long = "Error: first\n" + "".join(f"line {number}\n" for number in range(100))
    text = kustomize.error_text(long)
    assert text.startswith("first\nline 0") and text.endswith("(81 more lines)")


def test_helm_charts_are_built_with_enable_helm_when_helm_is_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "kustomization.yaml").write_text("helmCharts:\n  - name: litellm-helm\n", encoding="utf-8")
    calls: list[bool] = []

    def fake_build(directory: Path, enable_helm: bool = False, **limits: int) -> kustomize.BuildResult:
        calls.append(enable_helm)
        return kustomize.BuildResult("", None)

    monkeypatch.setattr(kustomize, "tool", lambda: ("kubectl", "kustomize"))
    monkeypatch.setattr(kustomize, "helm", lambda: "/usr/bin/helm")
    monkeypatch.setattr(kustomize, "build", fake_build)
    report = check_paths([str(tmp_path)], Options(jobs=1))
    assert calls == [True] and report.findings == []
    assert kustomize.command(tmp_path, True) == ["kubectl", "kustomize", "--enable-helm", str(tmp_path)]


PVC = """\
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: notes-data
  namespace: ai
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: proxmox-csi
  resources: {requests: {storage: 1Gi}}
"""


def test_the_kustomization_named_for_a_built_value_is_one_that_builds_the_object(tmp_path: Path) -> None:
    """Issue 18: AIA202 named a sibling app's generator as the patch that set the labels of a PVC."""
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "pvc.yaml").write_text(PVC)
    (tmp_path / "notes" / "kustomization.yaml").write_text("resources: [pvc.yaml]\n")
    (tmp_path / "chat").mkdir()
    (tmp_path / "chat" / "kustomization.yaml").write_text(
        "configMapGenerator:\n  - {name: chat-config, namespace: ai, literals: [MODE=chat]}\n"
        "patches:\n  - {path: extra.yaml, target: {kind: Deployment}}\n"
    )
    (tmp_path / "chat" / "extra.yaml").write_text("- {op: add, path: /spec/replicas, value: 1}\n")
    root = tmp_path / "apps"
    root.mkdir()
    (root / "kustomization.yaml").write_text(
        "resources: [../notes, ../chat]\nlabels:\n  - pairs: {app.kubernetes.io/part-of: ai-apps}\n"
    )
    report = check(root)
    (tier,) = [f for f in report.findings if f.rule_id == "AIA202"]
    assert tier.message.endswith(
        f"(value set by a patch, transformer or generator in {root.resolve()}/kustomization.yaml)"
    ), tier.message
    # Without the labels transformer nothing of the build changed the PVC: no kustomization is named.
    (root / "kustomization.yaml").write_text("resources: [../notes, ../chat]\n")
    (tier,) = [f for f in check(root).findings if f.rule_id == "AIA202"]
    assert "value set by" not in tier.message
