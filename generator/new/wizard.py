"""`aiapp new`: gather the answers (prompts or flags), show what will be written, then write it safely.

The order of every run: the template source and version that Copier will render are chosen, and the
questions are read from that version's copier.yml (never from another copy); answers given up front are
typed and checked (preset < answers file < --set); the destination is checked before any question; the
remaining answers come from the prompts or the defaults; a sibling app with the same name and namespace
is refused (with --register) before anything is rendered; Copier renders into a temporary directory; the
summary and the real file list are shown; only after the confirmation (or at once, non-interactively) is
the tree moved into place.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generator.errors import Interrupted, UsageError
from generator.new import review, sizing
from generator.new.next_steps import next_steps
from generator.new.staging import check_destination, check_entry_types, install, plan, staged
from generator.runtime.interrupts import held
from generator.template.answers import Given, Resolution, gather, resolve_given
from generator.template.questions import PROFILE_QUESTION, Question, check, parse_questions
from generator.template.versions import TemplateVersion

if TYPE_CHECKING:
    from generator.cluster.capacity import Demand
    from generator.new.interview import Prompter

# Where Copier records the answers when copier.yml does not say (`_answers_file`).
ANSWERS_FILE = ".copier-answers.yml"
APP_NAME = "app_name"
CREATE_NAMESPACE = "create_namespace"


@dataclass
class NewOptions:
    """The `aiapp new` command line, parsed."""

    dest: Path | None = None
    preset: str | None = None
    answers_file: Path | None = None
    sets: list[str] = field(default_factory=list)
    dry_run: bool = False
    show: bool = False
    force: bool = False
    register: bool = False
    template: str | None = None
    vcs_ref: str | None = None
    interactive: bool = False
    prompter: Prompter | None = None
    # The GPUs the workloads of a GitOps repository hold, by pool (the CLI passes `aiapp check`'s
    # reading); None: the pool's use is not reported.
    gpu_in_use: Callable[[Path], list[tuple[str, Demand]]] | None = None


def out(text: str = "") -> None:
    print(text, flush=True)


def err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _answers(
    options: NewOptions, questions: list[Question], version: TemplateVersion
) -> tuple[Given, Resolution]:
    from generator.template.presets import load_preset

    given = gather(
        questions,
        preset=load_preset(options.preset) if options.preset else None,
        preset_name=options.preset,
        answers_file=options.answers_file,
        sets=options.sets,
        template=None if version.bundled else version.where,
    )
    for note in given.notes:
        err(f"note: {note}")
    _give_profile(given, questions, options.dest or Path.cwd())
    if options.dest is not None:
        _give_dest_name(given, questions, options.dest)
    if options.dest is not None:
        check_destination(options.dest, options.force)
    if options.interactive:
        from generator.new.interview import interview
        from generator.new.review import essential

        rule = partial(_prompt_rule, options, str(version.config.get("_answers_file") or ANSWERS_FILE))
        asks = essential(version.config)
        return given, interview(questions, given, _prompter(options), extra=rule, essential=asks)
    resolution = resolve_given(questions, given, explain=partial(sizing.hint, questions))
    answers_file = str(version.config.get("_answers_file") or ANSWERS_FILE)
    _keep_namespace_owner(options, given, resolution, answers_file)
    return given, resolution


def _give_dest_name(given: Given, questions: list[Question], dest: Path) -> None:
    """DEST's directory name as the app name, when it keeps the name's rule and neither --set nor a
    preset gives one (`aiapp new apps/rag-chat` is the app rag-chat: asking again would only invite two
    names). It wins over another app's answers file, the starting point of a new app."""
    question = next((q for q in questions if q.name == APP_NAME), None)
    name = dest.resolve().name
    source = given.sources.get(APP_NAME, "")
    if question is None or source == "--set" or source.startswith("preset "):
        return
    if APP_NAME in given.values and check(question, given.values[APP_NAME], {}) is not None:
        return  # a broken name in the file is refused with its rule, never silently replaced
    if check(question, name, {}) is not None:
        return
    given.values[APP_NAME] = name
    given.sources[APP_NAME] = "DEST"


def _give_profile(given: Given, questions: list[Question], dest: Path) -> None:
    """The cluster profile of DEST's GitOps repository as the `cluster` answer.

    Copier records it in the app's answers file, so a later plain `copier update` renders the same facts.
    A repository without a profile gives none: the template's defaults apply, exactly as with plain
    `copier copy --defaults`. A template version without the question renders its own constants.
    """
    from generator.cluster.profile import find_profile

    profile = find_profile(dest)
    if profile.file is None:
        return
    if any(question.cluster for question in questions):
        given.values[PROFILE_QUESTION] = profile.answer()
        given.sources[PROFILE_QUESTION] = profile.source
    else:
        err(f"note: this template version has no cluster profile: {profile.source} is not applied")


