"""Create the app's Qdrant collection if it is missing; fail if it exists with another size or distance.

Runs as the `qdrant-collection` init container before the app starts (Python 3 standard library only).
Settings come from the app's ConfigMap: QDRANT_URL, QDRANT_COLLECTION, QDRANT_VECTOR_SIZE,
QDRANT_DISTANCE, and QDRANT_API_KEY (sent as the `api-key` header) when the cluster's Qdrant needs one.
Qdrant's REST API: GET /collections/{name} (404: missing; the configuration is under
result.config.params.vectors) and PUT /collections/{name} with {"vectors": {"size": N, "distance": D}}.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

TIMEOUT_SECONDS = 30


def request(method: str, url: str, api_key: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    """(HTTP status, decoded JSON body or None) of one call to Qdrant."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if api_key:
        headers["api-key"] = api_key
    call = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(call, timeout=TIMEOUT_SECONDS) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, None


def existing_vectors(url: str, api_key: str) -> dict[str, Any] | None:
    """The collection's vector parameters, or None when it does not exist."""
    status, body = request("GET", url, api_key)
    if status == 404:
        return None
    if status != 200 or not isinstance(body, dict):
        raise RuntimeError(f"GET {url} answered HTTP {status}: {body}")
    vectors = body.get("result", {}).get("config", {}).get("params", {}).get("vectors")
    return vectors if isinstance(vectors, dict) else {}


def compare(name: str, vectors: dict[str, Any], size: int, distance: str) -> str | None:
    """Why an existing collection does not fit the app, or None when it does."""
    if "size" not in vectors:
        named = ", ".join(vectors) or "none"
        return f"collection {name!r} has named vectors ({named}), not one unnamed vector"
    if vectors.get("size") != size or vectors.get("distance") != distance:
        return (
            f"collection {name!r} exists with vectors of size {vectors.get('size')} and distance "
            f"{vectors.get('distance')}, but the app expects size {size} and distance {distance}"
        )
    return None


def bootstrap(base_url: str, name: str, size: int, distance: str, api_key: str = "") -> str:
    """Make sure the collection exists with these parameters; a message on success, RuntimeError otherwise."""
    url = f"{base_url.rstrip('/')}/collections/{urllib.parse.quote(name, safe='')}"
    vectors = existing_vectors(url, api_key)
    if vectors is None:
        status, body = request("PUT", url, api_key, {"vectors": {"size": size, "distance": distance}})
        if status == 200:
            return f"created collection {name!r} (size {size}, distance {distance})"
        # Another replica may have created it meanwhile: judge what exists now.
        vectors = existing_vectors(url, api_key)
        if vectors is None:
            raise RuntimeError(f"PUT {url} answered HTTP {status}: {body}")
    problem = compare(name, vectors, size, distance)
    if problem:
        raise RuntimeError(problem + ": use another collection name or re-create the collection")
    return f"collection {name!r} exists with size {size} and distance {distance}"


def main() -> int:
    try:
        message = bootstrap(
            os.environ["QDRANT_URL"],
            os.environ["QDRANT_COLLECTION"],
            int(os.environ["QDRANT_VECTOR_SIZE"]),
            os.environ.get("QDRANT_DISTANCE", "Cosine"),
            os.environ.get("QDRANT_API_KEY", ""),
        )
    except (KeyError, ValueError, RuntimeError, OSError) as error:
        print(f"qdrant-bootstrap: FAILED: {error}", file=sys.stderr)
        return 1
    print(f"qdrant-bootstrap: {message}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
