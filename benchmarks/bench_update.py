"""Benchmark: `aiapp update` against a shell loop of `copier update` per app (run by hand).

    python benchmarks/bench_update.py [--apps 50] [--runs 1]

Builds, under a temporary directory, a template repository from this working tree (tagged v0.1.0), a
GitOps repository with N generated apps in apps/ (the presets in turn), committed, and a pattern change
released as v0.2.0 (a new label on every object, a changed network-policy rule). Then, from the same
committed state each time (`git reset --hard` + `git clean` between runs), it times whole processes:

- `aiapp update` (one process for every app);
- `for d in apps/*/; do copier update --defaults "$d"; done` (one Copier process per app);

then, with every app at v0.2.0, `aiapp update` (nothing to do) and `aiapp status --check`.

Both must update every app, and both must produce the same working tree (compared by `git diff`), so the
speed-up is for the same result. Prints the figures for docs/performance.md.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from generator.template.presets import preset_names  # noqa: E402
from tests.upgrade.scaffold import (  # noqa: E402
    commit,
    git,
    init_repo,
    new_app,
    pattern_change,
    release,
    template_repo,
)

BIN = Path(sys.executable).parent
LOOP = 'for d in apps/*/; do "$COPIER" update --defaults "$d" >/dev/null 2>&1 || exit 1; done'


def build(base: Path, count: int) -> Path:
    """The GitOps repository with `count` apps at v0.1.0, and the template released as v0.2.0."""
    tpl = template_repo(base / "aiapp-template")
    repo = init_repo(base / "gitops")
    presets = preset_names()
    started = time.perf_counter()
    for index in range(count):
        preset = presets[index % len(presets)]
        name = f"app-{index:02d}-{preset}"[:63].rstrip("-")
        new_app(repo / "apps" / name, preset, str(tpl), app_name=name)
    commit(repo, f"{count} apps")
    release(tpl, "v0.2.0", pattern_change)
    print(f"generated {count} apps in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return repo


def reset(repo: Path) -> None:
    git(repo, "reset", "--quiet", "--hard")
    git(repo, "clean", "-fdq")


def fingerprint(repo: Path, count: int) -> str:
    """The hash of the update's diff; fails unless every app moved to v0.2.0 with no conflict."""
    git(repo, "add", "--all")
    diff = git(repo, "diff", "--cached")
    moved = diff.count("+_commit: v0.2.0")
    assert moved == count, f"{moved} of {count} apps were updated"
    assert "<<<<<<<" not in diff, "conflict markers"
    return hashlib.sha256(diff.encode()).hexdigest()[:16]


def timed(command: list[str], repo: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode:
        raise SystemExit(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=50)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()

    base = Path(tempfile.mkdtemp(prefix="aiapp-bench-update-"))
    env = {**os.environ, "COPIER": str(BIN / "copier"), "COPIER_CACHE_DIR": str(base / "copier-cache")}
    env.pop("AIAPP_TEMPLATE", None)
    try:
        repo = build(base, args.apps)
        ours: list[float] = []
        loop: list[float] = []
        current: list[float] = []
        status: list[float] = []
        for _ in range(args.runs):
            reset(repo)
            ours.append(timed([str(BIN / "aiapp"), "update"], repo, env))
            ours_print = fingerprint(repo, args.apps)
            reset(repo)
            loop.append(timed(["bash", "-c", LOOP], repo, env))
            loop_print = fingerprint(repo, args.apps)
            assert ours_print == loop_print, "aiapp update and copier update produced different trees"
            # Every app is now at v0.2.0: what a no-op run and a status cost.
            current.append(timed([str(BIN / "aiapp"), "update"], repo, env))
            status.append(timed([str(BIN / "aiapp"), "status", "--check"], repo, env))
        best_ours, best_loop = min(ours), min(loop)
        cpu = platform.processor() or platform.machine()
        print(
            f"date: {date.today().isoformat()}; machine: {os.cpu_count()} cores {cpu}, "
            f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
        )
        print(f"apps: {args.apps}; runs: {args.runs} (best of each shown); identical result trees: yes")
        print(f"aiapp update:              {best_ours:7.1f} s  ({best_ours / args.apps:.2f} s per app)")
        print(f"shell loop of copier update: {best_loop:7.1f} s  ({best_loop / args.apps:.2f} s per app)")
        print(f"speed-up: {best_loop / best_ours:.1f}x")
        print(
            f"aiapp update, every app current: {min(current):.2f} s; "
            f"aiapp status --check: {min(status):.2f} s"
        )
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
