"""Benchmark `aiapp check` on a synthetic GitOps tree: 1,000 apps x 8 manifest files.

    python benchmarks/bench_check.py [--apps 1000] [--runs 3] [--schema-location DIR] [--kustomize-apps 100]
                                     [--httproute]

Times the whole `aiapp check` process (start-up included) on the tree, without and with schema validation,
and prints files per second. One app in a hundred carries a violation, so findings are located and printed
as in a real run. A second, smaller tree with a kustomization.yaml per app measures kustomize builds.
With --httproute every app also has an HTTPRoute (9 files per app), whose CRD carries the most CEL rules
of the catalog (106): the cost of evaluating them with --schemas. Results go in docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FILES = {
    "deployment.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: "{app}"
  namespace: "{ns}"
  labels:
    app.kubernetes.io/name: "{app}"
    app.kubernetes.io/instance: "{app}"
    app.kubernetes.io/part-of: "ai-apps"
    app.kubernetes.io/managed-by: "aiapp"
spec:
  replicas: 1
  revisionHistoryLimit: 3
  strategy:
    type: Recreate
  selector:
    matchLabels:
      app.kubernetes.io/name: "{app}"
      app.kubernetes.io/instance: "{app}"
  template:
    metadata:
      labels:
        app.kubernetes.io/name: "{app}"
        app.kubernetes.io/instance: "{app}"
        app.kubernetes.io/part-of: "ai-apps"
        app.kubernetes.io/managed-by: "aiapp"
        backup.velero.io/backup-tier: GFS
      annotations:
        backup.velero.io/backup-volumes: "models,cache"
    spec:
      automountServiceAccountToken: false
      enableServiceLinks: false
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
        runAsGroup: 10001
        fsGroup: 10001
        seccompProfile:
          type: RuntimeDefault
      nodeSelector:
        gpu-node: "true"
      tolerations:
        - key: "nvidia.com/gpu"
          operator: Exists
          effect: NoSchedule
      containers:
        - name: "{app}"
          image: "{image}"
          ports:
            - name: http
              containerPort: 8000
              protocol: TCP
          envFrom:
            - configMapRef:
                name: "{app}-config"
          env:
            - name: LITELLM_API_KEY
              valueFrom:
                secretKeyRef:
                  name: "{app}-secrets"
                  key: LITELLM_API_KEY
          resources:
            requests:
              cpu: "4"
              memory: 16Gi
              nvidia.com/gpu: 1
            limits:
              cpu: "4"
              memory: 16Gi
              nvidia.com/gpu: 1
          startupProbe:
            httpGet:
              path: "/health"
              port: http
            periodSeconds: 10
            failureThreshold: 24
          readinessProbe:
            httpGet:
              path: "/health"
              port: http
          livenessProbe:
            httpGet:
              path: "/health"
              port: http
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            runAsNonRoot: true
            capabilities:
              drop:
                - ALL
          volumeMounts:
            - name: models
              mountPath: /models
            - name: cache
              mountPath: /cache
            - name: tmp
              mountPath: /tmp
            - name: dshm
              mountPath: /dev/shm
      volumes:
        - name: models
          persistentVolumeClaim:
            claimName: "{app}-models"
        - name: cache
          persistentVolumeClaim:
            claimName: "{app}-cache"
        - name: tmp
          emptyDir:
            sizeLimit: 1Gi
        - name: dshm
          emptyDir:
            medium: Memory
            sizeLimit: 2Gi
""",
    "service.yaml": """\
apiVersion: v1
kind: Service
metadata:
  name: "{app}"
  namespace: "{ns}"
  labels:
    app.kubernetes.io/name: "{app}"
spec:
  type: ClusterIP
  selector:
    app.kubernetes.io/name: "{app}"
    app.kubernetes.io/instance: "{app}"
  ports:
    - name: http
      port: 8000
      targetPort: http
      protocol: TCP
""",
    "configmap.yaml": """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: "{app}-config"
  namespace: "{ns}"
data:
  APP_NAME: "{app}"
  LITELLM_BASE_URL: "http://litellm.ai.svc.cluster.local:4000"
  QDRANT_URL: "http://qdrant.ai.svc.cluster.local:6333"
  QDRANT_COLLECTION: "{app}"
  MODEL_DIR: "/models"
  HF_HOME: "/models/.huggingface"
""",
    "pvc-models.yaml": """\
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: "{app}-models"
  namespace: "{ns}"
  labels:
    app.kubernetes.io/name: "{app}"
    app.kubernetes.io/component: "models"
    backup.velero.io/backup-tier: "GFS"
spec:
  accessModes:
    - ReadWriteOnce
  storageClassName: "proxmox-csi"
  resources:
    requests:
      storage: 40Gi
""",
    "pvc-cache.yaml": """\
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: "{app}-cache"
  namespace: "{ns}"
  labels:
    app.kubernetes.io/name: "{app}"
    app.kubernetes.io/component: "cache"
    backup.velero.io/backup-tier: "Daily"
spec:
  accessModes:
    - ReadWriteOnce
  storageClassName: "proxmox-csi"
  resources:
    requests:
      storage: 20Gi
""",
    "ciliumnetworkpolicy.yaml": """\
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: "{app}-network-policy"
  namespace: "{ns}"
spec:
  endpointSelector:
    matchLabels:
      app.kubernetes.io/name: "{app}"
      app.kubernetes.io/instance: "{app}"
  enableDefaultDeny:
    ingress: true
    egress: true
  ingress:
    - fromEndpoints:
        - matchLabels:
            k8s:io.kubernetes.pod.namespace: "gateway"
      toPorts:
        - ports:
            - port: "8000"
              protocol: TCP
  egress:
    - toEndpoints:
        - matchLabels:
            k8s:io.kubernetes.pod.namespace: "kube-system"
            k8s:k8s-app: "kube-dns"
      toPorts:
        - ports:
            - port: "53"
              protocol: UDP
            - port: "53"
              protocol: TCP
          rules:
            dns:
              - matchPattern: "*"
    - toEndpoints:
        - matchLabels:
            k8s:io.kubernetes.pod.namespace: "ai"
            app.kubernetes.io/name: "qdrant"
      toPorts:
        - ports:
            - port: "6333"
              protocol: TCP
    - toEndpoints:
        - matchLabels:
            k8s:io.kubernetes.pod.namespace: "ai"
            app.kubernetes.io/name: "litellm"
      toPorts:
        - ports:
            - port: "4000"
              protocol: TCP
""",
    "externalsecret.yaml": """\
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: "{app}-secrets"
  namespace: "{ns}"
spec:
  refreshInterval: 1h
  secretStoreRef:
    name: "bitwarden-backend"
    kind: ClusterSecretStore
  target:
    name: "{app}-secrets"
    creationPolicy: Owner
  data:
    - secretKey: LITELLM_API_KEY
      remoteRef:
        key: "{app} LiteLLM key"
""",
    "poddisruptionbudget.yaml": """\
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: "{app}"
  namespace: "{ns}"
spec:
  maxUnavailable: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: "{app}"
""",
}
# An HTTPRoute as `aiapp new` renders it for a model server, with a second rule for its health check.
HTTPROUTE = """\
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: "{app}"
  namespace: "{ns}"
  labels:
    app.kubernetes.io/name: "{app}"
    app.kubernetes.io/part-of: "ai-apps"
spec:
  parentRefs:
    - group: gateway.networking.k8s.io
      kind: Gateway
      namespace: gateway
      name: gateway
      sectionName: https
  hostnames:
    - "{app}.apps.example.com"
  rules:
    - matches:
        - path:
            type: PathPrefix
            value: /v1
      backendRefs:
        - kind: Service
          name: "{app}"
          port: 8000
      timeouts:
        request: "0s"
    - matches:
        - path:
            type: Exact
            value: /health
      backendRefs:
        - kind: Service
          name: "{app}"
          port: 8000
      timeouts:
        request: "0s"
"""
KUSTOMIZATION = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: "{ns}"
resources:
{resources}
"""


def generate(root: Path, apps: int, kustomize: bool = False, httproute: bool = False) -> int:
    """Write the tree; every hundredth app uses a `latest` image. Returns the number of files."""
    files = {**FILES, "httproute.yaml": HTTPROUTE} if httproute else FILES
    count = 0
    for index in range(apps):
        app, ns = f"app-{index:04d}", f"team-{index % 20:02d}"
        image = f"ghcr.io/acme/{app}:{'latest' if index % 100 == 99 else '1.0.0'}"
        directory = root / "apps" / app
        directory.mkdir(parents=True)
        for name, text in files.items():
            (directory / name).write_text(text.format(app=app, ns=ns, image=image))
            count += 1
        if kustomize:
            resources = "\n".join(f"  - {name}" for name in files)
            (directory / "kustomization.yaml").write_text(KUSTOMIZATION.format(ns=ns, resources=resources))
    return count


def timed(command: list[str], runs: int) -> tuple[float, int]:
    """The median wall time of `runs` runs, and the exit code."""
    times, code = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        result = subprocess.run(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False
        )
        times.append(time.perf_counter() - start)
        code = result.returncode
        if code not in (0, 1):
            sys.exit(f"{' '.join(command)} failed ({code}): {result.stderr}")
    return statistics.median(times), code


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--apps", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--schema-location", default=os.environ.get("AIAPP_SCHEMA_LOCATION"))
    parser.add_argument(
        "--kustomize-apps", type=int, default=100, help="apps in the kustomize tree (0: skip)"
    )
    parser.add_argument("--httproute", action="store_true", help="add an HTTPRoute to every app")
    args = parser.parse_args()
    aiapp = shutil.which("aiapp", path=str(Path(sys.executable).parent)) or "aiapp"
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory(prefix="aiapp-bench-") as tmp:
        root = Path(tmp)
        files = generate(root / "plain", args.apps, httproute=args.httproute)
        print(f"tree: {args.apps} apps x {files // args.apps} files = {files} files")
        cases = [("without schemas", [aiapp, "check", str(root / "plain")])]
        if args.schema_location:
            cases.append(
                (
                    "with schemas",
                    [
                        aiapp,
                        "check",
                        "--schemas",
                        "--schema-location",
                        args.schema_location,
                        str(root / "plain"),
                    ],
                )
            )
        else:
            print("with schemas: skipped (pass --schema-location or set AIAPP_SCHEMA_LOCATION)")
        for label, command in cases:
            seconds, code = timed(command, args.runs)
            rate = f"{files / seconds:,.0f} files/s"
            print(f"{label}: {seconds:.2f} s, {rate} (exit {code}, median of {args.runs})")
        if args.kustomize_apps:
            kfiles = generate(root / "kustomize", args.kustomize_apps, kustomize=True)
            seconds, code = timed([aiapp, "check", str(root / "kustomize")], 1)
            print(
                f"kustomize builds: {args.kustomize_apps} apps ({kfiles} files): {seconds:.2f} s, "
                f"{args.kustomize_apps / seconds:.1f} builds/s (exit {code})"
            )


if __name__ == "__main__":
    main()
