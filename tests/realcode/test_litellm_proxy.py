"""The real LiteLLM proxy, configured with exactly the `model_list` entries the rendered AGENTS.md gives,
routes the apps' own requests (their config's LITELLM_BASE_URL and model names) to a model server.

LiteLLM runs from its own virtualenv ($AIAPP_LITELLM_VENV; .ci/run pins it) on 127.0.0.1 with a free port,
for at most a few minutes, stopped by the test. The model server is a fake OpenAI-compatible server on
127.0.0.1 standing in for vLLM: it answers only the served name (vLLM answers 404 to any other model) and
only with the vLLM key (vLLM answers 401): a case or key mismatch fails here as in the cluster.
LiteLLM's proxy config: model_list entries of model_name + litellm_params (model, api_base, api_key with
`os.environ/NAME`), general_settings.master_key (docs.litellm.ai/docs/proxy/configs).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator.template.presets import load_preset
from tests.conftest import config_env, load_objects, render
from tests.fake_http import JsonHandler
from tests.realcode.venvs import python_of
from tests.test_model_serving import BGE_M3, litellm_entry

VLLM_KEY = "vllm-key-of-the-app"
MASTER_KEY = "sk-litellm-master"
STARTUP_SECONDS = 240


class FakeVllm(ThreadingHTTPServer):
    def __init__(self, served: set[str]) -> None:
        super().__init__(("127.0.0.1", 0), VllmHandler)
        self.served = served
        self.calls: list[tuple[str, str, str]] = []  # (path, model, authorization)


class VllmHandler(JsonHandler):
    server: FakeVllm

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
        model, auth = str(body.get("model")), self.headers.get("Authorization", "")
        self.server.calls.append((self.path, model, auth))
        if auth != f"Bearer {VLLM_KEY}":
            self.answer(401, {"error": "Unauthorized"})
        elif model not in self.server.served:
            self.answer(404, {"error": {"message": f"The model `{model}` does not exist.", "code": 404}})
        elif self.path == "/v1/chat/completions":
            message = {"role": "assistant", "content": "pong"}
            self.answer(
                200,
                {
                    "id": "chatcmpl-1",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": model,
                    "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
                },
            )
        elif self.path == "/v1/embeddings":
            self.answer(
                200,
                {
                    "object": "list",
                    "model": model,
                    "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2, 0.3]}],
                    "usage": {"prompt_tokens": 2, "total_tokens": 2},
                },
            )
        else:
            self.answer(404, {"error": f"no route {self.path}"})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def local(url: str, port: int) -> str:
    """The same URL (path kept) on 127.0.0.1:port: a cluster service's address, in this test."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, f"127.0.0.1:{port}", parts.path, "", ""))


def post(url: str, body: dict[str, Any], key: str) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


@pytest.fixture(scope="module")
def apps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A chat model server (a preset) and an embedding model server whose name has capitals, both with
    LiteLLM providers so that their config carries LITELLM_BASE_URL."""
    base = tmp_path_factory.mktemp("litellm-apps")
    chat = {**load_preset("inference-8b-fp16"), "llm_providers": ["openai"]}
    embed = {**BGE_M3, "llm_providers": ["openai"]}
    return {"chat": render(base / "chat", chat), "embed": render(base / "embed", embed)}


@pytest.fixture(scope="module")
def proxy(apps: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, FakeVllm]]:
    python = python_of("AIAPP_LITELLM_VENV", "litellm-venv*", "LiteLLM's virtualenv")
    served = set()
    for app in apps.values():
        args = [
            str(arg)
            for arg in load_objects(app)["Deployment"]["spec"]["template"]["spec"]["containers"][0]["args"]
        ]
        served.add(args[args.index("--served-model-name") + 1])
    vllm = FakeVllm(served)
    threading.Thread(target=vllm.serve_forever, daemon=True).start()
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_TELEMETRY": "False"}
    model_list = []
    for app in apps.values():
        entry = litellm_entry((app / "AGENTS.md").read_text(encoding="utf-8"))
        params = entry["litellm_params"]
        params["api_base"] = local(params["api_base"], vllm.server_address[1])
        env[params["api_key"].removeprefix("os.environ/")] = VLLM_KEY
        model_list.append(entry)
    work = tmp_path_factory.mktemp("litellm")
    config = work / "config.yaml"
    config.write_text(
        yaml.safe_dump({"model_list": model_list, "general_settings": {"master_key": MASTER_KEY}})
    )
    port = free_port()
    log = (work / "litellm.log").open("w")
    process = subprocess.Popen(
        [
            str(python),
            "-m",
            "litellm.proxy.proxy_cli",
            "--config",
            str(config),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=work,
    )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/liveliness", timeout=5):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("LiteLLM did not start:\n" + (work / "litellm.log").read_text()[-3000:])
                time.sleep(1)
        yield f"http://127.0.0.1:{port}", vllm
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        vllm.shutdown()
        vllm.server_close()


def test_a_chat_completion_reaches_the_server_with_the_served_name_and_key(
    apps: dict[str, Path], proxy: tuple[str, FakeVllm]
) -> None:
    url, vllm = proxy
    config = config_env(apps["chat"])
    base = local(config["LITELLM_BASE_URL"], int(urllib.parse.urlsplit(url).port or 0))
    body = {"model": config["MODEL_NAME"], "messages": [{"role": "user", "content": "ping"}]}
    status, answer = post(f"{base}/v1/chat/completions", body, MASTER_KEY)
    assert status == 200, answer
    assert answer["choices"][0]["message"]["content"] == "pong"
    assert ("/v1/chat/completions", config["MODEL_NAME"], f"Bearer {VLLM_KEY}") in vllm.calls


def test_an_embeddings_request_reaches_the_server_with_the_served_name_and_key(
    apps: dict[str, Path], proxy: tuple[str, FakeVllm]
) -> None:
    url, vllm = proxy
    config = config_env(apps["embed"])
    assert config["EMBEDDING_MODEL"] == "BAAI/bge-m3"
    base = local(config["LITELLM_BASE_URL"], int(urllib.parse.urlsplit(url).port or 0))
    status, answer = post(
        f"{base}/v1/embeddings", {"model": config["EMBEDDING_MODEL"], "input": "hi"}, MASTER_KEY
    )
    assert status == 200, answer
    assert answer["data"][0]["embedding"] == [0.1, 0.2, 0.3]
    assert ("/v1/embeddings", "BAAI/bge-m3", f"Bearer {VLLM_KEY}") in vllm.calls


def test_a_name_of_another_case_is_refused_by_litellm(
    apps: dict[str, Path], proxy: tuple[str, FakeVllm]
) -> None:
    """What the lower-cased served name did to the app's own setting: LiteLLM knows no such model."""
    url, _ = proxy
    status, _ = post(f"{url}/v1/embeddings", {"model": "baai/bge-m3", "input": "hi"}, MASTER_KEY)
    assert status == 400
