"""Namespaces a GitOps controller gives the manifests under a path of the repository.

- Flux `Kustomization` (kustomize.toolkit.fluxcd.io): `spec.path` is relative to the source's root (the
  repository); `spec.targetNamespace` "sets or overrides the namespace" of every namespaced object the
  build at that path produces (Flux's Kustomization API docs, "Target namespace").
- Argo CD `Application` (argoproj.io): `spec.destination.namespace` is the namespace of namespaced objects
  that do not set one (Argo CD's declarative-setup docs); `spec.source.path` is relative to the repository.

Only files that mention the API group are parsed (a text search first), through the loader's bounded
reader, so a large repository pays one read per file and no YAML parse. Shared by `aiapp check`
(generator/policy/loader.py) and `aiapp init --detect` (generator/init/detect.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

FLUX_GROUP = "kustomize.toolkit.fluxcd.io/"
ARGO_GROUP = "argoproj.io/"
_MARKERS = (FLUX_GROUP.rstrip("/"), ARGO_GROUP.rstrip("/"))
_ROOT_MARKERS = (".git", ".aiapp.yml")
# Kinds without a namespace: a targetNamespace leaves them alone.
CLUSTER_SCOPED = frozenset(
    {
        "APIService",
        "CSIDriver",
        "CiliumClusterwideNetworkPolicy",
        "ClusterExternalSecret",
        "ClusterIssuer",
        "ClusterRole",
        "ClusterRoleBinding",
        "ClusterSecretStore",
        "CustomResourceDefinition",
        "GatewayClass",
        "IngressClass",
        "MutatingWebhookConfiguration",
        "Namespace",
        "Node",
        "PersistentVolume",
        "PriorityClass",
        "RuntimeClass",
        "StorageClass",
        "ValidatingWebhookConfiguration",
        "VolumeSnapshotClass",
    }
)


@dataclass(frozen=True, slots=True)
class Target:
    """A namespace for the manifests under `directory`: Flux's override, or Argo CD's default."""

    directory: str
    namespace: str
    override: bool
    source: str


def mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def mentions_gitops(text: str) -> bool:
    """Whether a file may declare a target (worth parsing)."""
    return any(marker in text for marker in _MARKERS)


def repository_root(start: str) -> str:
    """The nearest directory at or above `start` with `.git` or `.aiapp.yml` (else `start`)."""
    current = os.path.abspath(start)
    while True:
        if any(os.path.exists(os.path.join(current, marker)) for marker in _ROOT_MARKERS):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return os.path.abspath(start)
        current = parent


def _target(doc: Any, file: str) -> Target | None:
    if not isinstance(doc, dict):
        return None
    api, kind, spec = str(doc.get("apiVersion", "")), doc.get("kind"), mapping(doc.get("spec"))
    if api.startswith(FLUX_GROUP) and kind == "Kustomization":
        path, namespace, override = spec.get("path"), spec.get("targetNamespace"), True
    elif api.startswith(ARGO_GROUP) and kind == "Application":
        source = mapping(spec.get("source"))
        path, namespace, override = (
            source.get("path"),
            mapping(spec.get("destination")).get("namespace"),
            False,
        )
    else:
        return None
    if not isinstance(path, str) or not isinstance(namespace, str) or not namespace:
        return None
    root = repository_root(os.path.dirname(file))
    directory = os.path.realpath(os.path.join(root, path.lstrip("/")))
    if os.path.commonpath([directory, os.path.realpath(root)]) != os.path.realpath(root):
        return None  # a path outside the repository: another source
    return Target(directory, namespace, override, file)


def find_targets(files: Iterable[str], read: Callable[[str], list[Any] | None]) -> list[Target]:
    """The targets declared in `files`; `read` returns a file's documents (None: unreadable)."""
    found: list[Target] = []
    for file in files:
        for doc in read(file) or []:
            target = _target(doc, file)
            if target is not None and target not in found:
                found.append(target)
    return found


def target_for(path: str, targets: Sequence[Target]) -> Target | None:
    """The target of the deepest directory containing `path` (the first declared on a tie)."""
    real = os.path.realpath(path)
    best: Target | None = None
    for target in targets:
        inside = real == target.directory or real.startswith(target.directory + os.sep)
        if inside and (best is None or len(target.directory) > len(best.directory)):
            best = target
    return best


def namespace_of(kind: str, written: str | None, target: Target | None) -> str | None:
    """The namespace an object ends up in under its target."""
    if target is None or kind in CLUSTER_SCOPED:
        return written
    if target.override:
        return target.namespace
    return written or target.namespace
