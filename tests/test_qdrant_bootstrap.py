"""The Qdrant collection bootstrap (template/...qdrant-bootstrap.py), run for real against a fake Qdrant.

The fake speaks the two calls of Qdrant's REST API the script uses (https://api.qdrant.tech, collections:
GET /collections/{name} returns result.config.params.vectors {size, distance} or 404; PUT creates it;
the `api-key` header authenticates). It binds 127.0.0.1 on an ephemeral port and stops with the test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.fake_http import JsonHandler

SCRIPT = next((ROOT / "template").glob("*qdrant-bootstrap.py*"))


class FakeQdrant(ThreadingHTTPServer):
    """Collections in memory; every request recorded as (method, path, api-key header)."""

    def __init__(self, api_key: str = "") -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.collections: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, str, str | None]] = []
        self.api_key = api_key

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(JsonHandler):
    server: FakeQdrant

    def _authorized(self) -> bool:
        self.server.calls.append((self.command, self.path, self.headers.get("api-key")))
        if self.server.api_key and self.headers.get("api-key") != self.server.api_key:
            self.answer(401, {"status": {"error": "Must provide an API key"}})
            return False
        return True

    def do_GET(self) -> None:
        if not self._authorized():
            return
        name = self.path.removeprefix("/collections/")
        if name not in self.server.collections:
            self.answer(404, {"status": {"error": f"Collection `{name}` doesn't exist!"}})
            return
        vectors = self.server.collections[name]
        self.answer(
            200, {"status": "ok", "result": {"status": "green", "config": {"params": {"vectors": vectors}}}}
        )

    def do_PUT(self) -> None:
        if not self._authorized():
            return
        name = self.path.removeprefix("/collections/")
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if name in self.server.collections:
            self.answer(409, {"status": {"error": f"Collection `{name}` already exists!"}})
            return
        self.server.collections[name] = body["vectors"]
        self.answer(200, {"status": "ok", "result": True})


@pytest.fixture
def qdrant() -> Iterator[FakeQdrant]:
    server = FakeQdrant()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def run(
    qdrant: FakeQdrant, size: int = 768, distance: str = "Cosine", api_key: str = ""
) -> subprocess.CompletedProcess[str]:
    """The script as the init container runs it: python3 with the ConfigMap's variables."""
    env = {
        **os.environ,
        "QDRANT_URL": qdrant.url,
        "QDRANT_COLLECTION": "team_wiki",
        "QDRANT_VECTOR_SIZE": str(size),
        "QDRANT_DISTANCE": distance,
    }
    if api_key:
        env["QDRANT_API_KEY"] = api_key
    return subprocess.run([sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60)


def test_missing_collection_is_created_with_the_apps_size_and_distance(qdrant: FakeQdrant) -> None:
    result = run(qdrant)
    assert result.returncode == 0, result.stderr
    assert qdrant.collections == {"team_wiki": {"size": 768, "distance": "Cosine"}}
    assert [call[:2] for call in qdrant.calls] == [
        ("GET", "/collections/team_wiki"),
        ("PUT", "/collections/team_wiki"),
    ]
    assert "created collection 'team_wiki'" in result.stdout


def test_existing_collection_of_the_same_size_is_left_alone(qdrant: FakeQdrant) -> None:
    qdrant.collections["team_wiki"] = {"size": 768, "distance": "Cosine"}
    result = run(qdrant)
    assert result.returncode == 0, result.stderr
    assert [call[0] for call in qdrant.calls] == ["GET"]
    assert "exists with size 768" in result.stdout


@pytest.mark.parametrize(
    "existing",
    [
        {"size": 1024, "distance": "Cosine"},
        {"size": 768, "distance": "Dot"},
        {"text": {"size": 768, "distance": "Cosine"}},
    ],
)
def test_existing_collection_with_other_vectors_fails_loudly(
    qdrant: FakeQdrant, existing: dict[str, Any]
) -> None:
    qdrant.collections["team_wiki"] = existing
    result = run(qdrant)
    assert result.returncode == 1
    assert "FAILED" in result.stderr and "team_wiki" in result.stderr
    assert qdrant.collections["team_wiki"] == existing  # never altered
    assert [call[0] for call in qdrant.calls] == ["GET"]


def test_api_key_is_sent_as_the_api_key_header(qdrant: FakeQdrant) -> None:
    qdrant.api_key = "s3cret"
    assert run(qdrant).returncode == 1  # without the key: refused, and the script says so
    qdrant.calls.clear()
    result = run(qdrant, api_key="s3cret")
    assert result.returncode == 0, result.stderr
    assert {call[2] for call in qdrant.calls} == {"s3cret"}


def test_unreachable_qdrant_fails(tmp_path: Path) -> None:
    server = FakeQdrant()
    url = server.url
    server.server_close()  # nothing listens there any more
    env = {**os.environ, "QDRANT_URL": url, "QDRANT_COLLECTION": "c", "QDRANT_VECTOR_SIZE": "8"}
    result = subprocess.run(
        [sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1 and "FAILED" in result.stderr


def test_the_rendered_app_runs_this_script_from_its_configmap(rendered_preset) -> None:
    app = rendered_preset("rag-cpu-qdrant")
    assert (app / "qdrant-bootstrap.py").read_bytes() == SCRIPT.read_bytes()
