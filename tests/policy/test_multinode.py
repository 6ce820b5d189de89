"""LeaderWorkerSet workloads (issue 21): `aiapp check` reads the leader and the worker pod templates, knows
the labels the LWS controller adds, and judges a multi-node vLLM group (AIA806, AIA807).

The app is tests/policy/fixtures/good/vllm-lws-multinode, shaped like the one `aiapp new` renders for a
model larger than one node; each test changes one thing in a copy of it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from generator.cluster import facts
from generator.cluster.facts import cluster
from generator.policy import Options, Report, check_paths, yamlio
from generator.policy.facts import summarize
from generator.policy.k8s import LWS_API, pods_of
from generator.policy.model import K8sObject, Origin
from generator.policy.suppress import suppressions
from generator.reader.yamldoc import parse_documents

APP = Path(__file__).resolve().parent / "fixtures" / "good" / "vllm-lws-multinode"
LWS = "leaderworkerset.yaml"
LEADER_ONLY = '    leaderworkerset.sigs.k8s.io/worker-index: "0"\n'


def copy(tmp_path: Path, **edits: list[tuple[str, str]]) -> Path:
    """The app in tmp_path, each file's (old, new) replacements applied (the old text must be there)."""
    root = tmp_path / "app"
    shutil.copytree(APP, root)
    for name, pairs in edits.items():
        path = root / name.replace("_", ".")
        text = path.read_text(encoding="utf-8")
        for old, new in pairs:
            assert old in text, old
            text = text.replace(old, new, 1)
        path.write_text(text, encoding="utf-8")
    return root


def check(root: Path) -> Report:
    facts.forget_profiles()
    yamlio.clear_cache()
    return check_paths([str(root)], Options(jobs=1, build=False))


def found(report: Report) -> list[tuple[str, str, int, str]]:
    return [(f.rule_id, Path(f.file).name, f.line, f.message) for f in report.findings]


def line(root: Path, name: str, needle: str, after: str = "") -> int:
    """The line of the first `needle` in a file (after the first `after`)."""
    lines = (root / name).read_text(encoding="utf-8").splitlines()
    start = next(i for i, text in enumerate(lines) if after in text) if after else 0
    return next(i for i, text in enumerate(lines) if i >= start and needle in text) + 1


def edit_worker(root: Path, old: str, new: str) -> None:
    """Replace the first `old` of the worker template."""
    path = root / LWS
    text = path.read_text(encoding="utf-8")
    head, _, tail = text.partition("workerTemplate:")
    assert old in tail, old
    path.write_text(head + "workerTemplate:" + tail.replace(old, new, 1), encoding="utf-8")


def objects(root: Path) -> list[K8sObject]:
    text = (root / LWS).read_text(encoding="utf-8")
    return [
        K8sObject(doc, Origin(str(root / LWS)), doc["metadata"].get("namespace", "llm"), str(root))
        for doc in parse_documents(text)
        if isinstance(doc, dict)
    ]


def test_the_rendered_multinode_app_is_clean(tmp_path: Path) -> None:
    report = check(copy(tmp_path))
    assert found(report) == []
    assert report.objects == 4


def test_each_template_is_checked_and_findings_point_into_it(tmp_path: Path) -> None:
    root = copy(tmp_path)
    edit_worker(root, "allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true")
    edit_worker(root, '"nvidia.com/gpu": 8\n', '"nvidia.com/gpu": 4\n')
    escalation = line(root, LWS, "allowPrivilegeEscalation: true")
    request = line(root, LWS, '"nvidia.com/gpu": 4')
    assert min(escalation, request) > line(root, LWS, "workerTemplate:")
    assert sorted(found(check(root))) == [
        ("AIA102", LWS, request, 'container "llama-405b" requests 4 nvidia.com/gpu but limits 8'),
        ("AIA702", LWS, escalation, 'container "llama-405b": allowPrivilegeEscalation is true'),
    ]


def test_a_worker_builds_its_own_engine_from_its_own_options(tmp_path: Path) -> None:
    root = copy(tmp_path)
    edit_worker(root, '              - "--max-model-len"\n              - "32768"\n', "")
    report = check(root)
    command = line(root, LWS, "- vllm", "workerTemplate:")
    assert found(report) == [
        ("AIA801", LWS, command, 'container "llama-405b" runs vLLM without --max-model-len')
    ]


