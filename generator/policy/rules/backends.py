"""Route backends (HTTPRoute `backendRefs`, Ingress `service` backends) and AIA911: a backend that no
build of the repository deploys.

Evidence threshold: a missing Service is reported only where the run can know the namespace's Services:
it holds another Service or a workload in that namespace (the repository deploys there), and no object
that makes Services of its own there (a Flux HelmRelease renders its chart's Services, an Argo CD
Application another source's). A route to a namespace the repository does not otherwise deploy (a chart
installed elsewhere, another repository) is never reported, nor a backend named after an operator's
custom resource of that namespace (CloudNativePG names its Services `<cluster>-rw`, `-ro`, `-r`:
cloudnative-pg.io, "Service Management"; KServe `<name>-predictor`).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from generator.cluster.facts import Cluster
from generator.policy.k8s import mapping, sequence
from generator.policy.model import Hit, Severity, Summary, YamlPath
from generator.policy.registry import set_rule

ROUTE_KINDS = frozenset({"HTTPRoute", "Ingress"})


@dataclass(frozen=True)
class Backend:
    """One Service a route or an Ingress sends traffic to."""

    path: YamlPath
    name: str
    namespace: str | None


def backends(route: Summary) -> Iterator[Backend]:
    """The Service backends of an HTTPRoute (each rule's backendRefs) or an Ingress (its default backend
    and every path's)."""
    spec = mapping(route.spec)
    if route.kind == "HTTPRoute":
        for index, rule in enumerate(sequence(spec.get("rules"))):
            for position, ref in enumerate(sequence(mapping(rule).get("backendRefs"))):
                ref = mapping(ref)
                if ref.get("kind", "Service") != "Service" or ref.get("group", "") not in ("", "core"):
                    continue
                if ref.get("name") is None:
                    continue
                namespace = ref.get("namespace", route.namespace)
                yield Backend(
                    ("spec", "rules", index, "backendRefs", position, "name"),
                    str(ref["name"]),
                    None if namespace is None else str(namespace),
                )
    elif route.kind == "Ingress":
        default = mapping(mapping(spec.get("defaultBackend")).get("service"))
        if default.get("name") is not None:
            yield Backend(
                ("spec", "defaultBackend", "service", "name"), str(default["name"]), route.namespace
            )
        for index, rule in enumerate(sequence(spec.get("rules"))):
            for position, item in enumerate(sequence(mapping(mapping(rule).get("http")).get("paths"))):
                service = mapping(mapping(mapping(item).get("backend")).get("service"))
                if service.get("name") is not None:
                    yield Backend(
                        ("spec", "rules", index, "http", "paths", position, "backend", "service", "name"),
                        str(service["name"]),
                        route.namespace,
                    )


def routes(summaries: Sequence[Summary]) -> list[Summary]:
    return [s for s in summaries if s.kind in ROUTE_KINDS]


def _prefixes(name: str) -> list[str]:
    """`llama-predictor` → [llama-predictor, llama]: the names an operator's resource may have."""
    parts = name.split("-")
    return ["-".join(parts[:end]) for end in range(len(parts), 0, -1)]


def _service_makers(summaries: Sequence[Summary]) -> set[str | None]:
    return {
        str(mapping(s.spec).get("targetNamespace") or s.namespace)
        for s in summaries
        if s.kind == "HelmRelease"
    }


@set_rule(
    id="AIA911",
    slug="route-backend-not-deployed",
    title="Routes and Ingresses send traffic to a Service the repository deploys",
    severity=Severity.ERROR,
    family="apps",
    section=None,
    quote=None,
    why="An HTTPRoute backendRef or an Ingress backend that names a Service no build deploys answers "
    "every request with an error (Gateway API: 500 for an unresolved backendRef; an Ingress controller: "
    "503). Reported only where the run can know: the repository deploys other Services or workloads in "
    "that namespace, nothing there renders Services of its own (a Flux HelmRelease, an Argo CD "
    "Application), and the backend is not named after an operator's custom resource there "
    "(CloudNativePG's `<cluster>-rw`, KServe's `<name>-predictor`). Check the whole repository, not one "
    "app, so that every build is read.",
    fix="Point the backend at the Service the app's build creates (the finding names the closest name in "
    "that namespace), or add that Service to the app's build.",
)
def route_backend_not_deployed(
    summaries: Sequence[Summary], cluster: Cluster
) -> Iterator[tuple[Summary, Hit]]:
    del cluster
    services: dict[str | None, set[str]] = {}
    deployed: set[str | None] = set()
    for summary in summaries:
        if summary.kind == "Service":
            services.setdefault(summary.namespace, set()).add(summary.name)
            deployed.add(summary.namespace)
        elif summary.pod_labels is not None:
            deployed.add(summary.namespace)
    makers = _service_makers(summaries)
    custom = {(s.namespace, s.name) for s in summaries if s.custom}
    for route in routes(summaries):
        for backend in backends(route):
            namespace = backend.namespace
            known = services.get(namespace, set())
            if backend.name in known or namespace not in deployed or namespace in makers:
                continue
            if any((namespace, prefix) in custom for prefix in _prefixes(backend.name)):
                continue  # an operator's Service, named after its custom resource
            close = difflib.get_close_matches(backend.name, sorted(known), n=1, cutoff=0.6)
            hint = f'; did you mean "{close[0]}"?' if close else ""
            where = f'namespace "{namespace}"' if namespace else "the route's namespace (none set)"
            yield (
                route,
                Hit(
                    backend.path,
                    f'{route.kind} sends traffic to Service "{backend.name}", which no build deploys in '
                    f"{where} (it has {len(known)} other Service(s)){hint}",
                ),
            )
