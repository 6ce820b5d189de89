"""Sizing help: how much GPU memory the model needs, whether it fits, and what would fit instead.

Nothing here re-states a formula. The numbers are copier.yml's computed values (`bytes_per_param`,
`model_weights_gib`, `model_memory_gib`, the PVC and startup defaults) and "does it fit" is the
validator of `gpu_memory_gib`; the alternatives are found by re-evaluating those same rules with another
precision or GPU count. GPU counts are only those an inference server can split a model over (tensor
parallelism needs a count that divides the attention heads: 1, 2, 4 or 8). docs/sizing.md explains the
formula and its source.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from generator.template.answers import one_line, show
from generator.template.questions import Question, check, is_asked, reevaluate, resolve

# The copier.yml names the sizing help reads (tests/test_wizard_sizing.py checks they exist).
SERVES = "serves_model"
PARAMS = "model_params_b"
PRECISION = "model_precision"
BYTES = "bytes_per_param"
WEIGHTS = "model_weights_gib"
NEED = "model_memory_gib"
GPU = "gpu"
COUNT = "gpu_count"
NODES = "replica_nodes"
POOL = "gpu_pool"
POOL_SPEC = "gpu_pool_spec"
FIT = "gpu_memory_gib"
PVC = "model_pvc_size_gib"
MEMORY = "memory_gib"
STARTUP = "startup_seconds"
OVERHEAD = "memory_overhead"
ARGS = "container_args"
# GPU counts offered when looking for one that fits: tensor parallelism (vLLM's --tensor-parallel-size)
# splits the attention heads evenly, and common models have head counts divisible by 8, rarely by 3 or 7.
# gpu_count's own validator sets the real limit.
TENSOR_PARALLEL_COUNTS = (1, 2, 4, 8)
TP_FLAG = "--tensor-parallel-size"


@dataclass(frozen=True)
class Alternative:
    """A change of answers that makes the model fit."""

    changes: dict[str, Any]
    label: str

    @property
    def flags(self) -> str:
        """The same change as `--set` options, for a non-interactive hint."""
        return " ".join(f"--set {name}={show(value)}" for name, value in self.changes.items())

    @property
    def tensor_parallel(self) -> int | None:
        """The GPU count the server must be told to split the model over, when this changes it."""
        count = self.changes.get(COUNT)
        return int(count) if count is not None and int(count) > 1 else None


ENGINE = "serving_engine"
SPEC = "model_spec"
EMBED = "model_embed_params_b"
# Precisions that are another checkpoint (AWQ, GPTQ, W8A8), not a flag: the weights are downloaded as such.
QUANTISED = ("int8", "int4")


def checkpoint(context: Mapping[str, Any], precision: Any) -> str:
    """Where weights at `precision` come from: a lower precision is a quantised checkpoint, the catalogue's
    (includes/models.yml `quantized`) or one the engineer names with the download (model_hf_repo)."""
    if precision not in QUANTISED:
        return ""
    spec = context.get(SPEC)
    quantized = spec.get("quantized") if isinstance(spec, Mapping) else None
    repo = quantized.get(precision) if isinstance(quantized, Mapping) else None
    if repo:
        return f" (the quantised checkpoint {repo})"
    return f" (a quantised {precision} checkpoint, AWQ or GPTQ: name its repository with the download)"
BUDGET = "gpu_kv_budget_gib"
CONTEXT_FIT = "model_context_fit"
MIN_CONTEXT = "model_min_context"


def tensor_parallel_advice(count: int) -> str:
    """What vLLM needs to use `count` GPUs (it uses one unless told)."""
    return f"vLLM gets {TP_FLAG} {count}, generated for the vLLM engine"


def has_tensor_parallel(args: Any) -> bool:
    """Whether container arguments already set vLLM's tensor parallelism (`--tensor-parallel-size N`,
    `--tensor-parallel-size=N` or `-tp N`)."""
    if not isinstance(args, list):
        return False
    return any(str(arg).split("=", 1)[0] in (TP_FLAG, "-tp") for arg in args)


def tensor_parallel_note(context: Mapping[str, Any]) -> str | None:
    """A note when the app gets several GPUs but its container arguments do not tell vLLM to use them."""
    if ARGS not in context or not context.get(SERVES) or not context.get(GPU):
        return None
    if context.get(ENGINE) == "vllm":  # the generated arguments carry it
        return None
    count = int(context.get(COUNT) or 1)
    if count <= 1 or has_tensor_parallel(context[ARGS]):
        return None
    return (
        f"{count} GPUs, but container_args has no {TP_FLAG}: vLLM uses one GPU unless told. Add "
        f"{TP_FLAG} {count} (for example --set container_args='[--model, /models, {TP_FLAG}, \"{count}\"]'"
        ", or edit the Deployment's args), or the equivalent flag of another server."
    )


def _by_name(questions: Sequence[Question]) -> dict[str, Question]:
    return {question.name: question for question in questions}


def fit_problem(questions: Sequence[Question], value: Any, context: Mapping[str, Any]) -> str | None:
    """The fit rule's message when the model does not fit in `value` GiB per GPU, else None.

    A failure of gpu_memory_gib's validator that disappears when the model needs no memory is a fit
    problem (answerable with another precision or more GPUs); any other failure (a value out of range)
    is refused at the prompt like every other broken rule.
    """
    question = _by_name(questions)[FIT]
    rule = check(question, value, context)
    if rule and check(question, value, {**context, NEED: 0}) is None:
        return one_line(rule)
    return None


def _fits(fit: Question, context: Mapping[str, Any]) -> bool:
    return check(fit, context[FIT], context) is None


def _total(context: Mapping[str, Any]) -> str:
    count, memory, nodes = context[COUNT], context[FIT], int(context.get(NODES) or 1)
    across = f"{nodes} nodes x " if nodes > 1 else ""
    return f"{across}{count} x {show(memory)} GiB = {show(nodes * count * memory)} GiB"


def replica_gpus(context: Mapping[str, Any]) -> int:
    """The GPUs one replica holds: its GPUs per pod times the nodes it spans."""
    return int(context.get(COUNT) or 0) * int(context.get(NODES) or 1)


def _counts(questions: Sequence[Question], context: Mapping[str, Any]) -> list[int]:
    """More GPUs than now, among the counts tensor parallelism can use and gpu_count's rule allows."""
    count = _by_name(questions)[COUNT]
    return [n for n in TENSOR_PARALLEL_COUNTS if n > int(context[COUNT]) and check(count, n, context) is None]