def _prompt_rule(
    options: NewOptions, answers_file: str, name: str, value: Any, context: Mapping[str, Any]
) -> str | None:
    """Rules outside copier.yml, checked at the prompt so that the person can answer again.

    Without DEST the app goes to ./APP_NAME: a name whose directory is taken is refused. With --register,
    a name and namespace that a sibling app already uses is refused (kustomize could not build both).
    """
    if name == "app_name" and options.dest is None and value:
        try:
            check_destination(Path(str(value)), options.force)
        except UsageError as error:
            return f"{error.message} (pass DEST to write elsewhere, or --force)"
    if name == CREATE_NAMESPACE and value is True and context.get("namespace"):
        owner = _namespace_owner(options, context, answers_file)
        if owner:
            return owner
    if name == "namespace" and options.register and context.get("app_name"):
        from generator.new.register import clash

        dest = options.dest or Path(str(context["app_name"]))
        found = clash(dest, str(context["app_name"]), str(value), answers_file)
        if found:
            return (
                f"{found.describe(dest)}: answer another namespace, or press Ctrl-C and run again with "
                "--set app_name=ANOTHER-NAME"
            )
    return None


def _namespace_owner(options: NewOptions, context: Mapping[str, Any], answers_file: str) -> str | None:
    """Why the app must not create its namespace: another app of the repository creates it."""
    from generator.new.register import namespace_owner

    dest = options.dest or Path(str(context.get("app_name", ".")))
    owner = namespace_owner(dest, str(context["namespace"]), answers_file)
    if owner is None:
        return None
    return (
        f"namespace {context['namespace']!r} is created by the app in {owner} (its create_namespace): "
        "one owner per namespace, or the parent kustomization holds the Namespace twice; answer false"
    )


def _keep_namespace_owner(
    options: NewOptions, given: Given, resolution: Resolution, answers_file: str
) -> None:
    """Scripts: a namespace that a sibling app creates is not created again (the default becomes false,
    with a note); asking for it explicitly is an error."""
    context = resolution.context
    if context.get(CREATE_NAMESPACE) is not True or CREATE_NAMESPACE not in resolution.asked:
        return
    owner = _namespace_owner(options, context, answers_file)
    if owner is None:
        return
    if CREATE_NAMESPACE in given.values:
        raise UsageError(f"create_namespace = true (from {given.sources[CREATE_NAMESPACE]}): {owner}")
    context[CREATE_NAMESPACE] = False
    resolution.notes.append(f"create_namespace is false: {owner.split(' (its')[0]}")


def check_siblings(
    options: NewOptions, dest: Path, context: Mapping[str, Any], answers_file: str = ANSWERS_FILE
) -> str | None:
    """A sibling app with the same app_name and namespace: an error with --register, else a warning."""
    from generator.new.register import check_parent, clash

    if options.register:
        check_parent(dest)
    if "app_name" not in context:
        return None
    found = clash(dest, str(context["app_name"]), str(context.get("namespace", "")), answers_file)
    if found is None:
        return None
    message = f"{found.describe(dest)}; pass --set app_name=ANOTHER-NAME"
    if options.register:
        raise UsageError(f"not registering: {message} (nothing was written)")
    return message


def _prompter(options: NewOptions) -> Prompter:
    if options.prompter is None:
        from generator.new.interview import TerminalPrompter

        options.prompter = TerminalPrompter()
    return options.prompter


def _pool_left(options: NewOptions, dest: Path, context: Mapping[str, Any]) -> list[str]:
    """What is left of the app's GPU pool after it, when the profile gives the pool's size: a note, or a
    warning with the figures when the app would over-commit it (`aiapp check` then reports AIA105)."""
    from generator.cluster.capacity import pool_usage
    from generator.cluster.facts import cluster
    from generator.cluster.profile import find_profile

    spec = context.get(sizing.POOL_SPEC)
    if options.gpu_in_use is None or not isinstance(spec, dict) or not spec.get("nodes"):
        return []
    profile = find_profile(dest.absolute().parent)
    pools = [pool for pool in cluster(profile).gpu_pools if pool.name == spec.get("name")]
    if profile.file is None or not pools or pools[0].capacity is None:
        return []
    # The app itself when it is rendered again (--force): its Deployment (or LeaderWorkerSet) is not
    # counted twice. A GPU app serves a model from ReadWriteOnce PVCs: Recreate, or a LeaderWorkerSet
    # without surge, so no pod beyond its replicas.
    names = (context.get("app_name"), context.get("lws_name"))
    mine = {f"/{context.get('namespace')}/{name}" for name in names if name}
    held = [
        (ref, demand)
        for ref, demand in options.gpu_in_use(profile.file.parent)
        if not any(ref.endswith(own) for own in mine)
    ]
    use = pool_usage(pools, held)[0]
    app = sizing.replica_gpus(context) * int(context.get("replicas") or 1)
    left = pools[0].capacity - use.used - app
    figures = f"{use.text()}; this app takes {app}: {left} left after it"
    if left < 0:
        figures = f"{use.text()}; this app takes {app} more: {-left} over the pool's {pools[0].capacity}"
        return [f"warning: {figures} (aiapp check will report AIA105)"]
    return [f"note: {figures}"]


