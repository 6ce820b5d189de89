"""Snapshot tests: each preset's rendered tree is committed under tests/snapshots/ and compared byte for byte.

After an intended template change, regenerate and review the YAML diff:

    AIAPP_UPDATE_SNAPSHOTS=1 python -m pytest tests/test_snapshots.py
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
import yaml

from generator.template.presets import load_preset
from tests.conftest import PRESETS, render

SNAPSHOTS = Path(__file__).parent / "snapshots"
PROFILES = Path(__file__).parent / "cluster"


def profile(name: str) -> dict[str, object]:
    """The `cluster:` section of tests/cluster/<name>.aiapp.yml."""
    text = (PROFILES / f"{name}.aiapp.yml").read_text(encoding="utf-8")
    data: dict[str, object] = yaml.safe_load(text)["cluster"]
    return data

UPDATE = os.environ.get("AIAPP_UPDATE_SNAPSHOTS") == "1"
# The answers file records where and from which commit the app was rendered: not part of the pattern.
VOLATILE = re.compile(r"^(_commit|_src_path): .*$", re.MULTILINE)
# Scenarios beyond the presets on the default cluster: NAME@VARIANT -> (preset, answers added to it). A
# cluster whose profile names Prometheus's namespace gets the ServiceMonitor and its ingress rule.
VARIANTS: dict[str, tuple[str, dict[str, object]]] = {
    "chat-litellm@monitored": (
        "chat-litellm",
        {"cluster": {"monitoring": {"namespace": "monitoring"}}, "metrics_port": 9090},
    ),
    # One preset per mechanism of issue 17 (tests/cluster/*.aiapp.yml): Velero Schedules and two of each
    # kind; file-system-backup annotations, no policy engine and a Traefik Ingress; no backup system and a
    # Kubernetes NetworkPolicy.
    **{
        f"predownload-model@{name}": ("predownload-model", {"cluster": profile(name)})
        for name in ("origin-schedules", "k3s-traefik", "talos-envoy")
    },
    # A model larger than one node (issue 21): Llama 3.1 405B at bf16 on the two 8 x 80 GiB nodes of a pool
    # the profile sizes, one replica as a LeaderWorkerSet (its leader serves the API, its worker joins it).
    "inference-70b-int4@405b-two-nodes": (
        "inference-70b-int4",
        {
            "cluster": profile("h100-pool"),
            "app_name": "llama-405b",
            "description": "Llama 3.1 405B Instruct (bf16) on two nodes of eight 80 GiB GPUs",
            "model_name": "Llama-3.1-405B-Instruct",
            "model_precision": "bf16",
            "gpu_pool": "h100",
            "gpu_count": 8,
            "gpu_memory_gib": 80,
            "nodes_per_replica": 2,
            "model_predownload": True,
            "model_hf_token_item": "huggingface token",
        },
    ),
}


def tree(root: Path) -> dict[str, bytes]:
    """Relative path → content, with the volatile answers-file lines masked."""
    files = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and ".git" not in path.parts:
            data = path.read_bytes()
            if path.name == ".copier-answers.yml":
                data = VOLATILE.sub(lambda match: f"{match.group(1)}: <masked>", data.decode()).encode()
            files[path.relative_to(root).as_posix()] = data
    return files


@pytest.mark.parametrize("preset", [*PRESETS, *VARIANTS])
def test_rendered_tree_matches_snapshot(preset: str, rendered_preset, tmp_path: Path) -> None:
    if preset in VARIANTS:
        base, extra = VARIANTS[preset]
        actual = tree(render(tmp_path / "app", {**load_preset(base), **extra}))
    else:
        actual = tree(rendered_preset(preset))
    snapshot_dir = SNAPSHOTS / preset
    if UPDATE:
        shutil.rmtree(snapshot_dir, ignore_errors=True)
        for name, data in actual.items():
            (snapshot_dir / name).parent.mkdir(parents=True, exist_ok=True)
            (snapshot_dir / name).write_bytes(data)
    expected = tree(snapshot_dir) if snapshot_dir.is_dir() else {}
    assert sorted(actual) == sorted(expected), "files differ from the snapshot (regenerate: see module doc)"
    for name, data in actual.items():
        assert data.decode() == expected[name].decode(), f"{preset}/{name} differs from the snapshot"


def test_no_stale_snapshots() -> None:
    if UPDATE:
        for stale in set(path.name for path in SNAPSHOTS.iterdir()) - {*PRESETS, *VARIANTS}:
            shutil.rmtree(SNAPSHOTS / stale)
    assert sorted(path.name for path in SNAPSHOTS.iterdir() if path.is_dir()) == sorted([*PRESETS, *VARIANTS])
