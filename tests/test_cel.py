"""`--schemas` evaluates the CEL rules of CRD schemas (`x-kubernetes-validations`) as the API server does on
create: every rule of the catalog against a passing and a violating value, the catalog walked for rules the
table lacks, and the semantics on a schema of our own (defaults, escaping, per element, transition rules,
messageExpression, fieldPath, reason, rules the evaluator cannot run)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from generator.policy import Options, check_paths
from generator.template.cel import escape
from generator.template.schemas import SchemaValidator
from tests.cel_table import CASES, Case

KINDS = {
    "httproute": "HTTPRoute",
    "gateway": "Gateway",
    "secretstore": "SecretStore",
    "clustersecretstore": "ClusterSecretStore",
}


def catalog_rules(location: str) -> list[tuple[str, str, str]]:
    """(schema file, rule path, message) of every rule anywhere in the catalog's JSON files."""
    found: list[tuple[str, str, str]] = []

    def walk(node: Any, path: str, schema: str) -> None:
        if isinstance(node, list):
            for index, item in enumerate(node):
                walk(item, f"{path}<{index}>", schema)
            return
        if not isinstance(node, dict):
            return
        for rule in node.get("x-kubernetes-validations", ()):
            found.append((schema, path, rule.get("message") or f"failed rule: {rule['rule'].strip()}"))
        for key, value in node.items():
            if key == "properties":
                for name, sub in value.items():
                    walk(sub, f"{path}.{name}", schema)
            elif key == "items":
                walk(value, f"{path}[]", schema)
            elif key == "additionalProperties":
                walk(value, f"{path}{{}}", schema)
            elif key != "x-kubernetes-validations":
                walk(value, f"{path}<{key}>", schema)

    root = Path(location)
    for file in sorted(root.glob("*/*.json")):
        walk(json.loads(file.read_text(encoding="utf-8")), "", file.relative_to(root).as_posix())
    return found


def test_the_table_covers_every_rule_of_the_catalog(validator: SchemaValidator) -> None:
    assert validator.location
    found = catalog_rules(validator.location)
    assert len(found) >= 132, "the catalog's HTTPRoute, Gateway and v1 stores carry 132 rules"
    assert len(set(found)) == len(found), "a rule's message names it at its path"
    table = [(case.schema, case.path, case.message) for case in CASES]
    assert len(set(table)) == len(table), "one case per rule"
    assert sorted(set(found) - set(table)) == [], "rules of the catalog without a case in tests/cel_table.py"
    assert sorted(set(table) - set(found)) == [], "cases for rules the catalog does not have"


def placed(case: Case, value: Any) -> tuple[dict[str, Any], str]:
    """An object of the schema's kind with `value` at the rule's level, and that level's dotted path."""
    group, file = case.schema.split("/")
    name, version = file.removesuffix(".json").split("_")
    tokens = case.path.replace("[]", ".[]").replace("{}", ".{}").strip(".").split(".")
    for token in reversed(tokens):
        value = [value] if token == "[]" else {"key": value} if token == "{}" else {token: value}
    where = ".".join("0" if token == "[]" else "key" if token == "{}" else token for token in tokens)
    metadata = {"name": "demo", "namespace": "ai"}
    return {"apiVersion": f"{group}/{version}", "kind": KINDS[name], "metadata": metadata, **value}, where


def rule_messages(validator: SchemaValidator, case: Case, value: Any) -> list[str]:
    obj, where = placed(case, value)
    checked = validator.check(obj)
    assert not [text for text in checked.unevaluated if case.path in text], "the rule must be evaluated"
    return [
        message
        for message in checked.messages
        if message.startswith(f"{where}: ") and case.message in message.removeprefix(f"{where}: ")
    ]


@pytest.mark.parametrize(
    "case", CASES, ids=lambda case: f"{case.schema.split('/')[1]}{case.path}:{case.message}"
)
def test_every_catalog_rule_passes_and_fails(case: Case, validator: SchemaValidator) -> None:
    assert rule_messages(validator, case, case.passing) == []
    _, where = placed(case, case.violating)
    assert rule_messages(validator, case, case.violating) == [f"{where}: {case.message}"]


ROUTE = {
    "apiVersion": "gateway.networking.k8s.io/v1",
    "kind": "HTTPRoute",
    "metadata": {"name": "chat", "namespace": "ai"},
    "spec": {
        "parentRefs": [{"name": "gateway", "namespace": "gateway", "sectionName": "https"}],
        "hostnames": ["chat.apps.example.com"],
        "rules": [
            {
                "matches": [{"path": {"type": "PathPrefix", "value": "/v1"}}],
                "filters": [
                    {"type": "RequestHeaderModifier", "requestHeaderModifier": {"remove": ["x-debug"]}}
                ],
                "backendRefs": [{"kind": "Service", "name": "chat", "port": 8000}],
                "timeouts": {"request": "0s"},
            },
            {
                "matches": [{"path": {"type": "Exact", "value": "/old"}}],
                "filters": [
                    {
                        "type": "RequestRedirect",
                        "requestRedirect": {"path": {"type": "ReplaceFullPath", "replaceFullPath": "/v1"}},
                    }
                ],
            },
        ],
    },
}


