"""Three GitOps repositories shaped like the real clusters of issue 17 (tests/policy/clusters/): per-app
Velero Schedules with Cilium and two Gateways; Flux + k3s + Traefik with flannel and no backups; Flux +
Talos + Envoy Gateway with two storage classes, two secret stores, NetworkPolicies and opt-in file-system
backup. Each has the `.aiapp.yml` its engineer writes and `expected-findings.txt`, one justified finding
per line: any finding missing or extra fails. `aiapp init --detect` on each proposes that profile, or says
which key it could not find.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator.cluster import facts
from generator.cluster.profile import merge
from generator.init.detect import detect
from generator.policy import Options, check_paths, config, kustomize

CLUSTERS = Path(__file__).resolve().parent / "clusters"
REPOSITORIES = sorted(path.name for path in CLUSTERS.iterdir() if path.is_dir())
_LINE = re.compile(r"^(?P<rule>AIA\d{3}) (?P<file>\S+):(?P<line>\d+) (?P<object>\S+) -- (?P<why>.+)$")


def expected(root: Path) -> set[tuple[str, str, int, str]]:
    found = set()
    for text in (root / "expected-findings.txt").read_text(encoding="utf-8").splitlines():
        if not text.strip() or text.startswith("#"):
            continue
        match = _LINE.match(text)
        assert match, f"malformed line: {text}"
        assert len(match["why"].split()) >= 5, f"say why the finding is right: {text}"
        found.add(
            (
                match["rule"],
                match["file"],
                int(match["line"]),
                "" if match["object"] == "-" else match["object"],
            )
        )
    return found


@pytest.mark.parametrize("build", [True, False], ids=["built", "as-written"])
@pytest.mark.parametrize("name", REPOSITORIES)
def test_exactly_the_findings_an_engineer_of_the_cluster_agrees_with(name: str, build: bool) -> None:
    if build and kustomize.tool() is None:
        pytest.skip("kubectl or kustomize is needed to build the kustomizations")
    root = CLUSTERS / name
    facts.forget_profiles()
    report = check_paths([str(root)], Options(jobs=1, build=build, config=config.load(root / ".aiapp.yml")))
    actual = {
        (item.rule_id, Path(os.path.relpath(item.file, root)).as_posix(), item.line, item.object)
        for item in report.findings
    }
    assert actual == expected(root), "\n".join(
        f"{f.rule_id} {os.path.relpath(f.file, root)}:{f.line} {f.object or '-'} {f.message}"
        for f in report.findings
    )


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict) and not (
        prefix.endswith(("selector", "labels")) or prefix == "gpu.node_selector"
    ):
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    return {prefix: value}


@pytest.mark.parametrize("name", REPOSITORIES)
def test_detect_proposes_the_engineers_profile_or_says_what_it_did_not_find(name: str) -> None:
    root = CLUSTERS / name
    profile = yaml.safe_load((root / ".aiapp.yml").read_text(encoding="utf-8"))["cluster"]
    detection = detect(root)
    proposed = _flatten(detection.given())
    # Compared as the facts they mean (a store's API version left out is the default's).
    meant, wanted = _flatten(merge(detection.given())), _flatten(merge(profile))
    for key in _flatten(profile):
        value = wanted[key]
        if key in proposed:
            proposed[key] = meant[key]
            assert proposed[key] == value, (
                f"{key}: detect proposed {proposed[key]!r}, the engineer wrote {value!r}"
            )
        else:
            assert any(line.startswith(key.split(".")[0]) for line in detection.missing), (
                f"{key} neither proposed nor reported as not found: {detection.missing}"
            )