def test_tensor_times_pipeline_parallel_spans_the_nodes_of_the_group(tmp_path: Path) -> None:
    # 8 x 2 over --nnodes 2 is 8 GPUs a pod: the app is clean. With 4 GPUs a pod it does not fit.
    root = copy(tmp_path)
    for _ in range(2):
        edit_worker(root, '"nvidia.com/gpu": 8', '"nvidia.com/gpu": 4')
    report = check(root)
    at = line(root, LWS, '- "--tensor-parallel-size"', "workerTemplate:")
    assert found(report) == [
        (
            "AIA802",
            LWS,
            at,
            'container "llama-405b" has 4 GPU(s) but vLLM\'s 8 x 2 (tensor x pipeline parallel) uses 16 over '
            "2 pods (8 a pod)",
        )
    ]


def test_summaries_per_role_carry_the_controller_labels(tmp_path: Path) -> None:
    root = copy(tmp_path)
    (lws,) = [obj for obj in objects(root) if obj.kind == "LeaderWorkerSet"]
    assert [pod.role for pod in pods_of(lws)] == ["leader", "worker"]
    leader, worker_summary = summarize(lws, suppressions(lws.data), cluster())
    group = {
        "leaderworkerset.sigs.k8s.io/name": "llama-405b-group",
        "leaderworkerset.sigs.k8s.io/group-index": "0",
    }
    assert group.items() <= leader.pod_labels.items()  # type: ignore[union-attr]
    assert leader.pod_labels["leaderworkerset.sigs.k8s.io/worker-index"] == "0"  # type: ignore[index]
    assert worker_summary.pod_labels["leaderworkerset.sigs.k8s.io/worker-index"] == "1"  # type: ignore[index]
    assert leader.pod_labels_path[:4] == ("spec", "leaderWorkerTemplate", "leaderTemplate", "metadata")
    assert worker_summary.pod_labels_path[:4] == (
        "spec",
        "leaderWorkerTemplate",
        "workerTemplate",
        "metadata",
    )
    # The claim template, with its tier, as a StatefulSet's.
    assert leader.claims == worker_summary.claims == (("models", "GFS"),)
    # The leader serves the API behind a key; the headless worker serves nothing.
    assert (leader.role, leader.model_server, leader.engine, leader.api_key) == ("leader", True, "vllm", True)
    assert (worker_summary.role, worker_summary.model_server, worker_summary.engine) == ("worker", False, "")
    assert leader.ports == worker_summary.ports == ("8000", "http")
    # The GPUs of the set are counted once: 1 group x (8 + 8).
    assert leader.gpu is not None and leader.gpu.gpus == 16 and worker_summary.gpu is None
    assert (leader.replicas, worker_summary.replicas) == (1, 1)


def test_without_a_leader_template_the_worker_template_makes_both_roles(tmp_path: Path) -> None:
    root = copy(tmp_path)
    text = (root / LWS).read_text(encoding="utf-8")
    head, _, rest = text.partition("    leaderTemplate:\n")
    _, _, workers = rest.partition("    workerTemplate:\n")
    (root / LWS).write_text(head + "    workerTemplate:\n" + workers, encoding="utf-8")
    (lws,) = [obj for obj in objects(root) if obj.kind == "LeaderWorkerSet"]
    (pod,) = pods_of(lws)
    assert pod.role == "leader and worker" and pod.spec_path[2] == "workerTemplate"
    roles = summarize(lws, suppressions(lws.data), cluster())
    assert [summary.role for summary in roles] == ["leader", "worker"]
    assert roles[0].pod_labels_path == roles[1].pod_labels_path


def test_only_the_lws_api_group_is_read_and_a_group_of_one_has_no_workers(tmp_path: Path) -> None:
    root = copy(tmp_path, leaderworkerset_yaml=[("size: 2", "size: 1")])
    (lws,) = [obj for obj in objects(root) if obj.kind == "LeaderWorkerSet"]
    assert [summary.role for summary in summarize(lws, suppressions(lws.data), cluster())] == ["leader"]
    other = copy(
        tmp_path / "other",
        leaderworkerset_yaml=[("leaderworkerset.x-k8s.io/v1", "example.com/v1"), ("runAsNonRoot: true", "")],
    )
    (obj,) = [obj for obj in objects(other) if obj.kind == "LeaderWorkerSet"]
    assert pods_of(obj) == ()
    assert not [f for f in check(other).findings if f.rule_id.startswith("AIA7")]


def test_a_budget_for_the_leader_selects_the_leader_pods(tmp_path: Path) -> None:
    budget = """\
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: llama-405b
  namespace: ai
spec:
  maxUnavailable: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: "llama-405b"
      leaderworkerset.sigs.k8s.io/worker-index: "0"
"""
    root = copy(tmp_path)
    (root / "pdb.yaml").write_text(budget, encoding="utf-8")
    assert found(check(root)) == []
    (root / "pdb.yaml").write_text(budget.replace('"0"', '"7"'), encoding="utf-8")
    assert [rule for rule, *_ in found(check(root))] == ["AIA904"]


