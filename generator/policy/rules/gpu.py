"""GPU rules: the resource name, equal requests and limits, node selector and toleration."""

from __future__ import annotations

from collections.abc import Iterator

from generator.cluster.facts import Cluster
from generator.policy.k8s import WORKLOAD_KINDS, Container, Pod, containers, dig, mapping, pod_of, sequence
from generator.policy.model import Applies, Hit, K8sObject, Severity, YamlPath
from generator.policy.registry import object_rule

SECTION = "GPU Access Pattern"


def gpu_keys(container: Container) -> Iterator[tuple[str, str, YamlPath]]:
    """(requests|limits, resource name, path) of every resource whose name mentions a GPU."""
    resources = mapping(container.data.get("resources"))
    for section in ("requests", "limits"):
        for key in mapping(resources.get(section)):
            if "gpu" in str(key).lower():
                yield section, str(key), (*container.path, "resources", section, key)


def uses_gpu(pod: Pod) -> bool:
    """A GPU workload: some container asks for a GPU resource, spelt right or wrong."""
    return any(True for container in containers(pod) for _ in gpu_keys(container))


@object_rule(
    id="AIA101",
    slug="gpu-resource-name",
    title="GPU resource is {gpu_resource}",
    severity=Severity.ERROR,
    family="gpu",
    section=f"{SECTION} > Requirements; AI-DOMAIN ANTI-PATTERNS > Resource Management",
    quote="Use `nvidia.com/gpu` resource name (not standard `gpu`)",
    why="The NVIDIA device plugin advertises `{gpu_resource}`; any other name (`gpu`, a misspelling, "
    "another vendor's resource) is refused by the API server or never allocated, so the pod stays Pending.",
    fix="Rename the resource to `{gpu_resource}` in both resources.requests and resources.limits.",
    applies=Applies.SCOPE,
    kinds=sorted(WORKLOAD_KINDS),
)
def gpu_resource_name(obj: K8sObject, cluster: Cluster) -> Iterator[Hit]:
    pod = pod_of(obj)
    if pod is None:
        return
    for container in containers(pod):
        for section, key, path in gpu_keys(container):
            if key != cluster.gpu_resource:
                yield Hit(
                    path,
                    f'{container.label} {section} "{key}"; the GPU resource of this cluster is '
                    f'"{cluster.gpu_resource}"',
                )


@object_rule(
    id="AIA102",
    slug="gpu-requests-equal-limits",
    title="GPU requests equal GPU limits",
    severity=Severity.ERROR,
    family="gpu",
    section=SECTION,
    quote="  requests:\n    nvidia.com/gpu: 1\n  limits:\n    nvidia.com/gpu: 1",
    why="GPUs cannot be overcommitted: Kubernetes requires the request of an extended resource to equal "
    "its limit, and refuses a request without a limit. A limit alone is fine: Kubernetes defaults the "
    "request to the limit (kubernetes.io, Schedule GPUs: GPUs are specified in limits, and a limit without "
    "a request is used as the request), although the house pattern writes both.",
    fix="Set resources.requests and resources.limits of `{gpu_resource}` to the same whole number.",
    applies=Applies.SCOPE,
    kinds=sorted(WORKLOAD_KINDS),
)
def gpu_requests_equal_limits(obj: K8sObject, cluster: Cluster) -> Iterator[Hit]:
    pod = pod_of(obj)
    if pod is None:
        return
    gpu = cluster.gpu_resource
    for container in containers(pod):
        resources = mapping(container.data.get("resources"))
        requests, limits = mapping(resources.get("requests")), mapping(resources.get("limits"))
        wanted, limit = requests.get(gpu), limits.get(gpu)
        base = (*container.path, "resources")
        if wanted is None and limit is None:
            continue
        if limit is None:
            yield Hit(
                (*base, "requests", gpu), f"{container.label} requests {wanted} {gpu} but sets no limit"
            )
        elif wanted is not None and str(wanted) != str(limit):
            yield Hit(
                (*base, "requests", gpu), f"{container.label} requests {wanted} {gpu} but limits {limit}"
            )


def _affinity_requires(spec: dict[str, object], label: str, value: str) -> bool:
    """Every required node-affinity term demands `label In [value]`."""
    terms = sequence(
        dig(
            spec,
            "affinity",
            "nodeAffinity",
            "requiredDuringSchedulingIgnoredDuringExecution",
            "nodeSelectorTerms",
        )
    )
    return bool(terms) and all(
        any(
            isinstance(expression, dict)
            and expression.get("key") == label
            and expression.get("operator") == "In"
            and sequence(expression.get("values")) == [value]
            for expression in sequence(mapping(term).get("matchExpressions"))
        )
        for term in terms
    )


def _shown(pairs: tuple[tuple[str, str], ...]) -> str:
    return ", ".join(f'{key}: "{value}"' for key, value in pairs)


