"""The model pre-download (the `download-model` init container) run for real against a fake hub.

The script is taken from the rendered Deployment and run with this Python; `huggingface_hub` is replaced
by a stand-in whose snapshot_download copies a local repository directory with the same pattern rules
(allow_patterns kept, ignore_patterns dropped: fnmatch, as huggingface_hub's filter_repo_objects). No
network. What it proves: weights that arrive end in a done-marker; no weights, no marker and a failure.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

FAKE_HUB = '''
import fnmatch, os, pathlib, shutil

def snapshot_download(repo_id, revision, local_dir, allow_patterns, ignore_patterns):
    source = pathlib.Path(os.environ["FAKE_HUB"]) / repo_id
    for path in sorted(source.rglob("*")):
        name = path.relative_to(source).as_posix()
        if not path.is_file() or not any(fnmatch.fnmatch(name, p) for p in allow_patterns):
            continue
        if any(fnmatch.fnmatch(name, p) for p in ignore_patterns):
            continue
        dest = pathlib.Path(local_dir) / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest)
    return str(local_dir)
'''


def download_step(app: Path) -> tuple[list[str], dict[str, str]]:
    """The init container's command and the settings it reads from the app's config.env."""
    deployment = yaml.safe_load((app / "deployment.yaml").read_text(encoding="utf-8"))
    init = deployment["spec"]["template"]["spec"]["initContainers"]
    (step,) = [container for container in init if container["name"] == "download-model"]
    settings = {}
    for line in (app / "config.env").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            settings[key] = value
    return step["command"], settings


def run_download(
    app: Path, tmp_path: Path, files: dict[str, str]
) -> tuple[subprocess.CompletedProcess[str], Path]:
    command, settings = download_step(app)
    assert command[:2] == ["python3", "-c"]
    hub = tmp_path / "hub" / settings["HF_MODEL_REPO"]
    for name, text in files.items():
        (hub / name).parent.mkdir(parents=True, exist_ok=True)
        (hub / name).write_text(text, encoding="utf-8")
    fake = tmp_path / "fake"
    (fake / "huggingface_hub").mkdir(parents=True, exist_ok=True)
    (fake / "huggingface_hub" / "__init__.py").write_text(FAKE_HUB, encoding="utf-8")
    target = tmp_path / settings["MODEL_DIR"].lstrip("/")
    env = {
        "PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(fake), "FAKE_HUB": str(tmp_path / "hub"),
        "MODEL_DIR": str(target), "HF_MODEL_REPO": settings["HF_MODEL_REPO"],
        "HF_MODEL_REVISION": settings["HF_MODEL_REVISION"],
    }
    result = subprocess.run(
        [sys.executable, *command[1:]], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    return result, target


@pytest.fixture
def app(rendered_preset: Callable[[str], Path]) -> Path:
    return rendered_preset("predownload-model")


def test_weights_that_arrive_are_marked_done_and_not_fetched_again(app: Path, tmp_path: Path) -> None:
    files = {"config.json": "{}", "model-00001-of-00001.safetensors": "w", "tokenizer.json": "{}"}
    result, target = run_download(app, tmp_path, files)
    assert result.returncode == 0, result.stderr
    assert (target / "model-00001-of-00001.safetensors").is_file()
    assert (target / ".aiapp-download").is_file()
    again, _ = run_download(app, tmp_path, files)
    assert again.returncode == 0 and "already on the PVC" in again.stdout


def test_a_repository_whose_weights_are_excluded_fails_and_writes_no_marker(
    app: Path, tmp_path: Path
) -> None:
    # Only PyTorch .bin weights, which the default patterns exclude (vLLM loads safetensors).
    files = {"config.json": "{}", "pytorch_model.bin": "w", "tokenizer.json": "{}"}
    result, target = run_download(app, tmp_path, files)
    assert result.returncode == 1
    assert "no weight file" in result.stderr and "*.bin" in result.stderr
    assert (target / "config.json").is_file()  # the download ran ...
    assert not (target / ".aiapp-download").exists()  # ... but is not marked done: the next start retries