def test_the_pod_tier_of_a_claim_template_is_required(tmp_path: Path) -> None:
    # The leader template without the tier of the claim template it mounts (the worker keeps it).
    root = copy(
        tmp_path,
        leaderworkerset_yaml=[
            (
                '          backup.velero.io/backup-tier: "GFS"\n        annotations:',
                "        annotations:",
            )
        ],
    )
    report = check(root)
    labels = line(root, LWS, "labels:", "leaderTemplate:")
    assert found(report) == [
        (
            "AIA205",
            LWS,
            labels,
            'the pod template mounts PVC "models" but has no backup.velero.io/backup-tier label',
        )
    ]


def test_the_group_reaching_itself_is_not_a_caller_of_the_model(tmp_path: Path) -> None:
    # The rendered policy admits the group's own pods (leaderworkerset.sigs.k8s.io/name): clean. Another
    # app of the namespace admitted the same way is a caller past LiteLLM (AIA805) and a note (AIA605).
    root = copy(
        tmp_path,
        ciliumnetworkpolicy_yaml=[
            ('leaderworkerset.sigs.k8s.io/name: "llama-405b-group"', 'app.kubernetes.io/name: "chat"')
        ],
    )
    rules = sorted(rule for rule, *_ in found(check(root)))
    assert rules == ["AIA605", "AIA805"]


def test_aia806_twins(tmp_path: Path) -> None:
    # The restart policies that recreate the group, and LeaderReady with a leader Ready without its
    # workers (no probe on the server), are fine; so is restartPolicy None on a group of one pod.
    after = copy(
        tmp_path / "a", leaderworkerset_yaml=[("RecreateGroupOnPodRestart", "RecreateGroupAfterStart")]
    )
    assert found(check(after)) == []
    one = copy(
        tmp_path / "b",
        leaderworkerset_yaml=[("size: 2", "size: 1"), ("RecreateGroupOnPodRestart", "None")],
    )
    assert "AIA806" not in {rule for rule, *_ in found(check(one))}
    ready = copy(tmp_path / "c", leaderworkerset_yaml=[("LeaderCreated", "LeaderReady")])
    text = (ready / LWS).read_text(encoding="utf-8")
    start, end = text.index("            startupProbe:"), text.index("            securityContext:\n")
    exec_probe = (
        "            readinessProbe:\n              exec:\n                command: [cat, /tmp/ready]\n"
        "            livenessProbe:\n              exec:\n                command: [cat, /tmp/ready]\n"
    )
    (ready / LWS).write_text(text[:start] + exec_probe + text[end:], encoding="utf-8")
    assert found(check(ready)) == []


def test_aia807_twins(tmp_path: Path) -> None:
    # The controller's headless Service, a Service to another port, a leader-only label and workers that
    # serve the API themselves are fine.
    headless = copy(
        tmp_path / "a",
        service_yaml=[(LEADER_ONLY, ""), ("type: ClusterIP", "type: ClusterIP\n  clusterIP: None")],
    )
    assert found(check(headless)) == []
    metrics = copy(tmp_path / "b", service_yaml=[(LEADER_ONLY, ""), ("targetPort: http", "targetPort: 9400")])
    assert found(check(metrics)) == []
    role = copy(
        tmp_path / "c",
        service_yaml=[(LEADER_ONLY, "    role: leader\n")],
        leaderworkerset_yaml=[
            (
                "  leaderTemplate:\n      metadata:\n        labels:\n",
                "  leaderTemplate:\n      metadata:\n        labels:\n          role: leader\n",
            )
        ],
    )
    assert found(check(role)) == []
    serving = copy(tmp_path / "d", service_yaml=[(LEADER_ONLY, "")])
    edit_worker(serving, '              - "--headless"\n', "")
    assert "AIA807" not in {rule for rule, *_ in found(check(serving))}


CORPUS = Path(__file__).resolve().parent / "clusters" / "flux-h100-lws" / "kubernetes" / "apps" / "llm"


def test_one_template_for_both_roles_runs_the_headless_command_in_the_workers() -> None:
    # deepseek-r1's script starts `vllm serve` as rank 0 or, with --headless, as a worker.
    (lws,) = [obj for obj in objects(CORPUS / "deepseek-r1" / "app") if obj.kind == "LeaderWorkerSet"]
    leader, worker_summary = summarize(lws, suppressions(lws.data), cluster())
    assert (leader.model_server, leader.engine, leader.api_key) == (True, "vllm", True)
    assert (worker_summary.model_server, worker_summary.engine) == (False, "")


