"""The backup rules follow the profile's `backup.mechanism` (issue 17): tier labels, Velero file-system
backup annotations on the pod, the repository's Velero Schedules, or no backup system at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.cluster import facts
from generator.policy import Options, Report, check_paths

APP = """\
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: chat-data
  namespace: chat
  labels: {app.kubernetes.io/name: chat}
spec:
  storageClassName: fast
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: notes-data
  namespace: notes
  labels: {app.kubernetes.io/name: notes}
spec:
  storageClassName: slow
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: chat, namespace: chat}
spec:
  selector: {matchLabels: {app: chat}}
  template:
    metadata:
      labels: {app: chat}
      annotations: {backup.velero.io/backup-volumes: data}
    spec:
      containers: [{name: chat, image: "ghcr.io/example/chat:1.0"}]
      volumes:
        - {name: data, persistentVolumeClaim: {claimName: chat-data}}
        - {name: cache, persistentVolumeClaim: {claimName: chat-cache}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: notes, namespace: notes}
spec:
  selector: {matchLabels: {app: notes}}
  template:
    metadata:
      labels: {app: notes}
    spec:
      containers: [{name: notes, image: "ghcr.io/example/notes:1.0"}]
      volumes:
        - {name: data, persistentVolumeClaim: {claimName: notes-data}}
"""

# One Schedule per app, as the origin cluster writes them: by namespace and the pods' app label.
CHAT_SCHEDULE = """\
apiVersion: velero.io/v1
kind: Schedule
metadata: {name: chat, namespace: velero}
spec:
  schedule: "0 3 * * *"
  template:
    includedNamespaces: [chat]
    labelSelector: {matchLabels: {app: chat}}
    ttl: 720h
