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
    "its limit, and the house pattern writes both explicitly.",
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
        elif wanted is None:
            yield Hit((*base, "limits", gpu), f"{container.label} limits {limit} {gpu} but sets no request")
        elif str(wanted) != str(limit):
            yield Hit(
                (*base, "requests", gpu), f"{container.label} requests {wanted} {gpu} but limits {limit}"
            )


def _affinity_requires(spec: dict[str, object], label: str) -> bool:
    """Every required node-affinity term demands `label In [true]`."""
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
            and "true" in sequence(expression.get("values"))
            for expression in sequence(mapping(term).get("matchExpressions"))
        )
        for term in terms
    )


@object_rule(
    id="AIA103",
    slug="gpu-node-selector",
    title='GPU workloads select GPU nodes ({gpu_node_label}: "true")',
    severity=Severity.ERROR,
    family="gpu",
    section=f"{SECTION}; AI-DOMAIN ANTI-PATTERNS > Resource Management",
    quote="Never skip GPU node affinity for GPU workloads",
    why="Without the selector the scheduler may try nodes without GPUs; the label `{gpu_node_label}=true` "
    "marks the GPU nodes.",
    fix='Add `nodeSelector: {{{gpu_node_label}: "true"}}` to the pod template spec (or a required node '
    "affinity on that label).",
    applies=Applies.SCOPE,
    kinds=sorted(WORKLOAD_KINDS),
)
def gpu_node_selector(obj: K8sObject, cluster: Cluster) -> Iterator[Hit]:
    pod = pod_of(obj)
    if pod is None or not uses_gpu(pod):
        return
    label = cluster.gpu_node_label
    selector = pod.spec.get("nodeSelector")
    value = mapping(selector).get(label)
    if value == "true" or _affinity_requires(pod.spec, label):
        return
    if value is True:
        yield Hit(
            (*pod.spec_path, "nodeSelector", label),
            f'nodeSelector {label} is the YAML boolean true; node selector values are strings: write "true"',
        )
    elif value is not None:
        yield Hit(
            (*pod.spec_path, "nodeSelector", label),
            f'nodeSelector {label} is "{value}"; GPU nodes are labelled {label}="true"',
        )
    else:
        where = (*pod.spec_path, "nodeSelector") if selector is not None else pod.spec_path
        yield Hit(
            where,
            f'the pod requests a GPU but has no nodeSelector {label}: "true" (nor a required node affinity)',
        )


@object_rule(
    id="AIA104",
    slug="gpu-toleration",
    title="GPU workloads tolerate the {gpu_resource} taint",
    severity=Severity.ERROR,
    family="gpu",
    section=SECTION,
    quote='tolerations:\n- key: "nvidia.com/gpu"\n  operator: "Exists"\n  effect: "NoSchedule"',
    why="GPU nodes carry the `{gpu_resource}` NoSchedule taint; a pod without the toleration is never "
    "scheduled on them.",
    fix='Add to the pod template spec: `tolerations: [{{key: "{gpu_resource}", operator: Exists, '
    "effect: NoSchedule}}]`.",
    applies=Applies.SCOPE,
    kinds=sorted(WORKLOAD_KINDS),
)
def gpu_toleration(obj: K8sObject, cluster: Cluster) -> Iterator[Hit]:
    pod = pod_of(obj)
    if pod is None or not uses_gpu(pod):
        return
    tolerations = pod.spec.get("tolerations")
    near_miss: tuple[int, str] | None = None
    for index, toleration in enumerate(sequence(tolerations)):
        if not isinstance(toleration, dict) or toleration.get("effect") not in (None, "", "NoSchedule"):
            continue
        key, operator = toleration.get("key"), toleration.get("operator", "Equal")
        if operator == "Exists" and key in (None, "", cluster.gpu_resource):
            return
        if key == cluster.gpu_resource:
            near_miss = (index, str(operator))
    if near_miss is not None:
        index, operator = near_miss
        yield Hit(
            (*pod.spec_path, "tolerations", index, "operator"),
            f"the {cluster.gpu_resource} toleration uses operator {operator}; use Exists so it matches the "
            "taint whatever its value",
        )
        return
    where = (*pod.spec_path, "tolerations") if tolerations is not None else pod.spec_path
    yield Hit(
        where, f"the pod requests a GPU but does not tolerate the {cluster.gpu_resource} NoSchedule taint"
    )
