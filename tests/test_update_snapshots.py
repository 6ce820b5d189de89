"""Upgrade snapshots: the diff that updating an app from the previous release to this working tree makes.

For each case in CASES (a preset, and answers), an app is generated from the previous release (tests/upgrade/
previous-release.txt: a tag and the commit it names, recreated in a temporary template repository), then
updated with `aiapp update` to the working tree's template, tagged as the next minor version. The diff of
the app is compared with tests/upgrade/PRESET.diff, so a reviewer of a template change sees what it does to
apps that already exist. After an intended change, regenerate and review:

    AIAPP_UPDATE_SNAPSHOTS=1 python3 -m pytest tests/test_update_snapshots.py && git diff tests/upgrade
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from generator.fleet.update import Outcome, UpdateOptions, update_fleet
from generator.template.presets import load_preset
from tests.upgrade.scaffold import (
    clear_work_tree,
    commit,
    copier_app,
    copy_working_tree,
    extract_commit,
    git,
    init_repo,
)

HERE = Path(__file__).resolve().parent / "upgrade"
# Snapshot name: (preset, answers the previous release's `aiapp new` got besides the preset's).
CASES: dict[str, tuple[str, dict[str, object]]] = {
    "inference-8b-fp16": ("inference-8b-fp16", {}),
    # An app for another cluster, made when the cluster constants were per-app answers behind
    # `customize_cluster`: they become its `cluster` answer (copier.yml), so it keeps its facts.
    "chat-litellm-customized-cluster": (
        "chat-litellm",
        {
            "customize_cluster": True,
            "storage_class": "ceph-block",
            "secret_store": "vault-backend",
            "external_secrets_api_version": "external-secrets.io/v1beta1",
            "litellm_namespace": "litellm",
            "litellm_name_label": "litellm-proxy",
            "gateway_namespace": "envoy-gateway",
            "gpu_node_label": "nvidia.com/gpu.present",
        },
    ),
}
UPDATE = os.environ.get("AIAPP_UPDATE_SNAPSHOTS") == "1"


def previous_release() -> tuple[str, str]:
    """(tag, commit) from previous-release.txt."""
    for line in (HERE / "previous-release.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            tag, commit_hash = line.split()
            return tag, commit_hash
    raise AssertionError("tests/upgrade/previous-release.txt names no release")


def next_minor(tag: str) -> str:
    major, minor, _ = tag.removeprefix("v").split(".", 2)
    return f"v{major}.{int(minor) + 1}.0"


def upgrade_diff(tmp_path: Path, case: str) -> str:
    """The snapshot text: a header, then `git diff` of the app after the update (paths relative to it)."""
    tag, commit_hash = previous_release()
    target = next_minor(tag)
    tpl = init_repo(tmp_path / "aiapp-template")
    extract_commit(commit_hash, tpl)
    commit(tpl, f"release {tag}", tag)
    repo = init_repo(tmp_path / "gitops")
    preset, extra = CASES[case]
    copier_app(repo / preset, {**load_preset(preset), **extra}, str(tpl), vcs_ref=tag)  # the previous `new`
    commit(repo, f"{preset} at {tag}")
    clear_work_tree(tpl)
    copy_working_tree(tpl)
    commit(tpl, "this working tree", target)

    results = update_fleet([repo / preset], UpdateOptions(), report=lambda result: None)

    assert [r.outcome for r in results] == [Outcome.UPDATED], results[0].line
    git(repo, "add", "--all")
    diff = git(repo / preset, "diff", "--cached", "--relative", "--no-color", "--no-ext-diff")
    lines = [
        line for line in diff.replace(str(tpl), "<template>").splitlines() if not line.startswith("index ")
    ]
    name = f"preset {case}" if case == preset else f"{case} (preset {preset})"
    header = [
        f"# Upgrade snapshot: {name} generated at {tag} ({commit_hash[:12]}), updated by",
        f"# `aiapp update` to this working tree's template (tagged {target}). After an intended change:",
        "#   AIAPP_UPDATE_SNAPSHOTS=1 python3 -m pytest tests/test_update_snapshots.py",
    ]
    return "\n".join(header + lines) + "\n"


@pytest.mark.parametrize("case", CASES)
def test_upgrade_snapshot(case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIAPP_TEMPLATE", raising=False)
    monkeypatch.setenv("COPIER_CACHE_DIR", str(tmp_path / "copier-cache"))
    actual = upgrade_diff(tmp_path, case)
    snapshot = HERE / f"{case}.diff"
    if UPDATE:
        snapshot.write_text(actual, encoding="utf-8")
        return
    assert snapshot.is_file(), f"no snapshot {snapshot}: run with AIAPP_UPDATE_SNAPSHOTS=1"
    assert actual == snapshot.read_text(encoding="utf-8"), (
        f"updating a {case} app from the previous release changes other lines than {snapshot.name} "
        "records: review the difference, then run AIAPP_UPDATE_SNAPSHOTS=1 python3 -m pytest "
        "tests/test_update_snapshots.py"
    )
