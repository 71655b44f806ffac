"""Scale-out: `plan` fans N affected models out; 2 local workers against one, side by side.

    python benchmarks/bench_scale.py [--quick]

A repository of 20 models (6 with --quick), made by `gitops-ml init` and copied per model, with
a change that affects every one of them (the project config). `plan --base main` gives the
matrix; each matrix entry is then run as a CI job would run it: `gitops-ml validate SPEC`,
`train`, `evaluate`, each a whole process. Serial runs the jobs one after another (one
runner); parallel runs them on 2 workers (2 runners, as `max-parallel: 2` would), each in its
own fresh copy of the repository so no run cache is shared. Each job gets one BLAS/OpenMP
thread (a runner's share of a 2-core machine; otherwise one job already uses both cores). The
serial run is measured before and after the parallel one and averaged, so a change in the
machine's load during the benchmark falls on both sides. The ratio is parallel / serial wall
time (ideal 0.5 on 2 idle cores).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BIN = Path(sys.executable).parent
GITOPS = str(BIN / "gitops-ml")


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def make_repo(root: Path, n_models: int) -> Path:
    """A git repo with ``n_models`` copies of the init model, and a change that affects all."""
    from gitops_ml.scaffold import init

    repo = root / "repo"
    init(repo)
    template = (repo / "models/breast-cancer/model.yaml").read_text()
    shutil.rmtree(repo / "models/breast-cancer")
    for i in range(n_models):
        folder = repo / "models" / f"model-{i:02d}"
        folder.mkdir(parents=True)
        # distinct hyperparameters: distinct run keys, nothing shared through the run cache
        spec = template.replace("name: breast-cancer", f"name: model-{i:02d}")
        spec = spec.replace("C: 1.0", f"C: {0.1 + i * 0.05:.2f}")
        (folder / "model.yaml").write_text(spec)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=bench", "-c", "user.email=b@x", "commit", "-q", "-m", "models")
    _git(repo, "switch", "-q", "-c", "change")
    config = repo / "gitops-ml.yaml"
    config.write_text(config.read_text() + "# touch: every model is affected\n")
    _git(repo, "-c", "user.name=bench", "-c", "user.email=b@x", "commit", "-qam", "config")
    return repo


def plan(repo: Path) -> tuple[list[dict[str, str]], float]:
    started = time.perf_counter()
    out = subprocess.run([GITOPS, "plan", "--base", "main", "--matrix"], cwd=repo, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)["include"], time.perf_counter() - started


def job(repo: Path, entry: dict[str, str], env: dict[str, str]) -> None:
    for args in (["validate", entry["spec"]], ["train", entry["model"]],
                 ["evaluate", entry["model"]]):
        proc = subprocess.run([GITOPS, *args], cwd=repo, env=env, capture_output=True,
                              text=True)
        if proc.returncode not in (0, 5):  # 5: a gate failed, still a finished job
            raise RuntimeError(f"{args}: {proc.stdout[-500:]}{proc.stderr[-500:]}")


def run_jobs(repo: Path, matrix: list[dict[str, str]], workers: int, env: dict[str, str],
             scratch: Path) -> float:
    # each worker is a runner with its own checkout (and so its own empty store)
    checkouts = []
    for w in range(workers):
        dest = scratch / f"runner-{workers}-{w}"
        shutil.copytree(repo, dest, ignore=shutil.ignore_patterns(".gitops-ml"))
        checkouts.append(dest)
    queues = [matrix[w::workers] for w in range(workers)]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(lambda q=q, c=c: [job(c, e, env) for e in q])
                   for q, c in zip(queues, checkouts, strict=True)]
        for f in futures:
            f.result()
    return time.perf_counter() - started


def main(quick: bool = False) -> list[dict]:
    n_models = 6 if quick else 20
    scratch = Path(tempfile.mkdtemp(prefix="gitops-ml-bench-scale-"))
    try:
        home = scratch / "home"
        home.mkdir()
        env = {**os.environ, "HOME": str(home), "GITOPS_ML_NO_PROGRESS": "1",
               "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"), "GIT_AUTHOR_NAME": "bench",
               "GIT_AUTHOR_EMAIL": "b@x", "GIT_COMMITTER_NAME": "bench",
               "GIT_COMMITTER_EMAIL": "b@x"}
        env.pop("GITHUB_ACTIONS", None)
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = "1"
        os.environ.update({k: env[k] for k in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL",
                                                "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL")})
        repo = make_repo(scratch, n_models)
        matrix, plan_s = plan(repo)
        assert len(matrix) == n_models, matrix
        serial_before = run_jobs(repo, matrix, 1, env, scratch / "a")
        parallel = run_jobs(repo, matrix, 2, env, scratch / "b")
        serial_after = run_jobs(repo, matrix, 1, env, scratch / "c")
        serial = (serial_before + serial_after) / 2
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return [
        {"figure": f"plan --base main, {n_models} models affected (matrix JSON)",
         "ours": plan_s, "anchor": None, "ratio": None, "budget": "≤ 1 s",
         "ok": plan_s <= 1.0, "unit": "s"},
        {"figure": f"{n_models} model jobs (validate+train+evaluate, whole processes): "
                   "2 workers vs 1",
         "ours": parallel, "anchor": serial, "ratio": parallel / serial,
         "budget": "≤ 0.7 (ideal 0.5 on 2 idle cores)", "ok": parallel / serial <= 0.7,
         "unit": "s"},
        {"figure": "per model job, serial (runs before / after the parallel one: "
                   f"{serial_before:.0f} s / {serial_after:.0f} s)",
         "ours": serial / n_models, "anchor": None, "ratio": None, "budget": "", "ok": None,
         "unit": "s"},
    ]


if __name__ == "__main__":
    from common import print_table

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="6 models instead of 20")
    args = parser.parse_args()
    print_table("actions", main(quick=args.quick))