def test_a_real_route_passes_every_rule_and_schema(validator: SchemaValidator) -> None:
    """Defaults first, as the server does: the backendRef has no `group` (default ""), yet
    `size(self.group) == 0` reads it; the second rule has no backendRefs for its redirect."""
    assert validator.check(ROUTE).messages == []


def test_cel_findings_surface_as_aia010_at_their_line(tmp_path: Path, validator: SchemaValidator) -> None:
    route = tmp_path / "httproute.yaml"
    route.write_text(
        textwrap.dedent(
            """\
            apiVersion: gateway.networking.k8s.io/v1
            kind: HTTPRoute
            metadata:
              name: chat
              namespace: ai
            spec:
              rules:
                - matches:
                    - path:
                        type: PathPrefix
                        value: /v1//chat
                  backendRefs:
                    - name: chat
                      port: 8000
                  timeouts:
                    request: 30s
                    backendRequest: 1m
            """
        )
    )
    report = check_paths([str(route)], Options(schemas=True, schema_location=validator.location, build=False))
    schema = [(item.rule_id, item.line, item.message) for item in report.findings if item.rule_id == "AIA010"]
    assert schema == [
        (
            "AIA010",
            9,
            "spec.rules.0.matches.0.path: must not contain '//' when type one of ['Exact', 'PathPrefix']",
        ),
        ("AIA010", 15, "spec.rules.0.timeouts: backendRequest timeout cannot be longer than request timeout"),
    ]


# A schema of our own, for the semantics the catalog's rules do not use.
WIDGET_SCHEMA = {
    "type": "object",
    "properties": {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "metadata": {"type": "object"},
        "spec": {
            "type": "object",
            "properties": {
                "replicas": {"type": "integer"},
                "max": {"type": "integer", "default": 3},
                "mode": {"type": "string"},
                "url": {"type": "string"},
                "namespace": {"type": "string"},
                "ports": {
                    "type": "object",
                    "additionalProperties": {
                        "type": "object",
                        "properties": {"port": {"type": "integer"}},
                        "x-kubernetes-validations": [
                            {"rule": "self.port > 0", "message": "port must be positive"}
                        ],
                    },
                },
                "limits": {
                    "type": "object",
                    "properties": {"size": {"x-kubernetes-int-or-string": True}},
                    "x-kubernetes-validations": [{"rule": "self.size < 10", "message": "size below 10"}],
                },
                "window": {
                    "type": "object",
                    "properties": {"until": {"type": "string", "format": "date-time"}},
                    "x-kubernetes-validations": [
                        {"rule": "self.until < timestamp('2030-01-01T00:00:00Z')", "message": "until 2030"}
                    ],
                },
                "weights": {
                    "type": "array",
                    "items": {"type": "number", "x-kubernetes-validations": [{"rule": "self <= 1.0"}]},
                },
            },
            "x-kubernetes-validations": [
                {
                    "rule": "self.replicas <= self.max",
                    "messageExpression": "'replicas must be at most ' + string(self.max)",
                    "message": "too many replicas",
                    "fieldPath": ".replicas",
                    "reason": "FieldValueForbidden",
                },
                {"rule": "self.replicas != 13", "messageExpression": "'  '", "message": "unlucky"},
                {"rule": "self.replicas > oldSelf.replicas", "message": "replicas can only grow"},
                {
                    "rule": "oldSelf.hasValue() || self.mode == 'new'",
                    "optionalOldSelf": True,
                    "message": "a new widget starts in mode new",
                },
                {"rule": "!has(self.url) || isURL(self.url)", "message": "url must be a URL"},
                {"rule": "!has(self.__namespace__) || self.__namespace__ != 'kube-system'"},
            ],
        },
    },
}


@pytest.fixture
def widgets(tmp_path: Path) -> SchemaValidator:
    (tmp_path / "example.com").mkdir()
    (tmp_path / "example.com" / "widget_v1.json").write_text(json.dumps(WIDGET_SCHEMA))
    return SchemaValidator(location=str(tmp_path))


def widget(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {"mode": "new", **spec},
    }


