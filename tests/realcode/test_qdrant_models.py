"""The Qdrant bootstrap script against a Qdrant whose requests and answers are qdrant-client's own models.

tests/test_qdrant_bootstrap.py's fake writes Qdrant's JSON by hand; here tests/realcode/qdrant_fake.py runs
in the qdrant-client virtualenv ($AIAPP_QDRANT_CLIENT_VENV; .ci/run), validates the script's PUT body as a
CreateCollection (unknown fields forbidden) and answers with InlineResponse2007 / InlineResponse2001 /
ErrorResponse, so the script is proven to send what Qdrant's API accepts and to read what it returns.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.realcode.venvs import HERE, python_of
from tests.test_qdrant_bootstrap import SCRIPT


@contextmanager
def qdrant(collections: dict[str, Any] | None = None) -> Iterator[str]:
    """The fake's URL while it runs (stopped by closing its stdin, killed after 30 s at most)."""
    python = python_of("AIAPP_QDRANT_CLIENT_VENV", "qdrant-client-venv*", "qdrant-client's virtualenv")
    process = subprocess.Popen(
        [str(python), str(HERE / "qdrant_fake.py"), json.dumps(collections or {})],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None and process.stdin is not None
        port = process.stdout.readline().strip()
        assert port.isdigit(), f"the fake Qdrant did not start (exit {process.poll()})"
        yield f"http://127.0.0.1:{port}"
    finally:
        if process.stdin:
            process.stdin.close()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def bootstrap(url: str, size: int = 768, distance: str = "Cosine") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QDRANT_URL": url, "QDRANT_COLLECTION": "team_wiki"}
    env |= {"QDRANT_VECTOR_SIZE": str(size), "QDRANT_DISTANCE": distance}
    return subprocess.run([sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60)


def calls(url: str) -> list[list[str]]:
    with urllib.request.urlopen(f"{url}/_calls", timeout=10) as response:
        return list(json.loads(response.read()))


def test_the_create_request_is_a_valid_create_collection() -> None:
    with qdrant() as url:
        result = bootstrap(url)
        assert result.returncode == 0, result.stderr
        assert calls(url) == [["GET", "/collections/team_wiki", ""], ["PUT", "/collections/team_wiki", ""]]
        # Qdrant's answer for the collection now carries exactly the app's vectors.
        again = bootstrap(url)
        assert again.returncode == 0 and "exists with size 768" in again.stdout, again.stderr


def test_every_distance_the_wizard_offers_is_one_qdrant_accepts() -> None:
    from generator.template.questions import load_questions

    question = next(q for q in load_questions() if q.name == "qdrant_distance")
    for _, distance in question.choices or ():
        with qdrant() as url:
            result = bootstrap(url, size=8, distance=distance)
            assert result.returncode == 0, (distance, result.stderr)
            assert [call[2] for call in calls(url)] == ["", ""], distance


def test_a_real_collection_info_of_another_shape_stops_the_pod() -> None:
    existing = {
        "team_wiki": {"size": 1024, "distance": "Cosine"},
    }
    with qdrant(existing) as url:
        result = bootstrap(url)
        assert result.returncode == 1 and "size 1024" in result.stderr, result.stderr
    named = {"team_wiki": {"text": {"size": 768, "distance": "Cosine"}}}
    with qdrant(named) as url:
        result = bootstrap(url)
        assert result.returncode == 1 and "named vectors (text)" in result.stderr, result.stderr
        assert [call[0] for call in calls(url)] == ["GET"]
