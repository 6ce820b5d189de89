"""Cilium endpoint selectors: label keys with source prefixes, and the namespace pseudo-label."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from generator.policy.k8s import mapping, sequence
from generator.policy.model import K8sObject, YamlPath

NAMESPACE_KEY = "io.kubernetes.pod.namespace"
SERVICE_ACCOUNT_KEY = "io.cilium.k8s.policy.serviceaccount"
_SOURCES = ("k8s:", "any:")


def normalize(key: str) -> str:
    """`k8s:app` and `any:app` select the Kubernetes label `app`."""
    for prefix in _SOURCES:
        if key.startswith(prefix):
            return key[len(prefix) :]
    return key


def match_labels(selector: Any) -> dict[str, str]:
    """matchLabels with normalised keys and string values."""
    return {
        normalize(str(key)): str(value)
        for key, value in mapping(mapping(selector).get("matchLabels")).items()
    }


def raw_key(selector: Any, wanted: str) -> str | None:
    """The key as written in matchLabels (`k8s:io.kubernetes.pod.namespace`) for a normalised key."""
    return next(
        (str(key) for key in mapping(mapping(selector).get("matchLabels")) if normalize(str(key)) == wanted),
        None,
    )


def selects(selector: Any, labels: dict[str, str], namespace: str | None, service_account: str) -> bool:
    """Whether an endpointSelector selects a pod with these labels in this namespace."""
    if not isinstance(selector, dict):
        return False

    def value_of(key: str) -> str | None:
        if key == NAMESPACE_KEY:
            return namespace
        if key == SERVICE_ACCOUNT_KEY:
            return service_account
        return labels.get(key)

    for key, value in match_labels(selector).items():
        if value_of(key) != value:
            return False
    for expression in sequence(selector.get("matchExpressions")):
        expression = mapping(expression)
        actual = value_of(normalize(str(expression.get("key", ""))))
        values = [str(item) for item in sequence(expression.get("values"))]
        operator = expression.get("operator")
        if operator == "In" and actual not in values:
            return False
        if operator == "NotIn" and actual in values:
            return False
        if operator == "Exists" and actual is None:
            return False
        if operator == "DoesNotExist" and actual is not None:
            return False
        if operator not in ("In", "NotIn", "Exists", "DoesNotExist"):
            return False
    return True


def policy_specs(obj: K8sObject) -> Iterator[tuple[YamlPath, dict[str, Any]]]:
    """(path, spec) of a Cilium policy's `spec` and of each entry of its `specs` list."""
    if isinstance(obj.data.get("spec"), dict):
        yield ("spec",), obj.data["spec"]
    for index, spec in enumerate(sequence(obj.data.get("specs"))):
        if isinstance(spec, dict):
            yield ("specs", index), spec
