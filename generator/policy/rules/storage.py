"""Storage rules: the storage classes, Velero backup tiers (when the cluster selects by tier label), and
models only on PVCs. The other backup mechanisms have their rules in backups.py."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from generator.cluster.facts import Cluster
from generator.policy.k8s import (
    LWS_KIND,
    WORKLOAD_KINDS,
    Pod,
    claim_templates,
    containers,
    labels,
    mapping,
    sequence,
)
from generator.policy.model import Applies, Hit, K8sObject, Severity, Summary, YamlPath
from generator.policy.registry import each_pod, object_rule, set_rule

SECTION = "Model Storage Pattern"
COMPONENT_LABEL = "app.kubernetes.io/component"
SHM_PATH = "/dev/shm"
# The backup mechanism whose rules live here (docs/cluster.md `backup.mechanism`).
TIER_LABEL = "tier-label"
_MODEL_PATH = re.compile(r"(^|/)[^/]*(model|huggingface)[^/]*(/|$)", re.IGNORECASE)


def claims_of(obj: K8sObject) -> Iterator[tuple[str, dict[str, Any], dict[str, Any], YamlPath]]:
    """(label, metadata, spec, path) of the PVC, or of each volumeClaimTemplate of a StatefulSet or a
    LeaderWorkerSet."""
    if obj.kind == "PersistentVolumeClaim":
        yield f'PVC "{obj.name}"', mapping(obj.data.get("metadata")), mapping(obj.data.get("spec")), ()
        return
    for template, path in claim_templates(obj):
        metadata = mapping(template.get("metadata"))
        yield (
            f'volumeClaimTemplate "{metadata.get("name", path[-1])}"',
            metadata,
            mapping(template.get("spec")),
            path,
        )


CLAIM_KINDS = ("PersistentVolumeClaim", "StatefulSet", LWS_KIND)


@object_rule(
    id="AIA201",
    slug="pvc-storage-class",
    title="PVCs use a StorageClass of the cluster ({storage_classes})",
    severity=Severity.ERROR,
    family="storage",
    section=f"{SECTION} > Requirements",
    quote="Use `proxmox-csi` StorageClass",
    why="Only the profile's storage classes ({storage_classes}) are provisioned and backed up the way the "
    "house rules expect; a missing storageClassName silently takes the cluster default.",
    fix="Use one of the cluster's classes ({storage_classes}); new PVCs get the first: "
    "`spec.storageClassName: {storage_class}`.",
    applies=Applies.SCOPE,
    kinds=CLAIM_KINDS,
)
def pvc_storage_class(obj: K8sObject, cluster: Cluster) -> Iterator[Hit]:
    classes = cluster.all_storage_classes
    for label, _, spec, path in claims_of(obj):
        value = spec.get("storageClassName")
        if value is None:
            yield Hit(
                (*path, "spec"),
                f"{label} has no storageClassName, so it gets the cluster default instead of "
                f'"{cluster.storage_class}"',
            )
        elif value not in classes:
            shown = ("one of " if len(classes) > 1 else "") + ", ".join(f'"{name}"' for name in classes)
            yield Hit(
                (*path, "spec", "storageClassName"), f'{label} uses StorageClass "{value}"; PVCs use {shown}'
            )


def _tier(metadata: dict[str, Any], cluster: Cluster) -> Any:
    return mapping(metadata.get("labels")).get(cluster.backup_tier_label)


@object_rule(
    id="AIA202",
    slug="pvc-backup-tier",
    title="PVCs carry the Velero backup-tier label (backup.mechanism tier-label)",
    severity=Severity.ERROR,
    family="storage",
    section=SECTION,
    quote="backup.velero.io/backup-tier: GFS  # For critical models",
    why="On a cluster whose Velero schedules select volumes by `{backup_tier_label}` (the profile's "
    "`backup.mechanism: tier-label`), a PVC without a valid tier is never backed up. Other mechanisms: "
    "AIA206, AIA207.",
    fix="Add the label `{backup_tier_label}` with one of the tiers ({backup_tiers}): {critical_tier} for "
    "critical data, another tier for data that can be fetched again (caches).",
    applies=Applies.SCOPE,
    kinds=CLAIM_KINDS,
)
def pvc_backup_tier(obj: K8sObject, cluster: Cluster) -> Iterator[Hit]:
    if cluster.backup_mechanism != TIER_LABEL:
        return
    for label, metadata, _, path in claims_of(obj):
        tier = _tier(metadata, cluster)
        if tier is None:
            where = (*path, "metadata", "labels") if "labels" in metadata else (*path, "metadata")
            yield Hit(where, f"{label} has no {cluster.backup_tier_label} label, so Velero never backs it up")
        elif tier not in cluster.backup_tiers:
            yield Hit(
                (*path, "metadata", "labels", cluster.backup_tier_label),
                f'{label} has backup tier "{tier}"; the tiers are {", ".join(cluster.backup_tiers)}',
            )


def is_model_data(name: str, metadata: dict[str, Any]) -> bool:
    """Model data that is not a cache, by the component label when there is one, else by the name."""
    words = str(labels(metadata).get(COMPONENT_LABEL) or name).lower()
    return "model" in words and "cache" not in words


@object_rule(
    id="AIA203",
    slug="model-pvc-gfs",
    title="Model PVCs use the {critical_tier} tier (backup.mechanism tier-label)",
    severity=Severity.ERROR,
    family="storage",
    section=f"{SECTION} > Requirements; AI-DOMAIN ANTI-PATTERNS > Resource Management",
    quote="Never use Daily backup tier for critical model data - use GFS",
    why="Model data that cannot be fetched again is critical: the GFS tier keeps the long retention. The "
    "component label decides (models: critical; model-cache, cache: a cache); without it, the name does.",
    fix="Set `{backup_tier_label}: {critical_tier}`, or mark a re-downloadable copy as a cache with "
    "`app.kubernetes.io/component: model-cache`.",
    applies=Applies.SCOPE,
    kinds=CLAIM_KINDS,
)
def model_pvc_gfs(obj: K8sObject, cluster: Cluster) -> Iterator[Hit]:
    if cluster.backup_mechanism != TIER_LABEL:
        return
    for label, metadata, _, path in claims_of(obj):
        tier = _tier(metadata, cluster)
        name = str(metadata.get("name", obj.name))
        if tier in cluster.backup_tiers and tier != cluster.critical_tier and is_model_data(name, metadata):
            component = labels(metadata).get(COMPONENT_LABEL)
            why = f'component "{component}"' if component else "its name"
            yield Hit(
                (*path, "metadata", "labels", cluster.backup_tier_label),
                f"{label} holds model data ({why}) but uses backup tier {tier}; critical model data uses "
                f"{cluster.critical_tier}",
            )


@object_rule(
    id="AIA204",
    slug="model-on-ephemeral-volume",
    title="Models are never on emptyDir or ephemeral volumes",
    severity=Severity.ERROR,
    family="storage",
    section="AI-DOMAIN ANTI-PATTERNS > Configuration",
    quote="Store models in PVCs - never use emptyDir or ephemeral storage",
    why="An emptyDir or ephemeral volume is lost on every restart and reschedule, so the model is "
    "downloaded again each time. A memory emptyDir at /dev/shm is shared memory, not model storage.",
    fix="Mount a PVC ({storage_class}) at the model path instead of the emptyDir (backed up as critical "
    "data where the cluster backs up volumes).",
    applies=Applies.SCOPE,
    kinds=sorted(WORKLOAD_KINDS),
)
@each_pod
def model_on_ephemeral_volume(obj: K8sObject, pod: Pod, cluster: Cluster) -> Iterator[Hit]:
    mounts: dict[str, list[str]] = {}
    for container in containers(pod):
        for mount in sequence(container.data.get("volumeMounts")):
            if isinstance(mount, dict):
                mounts.setdefault(str(mount.get("name")), []).append(str(mount.get("mountPath", "")))
    for index, volume in enumerate(sequence(pod.spec.get("volumes"))):
        if not isinstance(volume, dict):
            continue
        kind = "emptyDir" if "emptyDir" in volume else "ephemeral" if "ephemeral" in volume else None
        if kind is None:
            continue
        name = str(volume.get("name", ""))
        paths = [path for path in mounts.get(name, []) if path.rstrip("/") != SHM_PATH]
        if mounts.get(name) and not paths:
            continue
        model_paths = [path for path in paths if _MODEL_PATH.search(path)]
        if model_paths or "model" in name.lower():
            where = f" mounted at {', '.join(model_paths or paths)}" if (model_paths or paths) else ""
            yield Hit(
                (*pod.spec_path, "volumes", index, kind),
                f'volume "{name}" is an {kind} volume{where}: models must live on a PVC',
            )


@set_rule(
    id="AIA205",
    slug="pod-backup-tier",
    title="Pods that mount PVCs carry the backup tier of their most critical volume (backup.mechanism "
    "tier-label)",
    severity=Severity.ERROR,
    family="storage",
    section=f"{SECTION} > Requirements",
    quote="GFS backup tier for critical models, Daily for caches",
    why="Velero's file-system backup reaches volumes through the running pod, so the pod template carries "
    "`{backup_tier_label}` too, with the most critical tier of the PVCs it mounts.",
    fix="Add `{backup_tier_label}` to the pod template labels: {critical_tier} when it mounts a "
    "{critical_tier} PVC.",
    applies=Applies.SCOPE,
)
def pod_backup_tier(summaries: Sequence[Summary], cluster: Cluster) -> Iterator[tuple[Summary, Hit]]:
    if cluster.backup_mechanism != TIER_LABEL:
        return
    tiers = {(s.namespace, s.name): s.tier for s in summaries if s.kind == "PersistentVolumeClaim"}
    for summary in summaries:
        if not summary.claims or summary.pod_labels is None:
            continue
        names = ", ".join(f'"{name}"' for name, _ in summary.claims)
        tier = summary.pod_tier
        if tier is None:
            yield (
                summary,
                Hit(
                    summary.pod_labels_path,
                    f"the pod template mounts PVC {names} but has no {cluster.backup_tier_label} label",
                ),
            )
            continue
        if tier not in cluster.backup_tiers:
            yield (
                summary,
                Hit(
                    (*summary.pod_labels_path, cluster.backup_tier_label),
                    f'the pod template has backup tier "{tier}"; the tiers are '
                    f"{', '.join(cluster.backup_tiers)}",
                ),
            )
            continue
        critical = [
            name
            for name, known in summary.claims
            if (known or tiers.get((summary.namespace, name))) == cluster.critical_tier
        ]
        if critical and tier != cluster.critical_tier:
            yield (
                summary,
                Hit(
                    (*summary.pod_labels_path, cluster.backup_tier_label),
                    f"the pod template has backup tier {tier} but mounts {cluster.critical_tier} "
                    f'PVC "{critical[0]}"',
                ),
            )
