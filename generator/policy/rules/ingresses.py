"""Ingress objects (`networking.k8s.io/v1`), for clusters whose profile says `ingress.kind: ingress`:
the Ingress counterparts of the HTTPRoute rules AIA901 and AIA902.

Sources: the Ingress API (kubernetes.io, "Ingress": `spec.ingressClassName` names the IngressClass whose
controller implements it; without it the cluster's default IngressClass does; a backend names a Service
and a port by `number` or `name`, and `defaultBackend` serves what no rule matches). Streaming timeouts
are the controller's own annotations (Traefik, ingress-nginx), so the profile's `ingress.annotations`
says which ones the cluster's class needs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from generator.cluster.facts import Cluster, cluster_for
from generator.policy.k8s import mapping, sequence
from generator.policy.model import Hit, Severity, Summary, YamlPath
from generator.policy.registry import set_rule

FAMILY = "apps"
LEGACY_CLASS = "kubernetes.io/ingress.class"


def _backends(ingress: Summary) -> Iterator[tuple[YamlPath, dict[str, Any]]]:
    """(path, service backend) of the default backend and of every rule path."""
    spec = mapping(ingress.spec)
    default = mapping(mapping(spec.get("defaultBackend")).get("service"))
    if default:
        yield ("spec", "defaultBackend", "service"), default
    for index, rule in enumerate(sequence(spec.get("rules"))):
        for position, item in enumerate(sequence(mapping(mapping(rule).get("http")).get("paths"))):
            service = mapping(mapping(mapping(item).get("backend")).get("service"))
            if service:
                yield ("spec", "rules", index, "http", "paths", position, "backend", "service"), service


def _service(name: Any, ingress: Summary, summaries: Sequence[Summary]) -> Summary | None:
    return next(
        (s for s in summaries if s.kind == "Service" and s.name == name and s.namespace == ingress.namespace),
        None,
    )


def _ingresses(summaries: Sequence[Summary]) -> list[Summary]:
    return [s for s in summaries if s.kind == "Ingress"]


@set_rule(
    id="AIA909",
    slug="ingress-wrong-class-or-port",
    title="Ingresses use the cluster's IngressClass and reach a port their Service has",
    severity=Severity.ERROR,
    family=FAMILY,
    section=None,
    quote=None,
    why="An Ingress whose `ingressClassName` is not the profile's `ingress.class` is served by no "
    "controller of this cluster, and a backend whose port (number or name) the Service does not expose "
    "gets no endpoints: either way the app is unreachable, silently.",
    fix="Set `spec.ingressClassName` to the profile's class and the backend's `service.port` to one of the "
    "Service's ports (`number`) or port names (`name`).",
)
def ingress_wrong_class_or_port(
    summaries: Sequence[Summary], cluster: Cluster
) -> Iterator[tuple[Summary, Hit]]:
    del cluster
    for ingress in _ingresses(summaries):
        facts = cluster_for(ingress.origin.file)
        written = mapping(ingress.spec).get("ingressClassName") or (ingress.annotations or {}).get(
            LEGACY_CLASS
        )
        if (
            facts.ingress_kind == "ingress"
            and facts.ingress_class
            and written
            and written != facts.ingress_class
        ):
            where: YamlPath = (
                ("spec", "ingressClassName") if "ingressClassName" in mapping(ingress.spec) else ()
            )
            yield (
                ingress,
                Hit(where, f'IngressClass "{written}" is not the cluster\'s "{facts.ingress_class}"'),
            )
        for path, backend in _backends(ingress):
            service = _service(backend.get("name"), ingress, summaries)
            if service is None:
                continue
            port = mapping(backend.get("port"))
            ports = [mapping(item) for item in sequence(mapping(service.spec).get("ports"))]
            if "number" in port and port["number"] not in [item.get("port") for item in ports]:
                shown = ", ".join(str(item.get("port")) for item in ports) or "none"
                yield (
                    ingress,
                    Hit(
                        (*path, "port", "number"),
                        f'Service "{service.name}" has no port {port["number"]} (its ports: {shown})',
                    ),
                )
            elif "name" in port and port["name"] not in [item.get("name") for item in ports]:
                shown = ", ".join(str(item.get("name")) for item in ports if item.get("name")) or "none"
                yield (
                    ingress,
                    Hit(
                        (*path, "port", "name"),
                        f'Service "{service.name}" has no port named "{port["name"]}" (its names: {shown})',
                    ),
                )


@set_rule(
    id="AIA910",
    slug="ingress-cuts-streams",
    title="Ingresses to model and chat apps carry the class's streaming annotations ({ingress_annotations})",
    severity=Severity.ERROR,
    family=FAMILY,
    section=None,
    quote=None,
    why="An Ingress controller's default timeouts and buffering can cut or hold back a streamed LLM answer; "
    "the profile's `ingress.annotations` are what the cluster's class needs for streaming. An Ingress whose "
    "backend is a model server or an LLM client (as for AIA901) carries each of them, with its value.",
    fix="Add the profile's annotations to the Ingress: {ingress_annotations}.",
)
def ingress_cuts_streams(summaries: Sequence[Summary], cluster: Cluster) -> Iterator[tuple[Summary, Hit]]:
    del cluster
    workloads = [s for s in summaries if s.pod_labels is not None]
    for ingress in _ingresses(summaries):
        facts = cluster_for(ingress.origin.file)
        if facts.ingress_kind != "ingress" or not facts.ingress_annotations:
            continue
        streaming = False
        for _, backend in _backends(ingress):
            service = _service(backend.get("name"), ingress, summaries)
            selector = {
                str(k): str(v)
                for k, v in mapping(mapping(service.spec if service else {}).get("selector")).items()
            }
            streaming |= bool(selector) and any(
                w.llm
                and w.namespace == ingress.namespace
                and selector.items() <= (w.pod_labels or {}).items()
                for w in workloads
            )
        if not streaming:
            continue
        annotations = ingress.annotations or {}
        for key, value in facts.ingress_annotations:
            if annotations.get(key) != value:
                had = f' (it has "{annotations[key]}")' if key in annotations else ""
                yield (
                    ingress,
                    Hit(
                        ("metadata",),
                        f'the backend streams LLM answers, but the Ingress lacks {key}: "{value}"{had}',
                    ),
                )