"""

BACKUP_RULES = {"AIA202", "AIA203", "AIA205", "AIA206", "AIA207"}


def check(tmp_path: Path, profile: str, schedules: str = CHAT_SCHEDULE) -> Report:
    (tmp_path / ".aiapp.yml").write_text("cluster:\n  storage_classes: [fast, slow]\n" + profile)
    (tmp_path / "apps").mkdir(exist_ok=True)
    (tmp_path / "apps" / "app.yaml").write_text(APP)
    (tmp_path / "velero").mkdir(exist_ok=True)
    (tmp_path / "velero" / "schedules.yaml").write_text(schedules)
    facts.forget_profiles()
    return check_paths([str(tmp_path)], Options(build=False, jobs=1))


def backup_findings(report: Report) -> list[tuple[str, str]]:
    return sorted((item.rule_id, item.object) for item in report.findings if item.rule_id in BACKUP_RULES)


def test_tier_label_reports_missing_tiers_as_today(tmp_path: Path) -> None:
    report = check(tmp_path, "")
    assert backup_findings(report) == [
        ("AIA202", "PersistentVolumeClaim/chat/chat-data"),
        ("AIA202", "PersistentVolumeClaim/notes/notes-data"),
        ("AIA205", "Deployment/chat/chat"),
        ("AIA205", "Deployment/notes/notes"),
    ]
    assert all("so Velero never backs it up" in f.message for f in report.findings if f.rule_id == "AIA202")


def test_pod_annotation_opt_in_reports_unnamed_pvc_volumes_only(tmp_path: Path) -> None:
    report = check(tmp_path, "  backup: {mechanism: pod-annotation}\n")
    # chat names its data volume (its cache may stay out); notes names nothing.
    assert backup_findings(report) == [("AIA206", "Deployment/notes/notes")]
    (found,) = [f for f in report.findings if f.rule_id == "AIA206"]
    assert 'volume "data" (PVC "notes-data") is not named by backup.velero.io/backup-volumes' in found.message
    assert "tier" not in found.message


def test_pod_annotation_opt_out_reports_excluded_pvc_volumes(tmp_path: Path) -> None:
    (tmp_path / "apps").mkdir()
    profile = "  backup: {mechanism: pod-annotation, default_volumes_to_fs_backup: true}\n"
    report = check(tmp_path, profile)
    assert backup_findings(report) == []  # opt-out: every volume is backed up unless excluded
    text = APP.replace(
        "annotations: {backup.velero.io/backup-volumes: data}",
        "annotations: {backup.velero.io/backup-volumes-excludes: 'data,cache'}",
    )
    (tmp_path / "apps" / "app.yaml").write_text(text)
    report = check_paths([str(tmp_path)], Options(build=False, jobs=1))
    found = [f for f in report.findings if f.rule_id in BACKUP_RULES]
    assert [(f.rule_id, f.object, f.field) for f in found] == [
        (
            "AIA206",
            "Deployment/chat/chat",
            "spec.template.metadata.annotations.backup.velero.io/backup-volumes-excludes",
        )
    ]


def test_schedules_report_the_pvc_no_schedule_covers_and_name_the_schedule(tmp_path: Path) -> None:
    report = check(tmp_path, "  backup: {mechanism: schedules}\n")
    # chat-data is covered through the pod that mounts it (app=chat); notes has no Schedule.
    assert backup_findings(report) == [("AIA207", "PersistentVolumeClaim/notes/notes-data")]
    (found,) = [f for f in report.findings if f.rule_id == "AIA207"]
    assert "none of the 1 Schedule(s) read takes namespace notes" in found.message
    assert "Schedule in `velero`" in found.fix

    # A Schedule of the namespace whose selector misses the PVC and its pods is named in the message.
    wrong = (
        CHAT_SCHEDULE
        + "---\n"
        + CHAT_SCHEDULE.replace("name: chat,", "name: notes,").replace("[chat]", "[notes]")
    )
    report = check(tmp_path, "  backup: {mechanism: schedules}\n", wrong)
    (found,) = [f for f in report.findings if f.rule_id == "AIA207"]
    assert 'Schedule "notes" (namespaces notes; labels app=chat) takes its namespace' in found.message


@pytest.mark.parametrize(
    ("template", "covered"),
    [
        ("includedNamespaces: ['*']", True),
        ("excludedNamespaces: [notes]", False),
        ("orLabelSelectors: [{matchLabels: {app: other}}, {matchLabels: {app: notes}}]", True),
        ("labelSelector: {matchLabels: {app.kubernetes.io/name: notes}}", True),
        ("includedResources: [deployments]", False),
    ],
)
def test_schedule_selection_follows_velero(tmp_path: Path, template: str, covered: bool) -> None:
    schedule = f"""\
apiVersion: velero.io/v1
kind: Schedule
metadata: {{name: all, namespace: velero}}
spec:
  schedule: "0 3 * * *"
  template:
    {template}
"""
    report = check(tmp_path, "  backup: {mechanism: schedules}\n", CHAT_SCHEDULE + "---\n" + schedule)
    assert (("AIA207", "PersistentVolumeClaim/notes/notes-data") in backup_findings(report)) is not covered


def test_a_paused_schedule_covers_nothing(tmp_path: Path) -> None:
    paused = CHAT_SCHEDULE.replace('schedule: "0 3 * * *"', 'schedule: "0 3 * * *"\n  paused: true')
    report = check(tmp_path, "  backup: {mechanism: schedules}\n", paused)
    assert ("AIA207", "PersistentVolumeClaim/chat/chat-data") in backup_findings(report)


def test_no_backup_system_no_backup_finding(tmp_path: Path) -> None:
    assert backup_findings(check(tmp_path, "  backup: {mechanism: none}\n")) == []


def test_every_storage_class_of_the_profile_is_valid(tmp_path: Path) -> None:
    report = check(tmp_path, "")
    assert not [f for f in report.findings if f.rule_id == "AIA201"]
    (tmp_path / ".aiapp.yml").write_text("cluster:\n  storage_classes: [fast]\n")
    facts.forget_profiles()
    report = check_paths([str(tmp_path)], Options(build=False, jobs=1))
    (found,) = [f for f in report.findings if f.rule_id == "AIA201"]
    assert found.message == 'PVC "notes-data" uses StorageClass "slow"; PVCs use "fast"'
    assert found.fix.endswith("`spec.storageClassName: fast`.")
