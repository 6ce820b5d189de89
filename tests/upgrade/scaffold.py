"""Real git repositories for the update tests: a template repository made from the working tree (or from
a past commit of this repository), tagged like releases, and GitOps repositories holding apps.

Everything runs real git and real Copier; identities and dates are fixed so commits are reproducible.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
import warnings
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from generator.template.render import render_app

ROOT = Path(__file__).resolve().parents[2]
# What Copier needs from this repository to render and update apps (presets are answers, not template).
TEMPLATE_PATHS = ("copier.yml", "questions", "template", "includes", "migrations")
GIT_ENV = {
    "GIT_AUTHOR_NAME": "aiapp tests",
    "GIT_AUTHOR_EMAIL": "tests@aiapp.invalid",
    "GIT_COMMITTER_NAME": "aiapp tests",
    "GIT_COMMITTER_EMAIL": "tests@aiapp.invalid",
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
    "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
}


def git(cwd: Path, *args: str) -> str:
    """Run git in `cwd` with the fixed test identity; fail the test with git's message."""
    result = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, env={**os.environ, **GIT_ENV}, check=False
    )
    assert result.returncode == 0, f"git {' '.join(args)} failed: {result.stderr}"
    return result.stdout


def init_repo(path: Path) -> Path:
    """An empty git repository on branch main."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "--quiet", "--initial-branch=main")
    return path


def commit(repo: Path, message: str, tag: str | None = None) -> str:
    """Commit everything in the work tree (optionally tag it); the commit hash."""
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "--allow-empty", "--no-verify", "-m", message)
    if tag:
        git(repo, "tag", tag)
    return git(repo, "rev-parse", "HEAD").strip()


def clear_work_tree(repo: Path) -> None:
    """Remove every file but .git: the next commit is exactly what is copied in afterwards."""
    for child in repo.iterdir():
        if child.name == ".git":
            continue
        if child.is_dir():
            shutil.rmtree(child)
        else:
            child.unlink()


def copy_working_tree(dest: Path, transform: Callable[[str], str] | None = None) -> None:
    """Copy the template files of this checkout (uncommitted changes included) into `dest`.

    `transform` rewrites every text file (for example to rename a question in an older version).
    """
    for name in TEMPLATE_PATHS:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif source.is_file():
            shutil.copy2(source, dest / name)
    if transform is not None:
        for path in dest.rglob("*"):
            if path.is_file() and ".git" not in path.relative_to(dest).parts:
                path.write_text(transform(path.read_text(encoding="utf-8")), encoding="utf-8")


def extract_commit(commit_hash: str, dest: Path) -> None:
    """Write the template files of a past commit of this repository into `dest` (from `git archive`)."""
    data = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", commit_hash],
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        members = [m for m in archive.getmembers() if m.name.split("/")[0] in TEMPLATE_PATHS]
        # Our own commits: plain files and directories under relative paths. Checked here because the
        # extraction filters (`filter="data"`, PEP 706) exist only from Python 3.11.4; the floor is 3.11.0.
        for member in members:
            parts = Path(member.name).parts
            if not (member.isfile() or member.isdir()) or Path(member.name).is_absolute() or ".." in parts:
                raise ValueError(f"unexpected archive member {member.name!r} in {commit_hash}")
        if hasattr(tarfile, "data_filter"):
            archive.extractall(dest, members=members, filter="data")
        else:  # Python 3.11.0-3.11.3
            archive.extractall(dest, members=members)


def template_repo(path: Path, tag: str = "v0.1.0", transform: Callable[[str], str] | None = None) -> Path:
    """A template repository holding this working tree's template, committed and tagged `tag`."""
    init_repo(path)
    copy_working_tree(path, transform)
    commit(path, f"template {tag}", tag)
    return path


def release(repo: Path, tag: str, change: Callable[[Path], None]) -> str:
    """Apply `change` to the template repository, commit and tag it: a new release."""
    change(repo)
    return commit(repo, f"template {tag}", tag)


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    """Replace `old` by `new` in a file, failing loudly when the text is not there exactly `count` times."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == count, f"{path}: expected {count} x {old!r}, found {text.count(old)}"
    path.write_text(text.replace(old, new), encoding="utf-8")


NEW_LABEL = 'aiapp.example.com/policy-generation: "2"'
DNS_TCP = '            - port: "53"\n              protocol: TCP\n'


def pattern_change(repo: Path) -> None:
    """A house-rule change: a new label on every object, and DNS over TCP no longer allowed."""
    edit(
        repo / "includes/macros.jinja",
        "app.kubernetes.io/managed-by: {{ q(managed_by) }}\n",
        "app.kubernetes.io/managed-by: {{ q(managed_by) }}\n" + NEW_LABEL + "\n",
    )
    policy = "template/{% if policy_engine == 'cilium' %}ciliumnetworkpolicy.yaml{% endif %}.jinja"
    edit(repo / policy, DNS_TCP, "")


NEW_QUESTIONS = """
---
team:
  type: str
  help: The team that owns the app (new, without a default).

team_size:
  type: int
  default: 1
  help: People in that team.
"""


def new_questions(repo: Path) -> None:
    """A release that adds a question without a default (`team`) and a typed one with a default (a YAML
    document of its own at the end of copier.yml, which ends in `!include` documents)."""
    with (repo / "copier.yml").open("a", encoding="utf-8") as handle:
        handle.write(NEW_QUESTIONS)


def new_app(dest: Path, preset: str, src: str, **sets: str) -> Path:
    """`aiapp new --preset PRESET --template SRC --set KEY=VALUE ... DEST`, in-process, as a user runs it.

    The template repositories of the tests live under /tmp, which `aiapp new` refuses as a source unless
    AIAPP_ALLOW_TEMP_TEMPLATE=1.
    """
    from typer.testing import CliRunner

    from generator.cli import app

    args = ["new", "--preset", preset, "--template", src, str(dest)]
    for key, value in sets.items():
        args[1:1] = ["--set", f"{key}={value}"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = CliRunner().invoke(app, args, env={"AIAPP_ALLOW_TEMP_TEMPLATE": "1"})
    assert result.exit_code == 0, f"aiapp {' '.join(args)}: {result.stdout}{result.stderr}"
    return dest


def copier_app(dest: Path, data: Mapping[str, Any], src: str, vcs_ref: str | None = None) -> Path:
    """Copier's own render of `data` (what an older aiapp's `new` did, or answers for an older template)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        render_app(dest, data, src=src, vcs_ref=vcs_ref)
    return dest


def gitops_repo(path: Path, apps: Iterable[tuple[str, str]], src: str) -> Path:
    """A GitOps repository with one app per (subfolder, preset) made by `aiapp new`, committed."""
    init_repo(path)
    (path / "README.md").write_text("GitOps repository\n", encoding="utf-8")
    for folder, preset in apps:
        new_app(path / folder, preset, src, app_name=Path(folder).name)
    commit(path, "apps")
    return path


def status(repo: Path) -> str:
    """`git status --porcelain` of the repository."""
    return git(repo, "status", "--porcelain")
