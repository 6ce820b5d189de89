"""Flux `targetNamespace` and Argo CD destinations give manifests their namespace (issue 17: objects
without one made every namespace-based fact fail, "namespace (none set)")."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from generator.cluster import facts
from generator.policy import Options, check_paths

KS = """\
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: &app chat
  namespace: flux-system
spec:
  targetNamespace: ai
  commonMetadata:
    labels:
      app.kubernetes.io/name: *app
  path: ./kubernetes/apps/ai/chat/app
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
  interval: 30m
"""

APP = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: chat
  namespace: default
spec:
  selector: {matchLabels: {app: chat}}
  template:
    metadata: {labels: {app: chat}}
    spec:
      containers: [{name: chat, image: "ghcr.io/example/chat:1.0"}]
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: local}
provisioner: rancher.io/local-path
"""


def repository(tmp_path: Path) -> Path:
    (tmp_path / ".git").mkdir()
    chat = tmp_path / "kubernetes" / "apps" / "ai" / "chat"
    (chat / "app").mkdir(parents=True)
    (chat / "ks.yaml").write_text(KS)
    (chat / "app" / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [chat.yaml]\n"
    )
    (chat / "app" / "chat.yaml").write_text(APP)
    return chat


def objects(path: Path, build: bool) -> set[str]:
    facts.forget_profiles()
    report = check_paths([str(path)], Options(build=build, jobs=1))
    return {finding.object for finding in report.findings}


@pytest.mark.parametrize("build", [False, True])
def test_flux_target_namespace_overrides_every_namespaced_object(tmp_path: Path, build: bool) -> None:
    if build and not (shutil.which("kubectl") or shutil.which("kustomize")):
        pytest.skip("kustomize is needed to build")
    chat = repository(tmp_path)
    for checked in (tmp_path, chat / "app"):  # the repository, or the app alone (ks.yaml beside it)
        found = objects(checked, build)
        assert "Deployment/ai/chat" in found
        assert not any("/default/" in name for name in found)


def test_argo_destination_is_a_default_namespace(tmp_path: Path) -> None:
    chat = repository(tmp_path)
    (chat / "ks.yaml").write_text(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: chat, namespace: argocd}\n"
        "spec:\n  project: default\n  source: {repoURL: 'https://example.com/repo.git', "
        "path: kubernetes/apps/ai/chat/app}\n  destination: {server: 'https://kubernetes.default.svc', "
        "namespace: ai}\n"
    )
    (chat / "app" / "chat.yaml").write_text(APP.replace("  namespace: default\n", "", 1))
    assert "Deployment/ai/chat" in objects(tmp_path, build=False)
    (chat / "app" / "chat.yaml").write_text(APP)  # a namespace written in the manifest stays
    assert "Deployment/default/chat" in objects(tmp_path, build=False)
