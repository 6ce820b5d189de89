"""docs/rules.md, generated from the registry: `python -m generator.policy.docs > docs/rules.md`.

`aiapp check --list-rules --format markdown` prints the same text; a test fails when the file is stale.
"""

from __future__ import annotations

import json
import textwrap
from itertools import groupby

from generator.cluster.facts import cluster
from generator.policy.registry import APPLIES_TEXT, FAMILIES, Rule, rules
from generator.policy.suppress import ANNOTATION

COMMAND = "python -m generator.policy.docs > docs/rules.md"

_INTRO = """\
# `aiapp check` rules

<!-- Generated from the rule registry (generator/policy/rules/) by `{command}`.
     Do not edit by hand: tests/test_check_docs.py fails when this file is stale. -->

Each rule enforces a rule of the AI applications patterns (`ai-apps-AGENTS.md`, quoted below) or keeps
the check itself honest. Values such as `{storage_class}` and `{gpu_resource}` are the default cluster
facts (`cluster_defaults` in `copier.yml`, which the template and the checker share). Manifests in a GitOps
repository with a cluster profile (`cluster:` in its `.aiapp.yml`, [cluster.md](cluster.md)) are checked
against the profile's facts; an app's own `.copier-answers.yml` never changes what is checked.

Exit codes: 0 when there is no error finding (warnings too with `--strict`), 1 otherwise, 2 for a usage
error.

## Suppressing a finding

Put the annotation `{annotation}` on the object (`metadata.annotations`), naming rule ids or slugs and a
reason:

```yaml
metadata:
  annotations:
    {annotation}: "AIA604: LiteLLM is called by every app namespace, not only the gateway"
    # several entries: one per line (a YAML block) or separated by ';'; rules may share a reason:
    #   {annotation}: "AIA301, AIA302: this object is the LLM proxy itself"
```

A suppression without a reason that says something (at least two words: not ".", "ok" or "todo") is
not honoured and is reported (AIA006); an unknown or unsuppressible rule is a warning (AIA007). Input
rules (AIA001-AIA009, AIA012-AIA014) cannot be suppressed. A suppression covers only the object that carries
it: for a workload, the Deployment (or StatefulSet, ...) itself, not its pod template. Suppressed
findings are counted in the summary; `--show-suppressed` lists them with their reasons. A whole rule is
disabled or re-graded for a repository in `.aiapp.yml` (see [ci.md](ci.md#configuration-aiappyml)).

## Scope and roles

The house rules govern the AI applications, not every app of a GitOps repository. `check: scope:` in
`.aiapp.yml` names the paths and/or namespaces they govern (default: everything checked); each rule
below says what it applies to. Objects out of scope are not reported, but every object read still
counts across objects: a CiliumNetworkPolicy anywhere in the repository may select a workload in scope.
The shared services themselves (the Qdrant in `{qdrant_namespace}` and LiteLLM in `{litellm_namespace}`,
recognised by the labels of the cluster facts; an HTTPRoute by the Service it sends to, and a route in a
gateway namespace is the gateway's own) are not apps: rules marked "apps" skip them.

checkov's skips (`checkov.io/skip<N>: "CKV_K8S_43=reason"` in the same `metadata.annotations`) are checkov's
business, but one without a reason is reported like a suppression without one (AIA009). Generated apps
carry checkov skips with reasons for the checks they fail on purpose ([patterns.md](patterns.md)).

## Documented exceptions

- **Direct provider access** (AIA301): the hosts listed in the app's `AGENTS.md`, section "Exceptions to
  the patterns", in an item starting `**Direct provider access**` with the hosts in backticks and a
  `Reason:` line, are allowed in the manifests of that directory. `aiapp new` writes exactly this when
  `direct_providers` is set; the nearest `AGENTS.md` at or above the manifest applies. An item without a
  `Reason:` line is not honoured.
- **HTTPS egress to any public address** (AIA303): an item of the same section starting with these words
  (as `aiapp new` writes it when a Kubernetes NetworkPolicy, which cannot name hosts, must reach the
  direct provider hosts or Hugging Face) allows egress on port 443 to public addresses in the policies
  of that directory; a whole private network stays reported.
- **The shared services** (Qdrant, LiteLLM): their own objects are recognised by the cluster facts
  (namespace `{qdrant_namespace}` and the Qdrant pod labels; namespace `{litellm_namespace}` and the
  LiteLLM pod labels) and are not apps: AIA401 (own Qdrant), AIA301-AIA303 (providers) and AIA604-AIA606
  (ingress) skip them, so they need no suppression. Nothing is exempt by name alone: an app could
  otherwise name its private copy `qdrant`.

## What is checked together

`aiapp check PATH...` reads YAML and JSON files, directories (recursively; hidden entries,
`.copier-answers.yml`, Helm charts and the paths `check: exclude:` names are skipped) and kustomization
directories, which are built with `kustomize build` or `kubectl kustomize` when either is installed
(with `--enable-helm` for `helmCharts:` when helm is installed) and otherwise read as plain files with a
warning. All inputs
of one run form one set: AIA601 (network policy coverage) and AIA205 (pod backup tier) look across
objects, so check an app's whole directory or the repository, not a single file. Documents without
`apiVersion` and `kind` (values files, other tools' configuration) and kustomize's own files are not
objects and are skipped.

Every YAML file under the paths is checked once:

- A kustomization that another kustomization of the run includes (a base, an app listed by
  `apps/kustomization.yaml`) is checked through that build only; one that nothing includes is built on
  its own.
- A file that no build reads (not in `resources`, nor a patch or generator input) is checked as written,
  and AIA008 says that it is not deployed with its kustomization.
- Findings on built objects point back at the source file and line. When the built value differs from
  the one on that line, the message says so: it names the kustomizations that build the object and have
  a field that can change that value (patches, transformers, `images:`, `replicas:`, `labels:` for
  labels), never another app's, or points at the patch itself when the value is written there. Objects
  of `configMapGenerator` and `secretGenerator` point at their entry in the kustomization (at the
  literal, for a literal's value).
- Merge conflict markers (`<<<<<<<`, `>>>>>>>`) in any file are reported at their line (AIA002), before a
  kustomization that reads the file is built.
- A kustomization that fails to build is one finding (AIA005) with its whole error; the kustomizations
  it lists are then built on their own and the files it lists read as written, so one broken app hides
  no other. A `helmCharts:` kustomization without helm installed gets the same treatment and a note
  (AIA012).
- Input is bounded: files over `check.limits.max_file_bytes` (default 4 MiB) and documents whose YAML
  aliases add more than `check.limits.max_alias_nodes` nodes (default 10,000) are not read (AIA001,
  AIA002); a symlink to anything but a regular file, a FIFO or a device is skipped with a finding
  (AIA001), never read. A kustomization that would make kustomize read such a file, or that lists
  itself, is not built (AIA005); a build runs with at most `check.limits.build_memory_mb` of memory
  (default 1,024) for `check.limits.build_seconds` (default 60), and a crash keeps its first lines, not
  its stack traces.
- `aiapp check` never uses the network: a kustomization with a remote resource or base, or a Helm
  chart to pull from its repository, is not built (AIA013); its local parts are checked on their own.

## How settings are read

Rules judge what the cluster will do, so they read settings the way the software that uses them does:

- **vLLM options** (AIA801, AIA802): from `args` of the image's entrypoint; from `command`/`args` that run
  `vllm serve` or `python -m vllm.entrypoints.openai.api_server`; from a shell script
  (`command: [/bin/sh, -c, "... vllm serve ... --max-model-len 1024"]`, split with shlex, the `vllm`
  command found among `&&`, `;` and `exec`); and from a `--config` file the pod mounts from a ConfigMap
  of the same input (one file, or one kustomize build: generated ConfigMaps too). vLLM turns each key of
  that YAML file into `--key` before the command line's options and accepts `_` for `-`
  (vllm-project/vllm, `FlexibleArgumentParser`), so `max_model_len: 20480` sets `--max-model-len`.
  When some options cannot be seen (a config file from elsewhere, a `$VARIABLE` that may hold options, a
  wrapper script), an option is never claimed missing.
- **Cilium `enableDefaultDeny`** (AIA602, AIA804): per direction; unset, it is true for a direction the
  policy has rules for and false otherwise; a pod is in default deny when any policy selecting it says so
  (Cilium's CRD field documentation). A policy with `enableDefaultDeny: {{ingress: false, egress: false}}`
  (an allow or audit baseline) blocks nothing, and an egress-only policy does not block LiteLLM.
- **Listen addresses** (AIA302, AIA402): a variable with LISTEN or BIND in its name, or whose value is a
  wildcard address (`0.0.0.0`, `[::]`, `*`, with or without a port, such as Ollama's `OLLAMA_HOST`), is
  where a server listens, not an endpoint the app calls.
- **GPU requests** (AIA102): a limit alone is fine: Kubernetes uses the limit of an extended resource as
  its request (kubernetes.io, "Schedule GPUs"). A request without a limit, or one that differs from it,
  is refused by the API server.
- **Route timeouts** (AIA901): a rule without `timeouts.request` takes the `timeout.http.requestTimeout`
  of an Envoy Gateway `BackendTrafficPolicy` (gateway.envoyproxy.io/v1alpha1) read in the same run that
  targets the route, else one that targets its Gateway; `0s` disables Envoy's route timeout. Other
  implementations' timeout policies (Traefik middlewares, Istio) are not read.
- **LeaderWorkerSet pods** (`leaderworkerset.x-k8s.io`, every pod rule, AIA806, AIA807): the rules on pod
  templates run on `spec.leaderWorkerTemplate.leaderTemplate` and on `.workerTemplate`, each finding at
  the template it is about; without a leader template, the worker template makes the leaders too and is
  checked once. Across objects, the set counts as its leaders (the labels the LWS controller adds:
  `leaderworkerset.sigs.k8s.io/name`, `group-index: "0"`, `worker-index: "0"`) and, when `size` is over 1,
  its workers (`worker-index` 1 and up), with the claims of `volumeClaimTemplates` and their tier labels;
  its GPUs count once (groups x pods a group). A vLLM rank that serves no API, a `--headless` worker or
  a Ray worker of the worker template, needs no probes, port or API key and is not a model server
  LiteLLM must reach; every rank's own `vllm serve` options are read (AIA801), and tensor x pipeline
  parallel spans `--nnodes` pods (or the group, for Ray: vLLM's docs/deployment/frameworks/lws.md). One
  template for both roles whose script starts vLLM twice runs its `--headless` command in the workers.
  A policy peer that selects the set's own pods by `leaderworkerset.sigs.k8s.io/name` is the ranks
  reaching each other, not a caller (AIA605, AIA805). Source: kubernetes-sigs/lws,
  api/leaderworkerset/v1/leaderworkerset_types.go.

## Rules at a glance

| Rule | Slug | Severity | Title |
| --- | --- | --- | --- |
"""


