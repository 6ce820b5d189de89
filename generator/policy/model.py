"""The data the checker passes around: objects read from files, rule hits, findings.

Everything here is small and picklable, so that files can be checked in worker processes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from generator.cluster.capacity import Demand

YamlPath = tuple[str | int, ...]


class Severity(StrEnum):
    """How bad a finding is: errors fail the check, warnings only with --strict, notes never."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Applies(StrEnum):
    """Which objects a rule governs (shown in docs/rules.md): the scope of `check:` in `.aiapp.yml`."""

    # Every file read: the input itself (the paths of the scope still apply, its namespaces cannot).
    FILES = "files"
    # Objects in scope, the shared services (Qdrant, LiteLLM) included.
    SCOPE = "scope"
    # Objects in scope that are apps: not the shared services themselves.
    APPS = "apps"


@dataclass(frozen=True, slots=True)
class Hit:
    """What a rule reports about one object: where (a path inside the object) and what."""

    path: YamlPath
    message: str
    # Character offset inside the string at `path`, to point at the right line of a block scalar.
    offset: int | None = None


@dataclass(frozen=True, slots=True)
class Origin:
    """Where an object's text is: a document of a file (lines found on demand), or a fixed line."""

    file: str
    doc: int | None = None
    prefix: YamlPath = ()
    line: int = 1


@dataclass(frozen=True, slots=True)
class Build:
    """The kustomize build an object came out of, to tell a value set by a patch from its source line."""

    kustomization: str
    # The kustomization files of the build that patch, transform or generate (nearest the root first).
    modifiers: tuple[str, ...]
    # Files a patched value may be written in (patches, transformer configs, the modifiers themselves),
    # each with the kustomization file that names it.
    patch_files: tuple[tuple[str, str], ...]
    # (kustomization file, its fields that change objects, the files whose objects it builds): to name
    # only the kustomizations that can have changed a given object's field.
    changers: tuple[tuple[str, frozenset[str], frozenset[str]], ...] = ()


