"""Backup rules for the clusters that do not select volumes by tier label (docs/cluster.md
`backup.mechanism`): Velero file-system backup opted in or out per pod (`pod-annotation`), and Velero
`Schedule` objects of the repository (`schedules`). With `none` no backup rule reports.

Velero's semantics, from its documentation:
- File System Backup (velero.io/docs/main/file-system-backup): in the opt-in approach a pod's
  `backup.velero.io/backup-volumes` annotation lists (comma-separated) the pod volumes to back up; in the
  opt-out approach (`defaultVolumesToFsBackup: true`) every pod volume is backed up except those named by
  `backup.velero.io/backup-volumes-excludes`.
- Schedule (velero.io/docs/main/api-types/schedule): `spec.template` is a Backup spec;
  `includedNamespaces` unset or `*` means every namespace, `excludedNamespaces` removes some,
  `labelSelector` keeps objects whose labels match, `orLabelSelectors` those matching any of its
  selectors; `paused: true` creates no backups; `ttl` is the retention (720h when unset). A Backup of a
  pod also takes the PVCs it mounts (Velero's pod backup item action), so a PVC is covered when it or a
  pod mounting it is selected.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from generator.cluster.facts import Cluster
from generator.policy.k8s import WORKLOAD_KINDS, Pod, claim_templates, mapping, sequence
from generator.policy.model import Applies, Hit, K8sObject, Severity, Summary, YamlPath
from generator.policy.registry import each_pod, object_rule, set_rule
from generator.policy.selectors import selects

SECTION = "Model Storage Pattern > Requirements"
BACKUP_VOLUMES = "backup.velero.io/backup-volumes"
EXCLUDED_VOLUMES = "backup.velero.io/backup-volumes-excludes"
_PVC_RESOURCES = frozenset({"*", "persistentvolumeclaims", "persistentvolumeclaim", "pvc"})
# Volumes that hold what can be fetched or computed again: leaving them out of a backup is the point.
_CACHE_WORDS = ("cache", "scratch", "tmp", "temp")


def is_cache(*names: str) -> bool:
    """A cache or scratch volume, by its volume or claim name."""
    return any(word in name.lower() for name in names for word in _CACHE_WORDS)


def _listed(annotations: dict[str, Any], key: str) -> set[str]:
    return {part.strip() for part in str(annotations.get(key) or "").split(",") if part.strip()}


def _pvc_volumes(obj: K8sObject, pod: Pod) -> Iterator[tuple[str, str]]:
    """(pod volume name, claim name) of every PVC-backed volume of a pod template (a claim template's
    volume is named after the claim)."""
    for volume in sequence(pod.spec.get("volumes")):
        claim = mapping(mapping(volume).get("persistentVolumeClaim")).get("claimName")
        if claim is not None:
            yield str(mapping(volume).get("name", "")), str(claim)
    for template, _ in claim_templates(obj):
        name = str(mapping(template.get("metadata")).get("name", ""))
        if name:
            yield name, name


@object_rule(
    id="AIA206",
    slug="pod-volume-backup-annotation",
    title="Pods name their PVC volumes for Velero's file-system backup (backup.mechanism pod-annotation)",
    severity=Severity.ERROR,
    family="storage",
    section=SECTION,
    quote="GFS backup tier for critical models, Daily for caches",
    why="On a cluster where Velero backs up pod volumes from the file system, the pod decides: with "
    "opt-in (`default_volumes_to_fs_backup: false`) only the volumes listed in `" + BACKUP_VOLUMES + "` are "
    "backed up; with opt-out, every volume but those in `" + EXCLUDED_VOLUMES + "`. A PVC volume left out "
    "is not backed up; caches and scratch volumes (by name) may be left out.",
    fix="Opt-in: list the volume in the pod template annotation `" + BACKUP_VOLUMES + ": <volume>,...`; "
    "opt-out: remove it from `" + EXCLUDED_VOLUMES + "`.",
    applies=Applies.SCOPE,
    kinds=sorted(WORKLOAD_KINDS),
)
@each_pod
def pod_volume_backup_annotation(obj: K8sObject, pod: Pod, cluster: Cluster) -> Iterator[Hit]:
    if cluster.backup_mechanism != "pod-annotation":
        return
    annotations = mapping(pod.metadata.get("annotations"))
    where: YamlPath = (
        (*pod.metadata_path, "annotations") if "annotations" in pod.metadata else pod.metadata_path
    )
    opted_in, excluded = _listed(annotations, BACKUP_VOLUMES), _listed(annotations, EXCLUDED_VOLUMES)
    for volume, claim in _pvc_volumes(obj, pod):
        if is_cache(volume, claim):
            continue
        if cluster.default_volumes_to_fs_backup and volume in excluded:
            yield Hit(
                (*pod.metadata_path, "annotations", EXCLUDED_VOLUMES),
                f'volume "{volume}" (PVC "{claim}") is excluded by {EXCLUDED_VOLUMES}, so Velero\'s '
                "file-system backup skips it",
            )
        elif not cluster.default_volumes_to_fs_backup and volume not in opted_in:
            yield Hit(
                where,
                f'volume "{volume}" (PVC "{claim}") is not named by {BACKUP_VOLUMES}, so Velero\'s '
                "file-system backup (opt-in on this cluster) skips it",
            )


def _takes_namespace(spec: dict[str, Any], namespace: str | None) -> bool:
    """Whether a running Schedule's backups take PVCs of `namespace` (before label selection)."""
    if spec.get("paused") is True:
        return False
    template = mapping(spec.get("template"))
    included = [str(item) for item in sequence(template.get("includedNamespaces"))]
    excluded = {str(item) for item in sequence(template.get("excludedNamespaces"))}
    if included and "*" not in included and namespace not in included:
        return False
    if namespace in excluded:
        return False
    resources = {str(item).lower() for item in sequence(template.get("includedResources"))}
    return not resources or bool(resources & _PVC_RESOURCES)


