"""`aiapp check` reads the GitOps repository's cluster profile, never an app's own answers.

Before the profile, an app answered `customize_cluster: true` and was checked against the facts it
recorded itself, so its answers could relax a house rule. Now only the profile (`cluster:` in the
repository's `.aiapp.yml`) or a reasoned suppression can.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from generator.cluster import facts
from generator.policy import Options, check_paths
from generator.template.presets import load_preset
from tests.conftest import render

OTHER_CLUSTER = {
    "storage_class": "ceph-block",
    "secret_store": {"name": "vault-backend"},
    "gateway": {"namespace": "envoy-gateway"},
    "qdrant": {"namespace": "vectors"},
}


def rule_ids(path: Path, build: bool) -> set[str]:
    facts.forget_profiles()
    return {finding.rule_id for finding in check_paths([str(path)], Options(build=build, jobs=1)).findings}


def test_an_app_is_checked_against_the_profile_of_its_repository(tmp_path: Path) -> None:
    gitops = tmp_path / "gitops"
    app = render(gitops / "rag", {**load_preset("rag-cpu-qdrant"), "cluster": OTHER_CLUSTER})
    (gitops / ".aiapp.yml").write_text(
        "cluster:\n  storage_class: ceph-block\n  secret_store: {name: vault-backend}\n"
        "  gateway: {namespace: envoy-gateway}\n  qdrant: {namespace: vectors}\n"
    )
    assert rule_ids(app, build=False) == set()
    if shutil.which("kubectl") or shutil.which("kustomize"):
        assert rule_ids(app, build=True) == set()

    # The same app, answers file included, in a repository without a profile: the defaults apply, and
    # every fact the app recorded differently is a finding.
    elsewhere = tmp_path / "elsewhere" / "rag"
    shutil.copytree(app, elsewhere)
    assert {"AIA201", "AIA502", "AIA604"} <= rule_ids(elsewhere, build=False)
    if shutil.which("kubectl") or shutil.which("kustomize"):  # QDRANT_URL is in the generated ConfigMap
        assert {"AIA201", "AIA402", "AIA502", "AIA604"} <= rule_ids(elsewhere, build=True)


def test_an_apps_own_answers_cannot_relax_a_rule(tmp_path: Path) -> None:
    app = render(tmp_path / "app", load_preset("rag-cpu-qdrant"))
    answers = app / ".copier-answers.yml"
    answers.write_text(answers.read_text() + "cluster: {storage_class: ceph-block}\ncustomize_cluster: true\n"
                       "storage_class: ceph-block\n")
    claim = app / "pvc-models.yaml"
    claim.write_text(claim.read_text().replace('"proxmox-csi"', '"ceph-block"'))
    assert "AIA201" in rule_ids(app, build=False)