def _quote(text: str) -> str:
    if "\n" in text:
        lines = textwrap.dedent(text).splitlines()
        return "\n  ```yaml\n" + "\n".join(f"  {line}" for line in lines) + "\n  ```"
    return f" “{text}”"


def _rule_section(item: Rule) -> str:
    scope = (
        "every object of the run (across objects)"
        if item.set_check
        else ", ".join(sorted(item.kinds))
        if item.kinds
        else "reported by the checker itself"
    )
    lines = [f'<a id="{item.id.lower()}"></a>', "", f"### {item.id} `{item.slug}`: {item.title_text}", ""]
    lines.append(
        f"- **Severity:** {item.severity.value}" + ("" if item.suppressible else " (cannot be suppressed)")
    )
    if item.section and item.quote:
        lines.append(f"- **Enforces:** ai-apps-AGENTS.md, {item.section}:{_quote(item.quote)}")
    else:
        lines.append("- **Enforces:** the integrity of the check itself (no patterns rule).")
    lines.append(f"- **Why:** {item.why_text}")
    lines.append(f"- **Fix:** {item.fix_hint}")
    lines.append(f"- **Looks at:** {scope}")
    lines.append(f"- **Applies to:** {APPLIES_TEXT[item.applies]}")
    return "\n".join(lines)