def _selects(spec: dict[str, Any], namespace: str | None, label_sets: Sequence[dict[str, str]]) -> bool:
    """Whether the Schedule's label selection keeps an object with one of the label sets (its own, or
    those of a pod that mounts it); no selector keeps everything."""
    template = mapping(spec.get("template"))
    selectors = [template["labelSelector"]] if isinstance(template.get("labelSelector"), dict) else []
    selectors += [item for item in sequence(template.get("orLabelSelectors")) if isinstance(item, dict)]
    return not selectors or any(
        selects(selector, labels, namespace, "") for selector in selectors for labels in label_sets
    )


def _describe(schedule: Summary) -> str:
    template = mapping(mapping(schedule.spec).get("template"))
    parts = []
    included = [str(item) for item in sequence(template.get("includedNamespaces"))]
    if included:
        parts.append(f"namespaces {', '.join(included)}")
    selector = mapping(mapping(template.get("labelSelector")).get("matchLabels"))
    if selector:
        parts.append("labels " + ", ".join(f"{key}={value}" for key, value in selector.items()))
    if mapping(schedule.spec).get("paused") is True:
        parts.append("paused")
    return f'Schedule "{schedule.name}"' + (f" ({'; '.join(parts)})" if parts else "")


@set_rule(
    id="AIA207",
    slug="pvc-without-schedule",
    title="Every PVC is taken by a Velero Schedule of the repository (backup.mechanism schedules)",
    severity=Severity.ERROR,
    family="storage",
    section=SECTION,
    quote="GFS backup tier for critical models, Daily for caches",
    why="On a cluster whose backups are the repository's Velero `Schedule` objects, a PVC no Schedule "
    "selects (by `includedNamespaces`/`excludedNamespaces`, `labelSelector`/`orLabelSelectors`, not "
    "paused; or through a pod that mounts it) is never backed up. Caches and scratch volumes (by name) "
    "need no Schedule. The Schedules are read from every file of the run: check the repository.",
    fix="Add a `velero.io/v1` Schedule in `{velero_namespace}` for the app (`template.includedNamespaces: "
    "[<namespace>]`, a `labelSelector` its PVC or pods carry, a `ttl` for the retention), or widen the "
    "Schedule the finding names.",
    applies=Applies.SCOPE,
)
def pvc_without_schedule(summaries: Sequence[Summary], cluster: Cluster) -> Iterator[tuple[Summary, Hit]]:
    if cluster.backup_mechanism != "schedules":
        return
    schedules = [item for item in summaries if item.kind == "Schedule"]
    mounted_by: dict[tuple[str | None, str], list[dict[str, str]]] = {}
    for item in summaries:
        if item.pod_labels is not None:
            for claim, _ in item.claims:
                mounted_by.setdefault((item.namespace, claim), []).append(item.pod_labels)
    for pvc in summaries:
        if pvc.kind != "PersistentVolumeClaim" or is_cache(pvc.name):
            continue
        label_sets = [pvc.labels or {}, *mounted_by.get((pvc.namespace, pvc.name), [])]
        taking = [item for item in schedules if _takes_namespace(mapping(item.spec), pvc.namespace)]
        if any(_selects(mapping(item.spec), pvc.namespace, label_sets) for item in taking):
            continue
        namespace = pvc.namespace or "(none set)"
        if taking:
            detail = (
                f"; {_describe(taking[0])} takes its namespace but selects neither it nor a pod mounting it"
            )
        elif schedules:
            detail = f"; none of the {len(schedules)} Schedule(s) read takes namespace {namespace}"
        else:
            detail = "; no Velero Schedule was read (check the repository, not one app)"
        app = (pvc.labels or {}).get("app.kubernetes.io/name") or pvc.name
        detail += f'; add a Schedule "{cluster.velero_namespace}/{app}" for it'
        message = f'no Velero Schedule backs up PVC "{pvc.name}" in namespace {namespace}{detail}'
        yield pvc, Hit(("metadata",), message)