def test_the_server_after_a_kubernetes_variable_in_a_script_is_read() -> None:
    # `...--ray_cluster_size=$(LWS_GROUP_SIZE); python3 -m vllm.entrypoints.openai.api_server --port 8080`:
    # shlex reads `);` as one token, which still ends the command.
    (lws,) = [obj for obj in objects(CORPUS / "llama-405b" / "app") if obj.kind == "LeaderWorkerSet"]
    leader, worker_summary = summarize(lws, suppressions(lws.data), cluster())
    assert leader.ports == worker_summary.ports == ("8080", "http")
    assert not worker_summary.model_server  # the Ray worker lends its GPUs to the leader's engine


def test_a_budget_counts_the_leaders_and_the_workers_of_a_set(tmp_path: Path) -> None:
    budget = """\
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: llama-405b
  namespace: ai
spec:
  minAvailable: {minimum}
  selector:
    matchLabels:
      app.kubernetes.io/name: "llama-405b"
"""
    root = copy(tmp_path)
    (root / "pdb.yaml").write_text(budget.format(minimum=1), encoding="utf-8")
    assert found(check(root)) == []  # one of the group's two pods may be evicted
    (root / "pdb.yaml").write_text(budget.format(minimum=2), encoding="utf-8")
    assert found(check(root)) == [
        (
            "AIA905",
            "pdb.yaml",
            7,
            "minAvailable 2 with 2 replica(s) of LeaderWorkerSet/ai/llama-405b-group allows no eviction",
        )
    ]


NETWORK_POLICY = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: llama-405b-network-policy
  namespace: ai
spec:
  podSelector:
    matchLabels:
      app.kubernetes.io/name: "llama-405b"
  policyTypes: [Ingress, Egress]
  ingress:
    - from:
        - namespaceSelector:
            matchLabels:
              kubernetes.io/metadata.name: "gateway"
      ports:
        - port: 8000
          protocol: TCP
    - from:
        - namespaceSelector:
            matchLabels:
              kubernetes.io/metadata.name: "ai"
          podSelector:
            matchLabels:
              app.kubernetes.io/name: "litellm"
      ports:
        - port: 8000
          protocol: TCP
    - from:
        - podSelector:
            matchLabels:
              {peer}
      ports:
        - protocol: TCP
  egress:
    - to:
        - namespaceSelector:
            matchLabels:
              kubernetes.io/metadata.name: "kube-system"
          podSelector:
            matchLabels:
              k8s-app: "kube-dns"
      ports:
        - port: 53
          protocol: UDP
        - port: 53
          protocol: TCP
    - to:
        - podSelector:
            matchLabels:
              leaderworkerset.sigs.k8s.io/name: "llama-405b-group"
      ports:
        - protocol: TCP
"""


def test_the_kubernetes_flavour_admits_the_group_and_still_reports_another_caller(tmp_path: Path) -> None:
    root = copy(tmp_path)
    (root / "ciliumnetworkpolicy.yaml").unlink()
    profile = "cluster:\n  network:\n    policy_engine: kubernetes\n"
    (root / ".aiapp.yml").write_text(profile, encoding="utf-8")
    group = 'leaderworkerset.sigs.k8s.io/name: "llama-405b-group"'
    (root / "networkpolicy.yaml").write_text(NETWORK_POLICY.format(peer=group), encoding="utf-8")
    assert found(check(root)) == []
    (root / "networkpolicy.yaml").write_text(NETWORK_POLICY.format(peer='app: "chat"'), encoding="utf-8")
    assert [rule for rule, *_ in found(check(root))] == ["AIA805"]


CACHE_PVC = """\
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: llama-405b-cache
  namespace: ai
  labels:
    backup.velero.io/backup-tier: "Daily"
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: proxmox-csi
  resources:
    requests:
      storage: 50Gi
