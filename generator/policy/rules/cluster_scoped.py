"""AIA015: cluster-wide objects emitted by a namespaced build.

Kustomize's `namespace:` sets the namespace of namespaced objects only; a cluster-scoped object
(generator/cluster/gitops.py CLUSTER_SCOPED, the same list the GitOps namespace placement uses) that an
app's namespaced build pulls in from a directory outside its own tree belongs to that directory's own
build. The evidence threshold: the object's file lies outside the build's directory, in a directory
that is a kustomization of its own (built on its own, or applied by a GitOps Kustomization). Then two
builds apply the same object: two owners, and pruning by one deletes what the other applies. (The
namespace itself is harmless: `kubectl kustomize` leaves a CiliumClusterwideNetworkPolicy without one.)
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from generator.cluster.facts import Cluster
from generator.cluster.gitops import CLUSTER_SCOPED
from generator.policy import kustomize
from generator.policy.k8s import mapping
from generator.policy.model import Applies, Hit, K8sObject, Severity
from generator.policy.registry import object_rule


def _inside(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory + os.sep)


def _own_kustomization(file: str, stop: str) -> str | None:
    """The nearest directory at or above the file's with a kustomization file, below the common ancestor
    of the file and `stop` (the build's directory); None when there is none."""
    directory = os.path.dirname(os.path.realpath(file))
    top = os.path.commonpath([directory, stop])
    while _inside(directory, top) and directory != top:
        if kustomize.kustomization_file(Path(directory)) is not None:
            return directory
        directory = os.path.dirname(directory)
    return None


@object_rule(
    id="AIA015",
    slug="cluster-object-in-namespaced-build",
    title="A namespaced build emits no cluster-wide objects of another build's directory",
    severity=Severity.ERROR,
    family="input",
    section=None,
    quote=None,
    why="A kustomization that sets `namespace:` (an app's build) and lists a directory of cluster-wide "
    "objects (CiliumClusterwideNetworkPolicy, ClusterRole, ClusterIssuer, CRDs, ...) that is a "
    "kustomization of its own makes the app's build an owner of those objects: when the cluster's own "
    "build of that directory (a Flux Kustomization or Argo CD Application) applies them too, two builds "
    "own them, and each prunes or overwrites the other's. Only built objects are judged (without "
    "kustomize, or with `--no-build`, objects are not traced to builds): the object's file lies outside "
    "the build's directory, in a directory with its own kustomization file.",
    fix="Remove the cluster-wide directory from the app's kustomization `resources:`; let the cluster's "
    "own build (the one that lists that directory) apply it once.",
    applies=Applies.SCOPE,
    kinds=sorted(CLUSTER_SCOPED),
)
def cluster_object_in_namespaced_build(obj: K8sObject, cluster: Cluster) -> Iterator[Hit]:
    del cluster
    build = obj.build
    if build is None or obj.generated:
        return
    data = kustomize.read_kustomization(build.kustomization) or {}
    namespace = mapping(data).get("namespace")
    if not namespace:
        return
    root = os.path.dirname(os.path.realpath(build.kustomization))
    source = os.path.realpath(obj.origin.file)
    if _inside(source, root):
        return
    owner = _own_kustomization(source, root)
    if owner is None:
        return
    yield Hit(
        ("metadata",),
        f"{obj.kind}/{obj.name} is cluster-wide, but the namespaced build {build.kustomization} "
        f"(namespace: {namespace}) emits it from {owner}, a build of its own: the app's build owns a "
        "cluster-wide object, and applying that directory on its own makes two owners",
    )
