"""The options a container passes to vLLM's server, wherever they are written.

A vLLM container starts the server in one of three ways: the image's entrypoint with `args`, an explicit
`vllm serve ...` or `python -m vllm.entrypoints.openai.api_server ...` in `command`/`args`, or a shell
script (`command: [/bin/sh, -c, "... vllm serve ... --max-model-len 1024"]`), parsed here with shlex.
`--config <file>` adds the keys of a YAML file; when the pod mounts that file from a ConfigMap of the same
input (a kustomize build, or one file), its keys are read too.

vLLM's --config handling (vllm-project/vllm, `FlexibleArgumentParser` in vllm/utils/argparse_utils.py,
`_pull_args_from_config` and `load_config_file`): every top-level key of the YAML mapping becomes `--key`
(a `true` value a bare flag), inserted before the command-line options so that those win; the parser then
turns `_` into `-` in every `--` option, so `max_model_len` and `max-model-len` are the same key.

What cannot be seen (a config file from elsewhere, a `$VARIABLES` word that may expand to options, a
wrapper script) makes the invocation incomplete: a rule then never claims an option is missing.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from generator.policy.k8s import Container, Pod, mapping, sequence
from generator.policy.model import YamlPath
from generator.reader.yamldoc import parse_documents

SHELLS = frozenset({"sh", "bash", "dash", "ash", "zsh", "ksh"})
# Words that only prefix the command they run.
_PREFIXES = frozenset({"exec", "env", "nohup", "time", "command"})
_SEPARATORS = frozenset({";", "&&", "||", "|", "&", "(", ")", ";;", "\n"})
_PUNCTUATION = ";&|()"
SERVER_MODULE = "vllm.entrypoints.openai.api_server"
_SEARCH_SLACK = 256
# A container's start-up script is a few lines; longer strings are not parsed (the options are unknown).
MAX_SCRIPT_CHARS = 64 * 1024
# The memo key under which the engine leaves the ConfigMaps of the object's input: (namespace, name) → data.
CONFIG_MAPS = "config_maps"


@dataclass(frozen=True, slots=True)
class Word:
    """One word of the command line, where it is written (an offset inside a shell script string)."""

    text: str
    path: YamlPath
    offset: int | None = None


@dataclass(frozen=True, slots=True)
class Option:
    """An option found: its value (None for a bare flag) and where it is written."""

    value: str | None
    word: Word
    from_config: bool = False


@dataclass(frozen=True, slots=True)
class Invocation:
    """The server's options. `complete` is False when some could not be seen (see the module doc)."""

    words: tuple[Word, ...]
    # The word that starts the server (`vllm`, `python`), or the container's args for the image's entrypoint.
    marker: Word
    config: dict[str, Any] | None
    config_word: Word | None
    complete: bool

    def option(self, *names: str) -> Option | None:
        """The first of these options (`--flag value`, `--flag=value`, underscores or dashes), on the
        command line first (it overrides the config file), then in the config file."""
        spelled = {_canonical(name) for name in names}
        for index, word in enumerate(self.words):
            key, equals, inline = word.text.partition("=")
            if _canonical(key) not in spelled:
                continue
            if equals:
                return Option(inline, word)
            following = self.words[index + 1] if index + 1 < len(self.words) else None
            value = following.text if following is not None and not following.text.startswith("-") else None
            return Option(value, word)
        if self.config is not None and self.config_word is not None:
            for key, value in self.config.items():
                if _canonical(f"--{key}") in spelled:
                    shown = None if value is True else str(value)
                    return Option(shown, self.config_word, from_config=True)
        return None


def _canonical(option: str) -> str:
    """`--max_model_len` → `--max-model-len` (vLLM's parser does the same); short options unchanged."""
    return "--" + option[2:].replace("_", "-") if option.startswith("--") else option


def _argv(container: Container) -> list[Word]:
    words = []
    for field in ("command", "args"):
        for index, item in enumerate(sequence(container.data.get(field))):
            if isinstance(item, (str, int, float)):
                words.append(Word(str(item), (*container.path, field, index)))
    return words


def _script_words(script: Word) -> list[Word] | None:
    """The words of a shell script, separators kept as words; None if shlex cannot split it or the
    script is longer than a start-up script is (shlex reads about a megabyte a second)."""
    if len(script.text) > MAX_SCRIPT_CHARS:
        return None
    text = script.text.replace("\\\n", "  ")
    lexer = shlex.shlex(text.replace("\n", " \n "), posix=True, punctuation_chars=_PUNCTUATION)
    lexer.whitespace = " \t\r"
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        tokens = list(lexer)
    except ValueError:  # an unclosed quote
        return None
    words, cursor = [], 0
    for token in tokens:
        # Near the previous word only: a token shlex unquoted (`a"b"` → `ab`) is not in the text, and
        # searching the rest of a large script for each would take quadratic time.
        found = text.find(token, cursor, cursor + 2 * len(token) + _SEARCH_SLACK)
        offset = found if found >= 0 else None
        if found >= 0:
            cursor = found + len(token)
        words.append(Word(token, script.path, offset))
    return words


def _segments(words: list[Word]) -> Iterator[list[Word]]:
    """Simple commands: the words between separators, without `exec`/`env` prefixes and assignments."""
    current: list[Word] = []
    for word in [*words, Word(";", ())]:
        # shlex groups adjacent punctuation into one token: `$(VAR);` ends in `);`, `&&` stays whole.
        if word.text in _SEPARATORS or (word.text and not word.text.strip(_PUNCTUATION)):
            while current and (current[0].text in _PREFIXES or _assignment(current[0].text)):
                current.pop(0)
            if current:
                yield current
            current = []
        else:
            current.append(word)


