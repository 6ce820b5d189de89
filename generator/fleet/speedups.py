"""Caches that make many in-process `copier update` runs cheap; results are unchanged.

One `copier update` clones the template about five times (old version, new version, once per internal
worker), parses copier.yml as often, and compiles ~1,700 Jinja expressions (every question's default,
`when` and validator, for three renders). Across 50 apps that is the same work 50 times. Inside
`copier_caches()`:

- a template version is cloned once per run and every worker reads that checkout (Copier only reads it);
- copier.yml is parsed once per file and handed out as a deep copy;
- Jinja compiles each template source once per environment configuration (the compiled code does not
  depend on the environment instance, which is bound when the template object is created).

These hook private Copier names (`copier._template.clone`, `load_template_config`); when a Copier
release renames them, the hook is skipped and updates are only slower. Everything is restored on exit.
"""

from __future__ import annotations

import copy
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def copier_caches() -> Iterator[None]:
    """Install the three caches for the duration of the block."""
    import copier._template as copier_template
    import jinja2

    workdir = Path(tempfile.mkdtemp(prefix="aiapp-checkouts-"))
    try:
        with ExitStack() as stack:
            clone = getattr(copier_template, "clone", None)
            if callable(clone):
                stack.enter_context(_patched(copier_template, "clone", _cached_clone(clone, workdir)))
            if callable(getattr(copier_template, "load_template_config", None)):
                loader = _cached_config(copier_template.load_template_config)
                stack.enter_context(_patched(copier_template, "load_template_config", loader))
            stack.enter_context(
                _patched(jinja2.Environment, "compile", _cached_compile(jinja2.Environment.compile))
            )
            yield
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@contextmanager
def _patched(owner: Any, name: str, replacement: Any) -> Iterator[None]:
    original = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
    setattr(owner, name, replacement)
    try:
        yield
    finally:
        setattr(owner, name, original)


def _cached_clone(clone: Callable[..., str], workdir: Path) -> Callable[..., str]:
    """`clone(url, ref, location)` that checks each (url, ref) out once and returns that checkout.

    Copier uses the returned path (not `location`) as the template directory and deletes `location`
    itself when done, so handing out a shared checkout is safe. HEAD is not cached: for a local template
    Copier includes its uncommitted changes, which may change between calls.
    """
    checkouts: dict[tuple[str, str], str] = {}

    def cached(url: str, ref: str = "HEAD", location: str | None = None) -> str:
        if ref == "HEAD":
            return clone(url, ref, location)
        key = (str(url), ref)
        if key not in checkouts:
            target = workdir / str(len(checkouts))
            target.mkdir()
            checkouts[key] = clone(url, ref, str(target))
        return checkouts[key]

    return cached


def _cached_config(load: Callable[..., Any]) -> Callable[..., Any]:
    """`load_template_config(path, quiet)` parsed once per file version, returned as a deep copy.

    The key is copier.yml's path and stat: the files it `!include`s are read from the same checkout, and
    each template version is a checkout of its own (`_cached_clone`), so the path names their version too.
    """
    parsed: dict[tuple[str, int, int, bool], Any] = {}

    def cached(conf_path: Path, quiet: bool = False) -> Any:
        stat = conf_path.stat()
        key = (str(conf_path.resolve()), stat.st_mtime_ns, stat.st_size, quiet)
        if key not in parsed:
            parsed[key] = load(conf_path, quiet)
        return copy.deepcopy(parsed[key])

    return cached


def _cached_compile(compile_: Callable[..., Any]) -> Callable[..., Any]:
    """`Environment.compile` memoised on the source and everything in the environment that shapes code."""
    results: dict[tuple[Any, ...], Any] = {}
    signatures: dict[int, tuple[Any, tuple[Any, ...]]] = {}

    def signature(env: Any) -> tuple[Any, ...]:
        held = signatures.get(id(env))
        if held is not None and held[0] is env:
            return held[1]
        from jinja2.utils import _PassArg

        value = (
            type(env),
            env.block_start_string,
            env.block_end_string,
            env.variable_start_string,
            env.variable_end_string,
            env.comment_start_string,
            env.comment_end_string,
            env.line_statement_prefix,
            env.line_comment_prefix,
            env.trim_blocks,
            env.lstrip_blocks,
            env.newline_sequence,
            env.keep_trailing_newline,
            env.optimized,
            env.is_async,
            env.autoescape if isinstance(env.autoescape, bool) else id(env.autoescape),
            id(env.finalize) if env.finalize else None,
            env.code_generator_class,
            tuple(sorted(env.extensions)),
            tuple(sorted((name, _PassArg.from_obj(f)) for name, f in env.filters.items())),
            tuple(sorted((name, _PassArg.from_obj(f)) for name, f in env.tests.items())),
        )
        signatures[id(env)] = (env, value)
        return value

    def cached(
        self: Any,
        source: Any,
        name: str | None = None,
        filename: str | None = None,
        raw: bool = False,
        defer_init: bool = False,
    ) -> Any:
        if not isinstance(source, str):
            return compile_(self, source, name, filename, raw, defer_init)
        key = (source, name, filename, raw, defer_init, signature(self))
        if key not in results:
            results[key] = compile_(self, source, name, filename, raw, defer_init)
        return results[key]

    return cached
