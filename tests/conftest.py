"""Shared fixtures: presets rendered once per session with real Copier from the working tree."""

from __future__ import annotations

import os
import shutil
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from generator.template.presets import load_preset, preset_names
from generator.template.render import render_app
from generator.template.schemas import SchemaValidator

ROOT = Path(__file__).resolve().parent.parent
PRESETS = preset_names()
# Tests exercise the working tree, not the latest release tag that Copier (and `aiapp new`) pick by
# default: every render, in-process or in a subprocess, uses HEAD with its uncommitted changes.
TEMPLATE_REF = "HEAD"
os.environ.setdefault("AIAPP_TEMPLATE_REF", TEMPLATE_REF)
# ... uncommitted changes included: `aiapp new` otherwise renders the last commit of a dirty checkout
# (tests/test_update_safety.py checks that without this variable).
os.environ.setdefault("AIAPP_RENDER_UNCOMMITTED", "1")


def render(dest: Path, answers: dict[str, object]) -> Path:
    """Render the working tree's template (uncommitted changes included) into dest."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        render_app(dest, answers, src=str(ROOT), vcs_ref=TEMPLATE_REF)
    return dest


@pytest.fixture(scope="session")
def rendered_preset(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Path]]:
    """`rendered_preset(name)` → the directory of that preset, rendered once per test session."""
    base = tmp_path_factory.mktemp("presets")
    cache: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in cache:
            cache[name] = render(base / name, load_preset(name))
        return cache[name]

    yield get
    shutil.rmtree(base, ignore_errors=True)


def load_objects(app_dir: Path) -> dict[str, dict[str, object]]:
    """The Kubernetes objects of a rendered app, keyed by kind ('PersistentVolumeClaim/<name>' for PVCs)."""
    objects: dict[str, dict[str, object]] = {}
    for path in sorted(app_dir.glob("*.yaml")):
        if path.name in ("kustomization.yaml", "kustomizeconfig.yaml"):  # kustomize's own files
            continue
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            kind = doc["kind"]
            key = f"{kind}/{doc['metadata']['name']}" if kind == "PersistentVolumeClaim" else kind
            objects[key] = doc
    return objects


def in_ci() -> bool:
    """CI must not skip what a developer's machine may lack."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def validator() -> SchemaValidator:
    """Strict validation: Kubernetes 1.32 core schemas and the CRD catalog of $AIAPP_SCHEMA_LOCATION
    (missing: skipped on a developer's machine, a failure in CI)."""
    checker = SchemaValidator(k8s_version="1.32")
    problem = checker.location_problem()
    if problem:
        if in_ci():
            pytest.fail(f"CRD schema catalog missing in CI: {problem}")
        pytest.skip(problem)
    return checker


def config_env(app_dir: Path) -> dict[str, str]:
    """The app's settings as kustomize's configMapGenerator reads `config.env`: KEY=value lines, literal."""
    values: dict[str, str] = {}
    for line in (app_dir / "config.env").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value
    return values
