"""Where the Copier template lives, and which source a new app records as `_src_path`.

Two different things are called "the template" here:

- the bundled copy (the repository checkout, or `generator/_template` inside the wheel): what the wizard
  and the checker read questions and cluster constants from;
- the template *source*: a git URL or git repository path that Copier renders from and records in the
  app's `.copier-answers.yml`, so that a later `copier update` / `aiapp update` can fetch new versions.
  A path inside site-packages or a temporary directory is never a source: nothing could reach it later.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from generator.errors import TemplateSourceError

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # the `generator` package
PRESETS_DIR = PACKAGE_DIR / "presets"

ENV_TEMPLATE = "AIAPP_TEMPLATE"
# Lets tests and throwaway experiments use a template repository under /tmp. Apps generated that way
# cannot be updated once the directory is gone, which is why it is refused by default.
ENV_ALLOW_TEMP = "AIAPP_ALLOW_TEMP_TEMPLATE"
SETTINGS_FILE = ".aiapp.yml"
SETTINGS_KEY = "template"
# Every top-level key of a `.aiapp.yml`: the template source, the cluster profile (docs/cluster.md)
# and `check:`, aiapp check's configuration (generator/policy/config.py).
PROFILE_KEY = "cluster"
SETTINGS_KEYS = (SETTINGS_KEY, PROFILE_KEY, "check")

HOW_TO_SET = (
    f"pass --template URL, set ${ENV_TEMPLATE}, or add `{SETTINGS_KEY}: URL` to a {SETTINGS_FILE} "
    "at the root of the GitOps repository (URL: the aiapp template's git URL or repository path)"
)

# git URLs Copier understands besides local paths: scheme://..., scp-like user@host:path, gh:/gl: aliases.
_URL = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*://|[^/@:\s]+@[^/:\s]+:|gh:|gl:)")
_PACKAGE_DIRS = {"site-packages", "dist-packages"}


def bundled_template_dir() -> Path:
    """The directory holding `copier.yml`: the repo root in a checkout, package data when installed."""
    for candidate in (PACKAGE_DIR.parent, PACKAGE_DIR / "_template"):
        if (candidate / "copier.yml").is_file() and (candidate / "template").is_dir():
            return candidate
    raise TemplateSourceError(
        "The aiapp template (copier.yml and template/) is not found next to the package.",
        hint="reinstall aiapp, or run it from a checkout of the aiapp repository",
    )


def copier_yml_path() -> Path:
    """The copier.yml that defines every question and cluster constant."""
    return bundled_template_dir() / "copier.yml"


@dataclass(frozen=True)
class Setting:
    """The `template:` value of a `.aiapp.yml`, with the file it came from (relative paths start there)."""

    value: str
    file: Path


def resolve_template_source(explicit: str | None = None, *, dest: Path | None = None) -> str:
    """The template source to render from and record as `_src_path` (a git URL or repository path).

    Order: the explicit `--template` value, then $AIAPP_TEMPLATE, then `template:` in the nearest
    `.aiapp.yml` in `dest` (default: the current directory) or any parent, then the checkout aiapp runs
    from when it is a git repository. A relative path is made absolute (against the current directory,
    or the `.aiapp.yml`'s directory), so the answers file never depends on where the command ran.
    """
    cwd = Path.cwd()
    if explicit and explicit.strip():
        return _checked(explicit, base=cwd, origin="--template")
    env = os.environ.get(ENV_TEMPLATE, "")
    if env.strip():
        return _checked(env, base=cwd, origin=f"${ENV_TEMPLATE}")
    setting = find_setting(dest if dest is not None else cwd)
    if setting is not None:
        return _checked(setting.value, base=setting.file.parent, origin=str(setting.file))
    root = bundled_template_dir()
    # The checkout aiapp itself runs from lasts as long as aiapp does, wherever it is (CI clones into
    # temporary directories too); only a copy inside an installed package is refused.
    if _is_git_root(root) and not _PACKAGE_DIRS & set(root.resolve().parts):
        return str(root)
    where = (
        "aiapp runs from an installed package, and a copy inside it could not be reached by a later "
        "`copier update`"
        if _PACKAGE_DIRS & set(root.resolve().parts)
        else f"the template next to aiapp ({root}) is not a git repository, so Copier could record no version"
    )
    raise TemplateSourceError(f"No template source: {where}.", hint=HOW_TO_SET)


def find_setting(start: Path) -> Setting | None:
    """The nearest `.aiapp.yml` with a `template:` key in `start` or its parents (None when none).

    `start` may not exist yet (the destination of `aiapp new`): the search begins at its nearest
    existing ancestor.
    """
    found = find_section(start, SETTINGS_KEY)
    if found is None:
        return None
    value, path = found
    if not isinstance(value, str) or not value.strip():
        raise TemplateSourceError(
            f"{path}: `{SETTINGS_KEY}` must be a git URL or repository path",
            hint=f"for example `{SETTINGS_KEY}: https://git.example.com/platform/aiapp.git`",
        )
    return Setting(value=value.strip(), file=path)


def find_section(start: Path, key: str) -> tuple[object, Path] | None:
    """The value of `key` in the nearest `.aiapp.yml` that has it, at `start` or above, and that file.

    Each section is looked up on its own: a `.aiapp.yml` without `cluster:` does not hide the
    `cluster:` of one in a parent directory.
    """
    start = start.expanduser().absolute()
    for directory in [start, *start.parents]:
        data = read_settings(directory / SETTINGS_FILE)
        if data is not None and data.get(key) is not None:
            return data[key], directory / SETTINGS_FILE
    return None


def read_settings(path: Path) -> dict[str, object] | None:
    """A `.aiapp.yml` read by the one bounded reader (None when there is none; a directory of that name
    is none); anything but one plain mapping is a TemplateSourceError naming the file (exit 2)."""
    from generator.errors import UsageError
    from generator.reader.yamldoc import load_mapping

    try:
        if not os.path.lexists(path) or path.is_dir():
            return None
    except OSError:  # a name too long for the file system: no settings file there
        return None
    try:
        data = load_mapping(path, "the settings file")
    except UsageError as error:
        raise TemplateSourceError(
            error.message,
            hint=f"it must be a YAML mapping with the keys {', '.join(SETTINGS_KEYS)} (docs/cluster.md)",
        ) from None
    warn_unknown_keys(path, data)
    return data


# Settings files already warned about in this process: `aiapp update` reads the file once per app.
_warned: set[Path] = set()


def warn_unknown_keys(path: Path, data: object) -> None:
    """One line on stderr for a settings file with keys aiapp does not know (a typo of a known key).

    A warning, not an error: a newer aiapp may add keys, and an older one (in CI, say) must keep working
    with the file. The file is still searched for the known keys, and parents for the ones it lacks.
    """
    if data is None or path in _warned:
        return
    if isinstance(data, dict):
        unknown = [str(key) for key in data if key not in SETTINGS_KEYS]
        if not unknown:
            return
        problem = f"unknown key{'s' * (len(unknown) > 1)} {', '.join(map(repr, unknown))} ignored"
    else:
        problem = "not a mapping, ignored"
    _warned.add(path)
    known = ", ".join(map(repr, SETTINGS_KEYS))
    print(f"warning: {path}: {problem} (the known keys are {known})", file=sys.stderr)


def configured_sources(dest: Path, *, root: Path | None = None) -> set[str]:
    """Every template source configured for `dest` (env, `.aiapp.yml`, the checkout), normalised.

    `aiapp update` trusts these: they were chosen by whoever controls the environment or the GitOps
    repository, not by the answers file being updated. With `root` (the repository root), only the
    `.aiapp.yml` right there counts: one placed inside an app directory could make any template trusted.
    Unusable values are ignored here (the commands that record a source report them).
    """
    candidates: list[tuple[str, Path]] = []
    env = os.environ.get(ENV_TEMPLATE, "").strip()
    if env:
        candidates.append((env, Path.cwd()))
    try:
        setting = find_setting(root if root is not None else dest)
    except TemplateSourceError:
        setting = None
    if setting is not None and root is not None and setting.file.parent.resolve() != root.resolve():
        setting = None
    if setting is not None:
        candidates.append((setting.value, setting.file.parent))
    try:
        root = bundled_template_dir()
    except TemplateSourceError:
        pass
    else:
        if _is_git_root(root):
            candidates.append((str(root), root))
    return {normalise_source(value, base) for value, base in candidates}


def normalise_source(value: str, base: Path) -> str:
    """A comparable form of a source: an absolute resolved path, or the URL without a trailing slash."""
    value = value.strip()
    if is_url(value):
        return value.rstrip("/")
    path = Path(value).expanduser()
    return str((path if path.is_absolute() else base / path).resolve())


def is_url(value: str) -> bool:
    """A git URL (scheme, scp-like or gh:/gl: alias) rather than a local path."""
    return bool(_URL.match(value))


def _checked(value: str, *, base: Path, origin: str) -> str:
    """`value` as it will be recorded; a TemplateSourceError when a later update could not reach it."""
    value = value.strip()
    if is_url(value):
        if value.startswith("file://"):
            reason = _unreachable_reason(Path(value.removeprefix("file://")))
            if reason:
                raise TemplateSourceError(f"template source {value} ({origin}) {reason}", hint=_hint(reason))
        return value
    path = Path(normalise_source(value, base))
    reason = _unreachable_reason(path)
    if reason:
        raise TemplateSourceError(f"template source {path} ({origin}) {reason}", hint=_hint(reason))
    if not path.is_dir():
        raise TemplateSourceError(f"template source {path} ({origin}) does not exist", hint=HOW_TO_SET)
    if not _is_git_root(path):
        raise TemplateSourceError(
            f"template source {path} ({origin}) is not the root of a git repository: Copier would "
            "record no version, and the app could never be updated",
            hint="use a clone of the aiapp template repository (its root, where copier.yml is)",
        )
    return str(path)


def _unreachable_reason(path: Path) -> str | None:
    """Why a later `copier update` could not rely on `path` (None when it can)."""
    resolved = path.expanduser().resolve()
    if _PACKAGE_DIRS & set(resolved.parts):
        return "is inside an installed Python package, which is replaced on every upgrade"
    if os.environ.get(ENV_ALLOW_TEMP) != "1":
        for root in _temp_roots():
            if resolved == root or root in resolved.parents:
                return f"is inside the temporary directory {root}, which does not last"
    return None


def _hint(reason: str) -> str:
    if "temporary" in reason:
        return (
            "use a lasting clone of the template repository or its git URL (for a throwaway app only: "
            f"{ENV_ALLOW_TEMP}=1)"
        )
    return "use a clone of the aiapp template repository or its git URL, not the installed package"


def _temp_roots() -> list[Path]:
    # $TMPDIR and friends by name too: during a command `tempfile.gettempdir()` is that command's own
    # directory inside them (generator/interrupts.py, private_tempdir).
    named = [Path(os.environ[name]) for name in ("TMPDIR", "TEMP", "TMP") if os.environ.get(name)]
    roots = {Path(tempfile.gettempdir()), *named, Path("/tmp"), Path("/var/tmp"), Path("/dev/shm")}
    return sorted({root.resolve() for root in roots if root.is_dir()})


def _is_git_root(path: Path) -> bool:
    """A git work tree root, or a bare repository named *.git: what Copier accepts as a local template."""
    if (path / ".git").exists():
        return True
    return path.name.endswith(".git") and (path / "HEAD").is_file() and (path / "objects").is_dir()


def latest_release_tag(tags: Iterable[str]) -> str | None:
    """The tag Copier renders by default: the highest PEP 440 version, prereleases and other tags ignored.

    On a tie ("v1.0" and "1.0") the first one listed wins, as in Copier's stable sort. `aiapp new` and
    `aiapp update` both pick versions with this, so they agree with each other and with Copier.
    """
    from packaging.version import InvalidVersion, Version

    best: tuple[Version, str] | None = None
    for tag in tags:
        try:
            version = Version(tag)
        except InvalidVersion:
            continue
        if not version.is_prerelease and (best is None or version > best[0]):
            best = (version, tag)
    return best[1] if best else None