def _best_precision(
    questions: Sequence[Question], context: Mapping[str, Any], changes: Mapping[str, Any]
) -> tuple[float, Any, dict[str, Any]] | None:
    """The highest precision (the largest need) other than the current one that fits with `changes`."""
    qs = list(questions)
    by_name = _by_name(qs)
    candidates: list[tuple[float, Any, dict[str, Any]]] = []
    for _, precision in by_name[PRECISION].choices or ():
        if precision == context[PRECISION]:
            continue
        trial = reevaluate(context, {**changes, PRECISION: precision}, qs)
        if _fits(by_name[FIT], trial):
            candidates.append((float(trial[NEED]), precision, trial))
    return max(candidates, key=lambda item: item[0]) if candidates else None


def _more_gpus(count: int) -> str:
    return f" ({tensor_parallel_advice(count)})"


def alternatives(questions: Sequence[Question], context: Mapping[str, Any]) -> list[Alternative]:
    """What would fit: the highest precision on the current GPUs, and the fewest GPUs (1, 2, 4 or 8) at
    this precision; when neither does, the fewest GPUs with the highest precision that fits on them.

    `context` holds the answers up to and including gpu_memory_gib.
    """
    qs = list(questions)
    fit = _by_name(qs)[FIT]
    found: list[Alternative] = []

    best = _best_precision(qs, context, {})
    if best is not None:
        need, precision, trial = best
        found.append(
            Alternative(
                {PRECISION: precision},
                f"Use {precision}{checkpoint(context, precision)}: about {show(need)} GiB on {_total(trial)}",
            )
        )

    counts = _counts(qs, context)
    for count in counts:
        trial = reevaluate(context, {COUNT: count}, qs)
        if _fits(fit, trial):
            found.append(
                Alternative(
                    {COUNT: count},
                    f"Use {count} GPUs at {context[PRECISION]}: about {show(trial[NEED])} GiB on "
                    f"{_total(trial)}{_more_gpus(count)}",
                )
            )
            break

    if not found:
        # Lower precision on more GPUs: the fewest GPUs (at the highest precision that fits on them), and,
        # when it differs, the highest precision (on the fewest GPUs that hold it).
        combined = []
        for count in counts:
            best = _best_precision(qs, context, {COUNT: count})
            if best is not None:
                combined.append((count, *best))
        if combined:
            highest = max(combined, key=lambda item: item[1])  # the first (fewest GPUs) of equal needs
            offers = [combined[0]] if highest is combined[0] else [combined[0], highest]
            for count, need, precision, trial in offers:
                found.append(
                    Alternative(
                        {PRECISION: precision, COUNT: count},
                        f"Use {precision}{checkpoint(context, precision)} on {count} GPUs: about "
                        f"{show(need)} GiB on {_total(trial)}"
                        f"{_more_gpus(count)}",
                    )
                )
    return found