def _assignment(text: str) -> bool:
    """`VLLM_PORT=8000` before a command sets a variable for it."""
    name, equals, _ = text.partition("=")
    return bool(equals) and name.replace("_", "a").isalnum()


def _server_options(words: list[Word]) -> tuple[Word, list[Word]] | None:
    """(marker word, options) when the words start vLLM's server; None otherwise."""
    if not words:
        return None
    program = words[0].text.rsplit("/", 1)[-1]
    if program == "vllm" and len(words) > 1 and words[1].text == "serve":
        return words[0], words[2:]
    if program.startswith("python"):
        for index in range(1, len(words) - 1):
            if words[index].text == "-m" and words[index + 1].text == SERVER_MODULE:
                return words[0], words[index + 2 :]
    return None


def _shell_script(words: list[Word]) -> Word | None:
    """The script of `sh -c SCRIPT` (also `bash -lc`, `-ec`)."""
    if not words or words[0].text.rsplit("/", 1)[-1] not in SHELLS:
        return None
    for index, word in enumerate(words[1:], start=1):
        text = word.text
        if text.startswith("-") and not text.startswith("--") and "c" in text[1:]:
            return words[index + 1] if index + 1 < len(words) else None
        if not text.startswith("-"):
            return None
    return None


def _opaque(options: list[Word]) -> bool:
    """A word that may expand to further options: `$EXTRA_ARGS`, `"$@"` (not the value of an option)."""
    for index, word in enumerate(options):
        if word.text.startswith("$"):
            before = options[index - 1].text if index else ""
            if not (before.startswith("-") and "=" not in before):
                return True
    return False


def invocation(
    container: Container,
    pod: Pod,
    namespace: str | None,
    config_maps: dict[Any, Any] | None,
    headless: bool = False,
) -> Invocation | None:
    """The server's options, or None when this container's command is not one this module can read
    (a wrapper script, a shell script without `vllm serve`): its options are unknown. A script may start
    vLLM in several ways (one pod template for the leader and the workers of a LeaderWorkerSet, the rank
    chosen by `$LWS_WORKER_INDEX`): the first is read, or with `headless` the first `--headless` one."""
    argv = _argv(container)
    if "command" not in container.data:
        found: tuple[Word, list[Word]] | None = (
            Word("", (*container.path, "args") if "args" in container.data else container.path),
            argv,
        )
    else:
        found = _server_options(argv)
        if found is None:
            script = _shell_script(argv)
            words = _script_words(script) if script is not None else None
            servers = [server for segment in _segments(words or []) if (server := _server_options(segment))]
            ranks = [server for server in servers if any(word.text == "--headless" for word in server[1])]
            chosen = ranks if headless and ranks else servers
            found = chosen[0] if chosen else None
    if found is None:
        return None
    marker, options = found
    complete = not _opaque(options)
    config: dict[str, Any] | None = None
    config_word: Word | None = None
    probe = Invocation(tuple(options), marker, None, None, complete)
    given = probe.option("--config")
    if given is not None:
        config_word = given.word
        config = _config_file(given.value, container, pod, namespace, config_maps)
        complete = complete and config is not None
    return Invocation(tuple(options), marker, config, config_word, complete)


def _config_file(
    path: str | None,
    container: Container,
    pod: Pod,
    namespace: str | None,
    config_maps: dict[Any, Any] | None,
) -> dict[str, Any] | None:
    """The mapping of a --config file that the container mounts from a ConfigMap of the same input."""
    if not path or config_maps is None:
        return None
    volumes = {
        str(mapping(volume).get("name")): mapping(volume) for volume in sequence(pod.spec.get("volumes"))
    }
    mounts = sorted(
        (mapping(mount) for mount in sequence(container.data.get("volumeMounts"))),
        key=lambda mount: len(str(mount.get("mountPath", ""))),
        reverse=True,
    )
    for mount in mounts:
        where = str(mount.get("mountPath", "")).rstrip("/")
        sub_path = mount.get("subPath")
        if sub_path is not None:
            if path != where:
                continue
            relative = str(sub_path)
        elif path.startswith(where + "/"):
            relative = path[len(where) + 1 :]
        else:
            continue
        volume = volumes.get(str(mount.get("name")))
        if volume is None:
            return None
        for name, key in _config_map_keys(volume, relative):
            data = mapping(config_maps.get((namespace, name)))
            text = data.get(key)
            if isinstance(text, str):
                return _parsed(text)
        return None
    return None


def _config_map_keys(volume: dict[str, Any], relative: str) -> Iterator[tuple[str, str]]:
    """(ConfigMap name, key) that a file of a configMap (or projected) volume comes from."""
    sources = [mapping(volume.get("configMap"))] if "configMap" in volume else []
    sources += [
        mapping(mapping(source).get("configMap"))
        for source in sequence(mapping(volume.get("projected")).get("sources"))
        if "configMap" in mapping(source)
    ]
    for source in sources:
        name = str(source.get("name", ""))
        items = sequence(source.get("items"))
        if items:
            for item in items:
                if str(mapping(item).get("path")) == relative:
                    yield name, str(mapping(item).get("key"))
        elif "/" not in relative:
            yield name, relative


def _parsed(text: str) -> dict[str, Any] | None:
    try:
        documents = parse_documents(text)
    except (yaml.YAMLError, RecursionError, ValueError):
        return None
    first = documents[0] if documents else None
    return first if isinstance(first, dict) else None
