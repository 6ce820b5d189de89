"""`aiapp init --detect`: GPU pools from the node selectors of the repository's GPU workloads.

Workloads that request GPUs on nodes selected by two or more different label sets run on as many pools:
each becomes an entry of `gpu.pools` (its selector, the tolerations and RuntimeClass of its pods), the
most used first (the default of new apps). Sizes are never in manifests: the report says how to read them
from the cluster (docs/cluster.md, "GPU pools") and that `--set` gives them.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

SIZES_HINT = (
    "gpus_per_node, gpu_memory_gib and nodes are not in manifests: read them with kubectl get nodes -o "
    "custom-columns=NAME:.metadata.name,GPUS:.status.capacity.nvidia\\.com/gpu,MEMORY_MIB:.metadata.labels."
    "nvidia\\.com/gpu\\.memory (docs/cluster.md) and give them with --set"
)
_NOT_NAME = re.compile(r"[^a-z0-9-]+")


def _map(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def node_selector(pod: dict[str, Any]) -> dict[str, str]:
    """The labels a pod demands: its nodeSelector, else the single-value `In` terms of its required node
    affinity (every term's, when all terms agree)."""
    selector = {str(key): str(value) for key, value in _map(pod.get("nodeSelector")).items()}
    if selector:
        return selector
    terms = _list(
        _map(
            _map(_map(pod.get("affinity")).get("nodeAffinity")).get(
                "requiredDuringSchedulingIgnoredDuringExecution"
            )
        ).get("nodeSelectorTerms")
    )
    demanded: dict[str, str] = {}
    for term in map(_map, terms[:1]):
        for expression in map(_map, _list(term.get("matchExpressions"))):
            values = _list(expression.get("values"))
            if expression.get("operator") == "In" and len(values) == 1:
                demanded[str(expression.get("key"))] = str(values[0])
    return demanded


def _name(selector: dict[str, str], taken: set[str]) -> str:
    """A DNS label for the pool: its most specific label value (the last), else `gpu`, made unique."""
    value = list(selector.values())[-1].lower() if selector else "gpu"
    base = _NOT_NAME.sub("-", value).strip("-")[:50] or "gpu"
    if base in ("true", "yes", "1"):
        base = _NOT_NAME.sub("-", list(selector)[-1].split("/")[-1].lower()).strip("-")[:50] or "gpu"
    name, number = base, 2
    while name in taken:
        name, number = f"{base}-{number}", number + 1
    taken.add(name)
    return name


def pools(pods: Sequence[tuple[dict[str, Any], Path]]) -> tuple[list[dict[str, Any]], Path] | None:
    """The pools the GPU pods show, the most used first; None unless they select two or more label sets."""
    selectors = [(node_selector(pod), pod, file) for pod, file in pods]
    counts = Counter(tuple(sorted(selector.items())) for selector, _, _ in selectors if selector)
    if len(counts) < 2:
        return None
    taken: set[str] = set()
    found = []
    for key, _ in counts.most_common():
        selector, pod, _ = next(item for item in selectors if tuple(sorted(item[0].items())) == key)
        entry: dict[str, Any] = {"name": _name(selector, taken), "node_selector": selector}
        tolerations = [
            {k: str(v) for k, v in _map(item).items() if k in ("key", "operator", "value", "effect")}
            for item in _list(pod.get("tolerations"))
            if _map(item).get("key")
        ]
        for toleration in tolerations:
            toleration.setdefault("operator", "Equal")
        entry["tolerations"] = tolerations
        if pod.get("runtimeClassName"):
            entry["runtime_class"] = str(pod["runtimeClassName"])
        found.append(entry)
    return found, selectors[0][2]


def propose_pools(
    pods: Sequence[tuple[dict[str, Any], Path]],
    proposals: list[Any],
    propose: Callable[[str, Any, Path], None],
    missing: Callable[[str, str], None],
    notes: list[str],
) -> None:
    """Replace the single GPU pool's proposals by `gpu.pools` when the pods show several; say how to give
    the sizes either way."""
    if not pods:
        return
    found = pools(pods)
    if found is not None:
        scalars = {"gpu.node_selector", "gpu.tolerations", "gpu.runtime_class"}
        proposals[:] = [proposal for proposal in proposals if proposal.key not in scalars]
        propose("gpu.pools", found[0], found[1])
        notes.append(f"gpu.pools sizes: {SIZES_HINT}")
    else:
        missing("gpu.pools", f"one GPU node selector; {SIZES_HINT}")
