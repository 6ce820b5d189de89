"""`aiapp init [REPO]`: write REPO/.aiapp.yml's `cluster:` section, checked against the profile schema.

The facts come, lowest precedence first, from the defaults (copier.yml's `cluster_defaults`), what
`--detect` finds in the repository's manifests, `--set key.path=value`, and the prompts (interactive
runs). Nothing is written until the whole profile is valid and, after --detect or prompts, confirmed.
"""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from generator.cluster.profile import flatten, merge, validate, written
from generator.errors import UsageError
from generator.reader.files import read_text
from generator.template.source import PROFILE_KEY, SETTINGS_FILE

HEADER = (
    "# The cluster profile: the facts of the cluster this GitOps repository deploys to (docs/cluster.md).\n"
    "# `aiapp new`, `update`, `status` and `check` read it; plain Copier: --data-file .aiapp.yml\n"
)


class Prompter(Protocol):
    """What the interactive flow needs (questionary on a terminal, a script in tests)."""

    def text(self, message: str, default: str) -> str: ...

    def confirm(self, message: str, default: bool) -> bool: ...


@dataclass
class InitOptions:
    """The `aiapp init` command line, parsed."""

    repo: Path = Path(".")
    sets: list[str] = field(default_factory=list)
    detect: bool = False
    yes: bool = False
    force: bool = False
    interactive: bool = False
    prompter: Prompter | None = None


class TerminalPrompter:
    """questionary prompts, as `aiapp new` asks; Ctrl-C and Ctrl-D end the run with nothing written."""

    def _ask(self, question: Any) -> Any:
        try:
            return question.unsafe_ask()
        except EOFError:
            raise KeyboardInterrupt from None

    def text(self, message: str, default: str) -> str:
        """The default is a placeholder: typing replaces it (`nulllab.example.org`, never `null` + it)."""
        from generator.runtime.prompts import placeholder_text

        answer = str(self._ask(placeholder_text(message, default)))
        return answer if answer else default

    def confirm(self, message: str, default: bool) -> bool:
        import questionary

        # `y` or `n` then Enter, as in `aiapp new` (the Enter never answers the next prompt).
        return bool(self._ask(questionary.confirm(message, default=default, auto_enter=False)))


def out(text: str = "") -> None:
    print(text, flush=True)


def flow(value: Any) -> str:
    """A value in YAML flow style, as it is typed at a prompt or in --set."""
    import yaml

    text: str = yaml.safe_dump(value, default_flow_style=True, width=1_000_000, allow_unicode=True)
    return text.removesuffix("\n").removesuffix("\n...").strip()


def parse_sets(items: list[str]) -> dict[str, Any]:
    """`--set section.key=value` (or `key=value` for top-level facts) as a partial profile."""
    import yaml

    given: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        parts = key.strip().split(".")
        if not sep or not all(parts) or len(parts) > 2:
            raise UsageError(f"--set expects key.path=value (e.g. litellm.namespace=litellm), got {item!r}")
        try:
            value = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError:
            value = raw
        if len(parts) == 1:
            given[parts[0]] = value
        else:
            section = given.setdefault(parts[0], {})
            if not isinstance(section, dict):
                raise UsageError(f"--set {item!r}: {parts[0]} is given as a whole and by key")
            section[parts[1]] = value
    return given


def combine(*layers: dict[str, Any]) -> dict[str, Any]:
    """Partial profiles merged one level deep, later layers first (as the profile merges defaults)."""
    result: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            if isinstance(value, dict) and isinstance(result.get(key), dict):
                result[key] = {**result[key], **value}
            else:
                result[key] = value
    return result


def run_init(options: InitOptions) -> int:
    """Run `aiapp init`; the exit code (0 written, 1 declined)."""
    import yaml

    repo = options.repo
    if not repo.is_dir():
        raise UsageError(f"{repo} is not a directory")
    target = repo / SETTINGS_FILE
    existing = _existing(target)
    if isinstance(existing, dict) and existing.get(PROFILE_KEY) is not None and not options.force:
        raise UsageError(
            f"{target} already has a cluster profile (nothing was written)",
            hint="edit it, or pass --force to replace it",
        )
    given: dict[str, Any] = {}
    if options.detect:
        given = _detected(repo)
    sets = parse_sets(options.sets)
    given = combine(given, sets)
    validate(given, "--set" if sets else "--detect")
    if options.interactive and not _accepted(given, options):
        given = _interview(given, _prompter(options))
    facts = written(merge(given))
    text = _render(target, existing, facts)
    out()
    out(f"Cluster profile for {target}:")
    for line in yaml.safe_dump({PROFILE_KEY: facts}, sort_keys=False).splitlines():
        out(f"  {line}")
    ask = options.detect or options.interactive
    if ask and not options.yes:
        if not options.interactive and not sys.stdin.isatty():
            raise UsageError("not writing without a confirmation: pass --yes (nothing was written)")
        if not _prompter(options).confirm(f"Write {target}?", True):
            out("Cancelled: nothing was written.")
            return 1
    _write(target, text)
    out(f"Wrote {target}.")
    return 0


