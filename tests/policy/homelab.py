"""The homelab corpus (tests/policy/homelab/): a GitOps repository that aiapp did not write.

Its cluster differs from copier.yml's defaults: the shared Qdrant runs in `vectordb` (pods labelled
`app: qdrant`), LiteLLM in `llm-gateway`, Prometheus in `monitoring`. Until cluster profiles are read from
`.aiapp.yml` (`cluster:`, issue 9), `homelab_cluster()` is the one place that describes it; switch it to
the profile file when that lands.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from generator.cluster.facts import Cluster, cluster
from generator.policy import Options, Report, check_paths, config, kustomize

HOMELAB = Path(__file__).resolve().parent / "homelab"


def homelab_cluster() -> Cluster:
    """The homelab's cluster facts (a cluster profile, once issue 9 provides them)."""
    return dataclasses.replace(
        cluster(),
        qdrant_namespace="vectordb",
        qdrant_url="http://qdrant.vectordb.svc.cluster.local:6333",
        qdrant_selector=(("app", "qdrant"),),
        litellm_namespace="llm-gateway",
        litellm_url="http://litellm.llm-gateway.svc.cluster.local:4000",
        litellm_selector=(("app.kubernetes.io/name", "litellm"),),
        monitoring_namespace="monitoring",
    )


def check_homelab(root: Path = HOMELAB) -> Report:
    """`aiapp check root` with the homelab's `.aiapp.yml` and cluster, in-process (helm: see the test)."""
    if kustomize.tool() is None:
        pytest.skip("kubectl or kustomize is needed to build the corpus's kustomizations")
    settings = config.load(root / ".aiapp.yml")
    return check_paths([str(root)], Options(jobs=1, config=settings, cluster=homelab_cluster()))