def hint(
    questions: Sequence[Question], question: Question, value: Any, context: Mapping[str, Any]
) -> str | None:
    """For a non-interactive run: the `--set` options that would make the model fit."""
    if question.name != FIT or fit_problem(questions, value, context) is None:
        return None
    options = alternatives(questions, {**context, FIT: value})
    if not options:
        return (
            "Nothing fits on these GPUs at any precision or GPU count: choose a smaller model or larger GPUs."
        )
    offers = [
        option.flags + (_more_gpus(option.tensor_parallel) if option.tensor_parallel else "")
        for option in options
    ]
    return "Would fit: " + "; or ".join(offers) + "."


def _pool_text(pool: Mapping[str, Any], count: int, spans: int = 1) -> str:
    """The pool an app runs on and its share of one node (or the nodes a replica spans), from the
    profile's gpu.pools."""
    per_node, nodes = pool["gpus_per_node"], pool.get("nodes")
    memory = f" of {pool['gpu_memory_gib']} GiB" if pool.get("gpu_memory_gib") else ""
    size = f"{nodes} nodes x {per_node} GPUs{memory}" if nodes else f"{per_node} GPUs{memory} per node"
    if spans > 1:
        return f"{pool['name']} ({size}): a replica takes {spans} whole nodes, {count} GPUs on each"
    return f"{pool['name']} ({size}): the pod takes {count} of its node's {per_node} GPUs"


REPLICA_NODES_QUESTION = "nodes_per_replica"
# The GPU questions, in copier.yml's order: the sizing report follows the last of them that is asked (the
# cards' memory is not asked when the pool gives it, the nodes only for a model larger than a node).
GPU_QUESTIONS = (COUNT, REPLICA_NODES_QUESTION, FIT)


def last_gpu_question(questions: Sequence[Question], name: str, context: Mapping[str, Any]) -> bool:
    """Whether `name`, just answered, is the last GPU question asked: no later one will be."""
    if name not in GPU_QUESTIONS:
        return False
    later = GPU_QUESTIONS[GPU_QUESTIONS.index(name) + 1 :]
    full = lookahead(questions, context)
    by_name = _by_name(questions)
    return not any(is_asked(by_name[other], full) for other in later if other in by_name)


def lookahead(questions: Sequence[Question], context: Mapping[str, Any]) -> dict[str, Any]:
    """The answers so far plus the defaults of everything after them (for the PVC and probe budgets)."""
    answered = {q.name: context[q.name] for q in questions if not q.computed and q.name in context}
    try:
        return resolve(answered, list(questions))
    except Exception:  # a later default that cannot be computed yet: report what is known
        return dict(context)


def report(questions: Sequence[Question], context: Mapping[str, Any]) -> list[str]:
    """The sizing lines for the answers so far (empty when the app serves no model)."""
    full = lookahead(questions, context)
    if not full.get(SERVES):
        return []
    weights, need = full[WEIGHTS], full[NEED]
    # An older template version may have no separate overhead value.
    overhead = f"{round(full[OVERHEAD] * 100)}%" if OVERHEAD in full else "an overhead"
    if full.get(EMBED):  # a quantised checkpoint: 16-bit embeddings and output layer, group scales
        size = (
            f"{show(full[PARAMS])}B parameters at {full[PRECISION]} ({show(full[BYTES])} bytes + group "
            f"scales; {show(full[EMBED])}B embedding/output parameters at 16 bits) = {show(weights)} GiB"
        )
    else:
        size = (
            f"{show(full[PARAMS])}B parameters x {show(full[BYTES])} bytes ({full[PRECISION]}) = "
            f"{show(weights)} GiB"
        )
    lines = ["Sizing (see docs/sizing.md)", f"  weights        {size}"]
    if full.get(GPU):
        problem = fit_problem(questions, full[FIT], full)
        verdict = "does NOT fit" if problem else "fits"
        lines += [
            f"  GPU memory     about {show(need)} GiB needed (weights + the KV cache of "
            f"{show(full.get(MIN_CONTEXT))} tokens; plus the runtime overhead of each GPU)",
            f"  GPUs           {_total(full)}: {verdict}",
        ]
        pool = full.get(POOL_SPEC)
        if isinstance(pool, dict) and pool.get("gpus_per_node"):  # a pool whose size the profile gives
            lines.append(f"  GPU pool       {_pool_text(pool, int(full[COUNT]), int(full.get(NODES) or 1))}")
        if not problem and BUDGET in full:
            lines.append(
                f"  KV cache       {show(full[BUDGET])} GiB left: a context of up to "
                f"{show(full.get(CONTEXT_FIT))} tokens fits"
            )
    else:
        lines.append(
            f"  RAM            about {show(need)} GiB for the model on CPU (weights + {overhead}); "
            f"memory request {show(full.get(MEMORY))} GiB"
        )
    if PVC in full:
        lines.append(f"  model PVC      {show(full[PVC])} GiB requested")
    if STARTUP in full:
        lines.append(f"  startup probe  allows up to {show(full[STARTUP])} s to load the model")
    return lines
