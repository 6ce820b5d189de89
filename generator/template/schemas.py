"""Strict schema validation of rendered objects: core kinds and custom resources alike.

Core Kubernetes kinds are checked against the strict schemas that the `kubernetes-validate` package
ships (unknown fields are errors). Custom resources are checked against a kubeconform-style catalog
(`{group}/{kind}_{version}.json`, a directory or a URL template) whose root we close and whose
`metadata` we check as a real ObjectMeta, because the catalog leaves both open. A CRD schema's CEL rules
(`x-kubernetes-validations`) are evaluated too, with the API server's semantics for create (`cel.py`). An
object with no schema is reported, never passed silently.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

ENV_SCHEMA_LOCATION = "AIAPP_SCHEMA_LOCATION"
DEFAULT_K8S_VERSION = "1.32"
_OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
_TEMPLATE_VAR = re.compile(r"\{\{\s*\.(\w+)\s*\}\}")


def split_api_version(api_version: str) -> tuple[str, str]:
    """`apps/v1` → (`apps`, `v1`); `v1` → (``, `v1`)."""
    group, _, version = api_version.rpartition("/")
    return group, version


@cache
def _k8s_schema_dir(k8s_version: str) -> Path:
    """The strict schema directory of kubernetes-validate for the newest version <= k8s_version."""
    import kubernetes_validate

    root = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
    wanted = tuple(int(part) for part in k8s_version.lstrip("v").split(".")[:2])
    candidates = []
    for path in root.glob("v*-local-strict"):
        numbers = tuple(int(part) for part in path.name[1:].split("-")[0].split(".")[:2])
        if numbers <= wanted:
            candidates.append((numbers, path))
    if not candidates:
        raise ValueError(f"kubernetes-validate has no schemas for Kubernetes {k8s_version}")
    return max(candidates)[1]


@cache
def _k8s_definitions(k8s_version: str) -> dict[str, Any]:
    with open(_k8s_schema_dir(k8s_version) / "_definitions.json", encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


@dataclass
class Checked:
    """What validating one object found: violations (`path: message`, as `validate` returns them), and the
    CEL rules that could not be evaluated, each named only the first time this validator meets it."""

    messages: list[str] = field(default_factory=list)
    unevaluated: list[str] = field(default_factory=list)


def _dotted(path: tuple[str | int, ...]) -> str:
    return ".".join(str(part) for part in path) or "(root)"


class SchemaValidator:
    """Validates objects; compiled validators (and CEL rules) are cached per (apiVersion, kind)."""

    def __init__(self, k8s_version: str = DEFAULT_K8S_VERSION, location: str | None = None) -> None:
        self.k8s_version = k8s_version
        self.location = location if location is not None else os.environ.get(ENV_SCHEMA_LOCATION)
        self._cache: dict[tuple[str, str], Any] = {}
        self._rules: dict[tuple[str, str], Any] = {}
        self._reported: set[tuple[str, str, str]] = set()

    def location_problem(self) -> str | None:
        """Why custom resources cannot be validated (no location, or a directory that is missing)."""
        if not self.location:
            return f"no schema location for custom resources (set {ENV_SCHEMA_LOCATION} or --schema-location)"
        if "{{" not in self.location and "://" not in self.location and not Path(self.location).is_dir():
            return f"schema location {self.location} is not a directory"
        return None

    def validate(self, obj: Mapping[str, Any]) -> list[str]:
        """Messages for every schema violation of `obj`, CEL rules included (empty when it is valid)."""
        return self.check(obj).messages

    def check(self, obj: Mapping[str, Any]) -> Checked:
        """The violations of `obj`, and the CEL rules of its schema that could not be evaluated."""
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if not isinstance(api_version, str) or not isinstance(kind, str):
            return Checked(["not a Kubernetes object: apiVersion and kind must be strings"])
        key = (api_version, kind)
        if key not in self._cache:
            self._cache[key] = self._compile(api_version, kind)
        validator = self._cache[key]
        if isinstance(validator, str):
            return Checked([validator])
        checked = Checked()
        for error in sorted(validator.iter_errors(dict(obj)), key=lambda e: list(map(str, e.absolute_path))):
            checked.messages.append(f"{_dotted(tuple(error.absolute_path))}: {error.message}")
        rules = self._rules.get(key)
        if rules is not None:
            violations, skipped = rules.check(obj)
            checked.messages.extend(f"{_dotted(item.path)}: {item.message}" for item in violations)
            for item in skipped:
                if (api_version, kind, item.where + item.rule) not in self._reported:
                    self._reported.add((api_version, kind, item.where + item.rule))
                    checked.unevaluated.append(
                        f"CEL rule of {kind} {api_version} at {item.where} not evaluated ({item.reason}): "
                        f"{item.rule}"
                    )
        return checked

    def _compile(self, api_version: str, kind: str) -> Any:
        """A jsonschema validator for the kind, or a string saying why there is no schema."""
        from jsonschema.validators import Draft202012Validator
        from referencing import Registry, Resource

        group, version = split_api_version(api_version)
        definitions = Resource.from_contents(_k8s_definitions(self.k8s_version))
        short = group.split(".")[0]
        name = f"{kind.lower()}-{short}-{version}.json" if short else f"{kind.lower()}-{version}.json"
        path = _k8s_schema_dir(self.k8s_version) / name
        if "." not in group and not path.is_file():
            return f"no schema for {kind} {api_version} in Kubernetes {self.k8s_version}"
        if path.is_file() and (not group or group.endswith(".k8s.io") or "." not in group):
            schema = json.loads(path.read_text(encoding="utf-8"))
            registry: Registry[Any] = Resource.from_contents(schema) @ (definitions @ Registry())
            return Draft202012Validator(schema, registry=registry)
        problem = self.location_problem()
        if problem:
            return f"no schema for {kind} {api_version}: {problem}"
        crd_schema = self._load_catalog_schema(group, kind, version)
        if crd_schema is None:
            return f"no schema for {kind} {api_version} in {self.location}"
        closed = dict(crd_schema)
        closed["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        closed["additionalProperties"] = False
        closed["properties"] = {
            **crd_schema.get("properties", {}),
            "apiVersion": {"type": "string", "enum": [api_version]},
            "kind": {"type": "string", "enum": [kind]},
            "metadata": {"$ref": f"https://kubernetes.io/api/_definitions.json#/$defs/{_OBJECT_META}"},
        }
        from generator.template.cel import CelRules  # the CEL runtime itself loads with the first rule

        rules = CelRules(crd_schema)
        if rules.root is not None:
            self._rules[(api_version, kind)] = rules
        return Draft202012Validator(closed, registry=definitions @ Registry())

    def _load_catalog_schema(self, group: str, kind: str, version: str) -> dict[str, Any] | None:
        assert self.location is not None
        values = {
            "Group": group,
            "ResourceKind": kind.lower(),
            "ResourceAPIVersion": version,
            "KindSuffix": f"-{group.split('.')[0]}-{version}",
            "NormalizedKubernetesVersion": f"v{self.k8s_version}",
            "StrictSuffix": "-strict",
        }
        if "{{" in self.location:
            where = _TEMPLATE_VAR.sub(lambda match: values.get(match.group(1), match.group(0)), self.location)
        else:
            where = f"{self.location.rstrip('/')}/{group}/{kind.lower()}_{version}.json"
        return _read_json(where)


@cache
def _read_json(where: str) -> dict[str, Any] | None:
    """A schema from a path or URL; None when it does not exist."""
    try:
        if "://" in where and not where.startswith("file://"):
            from urllib.request import urlopen

            with urlopen(where, timeout=20) as response:
                data = json.load(response)
        else:
            with open(where.removeprefix("file://"), encoding="utf-8") as handle:
                data = json.load(handle)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
