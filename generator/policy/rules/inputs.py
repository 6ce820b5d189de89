"""Rules the engine reports itself: unreadable or malformed input, suppressions, schema validation.

They have no per-object check; the loader, the suppression parser and the schema step raise them.
"""

from __future__ import annotations

from generator.policy.model import Applies, Severity
from generator.policy.registry import define

ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO

UNREADABLE = define(
    id="AIA001",
    slug="unreadable-input",
    title="Input path can be read as text",
    severity=ERROR,
    family="input",
    section=None,
    quote=None,
    why="A path that is missing, unreadable, binary or not UTF-8 would otherwise leave manifests "
    "unchecked without anyone noticing.",
    fix="Pass an existing YAML file or directory; remove binary files from manifest directories.",
    suppressible=False,
)
INVALID_YAML = define(
    id="AIA002",
    slug="invalid-yaml",
    title="File is valid YAML",
    severity=ERROR,
    family="input",
    section=None,
    quote=None,
    why="kubectl and Argo CD/Flux refuse a file that does not parse, including one that repeats a key "
    "in a mapping or still holds the merge conflict markers (`<<<<<<<`, `=======`, `>>>>>>>`) that git, "
    "`copier update` or `aiapp update` leave. Markers are reported before a kustomization is built.",
    fix="Fix the YAML syntax at the reported line (indentation, quoting, a repeated key); for a merge "
    "conflict, keep the right side and delete the marker lines.",
    suppressible=False,
)
NOT_AN_OBJECT = define(
    id="AIA003",
    slug="not-a-kubernetes-object",
    title="Every document is a mapping with apiVersion and kind",
    severity=ERROR,
    family="input",
    section=None,
    quote=None,
    why="A document that is a list or a scalar, or that has only one of apiVersion and kind, is not an "
    "object the cluster can apply. Mappings with neither (values files, other tools' config) are skipped.",
    fix="Make each document a mapping with both `apiVersion` and `kind`, or move non-Kubernetes YAML out "
    "of the manifest directory.",
    suppressible=False,
)
EMPTY = define(
    id="AIA004",
    slug="empty-file",
    title="Manifest file is not empty",
    severity=WARNING,
    family="input",
    section=None,
    quote=None,
    why="An empty manifest is usually a rendering or merge accident; kustomize refuses to list it.",
    fix="Delete the file, or restore its content.",
    suppressible=False,
)
KUSTOMIZE_FAILED = define(
    id="AIA005",
    slug="kustomize-build-failed",
    title="Kustomization builds",
    severity=ERROR,
    family="input",
    section=None,
    quote=None,
    why="A kustomization that does not build cannot be deployed, and its output cannot be checked. The "
    "other kustomizations are still built and checked, and so are its parts: each kustomization it lists "
    "is built on its own and the manifest files it lists are read as written (without its patches). A "
    "parent that fails only because an app it lists fails is not reported a second time. The error is "
    "kept whole, up to 20 lines.",
    fix="Run `kubectl kustomize <dir>` and fix the error it prints (a missing resource, a bad patch).",
    suppressible=False,
)
HELM_NOT_RENDERED = define(
    id="AIA012",
    slug="helm-chart-not-rendered",
    title="Kustomizations with helmCharts are rendered (helm installed)",
    severity=INFO,
    family="input",
    section=None,
    quote=None,
    why="`helmCharts:` is rendered only by `kustomize build --enable-helm` with helm installed; the build "
    "then runs with that flag. Without helm, the chart's objects cannot be seen: the files the "
    "kustomization lists are checked as written, the kustomizations it lists are built on their own, and "
    "this note says so (it never fails the check).",
    fix="Install helm where `aiapp check` runs and vendor the chart into the chart home (a chart pulled "
    "from its repository is not built, AIA013), or accept that the chart's own objects are not checked.",
    suppressible=False,
)
REMOTE_INPUT = define(
    id="AIA013",
    slug="remote-kustomize-input",
    title="Kustomizations build from files in the repository",
    severity=WARNING,
    family="input",
    section=None,
    quote=None,
    why="A remote resource or base (an `https://` file, a git URL, the `github.com/org/repo` shorthand) "
    "or a Helm chart pulled from its repository is fetched by every build: `aiapp check` would reach "
    "whatever address a pull request names, from the CI runner's network. It never uses the network: such "
    "a kustomization is not built, the files and kustomizations it lists locally are checked on their "
    "own, and the remote objects are not checked at all.",
    fix="Vendor the remote base or chart into the repository (`helm pull --untar` into the chart home), "
    "or check the rendered output; or accept, with a reason in `check.rules`, that it is not checked.",
    suppressible=False,
)
SUPPRESSION_WITHOUT_REASON = define(
    id="AIA006",
    slug="suppression-without-reason",
    title="Every suppression names rules and gives a reason",
    severity=ERROR,
    family="input",
    section=None,
    quote=None,
    why="An exception to the house rules must be explained where it is made, so that a reviewer can judge "
    "it. A suppression without a reason is not honoured: the findings it names are still reported.",
    fix='Write the annotation as `aiapp/ignore: "AIA301: why this object needs the exception"`; '
    "separate several entries with new lines or `;`.",
    suppressible=False,
    applies=Applies.SCOPE,
)
UNKNOWN_SUPPRESSION = define(
    id="AIA007",
    slug="unknown-rule-in-suppression",
    title="Suppressions name existing, suppressible rules",
    severity=WARNING,
    family="input",
    section=None,
    quote=None,
    why="A typo in a rule id silently suppresses nothing; input rules (AIA001-AIA009, AIA012-AIA014) "
    "cannot be suppressed.",
    fix="Use a rule id or slug listed in docs/rules.md (`aiapp check --list-rules`).",
    suppressible=False,
    applies=Applies.SCOPE,
)
NOT_IN_BUILD = define(
    id="AIA008",
    slug="not-in-kustomize-build",
    title="Files under a kustomization are part of its build",
    severity=WARNING,
    family="input",
    section=None,
    quote=None,
    why="A kustomization directory is deployed through its build, so a manifest under it that no build "
    "of the run includes (not in `resources`, directly or through a base) is not deployed: a leftover or "
    "a forgotten entry. It is still checked as written (a Secret with data in the repository leaks either "
    "way). Reported for files that hold Kubernetes objects; a kustomization that nothing includes is "
    "built on its own instead.",
    fix="List the file (or its directory) in `resources` of the kustomization, or delete it.",
    suppressible=False,
    applies=Applies.SCOPE,
)
CHECKOV_SKIP_WITHOUT_REASON = define(
    id="AIA009",
    slug="checkov-skip-without-reason",
    title="Every checkov skip annotation names a check and gives a reason",
    severity=ERROR,
    family="input",
    section=None,
    quote=None,
    why="Teams run checkov on the same manifests. checkov skips a check for an object whose "
    "`metadata.annotations` hold `checkov.io/skip<N>: CHECK_ID=reason`, with or without the reason, so a "
    "skip without one silences a finding that nobody can judge; a value with a second `=` makes checkov "
    "fail on the file. Skips are held to the standard of aiapp's own suppressions (AIA006).",
    fix='Write the annotation as `checkov.io/skip1: "CKV_K8S_43=why this object needs the exception"` '
    "(one check per annotation, no `=` in the reason).",
    suppressible=False,
    applies=Applies.SCOPE,
)
SCHEMA_VIOLATION = define(
    id="AIA010",
    slug="schema-violation",
    title="Object matches its schema (--schemas)",
    severity=ERROR,
    family="input",
    section=None,
    quote=None,
    why="An unknown or misspelt field is dropped or refused by the API server; strict schemas catch it "
    "before the cluster does. A CRD's CEL rules (`x-kubernetes-validations`: a backend timeout longer "
    "than the request timeout, a path with `//`, ...) are enforced by the API server too, and are "
    "evaluated as it does on create: after the schema's defaults, once per list item and map value, "
    "with the rule's message (or messageExpression) at its field path; transition rules (`oldSelf`) do "
    "not apply to a new object and are skipped.",
    fix="Fix the field named in the message (see `kubectl explain <kind>.<field>`).",
    applies=Applies.SCOPE,
)
NO_SCHEMA = define(
    id="AIA011",
    slug="no-schema",
    title="Object has a schema to validate against (--schemas)",
    severity=ERROR,
    family="input",
    section=None,
    quote=None,
    why="An object without a schema would pass unchecked; it is reported instead.",
    fix="Add the CRD's JSON schema to the schema location (`{{group}}/{{kind}}_{{version}}.json`), "
    "pass --schema-location, or suppress with a reason.",
    applies=Applies.SCOPE,
)
CEL_RULE_NOT_EVALUATED = define(
    id="AIA014",
    slug="cel-rule-not-evaluated",
    title="Every CEL rule of a CRD schema is evaluated (--schemas)",
    severity=INFO,
    family="input",
    section=None,
    quote=None,
    why="A CRD rule may call a Kubernetes CEL library function that aiapp's evaluator lacks (`isURL`, "
    "`quantity`, ...) or meet a value it types differently from the API server; the API server still "
    "enforces it. Such a rule is named once per run, at the first object it applies to, instead of "
    "passing in silence; it never fails the check.",
    fix="Check that rule by hand (`kubectl apply --dry-run=server`), or report the function to aiapp.",
    suppressible=False,
    applies=Applies.SCOPE,
)
