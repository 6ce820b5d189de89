"""The real interactive wizard in a pseudo-terminal, answered key by key as a person would."""

from __future__ import annotations

import io
import os
import re
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import TEMPLATE_REF
from tests.test_new_cli import console_script

pexpect = pytest.importorskip("pexpect")

AIAPP = console_script("aiapp")
ENTER, DOWN, SPACE, CLEAR_LINE = "\r", "\x1b[B", " ", "\x15"  # Ctrl-U clears a refused answer
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# A prompt appears in well under a second; a missing or renamed one fails the test after this long,
# naming the prompt it waited for and showing the end of the screen, instead of hanging.
PROMPT_TIMEOUT = 15
# Copier renders (a clone of the template) between the last question and the file list.
RENDER_TIMEOUT = 60


class Session:
    """`aiapp new` in a pty; `answer(prompt, keys)` waits for the prompt text, then types."""

    def __init__(self, cwd: Path, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIAPP_")}
        # The working tree's template (questions and files), like every other test.
        env["AIAPP_TEMPLATE_REF"] = TEMPLATE_REF
        env["AIAPP_RENDER_UNCOMMITTED"] = "1"
        # No cursor-position request: a pty never answers it and prompt_toolkit would wait for it.
        env.update(TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1", COLUMNS="250", LINES="60")
        self.log = io.StringIO()
        self.child = pexpect.spawn(
            AIAPP,
            ["new", *args],
            cwd=str(cwd),
            env=env,
            dimensions=(60, 250),
            encoding="utf-8",
            timeout=PROMPT_TIMEOUT,
        )
        self.child.logfile_read = self.log

    def _expect(self, pattern: object, what: str, timeout: int) -> None:
        try:
            if isinstance(pattern, str):
                self.child.expect_exact(pattern, timeout=timeout)
            else:
                self.child.expect(pattern, timeout=timeout)
        except pexpect.EOF:
            reason = "the wizard ended"
        except pexpect.TIMEOUT:
            reason = f"nothing after {timeout} s"
        else:
            return
        self.child.terminate(force=True)
        tail = "\n".join(self.transcript.splitlines()[-15:])
        pytest.fail(f"waiting for {what}: {reason}. Last lines on the screen:\n{tail}", pytrace=False)

    def answer(self, prompt: str, keys: str, timeout: int = PROMPT_TIMEOUT) -> None:
        self._expect(prompt, repr(prompt), timeout)
        self.child.send(keys)

    def finish(self) -> int:
        self._expect(pexpect.EOF, "the wizard to end", RENDER_TIMEOUT)
        self.child.close()
        return int(self.child.exitstatus if self.child.exitstatus is not None else -1)

    @property
    def transcript(self) -> str:
        return ANSI.sub("", self.log.getvalue())


EXTRA = "[--enable-prefix-caching]"


def test_gpu_model_that_does_not_fit_is_corrected_and_rendered(tmp_path: Path) -> None:
    s = Session(tmp_path, "llama-70b")
    s.answer("Application name", "llama-70b" + ENTER)
    s.answer("Kubernetes namespace", ENTER)
    s.answer("One-line description", ENTER)
    s.answer("Container image", "vllm/vllm-openai:latest" + ENTER)
    s.answer("The image tag must not be 'latest'", "")  # refused at the prompt, with the rule
    s.answer("Container image", CLEAR_LINE + "vllm/vllm-openai:v0.10.1.1" + ENTER)
    s.answer("Port the container listens on", ENTER)
    s.answer("HTTP path that answers 200", ENTER)
    s.answer("Does the app load and serve a model", "y" + ENTER)
    s.answer("Name of the model it serves", "Llama-3.1-70B-Instruct" + ENTER)
    s.answer("Parameter count in billions", CLEAR_LINE + "70" + ENTER)
    s.answer("Precision of the weights", ENTER)  # bf16, the catalogue's default for the model
    s.answer("Does it need a GPU?", "y" + ENTER)
    s.answer("How many GPUs", CLEAR_LINE + "2" + ENTER)
    # The default (96) would hold the model; the person types the memory of their GPUs.
    s.answer("Memory per GPU in GiB", CLEAR_LINE + "32" + ENTER)  # 70B at bf16 does not fit on 2 x 32 GiB
    s.answer("2 x 32 GiB = 64 GiB: does NOT fit", "")
    s.answer("The model does not fit. What now?", "")
    # The highest precision that fits, as the catalogue's quantised checkpoint (a precision is a download).
    s.answer("Use int4 (the quantised checkpoint hugging-quants/Meta-Llama-3.1-70B-Instruct-AWQ-INT4): "
             "about 37.4 GiB on 2 x 32 GiB", "")  # fmt: skip
    s.answer("Use 8 GPUs at bf16", ENTER)  # or the fewest GPUs vLLM can use; Enter takes the first, int4
    s.answer("2 x 32 GiB = 64 GiB: fits", "")
    s.answer("a context of up to 37888 tokens fits", "")
    s.answer("Requests of the full context length", ENTER)
    s.answer("Context length in tokens", ENTER)  # the longest that fits
    s.answer("Serving engine", ENTER)  # vLLM, the default on GPU
    s.answer("Secret-store item (the ExternalSecret's remoteRef key) holding the API key clients", ENTER)
    s.answer("Pre-download the model", "n" + ENTER)
    s.answer("Extra vLLM arguments", CLEAR_LINE + "--x" + ENTER)  # not a list
    s.answer("The extra arguments must be a YAML list", "")  # refused at the prompt, with the rule
    s.answer("Extra vLLM arguments", CLEAR_LINE + EXTRA + ENTER)
    s.answer("Model PVC size in GiB", ENTER)
    s.answer("Velero backup tier", ENTER)
    s.answer("Add a separate cache PVC", "n" + ENTER)
    s.answer("CPU cores", ENTER)
    s.answer("Memory in GiB", ENTER)
    s.answer("Vector database", DOWN + ENTER)  # the shared Qdrant
    s.answer("LLM providers the app uses through LiteLLM", SPACE + DOWN + SPACE + ENTER)  # OpenAI, Anthropic
    # The answered checkbox echoes the selection, not questionary's "done (2 selections)".
    s.answer("OpenAI, Anthropic", "")
    s.answer("Secret-store item holding the app's LiteLLM virtual key", ENTER)
    s.answer("EXCEPTION: providers the app must call directly", ENTER)
    s.answer("Qdrant collection name", ENTER)
    s.answer("Embedding model whose vectors", ENTER)
    s.answer("Vector size of the embeddings", ENTER)
    s.answer("Distance metric of the collection", ENTER)
    s.answer("Does it receive traffic from the gateway?", ENTER)
    s.answer("Host names the gateway routes to the app", ENTER)
    s.answer("Request timeout of the route", ENTER)
    s.answer("Create the namespace", ENTER)
    s.answer("Files to write into llama-70b", "", timeout=RENDER_TIMEOUT)
    s.answer("Write these", "y" + ENTER)
    assert s.finish() == 0, s.transcript
    out = s.transcript
    assert "Traceback" not in out and "selections)" not in out
    assert re.search(r"model_precision +int4", out) and "  deployment.yaml" in out
    assert "'llama-70b LiteLLM key'" in out
    assert "note:" not in out  # the generated arguments tell vLLM to use both GPUs

    app = tmp_path / "llama-70b"
    deployment = yaml.safe_load((app / "deployment.yaml").read_text())
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    resources = container["resources"]
    assert resources["limits"]["nvidia.com/gpu"] == 2 == resources["requests"]["nvidia.com/gpu"]
    args = container["args"]
    assert args[args.index("--tensor-parallel-size") + 1] == "2"
    assert args[args.index("--max-model-len") + 1] == "37888" and args[-1] == "--enable-prefix-caching"
    answers = yaml.safe_load((app / ".copier-answers.yml").read_text())
    assert answers["model_precision"] == "int4" and answers["gpu_count"] == 2
    assert answers["gpu_memory_gib"] == 32 and answers["vllm_extra_args"] == ["--enable-prefix-caching"]
    assert answers["serving_engine"] == "vllm" and "container_args" not in answers
    assert answers["model_pvc_size_gib"] == 60 and answers["vector_db"] == "qdrant"
    assert answers["llm_providers"] == ["openai", "anthropic"]
    assert answers["image"] == "vllm/vllm-openai:v0.10.1.1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["llama-70b"]  # no staging left behind


def test_a_model_outside_the_catalogue_is_sized_by_the_person(tmp_path: Path) -> None:
    """No default size: Enter on the parameter count is refused with the answers to give, then the
    precision and the KV-cache shape are asked."""
    s = Session(tmp_path, "glm")
    s.answer("Application name", "glm" + ENTER)
    s.answer("Kubernetes namespace", ENTER)
    s.answer("One-line description", ENTER)
    s.answer("Container image", "vllm/vllm-openai:v0.10.1.1" + ENTER)
    s.answer("Port the container listens on", ENTER)
    s.answer("HTTP path that answers 200", ENTER)
    s.answer("Does the app load and serve a model", ENTER)
    s.answer("Name of the model it serves", "zai-org/GLM-4-32B-0414" + ENTER)
    s.answer("Parameter count in billions", ENTER)  # the default, 0: refused
    s.answer("is not in the model catalogue (includes/models.yml): give its size", "")
    s.answer("Parameter count in billions", CLEAR_LINE + "32.6" + ENTER)
    s.answer("Precision of the weights", DOWN + ENTER)  # fp16: vLLM refuses it for glm4
    s.answer("vLLM refuses float16 for zai-org/GLM-4-32B-0414's family", "")
    UP = "\x1b[A"
    s.answer("Precision of the weights", "")  # asked again, the refused fp16 selected
    time.sleep(0.5)  # let the select take the keyboard before moving up to bf16
    s.child.send(UP + ENTER)
    s.answer("Does it need a GPU?", ENTER)  # yes: the default for a vLLM image
    s.answer("Transformer layers", CLEAR_LINE + "61" + ENTER)
    s.answer("Key/value heads", CLEAR_LINE + "2" + ENTER)
    s.answer("Dimension of one attention head", CLEAR_LINE + "128" + ENTER)
    s.answer("How many GPUs", "")
    s.child.sendintr()
    assert s.finish() == 130
    assert "Traceback" not in s.transcript and list(tmp_path.iterdir()) == []


def test_ctrl_c_at_a_prompt_writes_nothing(tmp_path: Path) -> None:
    s = Session(tmp_path, "app")
    s.answer("Application name", "half-typ")
    s.child.sendintr()
    assert s.finish() == 130
    assert "Interrupted: nothing was written." in s.transcript
    assert "Traceback" not in s.transcript
    assert list(tmp_path.iterdir()) == []


def test_no_at_the_confirmation_writes_nothing(tmp_path: Path) -> None:
    given = {
        "app_name": "chat",
        "namespace": "ai",
        "description": "Chat",
        "image": "ghcr.io/acme/chat:1.0",
        "container_port": "8000",
        "health_path": "/health",
        "container_args": "[]",
        "serves_model": "false",
        "gpu": "true",  # not used without a model: a note says so, as in a scripted run
    }
    s = Session(
        tmp_path, "chat", *[arg for key, value in given.items() for arg in ("--set", f"{key}={value}")]
    )
    s.answer("Add a separate cache PVC", ENTER)
    s.answer("CPU cores", ENTER)
    s.answer("Memory in GiB", ENTER)
    s.answer("Vector database", ENTER)
    s.answer("LLM providers", ENTER)
    s.answer("Does it receive traffic from the gateway?", ENTER)
    s.answer("Host names the gateway routes to the app", ENTER)
    s.answer("Request timeout of the route", ENTER)
    s.answer("Replicas", ENTER)
    s.answer("Create the namespace", ENTER)
    s.answer("Write these", "n" + ENTER)
    assert s.finish() == 1
    assert "note: gpu (--set) is not used: it applies only when serves_model" in s.transcript
    assert "Cancelled: nothing was written." in s.transcript
    assert "Traceback" not in s.transcript
    assert list(tmp_path.iterdir()) == []


def test_typing_replaces_a_default_and_confirmations_wait_for_enter(tmp_path: Path) -> None:
    """The default is a placeholder: what is typed replaces it (never `ai` + `team-ml` = `aiteam-ml`), and
    Enter alone accepts it. `y` at a yes/no prompt waits for Enter (questionary's confirm with
    auto_enter=False), so that Enter does not answer the next question."""
    s = Session(tmp_path, "app", "--set", "image=ghcr.io/acme/chat:1.0", "--set", "serves_model=false")
    s.answer("Application name", "chat" + ENTER)
    s.answer("Kubernetes namespace", "team-ml" + ENTER)
    s.answer("One-line description", ENTER)  # the default, "chat: an AI application"
    s.answer("Port the container listens on", ENTER)
    s.answer("HTTP path that answers 200", ENTER)
    s.answer("Arguments of the app's container", ENTER)
    s.answer("Add a separate cache PVC", "y")
    with pytest.raises(pexpect.TIMEOUT):  # `y` alone answers nothing: the prompt waits for Enter
        s.child.expect_exact("Cache PVC size in GiB", timeout=2)
    s.child.send(ENTER)
    s.answer("Cache PVC size in GiB", "30" + ENTER)
    s.answer("CPU cores", ENTER)
    s.answer("Memory in GiB", ENTER)
    s.answer("Vector database", ENTER)
    s.answer("LLM providers", ENTER)
    s.answer("Does it receive traffic from the gateway?", ENTER)
    s.answer("Host names the gateway routes to the app", ENTER)
    s.answer("Request timeout of the route", ENTER)
    s.answer("Create the namespace", ENTER)
    s.answer("Write these", "y" + ENTER, timeout=RENDER_TIMEOUT)
    assert s.finish() == 0, s.transcript
    answers = yaml.safe_load((tmp_path / "app/.copier-answers.yml").read_text())
    assert answers["namespace"] == "team-ml" and answers["description"] == "chat: an AI application"
    assert answers["cache_pvc"] is True and answers["cache_pvc_size_gib"] == 30


def test_a_preset_on_a_terminal_asks_only_the_rest(tmp_path: Path) -> None:
    s = Session(tmp_path, "app", "--preset", "chat-litellm")
    s.answer("(from preset chat-litellm)", "")
    for prompt in ("Kubernetes namespace", "Arguments of the app's container", "Add a separate cache PVC",
                   "CPU cores", "Memory in GiB", "Secret-store item holding the app's LiteLLM virtual key",
                   "EXCEPTION: providers", "Does it receive traffic",
                   "Request timeout of the route", "Create the namespace"):
        s.answer(prompt, ENTER)  # the defaults
    s.answer("Write these", "n" + ENTER, timeout=RENDER_TIMEOUT)
    assert s.finish() == 1
    assert "Application name" not in s.transcript.split("(from preset chat-litellm)")[-1]
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_during_start_up_is_one_line(tmp_path: Path) -> None:
    s = Session(tmp_path, "app")
    time.sleep(0.3)  # Python runs (its handler is installed), the CLI is being imported: no prompt yet
    assert "Application name" not in s.transcript
    s.child.sendintr()
    assert s.finish() == 130
    assert "Interrupted: nothing was written." in s.transcript and "Aborted!" not in s.transcript
    assert "Traceback" not in s.transcript
    assert list(tmp_path.iterdir()) == []
