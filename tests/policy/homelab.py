"""The homelab corpus (tests/policy/homelab/): a GitOps repository that aiapp did not write.

Its cluster differs from copier.yml's defaults: the shared Qdrant runs in `vectordb` (pods labelled
`app: qdrant`), LiteLLM in `llm-gateway`, Prometheus in `monitoring`. Its `.aiapp.yml` says so in its
cluster profile (`cluster:`, docs/cluster.md), which `aiapp check` reads like every other setting.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.cluster.facts import Cluster, cluster_at
from generator.policy import Options, Report, check_paths, config, kustomize

HOMELAB = Path(__file__).resolve().parent / "homelab"


def homelab_cluster() -> Cluster:
    """The homelab's cluster facts: its profile."""
    return cluster_at(str(HOMELAB))


def check_homelab(root: Path = HOMELAB) -> Report:
    """`aiapp check root` with the homelab's `.aiapp.yml` and cluster, in-process (helm: see the test)."""
    if kustomize.tool() is None:
        pytest.skip("kubectl or kustomize is needed to build the corpus's kustomizations")
    settings = config.load(root / ".aiapp.yml")
    return check_paths([str(root)], Options(jobs=1, config=settings))
