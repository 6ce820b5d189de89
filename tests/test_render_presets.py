"""Every preset renders to a directory that kustomize builds and that validates strictly.

Core objects are validated against Kubernetes 1.32 (unknown fields are errors); custom resources against
the CRD catalog named by $AIAPP_SCHEMA_LOCATION. Without a catalog these tests skip on a developer's
machine and fail in CI.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from generator.template.schemas import SchemaValidator
from tests.conftest import PRESETS, in_ci

CORE_KINDS = {
    "Deployment", "Service", "ConfigMap", "PersistentVolumeClaim", "Namespace", "PodDisruptionBudget"
}
CUSTOM_KINDS = {"CiliumNetworkPolicy", "ExternalSecret", "HTTPRoute", "ServiceMonitor"}


def kustomize_build(app_dir: Path) -> list[dict[str, object]]:
    """The objects `kubectl kustomize` (or `kustomize build`) produces for the directory."""
    if shutil.which("kubectl"):
        command = ["kubectl", "kustomize", str(app_dir)]
    elif shutil.which("kustomize"):
        command = ["kustomize", "build", str(app_dir)]
    else:
        if in_ci():
            pytest.fail("neither kubectl nor kustomize is installed")
        pytest.skip("neither kubectl nor kustomize is installed")
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.mark.parametrize("preset", PRESETS)
def test_kustomize_builds_every_listed_file(preset: str, rendered_preset) -> None:
    app_dir = rendered_preset(preset)
    objects = kustomize_build(app_dir)
    kinds = sorted(str(obj["kind"]) for obj in objects)
    kustomization = yaml.safe_load((app_dir / "kustomization.yaml").read_text())
    listed = kustomization["resources"]
    generated = kustomization["configMapGenerator"]
    on_disk = sorted(path.name for path in app_dir.glob("*.yaml") if path.name != "kustomization.yaml")
    assert sorted(listed) == on_disk, "every manifest is listed in kustomization.yaml, and only those"
    assert len(objects) == len(on_disk) + len(generated), "one object per file, plus the generated ConfigMaps"
    assert {"Deployment", "Service", "ConfigMap", "CiliumNetworkPolicy"} <= set(kinds)
    namespaced = [obj for obj in objects if obj["kind"] != "Namespace"]
    assert all(obj["metadata"]["namespace"] for obj in namespaced)  # type: ignore[index]


@pytest.mark.parametrize("preset", PRESETS)
def test_every_object_validates_strictly(preset: str, rendered_preset, validator: SchemaValidator) -> None:
    objects = kustomize_build(rendered_preset(preset))
    for obj in objects:
        assert obj["kind"] in CORE_KINDS | CUSTOM_KINDS, f"unexpected kind {obj['kind']}"
        assert validator.validate(obj) == [], f"{obj['kind']} of {preset} is invalid"


def test_validator_rejects_unknown_fields(validator: SchemaValidator) -> None:
    """The gate itself must be able to fail: unknown fields in core and custom objects are errors."""
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
                  "spec": {"selector": {}, "template": {}, "replica": 1}}
    policy = {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
              "metadata": {"name": "x", "labelz": {}}, "spec": {"endpointSelector": {}}}
    assert any("replica" in message for message in validator.validate(deployment))
    assert any("labelz" in message for message in validator.validate(policy))
    unknown = validator.validate({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {}})
    assert unknown and "no schema" in unknown[0]