def run_new(options: NewOptions) -> int:
    """Run `aiapp new`; the exit code (0 written or dry run, 1 declined at the confirmation)."""
    from generator.template.source import resolve_template_source
    from generator.template.versions import read_template

    if options.show and not options.dry_run:
        raise UsageError("--show needs --dry-run")
    # The questions are those of the template version that will be rendered. Without DEST, the
    # `.aiapp.yml` that names the source is looked for from the current directory (DEST's parent).
    src = resolve_template_source(options.template, dest=options.dest or Path.cwd())
    version = read_template(src, options.vcs_ref)
    for note in version.notes:
        err(f"note: {note}")
    questions = parse_questions(version.config)
    answers_file = str(version.config.get("_answers_file") or ANSWERS_FILE)
    given, resolution = _answers(options, questions, version)
    asks = review.essential(version.config) if options.interactive else None
    rule = partial(_prompt_rule, options, answers_file)
    first = True
    while True:
        if not first:
            resolution = review.change(questions, given, resolution, _prompter(options), asks, rule)
        first = False
        for note in resolution.notes:
            err(f"note: {note}")
        dest = options.dest or Path(str(resolution.context["app_name"]))
        check_destination(dest, options.force)
        warning = check_siblings(options, dest, resolution.context, answers_file)
        if warning:
            err(f"warning: {warning}")
        if options.interactive:
            out()
            for line in review.summary(questions, resolution):
                out(line)
            if PROFILE_QUESTION in resolution.given:
                out(f"  (cluster facts: {resolution.given_sources.get(PROFILE_QUESTION, 'the profile')})")
        report = sizing.report(questions, resolution.context)
        if report:
            out()
            for line in report:
                out(line)
        for line in _pool_left(options, dest, resolution.context):
            err(line)
        if options.interactive:
            out()
            out("Rendering with Copier...")
        near = None if options.dry_run else dest
        installed = False
        try:
            with staged(src, resolution.copier_data(), near=near, vcs_ref=version.ref) as stage:
                for warning in stage.warnings:
                    err(f"copier: {warning}")
                files = stage.files
                if dest.is_dir():
                    check_entry_types(stage, dest)
                if options.dry_run:
                    out(f"Dry run: {len(files)} files would be written into {dest} (nothing written):")
                    for line in plan(stage, dest, version.config):
                        out(line)
                    if options.show:
                        for name in files:
                            out(f"\n--- {dest / name}")
                            out((stage.root / name).read_text(encoding="utf-8").rstrip("\n"))
                    if options.register:
                        from generator.new.register import register

                        out(register(dest, write=False))
                    return 0
                if options.interactive:
                    out(f"Files to write into {dest} ({len(files)}):")
                    for line in plan(stage, dest, version.config):
                        out(line)
                    choice = review.decide(_prompter(options), len(files), dest)
                    if choice == review.CANCEL:
                        err("Cancelled: nothing was written.")
                        return 1
                    if choice == review.CHANGE:
                        continue  # leaves the staging directory (removed); the answers are asked below
                with held():  # a move cut in half would leave DEST half-written
                    kept = install(stage, dest, version.config)
                    installed = True
        except KeyboardInterrupt:
            if not installed:
                raise  # the staging directory is gone: nothing was written
            raise Interrupted(
                f"{dest} was written in full; Ctrl-C stopped aiapp before the rest (--register, next steps)"
            ) from None
        break
    written = len(files) - len(kept)
    out()
    out(f"Wrote {written} files into {dest.resolve()}.")
    for name in kept:
        out(f"  kept your {name} (the template creates it only once)")
    registered = None
    if options.register:
        from generator.new.register import register

        registered = register(dest)
    for line in next_steps(dest, questions, resolution.context, registered):
        out(line)
    return 0
