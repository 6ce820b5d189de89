"""The cluster constants the rules check against, read from copier.yml (never written a second time).

`generator.questions.resolve({})` evaluates every default like Copier does, so the checker and the
template always agree on the storage class, the secret store, the shared service hosts and the labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any


@dataclass(frozen=True)
class Cluster:
    """The facts of the standard cluster that the house rules refer to."""

    storage_class: str
    secret_store: str
    gpu_resource: str
    gpu_node_label: str
    backup_tier_label: str
    backup_tiers: tuple[str, ...]
    critical_tier: str
    gateway_namespace: str
    kube_dns_namespace: str
    kube_dns_app: str
    qdrant_service: str
    qdrant_namespace: str
    qdrant_port: int
    qdrant_name_label: str
    qdrant_url: str
    litellm_service: str
    litellm_namespace: str
    litellm_port: int
    litellm_name_label: str
    litellm_url: str
    providers: tuple[tuple[str, str], ...]
    model_hub_names: tuple[str, ...]
    model_hub_patterns: tuple[str, ...]

    def values(self) -> dict[str, Any]:
        """The constants by name, for formatting fix hints and rule documentation."""
        values = {name: getattr(self, name) for name in self.__dataclass_fields__}
        values["backup_tiers"] = ", ".join(self.backup_tiers)
        values["providers"] = ", ".join(host for _, host in self.providers)
        values["model_hub_names"] = ", ".join(self.model_hub_names)
        values["model_hub_patterns"] = ", ".join(self.model_hub_patterns)
        return values

    def service_hosts(self, service: str, namespace: str) -> frozenset[str]:
        """The DNS names that reach a Service from another namespace (the short name only works inside)."""
        return frozenset(
            {
                f"{service}.{namespace}",
                f"{service}.{namespace}.svc",
                f"{service}.{namespace}.svc.cluster.local",
            }
        )


def _tier_choices() -> tuple[str, ...]:
    """The backup tiers offered by the `model_backup_tier` question, most critical first."""
    from generator.questions import load_questions

    for question in load_questions():
        if question.name == "model_backup_tier" and question.choices:
            return tuple(str(value) for _, value in question.choices)
    raise ValueError("copier.yml has no choices for model_backup_tier")


@cache
def cluster() -> Cluster:
    """The constants of copier.yml, evaluated once per process."""
    from generator.questions import resolve

    values = resolve({})
    tiers = _tier_choices()
    return Cluster(
        storage_class=values["storage_class"],
        secret_store=values["secret_store"],
        gpu_resource=values["gpu_resource"],
        gpu_node_label=values["gpu_node_label"],
        backup_tier_label=values["backup_tier_label"],
        backup_tiers=tiers,
        critical_tier=values["model_backup_tier"],
        gateway_namespace=values["gateway_namespace"],
        kube_dns_namespace=values["kube_dns"]["namespace"],
        kube_dns_app=values["kube_dns"]["k8s_app"],
        qdrant_service=values["qdrant_service"],
        qdrant_namespace=values["qdrant_namespace"],
        qdrant_port=int(values["qdrant_port"]),
        qdrant_name_label=values["qdrant_name_label"],
        qdrant_url=values["qdrant_url"],
        litellm_service=values["litellm_service"],
        litellm_namespace=values["litellm_namespace"],
        litellm_port=int(values["litellm_port"]),
        litellm_name_label=values["litellm_name_label"],
        litellm_url=values["litellm_url"],
        providers=tuple((name, spec["host"]) for name, spec in values["providers"].items()),
        model_hub_names=tuple(values["model_hub_hosts"]["names"]),
        model_hub_patterns=tuple(values["model_hub_hosts"]["patterns"]),
    )
