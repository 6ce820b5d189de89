"""Every storage class, secret store and Gateway the profile lists is valid, not only the first (issue 17:
a second Gateway, class or store made every object using it an error)."""

from __future__ import annotations

from pathlib import Path

from generator.cluster import facts
from generator.policy import Options, Report, check_paths

PROFILE = """\
cluster:
  gateway:
    gateways:
      - {namespace: network, name: envoy-internal, section: https}
      - {namespace: network, name: envoy-external}
  secret_stores:
    - {kind: ClusterSecretStore, name: bitwarden-fields}
    - {kind: ClusterSecretStore, name: bitwarden-login}
"""

MANIFESTS = """\
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: chat-login, namespace: chat}
spec:
  secretStoreRef: {kind: ClusterSecretStore, name: bitwarden-login}
  target: {name: chat-login}
  data:
    - secretKey: password
      remoteRef: {key: chat, property: password}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: chat-other, namespace: chat}
spec:
  secretStoreRef: {kind: ClusterSecretStore, name: vault}
  target: {name: chat-other}
  data:
    - secretKey: token
      remoteRef: {key: chat, property: token}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: chat-external, namespace: chat}
spec:
  parentRefs:
    - {name: envoy-external, namespace: network, sectionName: anything}
    - {name: envoy-internal, namespace: network, sectionName: https}
    - {name: envoy-internal, namespace: network, sectionName: http}
    - {name: gateway, namespace: gateway}
  rules:
    - backendRefs: [{name: chat, port: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: chat, namespace: chat}
spec:
  selector: {app: chat}
  ports: [{name: http, port: 8080}]
"""


def check(tmp_path: Path, profile: str = PROFILE) -> Report:
    (tmp_path / ".aiapp.yml").write_text(profile)
    (tmp_path / "chat.yaml").write_text(MANIFESTS)
    facts.forget_profiles()
    return check_paths([str(tmp_path)], Options(build=False, jobs=1))


def of(report: Report, rule_id: str) -> list[tuple[str, str, str]]:
    return [(f.object, f.field, f.message) for f in report.findings if f.rule_id == rule_id]


def test_every_listed_secret_store_is_valid_and_the_fix_names_them(tmp_path: Path) -> None:
    report = check(tmp_path)
    assert of(report, "AIA502") == [
        (
            "ExternalSecret/chat/chat-other",
            "spec.secretStoreRef",
            'ExternalSecret reads from store "vault"; secrets come from the ClusterSecretStore '
            '"bitwarden-fields" or the ClusterSecretStore "bitwarden-login"',
        )
    ]
    (fix,) = {f.fix for f in report.findings if f.rule_id == "AIA502"}
    assert "ClusterSecretStore bitwarden-fields, ClusterSecretStore bitwarden-login" in fix


def test_every_listed_gateway_is_a_valid_parent_with_its_own_listener(tmp_path: Path) -> None:
    report = check(tmp_path)
    assert of(report, "AIA902") == [
        (
            "HTTPRoute/chat/chat-external",
            "spec.parentRefs[2].sectionName",
            'sectionName "http" is not the gateway listener "https"',
        ),
        (
            "HTTPRoute/chat/chat-external",
            "spec.parentRefs[3]",
            "parentRef names Gateway gateway/gateway; the cluster's gateways are network/envoy-internal, "
            "network/envoy-external",
        ),
    ]
    (fix,) = {f.fix for f in report.findings if f.rule_id == "AIA902"}
    assert "network/envoy-internal (listener https), network/envoy-external" in fix