def test_message_expression_field_path_reason_and_defaults(widgets: SchemaValidator) -> None:
    """`max` defaults to 3 before the rule runs; the message comes from messageExpression, at fieldPath."""
    assert widgets.validate(widget(replicas=3)) == []
    assert widgets.validate(widget(replicas=5)) == ["spec.replicas: Forbidden: replicas must be at most 3"]


def test_a_blank_message_expression_falls_back_to_message(widgets: SchemaValidator) -> None:
    assert widgets.validate(widget(replicas=13, max=20)) == ["spec: unlucky"]


def test_a_transition_rule_does_not_apply_on_create(widgets: SchemaValidator) -> None:
    """`self.replicas > oldSelf.replicas` is false for any old object equal to the new one; on create there
    is none, and the server skips the rule: no finding, and no note either."""
    checked = widgets.check(widget(replicas=1))
    assert checked.messages == []
    assert not any("oldSelf.replicas" in text for text in checked.unevaluated)


def test_an_optional_old_self_rule_applies_on_create_with_no_old_value(widgets: SchemaValidator) -> None:
    assert widgets.validate(widget(replicas=1, mode="old")) == ["spec: a new widget starts in mode new"]


def test_rules_run_per_map_value_and_per_list_item(widgets: SchemaValidator) -> None:
    messages = widgets.validate(
        widget(replicas=1, ports={"http": {"port": 0}, "metrics": {"port": 9090}}, weights=[0.5, 2])
    )
    assert messages == ["spec.ports.http: port must be positive", "spec.weights.1: failed rule: self <= 1.0"]


def test_reserved_words_are_escaped_in_property_names(widgets: SchemaValidator) -> None:
    rule = "failed rule: !has(self.__namespace__) || self.__namespace__ != 'kube-system'"
    assert widgets.validate(widget(replicas=1, namespace="kube-system")) == [f"spec: {rule}"]
    assert widgets.validate(widget(replicas=1, namespace="ai")) == []
    assert escape("namespace") == "__namespace__"
    assert escape("a.b-c/d__e") == "a__dot__b__dash__c__slash__d__underscores__e"
    assert escape("9lives") is None


def test_a_rule_the_evaluator_cannot_run_is_named_once(widgets: SchemaValidator) -> None:
    first = widgets.check(widget(replicas=1, url="https://example.com"))
    assert first.messages == []
    assert len(first.unevaluated) == 1 and "isURL(self.url)" in first.unevaluated[0]
    assert "undeclared reference to 'isURL'" in first.unevaluated[0]
    assert widgets.check(widget(replicas=2, url="not a url")).unevaluated == []


def test_aiapp_check_reports_it_once_as_info(tmp_path: Path, widgets: SchemaValidator) -> None:
    for name in ("a", "b"):
        (tmp_path / f"{name}.yaml").write_text(
            f"apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: {name}\n  namespace: ai\n"
            "spec:\n  mode: new\n  replicas: 1\n  url: https://example.com\n"
        )
    options = Options(schemas=True, schema_location=widgets.location, build=False)
    report = check_paths([str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml")], options)
    notes = [item for item in report.findings if item.rule_id == "AIA014"]
    assert len(notes) == 1 and notes[0].severity.value == "info" and notes[0].file.endswith("a.yaml")
    assert not report.failed(strict=True) or [item.rule_id for item in report.findings] == ["AIA014"]
    assert not report.failed(strict=False)


def test_the_cel_runtime_loads_only_with_schemas(tmp_path: Path) -> None:
    """`aiapp --help` and a check without --schemas never import the C++ runtime."""
    (tmp_path / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: ai\n"
    )
    code = (
        "import sys\nfrom generator.policy import Options, check_paths\n"
        f"check_paths([{str(tmp_path / 'cm.yaml')!r}], Options(build=False))\n"
        "print('cel_expr_python' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_an_operand_of_the_wrong_type_is_rejected_as_the_server_does(widgets: SchemaValidator) -> None:
    """An int-or-string is dynamic for the server too: a string compared with an int fails the rule."""
    assert widgets.validate(widget(replicas=1, limits={"size": 3})) == []
    [message] = widgets.validate(widget(replicas=1, limits={"size": "big"}))
    assert message.startswith("spec.limits: 'UNKNOWN: No matching overloads")
    assert message.endswith(
        "call arguments did not match a supported operator, function or macro signature "
        "for rule: size below 10"
    )


def test_a_formatted_string_the_server_types_is_named_not_judged(widgets: SchemaValidator) -> None:
    """`format: date-time` is a timestamp for the server, a string here: the rule is named, never failed."""
    checked = widgets.check(widget(replicas=1, window={"until": "2029-01-01T00:00:00Z"}))
    assert checked.messages == []
    [named] = [text for text in checked.unevaluated if "self.until" in text]
    assert "a formatted string is a plain string here" in named
