"""The cluster constants the rules check against, read from copier.yml (never written a second time).

`generator.questions.resolve({})` evaluates every default like Copier does, so the checker and the
template always agree on the storage class, the secret store, the shared service hosts and the labels.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
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
    gateway_entities: tuple[str, ...]
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
    # The shared services as pods: the labels that select them and the port they listen on (Cilium
    # matches the pod port after DNAT; the URLs above use the Service port).
    qdrant_selector: tuple[tuple[str, str], ...] = ()
    qdrant_target_port: int = 0
    qdrant_api_key_item: str | None = None
    litellm_selector: tuple[tuple[str, str], ...] = ()
    litellm_target_port: int = 0
    # GPU nodes: the labels a GPU pod selects, the taints it tolerates, its RuntimeClass (None: default).
    gpu_node_selector: tuple[tuple[str, str], ...] = ()
    gpu_tolerations: tuple[tuple[tuple[str, str], ...], ...] = ()
    gpu_runtime_class: str | None = None
    secret_store_kind: str = "ClusterSecretStore"
    secret_store_api_version: str = "external-secrets.io/v1beta1"
    # Where Prometheus runs, when it scrapes apps (None: no scraping).
    monitoring_namespace: str | None = None
    # The Gateway app routes attach to: name (in gateway_namespace) and listener (None: any listener).
    gateway_name: str = "gateway"
    gateway_section: str | None = None
    gateway_domain: str = ""
    # Stakater Reloader installed (Secret changes restart pods); namespaces created by the platform.
    reloader: bool = False
    namespaces_managed: bool = False
    bootstrap_image: str = ""

    def values(self) -> dict[str, Any]:
        """The constants by name, for formatting fix hints and rule documentation."""
        values = {name: getattr(self, name) for name in self.__dataclass_fields__}
        values["backup_tiers"] = ", ".join(self.backup_tiers)
        values["gateway_entities"] = ", ".join(self.gateway_entities)
        values["providers"] = ", ".join(host for _, host in self.providers)
        values["model_hub_names"] = ", ".join(self.model_hub_names)
        values["model_hub_patterns"] = ", ".join(self.model_hub_patterns)
        for name in ("qdrant_selector", "litellm_selector", "gpu_node_selector"):
            values[name] = ", ".join(f"{key}={value}" for key, value in getattr(self, name))
        values["gpu_tolerations"] = "; ".join(
            ", ".join(f"{key}={value}" for key, value in toleration) for toleration in self.gpu_tolerations
        )
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
    from generator.template.questions import load_questions

    for question in load_questions():
        if question.name == "model_backup_tier" and question.choices:
            return tuple(str(value) for _, value in question.choices)
    raise ValueError("copier.yml has no choices for model_backup_tier")


@cache
def cluster(overrides: tuple[tuple[str, str], ...] = ()) -> Cluster:
    """The constants of copier.yml, with an app's own cluster answers (JSON values) if any; cached."""
    from generator.template.questions import resolve

    values = resolve({name: json.loads(value) for name, value in overrides})
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
        gateway_entities=tuple(values["gateway_entities"]),
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
        qdrant_selector=(("app.kubernetes.io/name", values["qdrant_name_label"]),),
        qdrant_target_port=int(values["qdrant_port"]),
        litellm_selector=(("app.kubernetes.io/name", values["litellm_name_label"]),),
        litellm_target_port=int(values["litellm_port"]),
        gpu_node_selector=((values["gpu_node_label"], "true"),),
        gpu_tolerations=(
            (("key", values["gpu_resource"]), ("operator", "Exists"), ("effect", "NoSchedule")),
        ),
        gpu_runtime_class=values["gpu_runtime_class"] or None,
        secret_store_api_version=values["external_secrets_api_version"],
        qdrant_api_key_item=values["qdrant_api_key_item"] or None,
        monitoring_namespace=values["monitoring_namespace"] or None,
        gateway_name=values["gateway_name"],
        gateway_section=values["gateway_section"] or None,
        gateway_domain=values["gateway_domain"],
        reloader=bool(values["reloader"]),
        namespaces_managed=bool(values["namespaces_managed"]),
        bootstrap_image=values["bootstrap_image"],
    )


ANSWERS_FILE = ".copier-answers.yml"


@cache
def _directory_overrides(directory: Path) -> tuple[tuple[str, str], ...]:
    """The cluster answers recorded by the nearest generated app at or above `directory`."""
    for candidate in (directory, *directory.parents):
        answers_file = candidate / ANSWERS_FILE
        if answers_file.is_file():
            return _cluster_answers(answers_file)
    return ()


def _cluster_answers(answers_file: Path) -> tuple[tuple[str, str], ...]:
    """The cluster questions an app answered itself (`customize_cluster: true`); () for the others."""
    from generator.errors import UsageError
    from generator.template.answers import load_yaml_mapping
    from generator.template.questions import load_questions

    try:
        answers = load_yaml_mapping(answers_file, "the answers file")
    except UsageError:
        return ()
    if answers.get("customize_cluster") is not True:
        return ()
    names = {question.name for question in load_questions() if question.cluster}
    return tuple(sorted((name, json.dumps(value)) for name, value in answers.items() if name in names))


def cluster_for(file: str) -> Cluster:
    """The constants that apply to a manifest: those of the app it belongs to, else the standard ones.

    An app rendered for another cluster (`customize_cluster: true`) records its storage class, secret
    store, hosts and labels in its `.copier-answers.yml`; its manifests are checked against those.
    """
    if not file or file.startswith("<"):
        return cluster()
    return cluster(_directory_overrides(Path(file).absolute().parent))

