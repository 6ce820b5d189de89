"""After `aiapp new` wrote the files: register the app, create its secrets, validate it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.template.questions import Question, is_asked


@dataclass(frozen=True)
class Item:
    """A Bitwarden item the app's ExternalSecret reads."""

    name: str
    purpose: str


def bitwarden_items(questions: Sequence[Question], context: Mapping[str, Any]) -> list[Item]:
    """The Bitwarden items to create, from the answers (the same conditions as the ExternalSecret)."""
    by_name = {question.name: question for question in questions}
    items: list[Item] = []

    def asked(name: str) -> bool:
        return name in by_name and is_asked(by_name[name], context)

    if asked("litellm_key_item") and context.get("litellm_key_item"):
        items.append(Item(context["litellm_key_item"], "the app's LiteLLM virtual key (LITELLM_API_KEY)"))
    if context.get("vector_db") == "qdrant" and context.get("qdrant_api_key_item"):
        items.append(Item(context["qdrant_api_key_item"], "the shared Qdrant's API key (QDRANT_API_KEY)"))
    if asked("model_hf_token_item") and context.get("model_hf_token_item"):
        items.append(Item(context["model_hf_token_item"], "a Hugging Face read token (HF_TOKEN)"))
    providers = context.get("providers") or {}
    for provider in context.get("direct_providers") or []:
        info = providers.get(provider, {})
        items.append(
            Item(
                str(info.get("item", provider)),
                f"the {provider} API key ({info.get('env', '?')}), for the direct-access exception",
            )
        )
    return items


def next_steps(
    dest: Path,
    questions: Sequence[Question],
    context: Mapping[str, Any],
    registered: str | None,
) -> list[str]:
    """What the engineer does after the files are written."""
    from generator.new.register import entry_for, find, listed_in

    parent = dest.resolve().parent
    kustomization = find(parent)
    lines = ["Next steps:"]
    if registered:
        lines.append(f"  1. {registered}")
    elif listed_in(dest):
        lines.append(f"  1. {kustomization} already lists {dest.resolve().name}: nothing to add.")
    elif kustomization:
        entry = entry_for(kustomization.read_text(encoding="utf-8"), dest.resolve().name)
        lines.append(
            f"  1. Add `- {entry}` to the resources of {kustomization} "
            "(`aiapp new --register` does it when creating)."
        )
    else:
        lines.append(
            f"  1. Add {dest.resolve().name} to the kustomization that deploys it "
            f"(there is none in {parent})."
        )
    items = bitwarden_items(questions, context)
    if items:
        store = context.get("secret_store", "")
        kind = context.get("secret_store_kind", "ClusterSecretStore")
        lines.append(f"  2. Create these Bitwarden items (read through the {kind} {store}):")
        lines += [f"       - {item.name!r}: {item.purpose}" for item in items]
    else:
        lines.append("  2. No Bitwarden items to create: the app needs no secrets.")
    lines.append(f"  3. Validate: kubectl kustomize {dest}   and   aiapp check {dest}")
    shared = shared_services_outside(context)
    if shared:
        lines.append(
            f"  4. The app runs outside the namespace of {' and '.join(shared)}: add the ingress rule of "
            f'AGENTS.md (section "On the shared services\' side") to their CiliumNetworkPolicies.'
        )
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