def _prompter(options: InitOptions) -> Prompter:
    if options.prompter is None:
        options.prompter = TerminalPrompter()
    return options.prompter


def _existing(target: Path) -> Any:
    """The `.aiapp.yml` already there, read by the one bounded reader (None when there is none)."""
    from generator.reader.yamldoc import load_mapping

    if not os.path.lexists(target):
        return None
    return load_mapping(target, "the settings file") or None


def _detected(repo: Path) -> dict[str, Any]:
    from generator.init.detect import detect

    detection = detect(repo)
    out(f"Detected in {repo}:")
    if not detection.proposals:
        out("  nothing: no LiteLLM, Qdrant, GPU workload, ExternalSecret, Gateway or PVC manifests found;")
        out("  proposing the defaults (the facts of the patterns document).")
    width = max((len(proposal.key) for proposal in detection.proposals), default=0)
    for proposal in detection.proposals:
        out(f"  {proposal.key:<{width}}  {flow(proposal.value)}   ({proposal.file})")
    for missing in detection.missing:
        out(f"  not found: {missing}")
    return detection.given()


def _accepted(given: dict[str, Any], options: InitOptions) -> bool:
    """The facts found (or the defaults) accepted as one block; no: every fact is asked, one by one."""
    facts = flatten(written(merge(given)))
    if not options.detect:
        out("Proposed (the defaults, with --set):")
        width = max((len(key) for key, _ in facts), default=0)
        for key, value in facts:
            out(f"  {key:<{width}}  {flow(value)}")
        question = f"Use these {len(facts)} facts? (no: go through each one)"
    else:
        found = len(flatten(given))
        rest = len(facts) - found
        question = f"Use these {found} facts, and the defaults for the other {rest}? (no: go through each)"
    return _prompter(options).confirm(question, True)


def _interview(given: dict[str, Any], prompter: Prompter) -> dict[str, Any]:
    """Ask every fact (the proposal or the default pre-filled); a value breaking its rule is asked again."""
    import yaml

    from generator.errors import ProfileError

    answers = dict(given)
    for key, value in flatten(written(merge(given))):
        while True:
            raw = prompter.text(f"{key}", flow(value))
            try:
                typed = yaml.safe_load(raw) if raw.strip() else None
            except yaml.YAMLError:
                typed = raw
            trial = combine(answers, parse_sets([f"{key}={flow(typed)}"]) if "." in key else {key: typed})
            try:
                validate(trial, key)
            except ProfileError as error:
                print(f"  ✗ {error.message}", flush=True)
                continue
            answers = trial
            break
    return answers


def _render(target: Path, existing: Any, facts: dict[str, Any]) -> str:
    """The new file: the old one with the profile appended (comments kept), or rewritten with --force."""
    import yaml

    section = HEADER + yaml.safe_dump({PROFILE_KEY: facts}, sort_keys=False, allow_unicode=True)
    if existing is None:
        return section
    if not isinstance(existing, dict):
        raise UsageError(f"{target} is not a mapping: fix or remove it first (nothing was written)")
    if existing.get(PROFILE_KEY) is None:
        text = read_text(target, "the profile file")
        return text + ("" if text.endswith("\n") or not text else "\n") + "\n" + section
    others = {key: value for key, value in existing.items() if key != PROFILE_KEY}
    rest = yaml.safe_dump(others, sort_keys=False, allow_unicode=True) if others else ""
    return rest + section


def _write(target: Path, text: str) -> None:
    """Replace the file atomically: a run that fails leaves the old one as it was."""
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".aiapp-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        if target.exists():
            os.chmod(temporary, target.stat().st_mode & 0o777)
        else:
            os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