"""
CACHE_VOLUME = (
    "        volumes:\n",
    "        volumes:\n          - name: cache\n            persistentVolumeClaim:\n"
    "              claimName: llama-405b-cache\n",
)


def test_the_pods_of_a_set_sharing_a_read_write_once_claim(tmp_path: Path) -> None:
    # One declared ReadWriteOnce PVC in both templates: the leader and the worker (two nodes) share it.
    root = copy(tmp_path / "both", leaderworkerset_yaml=[CACHE_VOLUME])
    edit_worker(root, *CACHE_VOLUME)
    (root / "pvc.yaml").write_text(CACHE_PVC, encoding="utf-8")
    assert found(check(root)) == [
        (
            "AIA906",
            LWS,
            line(root, LWS, "size: 2"),
            "2 pods of the set share the ReadWriteOnce PVC llama-405b-cache; a pod on another node cannot "
            "attach it",
        )
    ]
    # The leader alone (one group): one pod mounts it. Claim templates are one PVC per pod (the app).
    root = copy(tmp_path / "leader", leaderworkerset_yaml=[CACHE_VOLUME])
    (root / "pvc.yaml").write_text(CACHE_PVC, encoding="utf-8")
    assert found(check(root)) == []


ODD_SETS = [
    "spec: {leaderWorkerTemplate: []}",
    "spec: {replicas: -1, leaderWorkerTemplate: {size: '2', workerTemplate: {spec: []}}}",
    "spec: {leaderWorkerTemplate: {size: true, leaderTemplate: x,"
    " workerTemplate: {spec: {containers: [1]}}}}",
    "spec: {startupPolicy: [LeaderReady], leaderWorkerTemplate: {size: 3, restartPolicy: [None],"
    " volumeClaimTemplates: [1, {metadata: []}, {metadata: {name: {a: b}}}],"
    " leaderTemplate: {spec: {containers: [{image: vllm/vllm-openai, args: 7, readinessProbe: []}]}},"
    " workerTemplate: {metadata: {labels: []},"
    " spec: {volumes: x, containers: [{image: vllm, command: [sh, -c]}]}}}}",
    "spec: {leaderWorkerTemplate: {workerTemplate: {spec: {volumes: [{name: {a: b}}],"
    " containers: [{name: c, volumeMounts: [{name: {a: b}}, {name: [1]}]}]}}}}",
]


def test_odd_leaderworkersets_are_read_without_a_rule_failing(tmp_path: Path) -> None:
    for index, spec in enumerate(ODD_SETS):
        path = tmp_path / f"odd-{index}.yaml"
        header = f"apiVersion: {LWS_API}v1\nkind: LeaderWorkerSet\nmetadata: {{name: odd{index}}}\n"
        path.write_text(header + spec + "\n", encoding="utf-8")
        report = check(path)
        assert not [note for note in report.notes if "internal error" in note], report.notes
    # Odd Services next to the multi-node app (AIA807 reads their selectors and ports).
    root = copy(tmp_path / "app")
    odd = "apiVersion: v1\nkind: Service\nmetadata: {{name: odd{n}, namespace: ai}}\nspec: {spec}\n"
    services = [
        "{selector: [], ports: x}",
        "{selector: {app.kubernetes.io/name: llama-405b},"
        " ports: [1, {targetPort: {a: b}}, {port: [8000]}, {port: 8000}]}",
        "{clusterIP: [None], selector: {app.kubernetes.io/name: {a: b}}, ports: [{port: 8000}]}",
    ]
    text = "---\n".join(odd.format(n=n, spec=spec) for n, spec in enumerate(services))
    (root / "odd-services.yaml").write_text(text, encoding="utf-8")
    report = check(root)
    assert not [note for note in report.notes if "internal error" in note], report.notes
    assert [rule for rule, *_ in found(report)] == ["AIA807"]  # the second: its port 8000 is vLLM's


UNIQUE = "{subdomainPolicy: UniquePerReplica}"


def test_aia808_a_service_named_like_the_set_keeps_its_headless_service_away(tmp_path: Path) -> None:
    clash = copy(tmp_path / "a", service_yaml=[('  name: "llama-405b"', '  name: "llama-405b-group"')])
    assert [(rule, name) for rule, name, *_ in found(check(clash))] == [("AIA808", "service.yaml")]
    # Twins: a headless Service of that name (as the controller would make it), and the per-replica
    # subdomain policy, whose pods' subdomain is their own group's Service, are fine.
    headless = copy(
        tmp_path / "b",
        service_yaml=[
            ('  name: "llama-405b"', '  name: "llama-405b-group"'),
            (LEADER_ONLY, ""),
            ("type: ClusterIP", "type: ClusterIP\n  clusterIP: None"),
        ],
    )
    assert found(check(headless)) == []
    per_replica = copy(
        tmp_path / "c",
        service_yaml=[('  name: "llama-405b"', '  name: "llama-405b-group"')],
        leaderworkerset_yaml=[("  replicas: 1\n", f"  replicas: 1\n  networkConfig: {UNIQUE}\n")],
    )
    assert "AIA808" not in {rule for rule, *_ in found(check(per_replica))}
