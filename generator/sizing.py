"""Sizing help: how much GPU memory the model needs, whether it fits, and what would fit instead.

Nothing here re-states a formula. The numbers are copier.yml's computed values (`bytes_per_param`,
`model_weights_gib`, `model_memory_gib`, the PVC and startup defaults) and "does it fit" is the
validator of `gpu_memory_gib`; the alternatives are found by re-evaluating those same rules with another
precision or GPU count. docs/sizing.md explains the formula and its source.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from generator.answers import one_line, show
from generator.questions import Question, check, reevaluate, resolve

# The copier.yml names the sizing help reads (tests/test_wizard_sizing.py checks they exist).
SERVES = "serves_model"
PARAMS = "model_params_b"
PRECISION = "model_precision"
BYTES = "bytes_per_param"
WEIGHTS = "model_weights_gib"
NEED = "model_memory_gib"
GPU = "gpu"
COUNT = "gpu_count"
FIT = "gpu_memory_gib"
PVC = "model_pvc_size_gib"
MEMORY = "memory_gib"
STARTUP = "startup_seconds"
# GPU counts tried when looking for one that fits; gpu_count's own validator sets the real limit.
MAX_COUNT_TRIED = 64


@dataclass(frozen=True)
class Alternative:
    """A change of answers that makes the model fit."""

    changes: dict[str, Any]
    label: str

    @property
    def flags(self) -> str:
        """The same change as `--set` options, for a non-interactive hint."""
        return " ".join(f"--set {name}={show(value)}" for name, value in self.changes.items())


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
    count, memory = context[COUNT], context[FIT]
    return f"{count} x {show(memory)} GiB = {show(count * memory)} GiB"


def alternatives(questions: Sequence[Question], context: Mapping[str, Any]) -> list[Alternative]:
    """What would fit: the highest precision on the current GPUs, and the fewest GPUs at this precision.

    `context` holds the answers up to and including gpu_memory_gib.
    """
    qs = list(questions)
    by_name = _by_name(qs)
    fit = by_name[FIT]
    found: list[Alternative] = []

    candidates: list[tuple[float, Any, dict[str, Any]]] = []
    for _, precision in by_name[PRECISION].choices or ():
        if precision == context[PRECISION]:
            continue
        trial = reevaluate(context, {PRECISION: precision}, qs)
        if _fits(fit, trial):
            candidates.append((float(trial[NEED]), precision, trial))
    if candidates:
        need, precision, trial = max(candidates, key=lambda item: item[0])
        found.append(
            Alternative(
                {PRECISION: precision},
                f"Use {precision}: about {show(need)} GiB on {_total(trial)}",
            )
        )

    for count in range(int(context[COUNT]) + 1, MAX_COUNT_TRIED + 1):
        if check(by_name[COUNT], count, context):
            continue
        trial = reevaluate(context, {COUNT: count}, qs)
        if _fits(fit, trial):
            found.append(
                Alternative(
                    {COUNT: count},
                    f"Use {count} GPUs at {context[PRECISION]}: about {show(trial[NEED])} GiB on "
                    f"{_total(trial)}",
                )
            )
            break
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
    return "Would fit: " + "; or ".join(option.flags for option in options) + "."


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
    overhead = round(full["memory_overhead"] * 100)
    lines = [
        "Sizing (see docs/sizing.md)",
        f"  weights        {show(full[PARAMS])}B parameters x {show(full[BYTES])} bytes "
        f"({full[PRECISION]}) = {show(weights)} GiB",
    ]
    if full.get(GPU):
        problem = fit_problem(questions, full[FIT], full)
        verdict = "does NOT fit" if problem else "fits"
        lines += [
            f"  GPU memory     about {show(need)} GiB needed (weights + {overhead}% for the KV cache "
            "and activations)",
            f"  GPUs           {_total(full)}: {verdict}",
        ]
    else:
        lines.append(
            f"  RAM            about {show(need)} GiB for the model on CPU (weights + {overhead}%); "
            f"memory request {show(full.get(MEMORY))} GiB"
        )
    if PVC in full:
        lines.append(f"  model PVC      {show(full[PVC])} GiB requested")
    if STARTUP in full:
        lines.append(f"  startup probe  allows up to {show(full[STARTUP])} s to load the model")
    return lines