@object_rule(
    id="AIA103",
    slug="gpu-node-selector",
    title="GPU workloads select GPU nodes ({gpu_node_selector})",
    severity=Severity.ERROR,
    family="gpu",
    section=f"{SECTION}; AI-DOMAIN ANTI-PATTERNS > Resource Management",
    quote="Never skip GPU node affinity for GPU workloads",
    why="Without the selector the scheduler may try nodes without GPUs; the cluster profile's node "
    "selector (`{gpu_node_selector}`) marks the GPU nodes.",
    fix="Add the profile's node selector ({gpu_node_selector}) to the pod template's `nodeSelector` (or a "
    "required node affinity on those labels).",
    applies=Applies.SCOPE,
    kinds=sorted(WORKLOAD_KINDS),
)
def gpu_node_selector(obj: K8sObject, cluster: Cluster) -> Iterator[Hit]:
    pod = pod_of(obj)
    if pod is None or not uses_gpu(pod):
        return
    selector = pod.spec.get("nodeSelector")
    wanted = _shown(cluster.gpu_node_selector)
    for label, expected in cluster.gpu_node_selector:
        value = mapping(selector).get(label)
        if value == expected or _affinity_requires(pod.spec, label, expected):
            continue
        if value is not None and str(value).lower() == expected.lower() and not isinstance(value, str):
            yield Hit(
                (*pod.spec_path, "nodeSelector", label),
                f"nodeSelector {label} is the YAML {type(value).__name__} {value}; node selector values are "
                f'strings: write "{expected}"',
            )
        elif value is not None:
            yield Hit(
                (*pod.spec_path, "nodeSelector", label),
                f'nodeSelector {label} is "{value}"; GPU nodes are labelled {label}="{expected}"',
            )
        else:
            where = (*pod.spec_path, "nodeSelector") if selector is not None else pod.spec_path
            yield Hit(
                where,
                f'the pod requests a GPU but has no nodeSelector {label}: "{expected}" (nor a required node '
                f"affinity); GPU nodes are selected by {wanted}",
            )
        return


def _tolerates(toleration: dict[str, object], wanted: dict[str, str]) -> bool:
    """Whether a pod's toleration covers the taint the profile's toleration stands for.

    Kubernetes: an empty key with Exists tolerates every taint; an empty effect every effect; Exists
    matches any value, Equal only its own.
    """
    key, operator = toleration.get("key") or "", toleration.get("operator") or "Equal"
    effect = toleration.get("effect") or ""
    if effect and effect != wanted.get("effect"):
        return False
    if operator == "Exists":
        return key in ("", wanted.get("key"))
    if key != wanted.get("key") or wanted.get("operator") != "Equal":
        return False
    return str(toleration.get("value", "")) == wanted.get("value", "")


@object_rule(
    id="AIA104",
    slug="gpu-toleration",
    title="GPU workloads tolerate the GPU nodes' taints ({gpu_tolerations})",
    severity=Severity.ERROR,
    family="gpu",
    section=SECTION,
    quote='tolerations:\n- key: "nvidia.com/gpu"\n  operator: "Exists"\n  effect: "NoSchedule"',
    why="GPU nodes carry the taints the cluster profile's tolerations name ({gpu_tolerations}); a pod "
    "that does not tolerate them is never scheduled on them.",
    fix="Add the profile's tolerations to the pod template spec: {gpu_tolerations}.",
    applies=Applies.SCOPE,
    kinds=sorted(WORKLOAD_KINDS),
)
def gpu_toleration(obj: K8sObject, cluster: Cluster) -> Iterator[Hit]:
    pod = pod_of(obj)
    if pod is None or not uses_gpu(pod):
        return
    tolerations = pod.spec.get("tolerations")
    written = [(index, item) for index, item in enumerate(sequence(tolerations)) if isinstance(item, dict)]
    for pairs in cluster.gpu_tolerations:
        wanted = dict(pairs)
        if any(_tolerates(item, wanted) for _, item in written):
            continue
        taint = (
            f"{wanted.get('key')}{'=' + wanted['value'] if 'value' in wanted else ''}:{wanted.get('effect')}"
        )
        near = next(((index, item) for index, item in written if item.get("key") == wanted.get("key")), None)
        if near is not None:
            index, item = near
            yield Hit(
                (*pod.spec_path, "tolerations", index),
                f"the toleration of {wanted.get('key')} (operator {item.get('operator', 'Equal')}, effect "
                f"{item.get('effect') or 'any'}) does not match the GPU nodes' taint {taint}; use "
                + (
                    "operator Exists"
                    if wanted.get("operator") == "Exists"
                    else f'value "{wanted.get("value")}"'
                )
                + f" and effect {wanted.get('effect')}",
            )
        else:
            where = (*pod.spec_path, "tolerations") if tolerations is not None else pod.spec_path
            yield Hit(where, f"the pod requests a GPU but does not tolerate the GPU nodes' taint {taint}")
        return
