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

    def __init__(self, cwd: Path, *args: str, command: str = "new") -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIAPP_")}
        # The working tree's template (questions and files), like every other test.
        env["AIAPP_TEMPLATE_REF"] = TEMPLATE_REF
        env["AIAPP_RENDER_UNCOMMITTED"] = "1"
        # No cursor-position request: a pty never answers it and prompt_toolkit would wait for it.
        env.update(TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1", COLUMNS="250", LINES="60")
        self.log = io.StringIO()
        self.child = pexpect.spawn(
            AIAPP,
            [command, *args],
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

    @property
    def screen(self) -> str:
        """What the terminal shows at the end: each prompt as its last drawing (the answered line), not
        every redraw (prompt_toolkit draws between bracketed-paste on and off, erasing with ESC [J)."""
        parts = re.split(r"\x1b\[\?2004h(.*?)\x1b\[\?2004l", self.log.getvalue(), flags=re.S)
        shown = []
        for index, part in enumerate(parts):
            if index % 2:
                drawings = [ANSI.sub("", d).replace("\r", "").strip() for d in part.split("\x1b[J")]
                shown += [[d for d in drawings if d][-1] + "\n"] if any(drawings) else []
            else:
                shown.append(ANSI.sub("", part).replace("\r", ""))
        return "".join(shown)

    @property
    def prompts(self) -> int:
        """The questions a person answered: questionary marks each prompt with `? `."""
        return sum(1 for line in self.screen.splitlines() if line.startswith("? "))


EXTRA = "[--enable-prefix-caching]"
DOC = Path(__file__).resolve().parents[1] / "docs" / "wizard.md"


def record(name: str, s: Session, where: Path) -> None:
    """The transcript of a scenario in docs/wizard.md, between `<!-- transcript NAME -->` and
    `<!-- end transcript -->`: written by the run with AIAPP_UPDATE_TRANSCRIPTS=1, else its prompts
    (the lines a person answered) must be the ones the documentation shows."""
    text = s.screen.replace(str(where), "/gitops/apps")
    kept = [line.rstrip() for line in text.splitlines() if not line.startswith(("copier: ", "note: "))]
    begin, end = f"<!-- transcript {name} -->", "<!-- end transcript -->"
    doc = DOC.read_text(encoding="utf-8")
    assert begin in doc, f"docs/wizard.md has no {begin}"
    head, tail = doc.split(begin, 1)
    old, tail = tail.split(end, 1)
    if os.environ.get("AIAPP_UPDATE_TRANSCRIPTS"):
        shown = "\n".join(kept).strip("\n")
        block = f"\n```text\n$ aiapp new {name}\n{shown}\n```\n"
        DOC.write_text(head + begin + block + end + tail, encoding="utf-8")
        return
    for line in kept:
        if line.startswith("? "):
            assert line in old, f"docs/wizard.md ({name}) lacks {line!r}: run with AIAPP_UPDATE_TRANSCRIPTS=1"


def answers_of(app: Path) -> dict[str, object]:
    loaded: dict[str, object] = yaml.safe_load((app / ".copier-answers.yml").read_text())
    return loaded


def test_a_litellm_client_in_at_most_6_questions(tmp_path: Path) -> None:
    s = Session(tmp_path, "chat")  # DEST's name is the app name: not asked
    s.answer("Container image", "ghcr.io/acme/chat:1.0" + ENTER)
    s.answer("Does the app load and serve a model itself", ENTER)  # no, the default
    s.answer("Vector database", ENTER)
    s.answer("LLM providers the app uses through LiteLLM", SPACE + ENTER)  # OpenAI
    s.answer("Write these", ENTER, timeout=RENDER_TIMEOUT)  # the summary's first choice: write
    assert s.finish() == 0, s.transcript
    assert s.prompts <= 6, s.screen
    assert "Application name" not in s.screen.split("(from DEST)")[-1]
    answers = answers_of(tmp_path / "chat")
    assert answers["app_name"] == "chat" and answers["serves_model"] is False
    assert answers["llm_providers"] == ["openai"] and answers["gateway_ingress"] is True
    record("chat", s, tmp_path)


def test_a_rag_app_on_the_shared_qdrant_in_at_most_8_questions(tmp_path: Path) -> None:
    s = Session(tmp_path, "rag-chat")
    s.answer("Container image", "ghcr.io/acme/rag-chat:1.0" + ENTER)
    s.answer("Does the app load and serve a model itself", ENTER)
    s.answer("Vector database", DOWN + ENTER)  # the shared Qdrant
    s.answer("LLM providers the app uses through LiteLLM", SPACE + ENTER)  # OpenAI: it has an embeddings API
    s.answer("Write these", ENTER, timeout=RENDER_TIMEOUT)
    assert s.finish() == 0, s.transcript
    assert s.prompts <= 8, s.screen
    answers = answers_of(tmp_path / "rag-chat")
    assert answers["vector_db"] == "qdrant" and answers["embedding_model"] == "text-embedding-3-small"
    assert answers["qdrant_vector_size"] == 1536 and answers["qdrant_collection"] == "rag_chat"
    record("rag-chat", s, tmp_path)


def test_a_vllm_server_for_a_catalogue_model_in_at_most_8_questions(tmp_path: Path) -> None:
    s = Session(tmp_path, "qwen-7b")
    s.answer("Container image", "vllm/vllm-openai:v0.10.1.1" + ENTER)
    # A vLLM image serves a model, on a GPU: the only valid answers, so neither is asked.
    s.answer("Name of the model it serves", "Qwen2.5-7B-Instruct" + ENTER)
    s.answer("Memory per GPU in GiB", "22" + ENTER)  # an A10, as nvidia-smi reports it
    s.answer("Vector database", ENTER)
    s.answer("LLM providers the app uses through LiteLLM", ENTER)
    s.answer("Write these", ENTER, timeout=RENDER_TIMEOUT)
    assert s.finish() == 0, s.transcript
    assert s.prompts <= 8, s.screen
    app = tmp_path / "qwen-7b"
    answers = answers_of(app)
    assert answers["serves_model"] is True and answers["gpu"] is True and answers["gpu_memory_gib"] == 22
    # LiteLLM is the model server's consumer: no route on the gateway unless asked.
    assert answers["gateway_ingress"] is False and not (app / "httproute.yaml").exists()
    assert "Does it need a GPU?" not in s.screen and "Does the app load" not in s.screen
    assert s.screen.count("Sizing (see docs/sizing.md)") == 1  # once, after the summary
    record("qwen-7b", s, tmp_path)


def test_a_model_on_several_gpus_in_its_own_namespace_in_at_most_10_questions(tmp_path: Path) -> None:
    s = Session(tmp_path, "llama-70b")
    s.answer("Container image", "vllm/vllm-openai:v0.10.1.1" + ENTER)
    s.answer("Name of the model it serves", "Llama-3.1-70B-Instruct" + ENTER)
    s.answer("Memory per GPU in GiB", "80" + ENTER)  # one 80 GiB GPU does not hold it at bf16
    s.answer("1 x 80 GiB = 80 GiB: does NOT fit", "")
    s.answer("The model does not fit. What now?", "")
    s.answer("GPUs at bf16", DOWN + ENTER)  # more GPUs, not int4 (the first offer)
    s.answer("GiB: fits", "")
    s.answer("Vector database", ENTER)
    s.answer("LLM providers the app uses through LiteLLM", ENTER)
    s.answer("Write these", DOWN + ENTER, timeout=RENDER_TIMEOUT)  # change an answer
    s.answer("Which answer?", "namespace" + ENTER)
    s.answer("Kubernetes namespace", "llama" + ENTER)  # typing replaces the default `ai`
    s.answer("Write these", ENTER, timeout=RENDER_TIMEOUT)
    assert s.finish() == 0, s.transcript
    assert s.prompts <= 10, s.screen
    app = tmp_path / "llama-70b"
    answers = answers_of(app)
    assert answers["namespace"] == "llama" and answers["create_namespace"] is True
    assert answers["model_precision"] == "bf16" and isinstance(answers["gpu_count"], int)
    assert answers["gpu_count"] > 1 and answers["gpu_memory_gib"] == 80  # the person's answers are kept
    pod = yaml.safe_load((app / "deployment.yaml").read_text())["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == answers["gpu_count"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["llama-70b"]  # no staging left behind
    record("llama-70b", s, tmp_path)


def test_a_model_outside_the_catalogue_is_sized_by_the_person(tmp_path: Path) -> None:
    """No default size: the parameter count is asked (its default, 0, breaks its rule), and Enter on it
    is refused with the answers to give."""
    s = Session(tmp_path, "glm")
    s.answer("Container image", "vllm/vllm-openai:v0.10.1.1" + ENTER)
    s.answer("Name of the model it serves", "zai-org/GLM-4-32B-0414" + ENTER)
    s.answer("Parameter count in billions", ENTER)  # the default, 0: refused
    s.answer("is not in the model catalogue (includes/models.yml): give its size", "")
    s.answer("Parameter count in billions", CLEAR_LINE + "32.6" + ENTER)
    s.answer("Memory per GPU in GiB", "")
    s.child.sendintr()
    assert s.finish() == 130
    assert "Traceback" not in s.transcript and list(tmp_path.iterdir()) == []


def test_ctrl_c_at_a_prompt_writes_nothing(tmp_path: Path) -> None:
    s = Session(tmp_path, "app")
    s.answer("Container image", "half-typ")
    s.child.sendintr()
    assert s.finish() == 130
    assert "Interrupted: nothing was written." in s.transcript
    assert "Traceback" not in s.transcript
    assert list(tmp_path.iterdir()) == []


def test_no_at_the_confirmation_writes_nothing(tmp_path: Path) -> None:
    s = Session(
        tmp_path, "chat", "--set", "image=ghcr.io/acme/chat:1.0", "--set", "serves_model=false",
        "--set", "gpu=true",  # not used without a model: a note says so, as in a scripted run
    )  # fmt: skip
    s.answer("Vector database", ENTER)
    s.answer("LLM providers", ENTER)
    s.answer("Write these", DOWN + DOWN + ENTER, timeout=RENDER_TIMEOUT)  # No, write nothing
    assert s.finish() == 1
    assert "note: gpu (--set) is not used: it applies only when serves_model" in s.transcript
    assert "Cancelled: nothing was written." in s.transcript
    assert "Traceback" not in s.transcript
    assert list(tmp_path.iterdir()) == []


def test_typing_replaces_a_default_and_confirmations_wait_for_enter(tmp_path: Path) -> None:
    """The default is a placeholder: what is typed replaces it (never `ai` + `team-ml` = `aiteam-ml`), and
    Enter alone accepts it. `y` at a yes/no prompt waits for Enter (questionary's confirm with
    auto_enter=False), so that Enter does not answer the next question."""
    s = Session(tmp_path, "app", "--set", "image=ghcr.io/acme/chat:1.0")
    s.answer("Does the app load and serve a model itself", "n")
    with pytest.raises(pexpect.TIMEOUT):  # `n` alone answers nothing: the prompt waits for Enter
        s.child.expect_exact("Vector database", timeout=2)
    s.child.send(ENTER)
    s.answer("Vector database", ENTER)
    s.answer("LLM providers", ENTER)
    s.answer("Write these", DOWN + ENTER, timeout=RENDER_TIMEOUT)  # change an answer
    s.answer("Which answer?", "nmespace" + ENTER)  # a typo: refused with the names that come close
    s.answer("is not an answer of this app", "")
    s.answer("Which answer?", "namespace" + ENTER)
    s.answer("Kubernetes namespace", "team-ml" + ENTER)
    s.answer("Write these", DOWN + ENTER, timeout=RENDER_TIMEOUT)
    s.answer("Which answer?", "description" + ENTER)
    s.answer("One-line description", ENTER)  # Enter keeps it
    s.answer("Write these", ENTER, timeout=RENDER_TIMEOUT)
    assert s.finish() == 0, s.transcript
    answers = answers_of(tmp_path / "app")
    assert answers["namespace"] == "team-ml" and answers["description"] == "app: an AI application"


def test_a_preset_on_a_terminal_asks_only_the_rest(tmp_path: Path) -> None:
    s = Session(tmp_path, "app", "--preset", "chat-litellm")
    s.answer("(from preset chat-litellm)", "")
    s.answer("Write these", DOWN + DOWN + ENTER, timeout=RENDER_TIMEOUT)
    assert s.finish() == 1
    assert s.prompts == 1, s.screen  # the preset answers every essential question
    assert "Application name" not in s.transcript.split("(from preset chat-litellm)")[-1]
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_during_start_up_is_one_line(tmp_path: Path) -> None:
    s = Session(tmp_path, "app")
    time.sleep(0.3)  # Python runs (its handler is installed), the CLI is being imported: no prompt yet
    assert "Container image" not in s.transcript
    s.child.sendintr()
    assert s.finish() == 130
    assert "Interrupted: nothing was written." in s.transcript and "Aborted!" not in s.transcript
    assert "Traceback" not in s.transcript
    assert list(tmp_path.iterdir()) == []


def test_aiapp_init_takes_the_facts_as_a_block_or_typing_replaces_each_default(tmp_path: Path) -> None:
    """`aiapp init` (issue 20): one question for the whole profile; going through each fact, what is
    typed replaces the default (`nulllab.example.org` was `null` + the typed domain)."""
    s = Session(tmp_path, ".", command="init")
    s.answer("facts? (no: go through each one)", "n" + ENTER)
    s.answer("litellm.namespace", "llm" + ENTER)  # the default is `ai`: typing replaces it
    typed = {"qdrant.api_key_item": "Qdrant key"}  # its default is null
    for _ in range(60):
        # A fact's prompt waiting for input: its name, the default as a grey placeholder (ESC [0;90m), then
        # the cursor put back before it (the accepted prompt's last drawing ends the line instead).
        first = r"\?\x1b\[0;1m ([a-z_]+(?:\.[a-z_]+)*) \x1b\[0;90m[^\x1b]*\x1b\[\d+D\x1b\[\d+C"
        index = s.child.expect([first, r"Write .*\.aiapp\.yml\?"], timeout=PROMPT_TIMEOUT)
        if index == 1:
            break
        s.child.send(typed.get(s.child.match.group(1), "") + ENTER)  # Enter: every other default
    s.child.send("y" + ENTER)
    assert s.finish() == 0, s.transcript
    cluster = yaml.safe_load((tmp_path / ".aiapp.yml").read_text())["cluster"]
    assert cluster["litellm"]["namespace"] == "llm", s.screen
    assert cluster["qdrant"]["api_key_item"] == "Qdrant key", s.screen
    assert cluster["storage_class"] == "proxmox-csi"  # Enter kept the default

    block = tmp_path / "block"
    block.mkdir()
    s = Session(block, ".", command="init")
    s.answer("Use these", ENTER)  # yes: the defaults as a block
    s.answer("Write", "y" + ENTER)
    assert s.finish() == 0, s.transcript
    assert s.prompts == 2, s.screen