@dataclass(slots=True)
class K8sObject:
    """One Kubernetes object and where it came from."""

    data: dict[str, Any]
    origin: Origin
    namespace: str | None
    directory: str
    # For a built object: the build, and the source document (or generator entry) it was made from.
    build: Build | None = None
    source: dict[str, Any] | None = None
    generated: bool = False
    kind: str = field(init=False)
    # Values derived once and shared by the rules (the pod template, for instance).
    memo: dict[str, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.kind = str(self.data.get("kind", ""))
        self.memo = {}

    @property
    def api_version(self) -> str:
        return str(self.data.get("apiVersion", ""))

    @property
    def name(self) -> str:
        metadata = self.data.get("metadata")
        name = metadata.get("name") if isinstance(metadata, dict) else None
        return str(name) if name is not None else ""

    @property
    def ref(self) -> str:
        """kind/namespace/name, as a Kubernetes engineer would name it."""
        parts = [self.kind, self.namespace, self.name or "(no name)"]
        return "/".join(part for part in parts if part)


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem, ready to report."""

    rule_id: str
    severity: Severity
    message: str
    file: str
    line: int
    object: str
    fix: str
    # The field the finding is about (`spec.template.spec.containers[0].image`): with the rule and the
    # object, the fingerprint a baseline records (never the line, which moves with every edit above).
    field: str = ""

    def sort_key(self) -> tuple[str, int, str, str]:
        return (self.file, self.line, self.rule_id, self.message)


@dataclass(frozen=True, slots=True)
class Summary:
    """The few facts of an object that rules across objects need (network coverage, pod backup tier)."""

    kind: str
    name: str
    namespace: str | None
    ref: str
    origin: Origin
    suppressed: frozenset[str]
    # In the scope of `check:` (else the summary only helps judge the objects in scope), and which
    # shared service the object belongs to ("" for an app).
    in_scope: bool = True
    shared: str = ""
    # (rule id, reason) of the object's suppressions.
    reasons: tuple[tuple[str, str], ...] = ()
    pod_labels: dict[str, str] | None = None
    pod_labels_path: YamlPath = ()
    service_account: str = "default"
    claims: tuple[tuple[str, str | None], ...] = ()
    pod_tier: str | None = None
    selectors: tuple[dict[str, Any], ...] = ()
    selector_paths: tuple[YamlPath, ...] = ()
    # Per selector of a Cilium policy (same order): its egress facts, for the DNS rule across policies.
    egress: tuple[Egress, ...] = ()
    # Per selector of a Cilium policy (same order): whether its spec denies ingress by default.
    ingress_deny: tuple[bool, ...] = ()
    cluster_wide: bool = False
    tier: str | None = None
    # Workloads: the replicas (None: unset, 1) and whether it serves or calls a model (streams answers).
    replicas: int | None = None
    llm: bool = False
    model_server: bool = False
    admits_litellm: bool = False
    # Services, routes, monitors, disruption budgets and PVCs: their spec, for the rules across objects.
    spec: dict[str, Any] | None = None
    labels: dict[str, str] | None = None
    # Ingresses: their annotations (the class and the controller's streaming settings).
    annotations: dict[str, str] | None = None
    # Network policies (Cilium's and Kubernetes'): the peers of their rules, for the rules about whom a
    # policy lets in or out (rules/peers.py).
    peers: tuple[Peer, ...] = ()
    # Model servers: the engine ("vllm", "ollama", "llama.cpp"; "" for other workloads) and whether the
    # server requires an API key of its callers.
    engine: str = ""
    api_key: bool = False
    # An operator's custom resource (an API group outside Kubernetes' own): the Services an operator
    # creates are named after it (CloudNativePG's `<cluster>-rw`, KServe's `<name>-predictor`).
    custom: bool = False
    # Workloads holding GPUs in a pool of the profile (generator/cluster/capacity.py).
    gpu: Demand | None = None
    # The pods of a LeaderWorkerSet are summarised once per role ("leader", "worker"; "" for other
    # workloads), with the labels its controller adds; `ports` are the vLLM API ports (numbers and
    # names) its leader serves on, on both roles' summaries (empty when the set does not run vLLM).
    role: str = ""
    ports: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Egress:
    """What one spec of a Cilium policy says about egress: whether it has any, allows DNS to kube-dns
    (with the `rules: dns:` section that sends lookups through Cilium's DNS proxy), or uses toFQDNs."""

    rules: int = 0
    dns: bool = False
    dns_proxy: bool = False
    fqdns: bool = False
    # Whether the spec puts the pods it selects in default deny for egress (selectors.default_deny).
    deny: bool = True
    # Paths inside the object: the egress list, the first rule to kube-dns, the first toFQDNs.
    path: YamlPath = ()
    dns_path: YamlPath = ()
    fqdn_path: YamlPath = ()


@dataclass(frozen=True, slots=True)
class Peer:
    """One peer of a network policy rule: the pods it admits (ingress) or reaches (egress).

    `namespaces` are the namespaces it selects (None: every namespace, or ones this check cannot name);
    `selector` is the pod selector as written (a Cilium endpoint selector, whose namespace key `selects`
    understands, or a NetworkPolicy podSelector; `{}` selects every pod); `ports` the ports the rule
    allows (None: every port); `entities` the Cilium entities of a `fromEntities`/`toEntities` peer
    (then no pods are selected).
    """

    direction: str
    path: YamlPath
    namespaces: tuple[str, ...] | None
    selector: dict[str, Any]
    ports: tuple[str, ...] | None = None
    entities: tuple[str, ...] = ()


def dotted(path: YamlPath) -> str:
    """`("spec", "containers", 0, "image")` → `spec.containers[0].image`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


@dataclass(slots=True)
class UnitResult:
    """What checking one input (a file, a kustomization) produced."""

    findings: list[Finding] = field(default_factory=list)
    # Findings an `aiapp/ignore` annotation suppressed, with its reason.
    suppressed: list[tuple[Finding, str]] = field(default_factory=list)
    summaries: list[Summary] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files: int = 0
    objects: int = 0
