"""Hardening baseline for every container and init container.

The ai-apps patterns inherit the general Kubernetes rules (`INHERITS FROM: /k8s/AGENTS.md`); issue 5
spells out the baseline checked here, and the template's own AGENTS.md repeats it for each app.
"""

from __future__ import annotations

from collections.abc import Iterator

from generator.cluster.facts import Cluster
from generator.policy.k8s import (
    LONG_RUNNING_KINDS,
    WORKLOAD_KINDS,
    Container,
    Pod,
    containers,
    dig,
    mapping,
)
from generator.policy.model import Applies, Hit, K8sObject, Severity, YamlPath
from generator.policy.registry import each_pod, object_rule
from generator.policy.rules.serving import is_vllm, serves_api

SECTION = "AI Applications - Specialized Patterns > header (the inherited general Kubernetes rules)"
QUOTE = "INHERITS FROM: /k8s/AGENTS.md"
KINDS = sorted(WORKLOAD_KINDS)


def _context(container: Container) -> dict[str, object]:
    return mapping(container.data.get("securityContext"))


def _where(container: Container, *keys: str) -> YamlPath:
    """The deepest existing path of securityContext.<keys> (the container itself when it has none)."""
    path: YamlPath = container.path
    value: object = container.data
    for key in ("securityContext", *keys):
        value = mapping(value).get(key)
        if value is None:
            break
        path = (*path, key)
    return path


@object_rule(
    id="AIA701",
    slug="run-as-non-root",
    title="Containers run as non-root",
    severity=Severity.ERROR,
    family="hardening",
    section=SECTION,
    quote=QUOTE,
    why="A process running as root inside the container is one kernel bug away from root on the node.",
    fix="Set `securityContext.runAsNonRoot: true` on the pod (and a non-zero runAsUser, e.g. 10001); never "
    "runAsUser 0.",
    applies=Applies.SCOPE,
    kinds=KINDS,
)
@each_pod
def run_as_non_root(obj: K8sObject, pod: Pod, cluster: Cluster) -> Iterator[Hit]:
    del cluster
    pod_context = mapping(pod.spec.get("securityContext"))
    pod_path = (*pod.spec_path, "securityContext")
    for container in containers(pod):
        context = _context(container)
        if "runAsUser" in context or "runAsUser" in pod_context:
            user = context.get("runAsUser", pod_context.get("runAsUser"))
            if user == 0:
                where = _where(container, "runAsUser") if "runAsUser" in context else (*pod_path, "runAsUser")
                yield Hit(where, f"{container.label} runs as uid 0 (root)")
                continue
        value = context.get("runAsNonRoot", pod_context.get("runAsNonRoot"))
        if value is True:
            continue
        if "runAsNonRoot" in context:
            where = _where(container, "runAsNonRoot")
        elif "runAsNonRoot" in pod_context:
            where = (*pod_path, "runAsNonRoot")
        else:
            where = container.path
        state = "false" if value is False else "not set on the container or the pod"
        yield Hit(where, f"{container.label}: runAsNonRoot is {state}")


@object_rule(
    id="AIA702",
    slug="no-privilege-escalation",
    title="Containers set allowPrivilegeEscalation: false",
    severity=Severity.ERROR,
    family="hardening",
    section=SECTION,
    quote=QUOTE,
    why="Without it, setuid binaries can gain more privileges than the process started with (it defaults "
    "to true); a privileged container has every privilege.",
    fix="Set `securityContext.allowPrivilegeEscalation: false` on every container and init container, and "
    "remove `privileged: true`.",
    applies=Applies.SCOPE,
    kinds=KINDS,
)
@each_pod
def no_privilege_escalation(obj: K8sObject, pod: Pod, cluster: Cluster) -> Iterator[Hit]:
    del cluster
    for container in containers(pod):
        context = _context(container)
        if context.get("privileged") is True:
            yield Hit(_where(container, "privileged"), f"{container.label} is privileged")
        elif context.get("allowPrivilegeEscalation") is not False:
            state = (
                "true" if context.get("allowPrivilegeEscalation") is True else "not set (it defaults to true)"
            )
            yield Hit(
                _where(container, "allowPrivilegeEscalation"),
                f"{container.label}: allowPrivilegeEscalation is {state}",
            )


@object_rule(
    id="AIA703",
    slug="drop-all-capabilities",
    title="Containers drop ALL capabilities",
    severity=Severity.ERROR,
    family="hardening",
    section=SECTION,
    quote=QUOTE,
    why="The default capability set (CHOWN, NET_RAW, SETUID, ...) is more than an app needs.",
    fix="Set `securityContext.capabilities.drop: [ALL]` on every container; add back only what is needed.",
    applies=Applies.SCOPE,
    kinds=KINDS,
)
@each_pod
def drop_all_capabilities(obj: K8sObject, pod: Pod, cluster: Cluster) -> Iterator[Hit]:
    del cluster
    for container in containers(pod):
        drop = dig(container.data, "securityContext", "capabilities", "drop")
        if not isinstance(drop, list) or "ALL" not in drop:
            shown = "not set" if not isinstance(drop, list) else "[" + ", ".join(map(str, drop)) + "]"
            yield Hit(
                _where(container, "capabilities", "drop"),
                f"{container.label}: capabilities.drop is {shown}, without ALL",
            )


