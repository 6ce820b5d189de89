"""Whole-process timings of `aiapp --help` and `aiapp new`, run by hand (results in docs/performance.md).

    python benchmarks/bench_new.py [--runs 15] [--help-runs 30]

1. `aiapp --help`: median wall time of N fresh processes (target: <= 0.10 s).
2. `aiapp new --defaults --set ...` paired with plain `copier copy --defaults -d ...` of the same template
   and the same answers (target: aiapp <= 1.05 x copier). The pairs are interleaved, and which of the two
   runs first alternates, so that load from other processes hits both alike.

The app is a LiteLLM client (`serves_model` defaults to no since issue 20); before that the benchmark
set `model_name` too and rendered a model server, so figures before 2026-12-06 are not comparable.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def script(name: str) -> str:
    """The console script next to this Python (a venv), else the one on PATH."""
    sibling = BIN / name
    return str(sibling) if sibling.exists() else (shutil.which(name) or name)


ANSWERS = {"app_name": "bench-app", "image": "ghcr.io/acme/bench-app:1.0"}
HELP_TARGET = 0.10
RATIO_TARGET = 1.05


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + sys, with its children such as git) seconds of one process.

    The CPU time is reported as well because this machine is shared: other processes stretch wall
    times, while the CPU a run needs stays put. A failure stops the benchmark (a fast failure is no
    result).
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(command, env=env, stdin=subprocess.DEVNULL, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        sys.exit(f"failed: {' '.join(command)}\n{result.stderr.decode()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def medians(samples: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


def aiapp_new(dest: Path) -> list[str]:
    sets = [arg for key, value in ANSWERS.items() for arg in ("--set", f"{key}={value}")]
    return [script("aiapp"), "new", "--defaults", *sets, str(dest)]


def copier_copy(dest: Path) -> list[str]:
    data = [arg for key, value in ANSWERS.items() for arg in ("-d", f"{key}={value}")]
    return [script("copier"), "copy", "--defaults", *data, str(ROOT), str(dest)]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from importlib.metadata import version

    return (
        f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, copier {version('copier')}, typer {version('typer')}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=15, help="pairs of aiapp new / copier copy")
    parser.add_argument("--help-runs", type=int, default=30, help="runs of aiapp --help")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIAPP_")}

    print(f"date: {datetime.date.today().isoformat()}")
    print(f"machine: {machine()}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    timed([script("aiapp"), "--help"], env)  # warm the file cache
    helps = [timed([script("aiapp"), "--help"], env) for _ in range(args.help_runs)]
    wall, cpu = medians(helps)
    verdict = "ok" if wall <= HELP_TARGET else "MISSED"
    print(
        f"aiapp --help: median {wall:.3f} s wall (min {min(h[0] for h in helps):.3f}), "
        f"{cpu:.3f} s CPU, over {len(helps)} runs; target <= {HELP_TARGET:.2f} s: {verdict}"
    )

    work = Path(tempfile.mkdtemp(prefix="bench-new-"))
    ours: list[tuple[float, float]] = []
    theirs: list[tuple[float, float]] = []
    try:
        for run in range(args.runs + 1):  # run 0 warms both up and is not counted
            pair = [("aiapp", aiapp_new(work / f"a{run}")), ("copier", copier_copy(work / f"c{run}"))]
            if run % 2:
                pair.reverse()
            for name, command in pair:
                sample = timed(command, env)
                if run:
                    (ours if name == "aiapp" else theirs).append(sample)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    (a_wall, a_cpu), (c_wall, c_cpu) = medians(ours), medians(theirs)
    paired = statistics.median(x[0] / y[0] for x, y in zip(ours, theirs, strict=True))
    verdict = "ok" if a_wall / c_wall <= RATIO_TARGET else "MISSED"
    print(f"aiapp new --defaults:   median {a_wall:.3f} s wall, {a_cpu:.3f} s CPU, over {len(ours)} runs")
    print(f"copier copy --defaults: median {c_wall:.3f} s wall, {c_cpu:.3f} s CPU, over {len(theirs)} runs")
    print(
        f"ratio aiapp/copier: {a_wall / c_wall:.3f} wall (median of paired ratios {paired:.3f}), "
        f"{a_cpu / c_cpu:.3f} CPU; target <= {RATIO_TARGET:.2f}: {verdict}"
    )
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
