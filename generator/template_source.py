"""Where the Copier template lives: the repository checkout, or the copy shipped inside the wheel."""

from __future__ import annotations

from pathlib import Path

from generator.errors import TemplateSourceError

PACKAGE_DIR = Path(__file__).resolve().parent
PRESETS_DIR = PACKAGE_DIR / "presets"


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


ENV_TEMPLATE = "AIAPP_TEMPLATE"


def resolve_template_source(explicit: str | None = None) -> str:
    """The template source to render from and record as `_src_path` (a git URL or repository path).

    Order: the explicit `--template` value, then $AIAPP_TEMPLATE, then the checkout aiapp runs from
    when it is a git repository. A path inside site-packages or a temporary directory is never used,
    because a later `copier update` could not reach it.
    """
    import os

    source = explicit or os.environ.get(ENV_TEMPLATE)
    if source:
        return source
    root = bundled_template_dir()
    if (root / ".git").exists():
        return str(root)
    raise TemplateSourceError(
        "No template source: aiapp is installed as a package, and a copy inside it could not be "
        "updated later.",
        hint=f"pass --template URL, or set {ENV_TEMPLATE} to the aiapp template's git URL or path",
    )
