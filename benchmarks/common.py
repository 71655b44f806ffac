"""Helpers shared by the benchmarks: whole-process timing and peak memory."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
WORK = BENCH / ".work"
PYTHON = sys.executable
BIN = Path(sys.executable).parent


def wall(cmd: list[str], *, cwd: str | Path | None = None, env: dict | None = None,
         check: bool = True) -> float:
    """Wall time of one whole process, in seconds."""
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - started
    if check and proc.returncode != 0:
        raise RuntimeError(f"{cmd} failed: {proc.stderr.decode()[-500:]}")
    return elapsed


def interleaved_medians(cmds: dict[str, list[str]], *, repeat: int = 15,
                        cwd: str | Path | None = None, env: dict | None = None,
                        warmup: int = 2) -> dict[str, float]:
    """Median wall time of each command, runs interleaved so load hits all alike."""
    for _ in range(warmup):
        for cmd in cmds.values():
            wall(cmd, cwd=cwd, env=env)
    times: dict[str, list[float]] = {name: [] for name in cmds}
    for _ in range(repeat):
        for name, cmd in cmds.items():
            times[name].append(wall(cmd, cwd=cwd, env=env))
    return {name: statistics.median(ts) for name, ts in times.items()}


def quiet_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"GITOPS_ML_NO_PROGRESS": "1", "GIT_CONFIG_NOSYSTEM": "1"}, **extra)
    return env


def print_table(area: str, rows: list[dict]) -> None:
    """Print rows as the runner's Markdown table (for a benchmark run on its own)."""
    from run import table

    print(table([{"area": area, **row} for row in rows]), flush=True)
