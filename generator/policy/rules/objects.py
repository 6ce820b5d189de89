"""Objects the API server refuses, or that belong to Kubernetes itself rather than to an app.

Sources: Kubernetes API validation of a pod spec (pkg/apis/core/validation, ValidatePodSpec: every
volumeMount names a volume of the pod, "spec.containers[0].volumeMounts[0].name: Not found"); the
namespaces the control plane creates and uses (kube-system, kube-public, kube-node-lease, and default).
"""

from __future__ import annotations

from collections.abc import Iterator

from generator.cluster.facts import Cluster
from generator.policy.k8s import WORKLOAD_KINDS, Pod, claim_templates, containers, mapping, sequence
from generator.policy.model import Hit, K8sObject, Severity
from generator.policy.registry import each_pod, object_rule

FAMILY = "apps"


@object_rule(
    id="AIA907",
    slug="system-namespace-owned",
    title="Apps do not create or relabel the namespaces Kubernetes runs itself",
    severity=Severity.ERROR,
    family=FAMILY,
    section=None,
    quote=None,
    why="{system_namespaces} exist on every cluster and hold its own components: a Namespace object for "
    "one in an app's kustomization relabels it (Pod Security `restricted` breaks kube-system's pods) and "
    "makes the app's GitOps tool its owner, which may prune it.",
    fix="Remove the Namespace object (answer `create_namespace: false`), or deploy the app into a "
    "namespace of its own.",
    kinds=["Namespace"],
)
def system_namespace_owned(obj: K8sObject, cluster: Cluster) -> Iterator[Hit]:
    if obj.name in cluster.system_namespaces:
        yield Hit(("metadata", "name"), f"Namespace {obj.name} belongs to Kubernetes, not to an app")


@object_rule(
    id="AIA908",
    slug="volume-mount-without-volume",
    title="Every volume mount names a volume of the pod",
    severity=Severity.ERROR,
    family=FAMILY,
    section=None,
    quote=None,
    why="The API server refuses a pod whose container mounts a volume the pod does not declare "
    "(`volumeMounts[].name: Not found`): the Deployment is accepted, but no pod is ever created. The "
    "volumeClaimTemplates of a StatefulSet or a LeaderWorkerSet are volumes of their pods, named after "
    "the claim.",
    fix="Add the volume to `spec.volumes` (a PVC, an emptyDir, a ConfigMap), or remove the mount.",
    kinds=sorted(WORKLOAD_KINDS),
)
@each_pod
def volume_mount_without_volume(obj: K8sObject, pod: Pod, cluster: Cluster) -> Iterator[Hit]:
    del cluster
    volumes = {str(mapping(volume).get("name")) for volume in sequence(pod.spec.get("volumes"))}
    # A claim template is a volume of every pod, named after the claim (StatefulSet, LeaderWorkerSet).
    volumes.update(str(mapping(template.get("metadata")).get("name")) for template, _ in claim_templates(obj))
    for container in containers(pod):
        for index, mount in enumerate(sequence(container.data.get("volumeMounts"))):
            name = mapping(mount).get("name")
            if str(name) not in volumes:
                yield Hit(
                    (*container.path, "volumeMounts", index, "name"),
                    f'{container.label} mounts volume "{name}", which the pod does not declare',
                )
