"""Every file aiapp reads from a user goes through one bounded reader (generator/reader/): profiles,
`check:` configurations, baselines, the manifests `init --detect` reads. Each hostile file is generated
here and ends in one line (exit 2) or a skipped file, within 5 s and 300 MB of the child process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

SECONDS = 5.0
MEGABYTES = 300
GOOD = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: ai}\ndata: {a: b}\n"


# Linux keeps a process's peak memory (ru_maxrss) across exec, so a child forked from pytest (hundreds of
# MB late in a run) would report pytest's size. A small spawner process forks the measured command from
# its own small memory instead and prints the command's true peak (its descendants', kustomize's, too).
_SPAWNER = """
import os, resource, sys
pid = os.fork()
if pid == 0:
    os.close(int(os.environ["AIAPP_PEAK_FD"]))
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
os.write(int(os.environ["AIAPP_PEAK_FD"]), str(usage.ru_maxrss).encode())
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_aiapp(*args: str, cwd: Path) -> tuple[subprocess.CompletedProcess[str], float, float]:
    """(result, seconds, peak MB) of `aiapp ARGS` in a child process, killed at 3x the time limit; the
    peak is the command's own resident memory (see _SPAWNER)."""
    command = [sys.executable, "-m", "generator", *args]
    read_peak, write_peak = os.pipe()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1", "AIAPP_ALLOW_TEMP_TEMPLATE": "1",
           "AIAPP_PEAK_FD": str(write_peak)}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, "-c", _SPAWNER, *command], stdout=out, stderr=err, env=env, cwd=cwd,
            stdin=subprocess.DEVNULL, pass_fds=(write_peak,), start_new_session=True,
        )
        os.close(write_peak)
        while process.poll() is None:
            if time.monotonic() - start > SECONDS * 3:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                os.close(read_peak)
                pytest.fail(f"aiapp {' '.join(args)} hung")
            time.sleep(0.02)
        seconds = time.monotonic() - start
        with os.fdopen(read_peak, "rb") as peak_file:
            peak_kb = int(peak_file.read() or 0)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
        result = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
    return result, seconds, peak_kb / 1024


def _one_line_error(result: subprocess.CompletedProcess[str], seconds: float, peak: float) -> str:
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    assert result.returncode == 2, (result.returncode, result.stderr)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert len(errors[0]) < 400, errors[0]
    assert seconds <= SECONDS, f"{seconds:.1f} s"
    assert peak <= MEGABYTES, f"{peak:.0f} MB"
    return errors[0]


def _bomb(levels: int) -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]" for n in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


SETTINGS: dict[str, tuple[Callable[[Path], None], str]] = {
    "8-level alias bomb": (
        lambda path: path.write_text("cluster:\n  storage_class: x\n" + _bomb(8), encoding="utf-8"),
        "through YAML aliases",
    ),
    "duplicate key": (
        lambda path: path.write_text("cluster:\n  storage_class: a\ncluster:\n  storage_class: b\n"),
        "line 3: the key 'cluster' is given twice",
    ),
    "YAML 1.1 boolean": (
        lambda path: path.write_text("cluster:\n  reloader: off\n"),
        "'off' means False in YAML 1.1",
    ),
    "a FIFO": (lambda path: os.mkfifo(path), "is a FIFO, not a file"),
    "symlink to /dev/zero": (lambda path: path.symlink_to("/dev/zero"), "character device"),
    "10,000 levels": (
        lambda path: path.write_text("cluster: " + "[" * 10_000 + "]" * 10_000 + "\n"),
        "nested deeper than",
    ),
}


@pytest.mark.parametrize("case", list(SETTINGS))
@pytest.mark.parametrize(
    "command",
    [
        ("check", "."),
        ("new", "--preset", "rag-cpu-qdrant", "--defaults", "app"),
        ("init", "--defaults", "--yes", "--force", "."),
    ],
    ids=["check", "new", "init"],
)
def test_a_hostile_aiapp_yml_is_one_line(case: str, command: tuple[str, ...], tmp_path: Path) -> None:
    make, words = SETTINGS[case]
    make(tmp_path / ".aiapp.yml")
    (tmp_path / "app.yaml").write_text(GOOD, encoding="utf-8")
    error = _one_line_error(*run_aiapp(*command, cwd=tmp_path))
    assert not (tmp_path / "app").exists()
    assert words in error and ".aiapp.yml" in error, error


