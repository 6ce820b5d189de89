"""An app rendered for another cluster is checked against its own cluster answers, not the standard ones."""

from __future__ import annotations

import shutil
from pathlib import Path

from generator.policy import Options, check_paths
from generator.template.presets import load_preset
from tests.conftest import render

OTHER_CLUSTER = {
    "customize_cluster": True,
    "storage_class": "ceph-block",
    "secret_store": "vault-backend",
    "gateway_namespace": "envoy-gateway",
    "qdrant_namespace": "vectors",
}


def rule_ids(path: Path, build: bool) -> set[str]:
    return {finding.rule_id for finding in check_paths([str(path)], Options(build=build, jobs=1)).findings}


def test_app_for_another_cluster_passes_and_the_same_files_elsewhere_do_not(tmp_path: Path) -> None:
    app = render(tmp_path / "gitops" / "rag", {**load_preset("rag-cpu-qdrant"), **OTHER_CLUSTER})
    assert rule_ids(app, build=False) == set()
    if shutil.which("kubectl") or shutil.which("kustomize"):
        assert rule_ids(app, build=True) == set()

    # Without the answers file the standard cluster applies: every overridden fact is a finding.
    loose = tmp_path / "loose"
    loose.mkdir()
    for manifest in app.glob("*.yaml"):
        if manifest.name != "kustomization.yaml":
            shutil.copy(manifest, loose / manifest.name)
    assert {"AIA201", "AIA502", "AIA604"} <= rule_ids(loose, build=False)


def test_answers_without_customize_cluster_keep_the_standard_cluster(tmp_path: Path) -> None:
    app = render(tmp_path / "app", load_preset("rag-cpu-qdrant"))
    answers = app / ".copier-answers.yml"
    answers.write_text(answers.read_text() + "storage_class: ceph-block\n")  # not customised: ignored
    claim = app / "pvc-models.yaml"
    claim.write_text(claim.read_text().replace('"proxmox-csi"', '"ceph-block"'))
    assert "AIA201" in rule_ids(app, build=False)