@object_rule(
    id="AIA704",
    slug="seccomp-runtime-default",
    title="Containers use the RuntimeDefault seccomp profile",
    severity=Severity.ERROR,
    family="hardening",
    section=SECTION,
    quote=QUOTE,
    why="Without a seccomp profile, containers run Unconfined: every system call is allowed.",
    fix="Set `securityContext.seccompProfile.type: RuntimeDefault` on the pod (or Localhost with a profile).",
    applies=Applies.SCOPE,
    kinds=KINDS,
)
@each_pod
def seccomp_runtime_default(obj: K8sObject, pod: Pod, cluster: Cluster) -> Iterator[Hit]:
    del cluster
    pod_type = dig(pod.spec, "securityContext", "seccompProfile", "type")
    for container in containers(pod):
        own = dig(container.data, "securityContext", "seccompProfile", "type")
        effective = own if own is not None else pod_type
        if effective in ("RuntimeDefault", "Localhost"):
            continue
        if own is not None:
            where = _where(container, "seccompProfile", "type")
        elif pod_type is not None:
            where = (*pod.spec_path, "securityContext", "seccompProfile", "type")
        else:
            where = container.path
        state = effective if effective is not None else "not set on the container or the pod (Unconfined)"
        yield Hit(where, f"{container.label}: seccompProfile type is {state}")


@object_rule(
    id="AIA705",
    slug="resource-requests-limits",
    title="Containers set cpu and memory requests and limits",
    severity=Severity.ERROR,
    family="hardening",
    section="AI-DOMAIN ANTI-PATTERNS > Resource Management",
    quote="Never underestimate GPU memory requirements for LLM inference",
    why="Without requests the scheduler cannot place the pod sensibly; without limits one app can starve "
    "the node (model servers grow to fill memory).",
    fix="Set resources.requests and resources.limits for both cpu and memory on every container and init "
    "container (the template sets requests = limits).",
    applies=Applies.SCOPE,
    kinds=KINDS,
)
@each_pod
def resource_requests_limits(obj: K8sObject, pod: Pod, cluster: Cluster) -> Iterator[Hit]:
    del cluster
    for container in containers(pod):
        resources = mapping(container.data.get("resources"))
        missing = [
            f"{section}.{name}"
            for section in ("requests", "limits")
            for name in ("cpu", "memory")
            if mapping(resources.get(section)).get(name) is None
        ]
        if missing:
            where = (*container.path, "resources") if "resources" in container.data else container.path
            yield Hit(where, f"{container.label} sets no {', '.join(missing)}")


@object_rule(
    id="AIA706",
    slug="probes",
    title="Long-running containers have readiness and liveness (or startup) probes",
    severity=Severity.WARNING,
    family="hardening",
    section=SECTION,
    quote=QUOTE,
    why="Without a readiness probe traffic reaches a model server that is still loading; without a liveness "
    "or startup probe a hung server is never restarted. Jobs, CronJobs and init containers are exempt, and "
    "so is a vLLM rank that serves no API: a `--headless` worker of a multi-node engine, or a Ray worker "
    "in the worker template of a LeaderWorkerSet (its group restart policy replaces it with the group).",
    fix="Add readinessProbe and livenessProbe (and a startupProbe for slow model loading) on the app's "
    "health endpoint.",
    applies=Applies.SCOPE,
    kinds=sorted(LONG_RUNNING_KINDS),
)
@each_pod
def probes(obj: K8sObject, pod: Pod, cluster: Cluster) -> Iterator[Hit]:
    for container in containers(pod, init=False):
        if is_vllm(container, cluster.vllm_marker) and not serves_api(obj, pod, container, not pod.leads):
            continue  # a vLLM rank of a multi-node group that serves nothing: no endpoint to probe
        missing = []
        if "readinessProbe" not in container.data:
            missing.append("readinessProbe")
        if "livenessProbe" not in container.data and "startupProbe" not in container.data:
            missing.append("livenessProbe (or startupProbe)")
        if missing:
            yield Hit(container.path, f"{container.label} has no {' and no '.join(missing)}")


@object_rule(
    id="AIA707",
    slug="image-tag",
    title="Images are pinned (no latest, no untagged)",
    severity=Severity.ERROR,
    family="hardening",
    section=SECTION,
    quote=QUOTE,
    why="`latest` or no tag (which means latest) changes under the app without a commit: GitOps can no "
    "longer tell what runs, and rollbacks do not roll back.",
    fix="Pin a version tag (e.g. image:1.4.2) or a digest (image@sha256:...).",
    applies=Applies.SCOPE,
    kinds=KINDS,
)
@each_pod
def image_tag(obj: K8sObject, pod: Pod, cluster: Cluster) -> Iterator[Hit]:
    del cluster
    for container in containers(pod):
        image = container.data.get("image")
        if not isinstance(image, str) or not image.strip():
            yield Hit(container.path, f"{container.label} has no image")
            continue
        if "@" in image:
            continue
        last = image.rsplit("/", 1)[-1]
        if ":" not in last:
            yield Hit(
                (*container.path, "image"), f'{container.label} image "{image}" has no tag (it means latest)'
            )
        elif last.rsplit(":", 1)[1].lower() == "latest":
            yield Hit((*container.path, "image"), f'{container.label} image "{image}" uses the latest tag')
