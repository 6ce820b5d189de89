"""After `aiapp new` wrote the files: register the app, create its secrets, validate it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.template.questions import Question


@dataclass(frozen=True)
class Item:
    """A secret-store item the app's ExternalSecret reads (one `remoteRef.key`)."""

    name: str
    env: str
    purpose: str


def secret_items(context: Mapping[str, Any]) -> list[Item]:
    """The items to create: copier.yml's `secret_refs`, the list the ExternalSecret itself is made of."""
    refs = context.get("secret_refs")
    if not isinstance(refs, list):
        return []
    return [Item(str(ref["item"]), str(ref["env"]), str(ref["purpose"])) for ref in refs]


def _store(context: Mapping[str, Any]) -> str:
    """The profile's store, in its own words (kind and name), never a product it may not be."""
    kind = context.get("secret_store_kind") or "ClusterSecretStore"
    return f"the {kind} {context.get('secret_store', '')!s}".rstrip()


def _litellm_side(context: Mapping[str, Any]) -> list[str]:
    """A model server is used through LiteLLM: its entry, its key and its egress are set on LiteLLM's side."""
    if not context.get("serves_api"):
        return []
    key = next((item.name for item in secret_items(context) if item.env == "VLLM_API_KEY"), "?")
    return [
        f"LiteLLM ({context.get('litellm_namespace')}): add the model_list entry of AGENTS.md (section "
        f'"LiteLLM"), give LiteLLM the environment variable {context.get("litellm_api_key_env")} with the '
        f"value of the item {key!r}, and add that section's egress rule to LiteLLM's CiliumNetworkPolicy.",
    ]


def _model_files(context: Mapping[str, Any]) -> list[str]:
    """A model PVC that nothing fills: say how the model gets there."""
    if not context.get("serves_model") or context.get("model_predownload"):
        return []
    app = context.get("app_name")
    return [
        f"Put the model files on the PVC {app}-models (mounted at /models; the app reads MODEL_DIR) before "
        "the app starts: the app has no route to the model hub. Or answer model_predownload=true with "
        "`aiapp update` / `copier update`, and an init container downloads them.",
    ]


def next_steps(
    dest: Path,
    questions: Sequence[Question],
    context: Mapping[str, Any],
    registered: str | None,
) -> list[str]:
    """What the engineer does after the files are written."""
    from generator.errors import UsageError
    from generator.new.register import entry_for, find, listed_in, read_kustomization

    del questions  # the steps follow the computed answers (copier.yml), not the questions
    parent = dest.resolve().parent
    kustomization = find(parent)
    steps: list[list[str]] = []
    if registered:
        steps.append([registered])
    elif listed_in(dest):
        steps.append([f"{kustomization} already lists {dest.resolve().name}: nothing to add."])
    elif kustomization:
        try:
            entry = entry_for(read_kustomization(kustomization), dest.resolve().name)
        except UsageError:  # a FIFO, a device, too large: the plain name, and `check` says the rest
            entry = dest.resolve().name
        steps.append(
            [
                f"Add `- {entry}` to the resources of {kustomization} "
                "(`aiapp new --register` does it when creating)."
            ]
        )
    else:
        steps.append(
            [f"Add {dest.resolve().name} to the kustomization that deploys it (there is none in {parent})."]
        )
    items = secret_items(context)
    if items:
        steps.append(
            [
                f"Create these items in the secret store that {_store(context)} reads (the ExternalSecret's "
                "remoteRef keys):"
            ]
            + [f"     - {item.name!r}: {item.purpose} ({item.env})" for item in items]
        )
    else:
        steps.append(["No secret-store items to create: the app reads no secrets."])
    for step in (_model_files(context), _litellm_side(context)):
        if step:
            steps.append(step)
    steps.append([f"Validate: kubectl kustomize {dest}   and   aiapp check {dest}"])
    shared = shared_services_outside(context)
    engine = context.get("policy_engine", "cilium")
    if shared and engine != "none":  # without a policy engine nothing isolates the shared services
        policies = "CiliumNetworkPolicies" if engine == "cilium" else "NetworkPolicies"
        steps.append(
            [
                f"The app runs outside the namespace of {' and '.join(shared)}: add the ingress rule of "
                f"AGENTS.md (section \"On the shared services' side\") to their {policies}."
            ]
        )
    lines = ["Next steps:"]
    for number, (first, *rest) in enumerate(steps, start=1):
        lines.append(f"  {number}. {first}")
        lines += [f"  {line}" for line in rest]
    return lines


def shared_services_outside(context: Mapping[str, Any]) -> list[str]:
    """The shared services the app calls from another namespace (their policies must admit it)."""
    namespace = context.get("namespace")
    found = []
    if context.get("vector_db") == "qdrant" and namespace != context.get("qdrant_namespace"):
        found.append(f"the shared Qdrant ({context.get('qdrant_namespace')})")
    if context.get("llm_providers") and namespace != context.get("litellm_namespace"):
        found.append(f"LiteLLM ({context.get('litellm_namespace')})")
    return found