def markdown() -> str:
    """The whole docs/rules.md."""
    values = cluster().values()
    text = _INTRO.format(command=COMMAND, annotation=ANNOTATION, **values)
    table = [
        f"| [{r.id}](#{r.id.lower()}) | `{r.slug}` | {r.severity.value} | {r.title_text} |" for r in rules()
    ]
    parts = [text + "\n".join(table)]
    for family, items in groupby(rules(), key=lambda item: item.family):
        parts.append(f"## {FAMILIES[family][1]}")
        parts.extend(_rule_section(item) for item in items)
    return "\n\n".join(parts) + "\n"


def table_text() -> str:
    """`aiapp check --list-rules`: one line per rule."""
    width = max(len(item.slug) for item in rules())
    return "\n".join(f"{r.id}  {r.severity.value:<7}  {r.slug:<{width}}  {r.title_text}" for r in rules())


def table_json() -> str:
    """`aiapp check --list-rules --format json`."""
    return json.dumps(
        [
            {
                "id": r.id,
                "slug": r.slug,
                "title": r.title_text,
                "severity": r.severity.value,
                "family": r.family,
                "section": r.section,
                "quote": r.quote,
                "why": r.why_text,
                "fix": r.fix_hint,
                "suppressible": r.suppressible,
            }
            for r in rules()
        ],
        indent=2,
        ensure_ascii=False,
    )


if __name__ == "__main__":
    print(markdown(), end="")
