"""kustomize never touches the network, never runs unbounded, and its crashes read as one short error.

Hostile trees are generated here (FIFOs, alias bombs, self-listing kustomizations); each run of
`aiapp check` is a child process held to 5 s and 300 MB (tests/policy/test_hostile_inputs.py).
"""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from generator.policy import kustomize
from tests.conftest import ROOT
from tests.policy.test_hostile_inputs import MEGABYTES, SECONDS, _alias_bomb, run_bounded

needs_kustomize = pytest.mark.skipif(kustomize.tool() is None, reason="needs kubectl or kustomize")
CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: local, namespace: ai}\ndata: {a: b}\n"


class _Recorder(http.server.BaseHTTPRequestHandler):
    requests: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).requests.append(self.path)
        body = CONFIGMAP.replace("local", "remote").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def server() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server on 127.0.0.1 that records every request (and serves a ConfigMap to any)."""
    _Recorder.requests = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", _Recorder.requests
    finally:
        httpd.shutdown()
        httpd.server_close()


def _app(directory: Path, kustomization: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "cm.yaml").write_text(CONFIGMAP, encoding="utf-8")
    (directory / "kustomization.yaml").write_text(kustomization, encoding="utf-8")
    return directory


def _findings(*args: str) -> list[dict[str, object]]:
    result, seconds, peak = run_bounded(*args)
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    assert seconds <= SECONDS, f"{seconds:.1f} s"
    assert peak <= MEGABYTES, f"{peak:.0f} MB"
    findings: list[dict[str, object]] = json.loads(result.stdout)["findings"]
    return findings


@needs_kustomize
def test_check_never_contacts_a_remote_resource_or_base(
    server: tuple[str, list[str]], tmp_path: Path
) -> None:
    url, requests = server
    # kustomize itself fetches the file, as the build would in CI (proves the server answers it).
    _app(tmp_path / "direct", f"resources:\n  - {url}/direct.yaml\n")
    line = [*(kustomize.tool() or ()), str(tmp_path / "direct")]
    fetched = subprocess.run(line, capture_output=True, text=True, timeout=30, check=False)
    assert fetched.returncode == 0 and "remote" in fetched.stdout, fetched.stderr
    assert requests == ["/direct.yaml"]
    requests.clear()
    _app(tmp_path / "apps" / "file", f"resources:\n  - cm.yaml\n  - {url}/remote.yaml\n")
    _app(tmp_path / "apps" / "base", f"resources:\n  - cm.yaml\n  - git::{url}/org/repo.git//base\n")
    _app(tmp_path / "apps" / "patch", f"resources: [cm.yaml]\npatches:\n  - path: {url}/patch.yaml\n")
    findings = _findings(str(tmp_path / "apps"))
    assert requests == []
    remote = [item for item in findings if item["rule"] == "AIA013"]
    assert {Path(str(item["file"])).parent.name for item in remote} == {"file", "base", "patch"}, findings
    assert all(url in str(item["message"]) and "network" in str(item["message"]) for item in remote)
    # The local objects are still checked, as written: the ConfigMap of each app is read.
    assert {item["rule"] for item in findings} == {"AIA013"}, findings


@pytest.mark.parametrize(
    ("entry", "fetched"),
    [
        ("https://raw.githubusercontent.com/org/repo/main/deploy.yaml", True),
        ("HTTP://10.0.0.1/x.yaml", True),
        ("github.com/kubernetes-sigs/kustomize/examples/multibases?ref=v1.0.6", True),
        ("git@github.com:org/repo.git//base", True),
        ("ssh://git@example.com/org/repo//base?ref=v1", True),
        ("gh:org/repo", True),
        ("git::https://example.com/org/repo", True),
        ("https://dev.azure.com/org/project/_git/repo", True),
        ("file:///srv/repo//base", True),
        ("../base", False),
        ("deployment.yaml", False),
        ("github.com.yaml", False),
    ],
)
def test_remote_targets_follow_kustomize_syntax(entry: str, fetched: bool) -> None:
    assert kustomize.remote(entry) is fetched


def test_a_helm_chart_to_pull_is_remote_and_a_vendored_one_is_not(tmp_path: Path) -> None:
    chart = "helmCharts:\n  - {name: qdrant, repo: https://qdrant.github.io/qdrant-helm, version: 1.0.0}\n"
    (tmp_path / "kustomization.yaml").write_text(chart, encoding="utf-8")
    assert kustomize.tree(tmp_path).pulls == ["https://qdrant.github.io/qdrant-helm (helm chart qdrant)"]
    (tmp_path / "charts" / "qdrant").mkdir(parents=True)
    assert kustomize.tree(tmp_path).pulls == []


def _self(directory: Path) -> None:
    _app(directory, "resources:\n  - cm.yaml\n  - .\n")


def _loop(directory: Path) -> None:
    _app(directory / "a", "resources: [cm.yaml, ../b]\n")
    _app(directory / "b", "resources: [cm.yaml, ../a]\n")


def _fifo_kustomization(directory: Path) -> None:
    (directory / "cm.yaml").write_text(CONFIGMAP, encoding="utf-8")
    os.mkfifo(directory / "kustomization.yaml")


def _bomb_resource(directory: Path) -> None:
    _alias_bomb(directory)
    (directory / "kustomization.yaml").write_text("resources: [bomb.yaml]\n", encoding="utf-8")


def _big_patch(directory: Path) -> None:
    _app(directory, "resources: [cm.yaml]\npatches:\n  - path: patch.yaml\n")
    with open(directory / "patch.yaml", "w", encoding="utf-8") as handle:
        handle.write("# " + "x" * (5 * 1024 * 1024) + "\n")


HOSTILE: dict[str, tuple[Callable[[Path], None], str]] = {
    "lists-itself": (_self, "includes itself"),
    "two-list-each-other": (_loop, "includes itself"),
    "fifo-kustomization": (_fifo_kustomization, "not a regular file"),
    "alias-bomb-resource": (_bomb_resource, "max_alias_nodes"),
    "5-MB-patch": (_big_patch, "max_file_bytes"),
}


@needs_kustomize
@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_hostile_kustomization_is_not_built(case: str, tmp_path: Path) -> None:
    make, words = HOSTILE[case]
    make(tmp_path)
    findings = _findings(str(tmp_path))
    not_built = [item for item in findings if item["rule"] == "AIA005"]
    assert len(not_built) == 1, findings
    message = str(not_built[0]["message"])
    assert message.startswith("not built") and words in message, message
    assert len(message.splitlines()) <= 3, message


def _measured(code: str) -> tuple[dict[str, object], float]:
    """The JSON a Python snippet prints, and the peak memory (MB) of it and the children it waited for
    (os.wait4's usage of the snippet's process: kustomize included)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, env=env) as process:
        assert process.stdout is not None
        out = process.stdout.read()
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    assert process.returncode == 0
    data: dict[str, object] = json.loads(out)
    return data, usage.ru_maxrss / 1024


