"""Run inside the qdrant-client virtualenv (never imported by the test suite): a Qdrant on 127.0.0.1 whose
bodies are qdrant-client's own pydantic models (qdrant_client.http.models, generated from Qdrant's OpenAPI).

Requests are validated as the client's API would send them (PUT /collections/{name}: CreateCollection, which
forbids unknown fields); answers are built from the response models of the same calls (GET:
InlineResponse2007 with a CollectionInfo; PUT: InlineResponse2001; errors: ErrorResponse) and serialised
as Qdrant does (JSON, unset fields left out). `python qdrant_fake.py '{"name": {"size": 8, ...}}'` starts
with those collections, prints its port, and serves until its stdin closes. GET /_calls lists the requests:
[method, path, problem or ""].
"""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from pydantic import ValidationError
from qdrant_client.http import models

COLLECTIONS: dict[str, Any] = {}
CALLS: list[list[str]] = []


def collection_info(vectors: Any) -> models.InlineResponse2007:
    """GET /collections/{name} of a fresh collection, as Qdrant answers it."""
    info = models.CollectionInfo(
        status=models.CollectionStatus.GREEN,
        optimizer_status=models.OptimizersStatusOneOf.OK,
        segments_count=2,
        points_count=0,
        indexed_vectors_count=0,
        payload_schema={},
        config=models.CollectionConfig(
            params=models.CollectionParams(vectors=vectors, shard_number=1, replication_factor=1),
            hnsw_config=models.HnswConfig(m=16, ef_construct=100, full_scan_threshold=10000),
            optimizer_config=models.OptimizersConfig(
                deleted_threshold=0.2,
                vacuum_min_vector_number=1000,
                default_segment_number=0,
                flush_interval_sec=5,
            ),
        ),
    )
    return models.InlineResponse2007(time=0.0001, status="ok", result=info)


def error(message: str) -> models.ErrorResponse:
    return models.ErrorResponse(time=0.0001, status=models.ErrorResponseStatus(error=message))


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        del args

    def answer(self, status: int, body: Any) -> None:
        data = body.model_dump_json(exclude_none=True).encode() if hasattr(body, "model_dump_json") else body
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/_calls":
            self.answer(200, json.dumps(CALLS).encode())
            return
        CALLS.append(["GET", self.path, ""])
        name = self.path.removeprefix("/collections/")
        if name not in COLLECTIONS:
            self.answer(404, error(f"Not found: Collection `{name}` doesn't exist!"))
            return
        self.answer(200, collection_info(COLLECTIONS[name]))

    def do_PUT(self) -> None:
        name = self.path.removeprefix("/collections/")
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        try:
            request = models.CreateCollection.model_validate_json(raw)
        except ValidationError as invalid:
            CALLS.append(["PUT", self.path, f"not a CreateCollection: {invalid.errors()}"])
            self.answer(422, error(f"Format error in JSON body: {invalid}"))
            return
        CALLS.append(["PUT", self.path, ""])
        if name in COLLECTIONS:
            self.answer(409, error(f"Wrong input: Collection `{name}` already exists!"))
            return
        COLLECTIONS[name] = request.vectors
        self.answer(200, models.InlineResponse2001(time=0.0001, status="ok", result=True))


def main() -> None:
    for name, vectors in json.loads(sys.argv[1] if len(sys.argv) > 1 else "{}").items():
        COLLECTIONS[name] = models.CreateCollection.model_validate({"vectors": vectors}).vectors
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(server.server_address[1], flush=True)
    sys.stdin.read()  # until the test closes the pipe
    server.shutdown()


if __name__ == "__main__":
    main()
