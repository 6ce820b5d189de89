"""Secret rules: values come from Bitwarden through ExternalSecrets, never from the repository."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from generator.cluster.facts import Cluster
from generator.policy.k8s import dig, mapping, sequence
from generator.policy.model import Applies, Hit, K8sObject, Severity, YamlPath
from generator.policy.registry import object_rule

SECTION = "LiteLLM API Gateway Pattern"
API_GROUP = "external-secrets.io/"


@object_rule(
    id="AIA501",
    slug="secret-with-data",
    title="No Secret with literal values in the repository",
    severity=Severity.ERROR,
    family="secrets",
    section=SECTION,
    quote="# ExternalSecret for API keys",
    why="A Secret's data is only base64, readable by anyone with the repository; secret values live in "
    "Bitwarden and reach the cluster through an ExternalSecret.",
    fix="Delete the Secret, store the values in Bitwarden, and add an ExternalSecret that reads them "
    "through the {secret_store} ClusterSecretStore (then rotate the leaked values).",
    applies=Applies.SCOPE,
    kinds=("Secret",),
)
def secret_with_data(obj: K8sObject, cluster: Cluster) -> Iterator[Hit]:
    del cluster
    for field in ("data", "stringData"):
        values = obj.data.get(field)
        if isinstance(values, dict) and values:
            keys = ", ".join(str(key) for key in list(values)[:5]) + (", ..." if len(values) > 5 else "")
            yield Hit((field,), f"Secret has literal values in {field} (keys: {keys})")


def _store_problem(ref: Any, cluster: Cluster) -> str | None:
    """What is wrong with a store reference: None when it names one of the profile's stores."""
    ref = mapping(ref)
    name, kind = ref.get("name"), ref.get("kind", "SecretStore")
    stores = cluster.all_secret_stores
    if any((kind, name) == (store_kind, store_name) for store_kind, store_name, _ in stores):
        return None
    problems = []
    if kind not in {store_kind for store_kind, _, _ in stores}:
        problems.append(f"kind {kind}" + (" (the default)" if "kind" not in ref else ""))
    if name not in {store_name for _, store_name, _ in stores} or not problems:
        problems.append(f'store "{name}"')
    wanted = " or ".join(f'the {store_kind} "{store_name}"' for store_kind, store_name, _ in stores)
    return f"reads from {' and '.join(problems)}; secrets come from {wanted}"


def _store_of(obj: K8sObject, cluster: Cluster) -> tuple[str, str, str] | None:
    """The profile's store the ExternalSecret's secretStoreRef names (None: another, or none)."""
    base = ("spec", "externalSecretSpec") if obj.kind == "ClusterExternalSecret" else ("spec",)
    ref = mapping(mapping(dig(obj.data, *base)).get("secretStoreRef"))
    kind, name = ref.get("kind", "SecretStore"), ref.get("name")
    return next((store for store in cluster.all_secret_stores if store[:2] == (kind, name)), None)


@object_rule(
    id="AIA502",
    slug="externalsecret-store",
    title="ExternalSecrets read from a secret store of the cluster ({secret_stores})",
    severity=Severity.ERROR,
    family="secrets",
    section=SECTION,
    quote="  secretStoreRef:\n    name: bitwarden-backend\n    kind: ClusterSecretStore",
    why="Only the profile's stores ({secret_stores}) are connected to the secret backend; another kind "
    "(SecretStore is the default when `kind` is left out) or another store is not part of the cluster's "
    "secret flow.",
    fix="Name one of the profile's stores ({secret_stores}); new apps use "
    "`spec.secretStoreRef: {{name: {secret_store}, kind: {secret_store_kind}}}`.",
    applies=Applies.SCOPE,
    kinds=("ExternalSecret", "ClusterExternalSecret"),
)
def externalsecret_store(obj: K8sObject, cluster: Cluster) -> Iterator[Hit]:
    base: YamlPath = ("spec", "externalSecretSpec") if obj.kind == "ClusterExternalSecret" else ("spec",)
    spec = mapping(dig(obj.data, *base))
    entries = [
        (field, index, mapping(entry))
        for field in ("data", "dataFrom")
        for index, entry in enumerate(sequence(spec.get(field)))
    ]
    for field, index, entry in entries:
        store_ref = mapping(entry.get("sourceRef")).get("storeRef")
        if store_ref is not None:
            problem = _store_problem(store_ref, cluster)
            if problem:
                yield Hit((*base, field, index, "sourceRef", "storeRef"), f"{field}[{index}] {problem}")
    ref = spec.get("secretStoreRef")
    if ref is not None:
        problem = _store_problem(ref, cluster)
        if problem:
            yield Hit((*base, "secretStoreRef"), f"ExternalSecret {problem}")
    elif any("sourceRef" not in entry for _, _, entry in entries) or not entries:
        yield Hit(
            base,
            f"ExternalSecret has no secretStoreRef; set the {cluster.secret_store_kind} "
            f'"{cluster.secret_store}"'
            + (
                f" (or another store of the profile: {cluster.values()['secret_stores']})"
                if len(cluster.all_secret_stores) > 1
                else ""
            ),
        )


@object_rule(
    id="AIA503",
    slug="externalsecret-api-version",
    title="ExternalSecrets use the API version the cluster serves ({secret_store_api_versions})",
    severity=Severity.ERROR,
    family="secrets",
    section=SECTION,
    quote="apiVersion: external-secrets.io/v1beta1",
    why="external-secrets serves `external-secrets.io/v1` from 0.16 on and stopped serving `v1beta1` in "
    "0.17 (release notes of v0.17.0); the cluster profile says which one this cluster serves "
    "({secret_store_api_versions}; per store, when the profile lists several). An object of a version "
    "that is not served is refused by the API server, "
    "and the app starts without its secrets.",
    fix="Set `apiVersion: {secret_store_api_version}` (the fields are the same for ExternalSecrets).",
    applies=Applies.SCOPE,
    kinds=("ExternalSecret", "ClusterExternalSecret"),
)
def externalsecret_api_version(obj: K8sObject, cluster: Cluster) -> Iterator[Hit]:
    version = obj.data.get("apiVersion")
    store = _store_of(obj, cluster)
    wanted = {store[2]} if store else {version for _, _, version in cluster.all_secret_stores}
    if isinstance(version, str) and version.startswith(API_GROUP) and version not in wanted:
        shown = " or ".join(sorted(wanted))
        yield Hit(("apiVersion",), f"{obj.kind} uses {version}; this cluster serves {shown}")