@needs_kustomize
def test_kustomize_runs_with_bounded_memory_and_its_crash_is_a_few_lines(tmp_path: Path) -> None:
    """The build alone (aiapp's own reader bypassed): the alias bomb kustomize expands to gigabytes
    stops at the memory limit, and the Go crash report is cut before its stack traces."""
    _bomb_resource(tmp_path)
    code = (
        "import json, time\nfrom pathlib import Path\nfrom generator.policy import kustomize\n"
        f"start = time.monotonic()\nresult = kustomize.build(Path({str(tmp_path)!r}), memory_mb=200)\n"
        "print(json.dumps({'error': result.error, 'seconds': time.monotonic() - start}))\n"
    )
    data, peak = _measured(code)
    error = str(data["error"])
    assert peak <= MEGABYTES, f"{peak:.0f} MB"
    assert "200 MB" in error and "build_memory_mb" in error, error
    assert "goroutine" not in error and "runtime stack" not in error and len(error.splitlines()) <= 3, error
    assert float(str(data["seconds"])) <= SECONDS


@needs_kustomize
def test_a_build_past_its_time_is_stopped(tmp_path: Path) -> None:
    _app(tmp_path, "resources: [cm.yaml]\n")
    result = kustomize.build(tmp_path, seconds=0.001)
    assert result.error is not None and "did not finish within" in result.error, result.error
    assert "build_seconds" in result.error


def test_a_go_crash_keeps_its_first_lines() -> None:
    crash = (
        "runtime: goroutine stack exceeds 1000000000-byte limit\n"
        "runtime: sp=0xc020160388 stack=[0xc020160000, 0xc040160000]\n"
        "fatal error: stack overflow\n\nruntime stack:\nruntime.throw({0x1, 0x2})\n"
        "\truntime/panic.go:1023 +0x5c\n"
        + "goroutine 1 gp=0xc000 m=0 [running]:\nmain.f()\n\tf.go:1\n" * 1000
    )
    assert kustomize.error_text(crash) == (
        "runtime: goroutine stack exceeds 1000000000-byte limit\nfatal error: stack overflow"
    )