BASELINES: dict[str, tuple[Callable[[Path], None], str]] = {
    "symlink to /dev/zero": (lambda path: path.symlink_to("/dev/zero"), "a character device, not a file"),
    "a FIFO": (lambda path: os.mkfifo(path), "is a FIFO, not a file"),
    "100,000-deep JSON": (
        lambda path: path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8"),
        "nested too deeply",
    ),
    "not JSON": (lambda path: path.write_text("{", encoding="utf-8"), "is not JSON"),
}


@pytest.mark.parametrize("case", list(BASELINES))
def test_a_hostile_baseline_is_one_line(case: str, tmp_path: Path) -> None:
    make, words = BASELINES[case]
    make(tmp_path / "baseline.json")
    (tmp_path / "app.yaml").write_text(GOOD, encoding="utf-8")
    error = _one_line_error(*run_aiapp("check", "--baseline", "baseline.json", "app.yaml", cwd=tmp_path))
    assert words in error and "--baseline" in error, error


GPU_APP = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: vllm, namespace: models}
spec:
  template:
    spec:
      nodeSelector: {gpu: "true"}
      tolerations:
        - {key: gpu, operator: Exists}
      containers:
        - name: vllm
          image: vllm/vllm-openai:v0.6.0
          resources: {limits: {nvidia.com/gpu: 1}}
"""


def test_init_detect_skips_hostile_files_and_takes_a_toleration_without_effect(tmp_path: Path) -> None:
    (tmp_path / "gpu.yaml").write_text(GPU_APP, encoding="utf-8")
    (tmp_path / "deep.yaml").write_text("a: " + "[" * 10_000 + "]" * 10_000 + "\n", encoding="utf-8")
    (tmp_path / "bomb.yaml").write_text(_bomb(9), encoding="utf-8")
    os.mkfifo(tmp_path / "fifo.yaml")
    (tmp_path / "zero.yaml").symlink_to("/dev/zero")
    result, seconds, peak = run_aiapp("init", "--detect", "--yes", "--defaults", ".", cwd=tmp_path)
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    assert result.returncode == 0, result.stderr
    assert seconds <= SECONDS and peak <= MEGABYTES, (seconds, peak)
    written = yaml.safe_load((tmp_path / ".aiapp.yml").read_text(encoding="utf-8"))["cluster"]["gpu"]
    # Kubernetes: a toleration without effect tolerates every effect of the key.
    assert written["tolerations"] == [{"key": "gpu", "operator": "Exists"}]
    assert written["node_selector"] == {"gpu": "true"}


PROFILES: dict[str, tuple[str, str]] = {
    # 40 KB that made the image pattern backtrack for half a minute.
    "40 KB bootstrap_image": (
        "cluster:\n  qdrant: {bootstrap_image: '" + "a" * 40_000 + "!'}\n",
        "(40,001 characters): must be an image reference",
    ),
    "a float port": ("cluster:\n  litellm: {port: 80.0}\n", "cluster.litellm.port = 80.0: must be a port"),
    "a float uid": ("cluster:\n  run_as_uid: 10001.0\n", "cluster.run_as_uid = 10001.0"),
    # Kubernetes: a qualified name's prefix is a DNS subdomain of at most 253 characters.
    "a 254-character label prefix": (
        "cluster:\n  gpu: {node_selector: {" + "a" * 254 + "/gpu: 'true'}}\n",
        "must be a label key",
    ),
    "a 64-character label value": (
        "cluster:\n  gpu: {node_selector: {gpu: '" + "a" * 64 + "'}}\n",
        "must be a label value",
    ),
}


@pytest.mark.parametrize("case", list(PROFILES))
def test_a_hostile_profile_is_one_short_line(case: str, tmp_path: Path) -> None:
    text, words = PROFILES[case]
    (tmp_path / ".aiapp.yml").write_text(text, encoding="utf-8")
    (tmp_path / "app.yaml").write_text(GOOD, encoding="utf-8")
    error = _one_line_error(*run_aiapp("check", ".", cwd=tmp_path))
    assert words in error, error
    assert len(error) < 400


@pytest.mark.parametrize(
    ("option", "words"),
    [
        ("litellm.port=80.0", "cluster.litellm.port = 80.0"),
        ("run_as_uid=10001.0", "cluster.run_as_uid = 10001.0"),
        ("storage_class=ceph\udcff", "lone surrogate"),
    ],
)
def test_init_set_refuses_what_would_not_render(option: str, words: str, tmp_path: Path) -> None:
    error = _one_line_error(*run_aiapp("init", "--defaults", "--yes", "--set", option, ".", cwd=tmp_path))
    assert words in error, error
    assert not (tmp_path / ".aiapp.yml").exists()
