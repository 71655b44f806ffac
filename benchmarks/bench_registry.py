"""The Git-tag registry: ``registry list`` / ``registry show`` on 10 models × 1,000 versions
(10,100 annotated tags with manifests) against ``gto show`` on the same repo (budget ≤ 0.5×
gto) and ``git for-each-ref refs/tags`` (the floor); and promotion overhead without network
(budget ≤ 2 s).

    python benchmarks/bench_registry.py [--quick]    # --quick: 10 models × 100 versions

The repo is built with one ``git fast-import`` stream (commits and annotated tags), not 10k
``git tag`` calls. gto is the one installed beside this Python (the test extra has it), else
it is installed into benchmarks/.work/gto-venv (its own venv: its dependencies must not touch
ours).
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import venv
from pathlib import Path

from common import BIN, PYTHON, WORK, quiet_env, wall

GTO_VENV = WORK / "gto-venv"
GTO = GTO_VENV / "bin" / "gto"
MODELS = 10
STAGES = ("production", "staging")


def ensure_gto() -> Path | None:
    """gto next to this Python (it is in the test extra), else in its own venv; None when it
    cannot be installed (then the budget is 1 s)."""
    if (BIN / "gto").exists():
        return BIN / "gto"
    if GTO.exists():
        return GTO
    try:
        venv.create(GTO_VENV, with_pip=True)
        subprocess.run([str(GTO_VENV / "bin" / "pip"), "install", "-q", "gto"], check=True,
                       capture_output=True, timeout=600)
    except (subprocess.SubprocessError, OSError):
        return None
    return GTO if GTO.exists() else None


def manifest(model: str, version: str, i: int) -> str:
    sha = f"{i:064x}"
    body = {"schema": "gitops-ml/manifest", "schema_version": 1, "model": model,
            "version": version, "stage": "production",
            "artifact": {"sha256": sha, "uri": f".gitops-ml/store/blobs/sha256/{sha[:2]}/"
                                               f"{sha[2:]}", "size": 12345, "format": "skops"},
            "run_key": f"{i + 7:064x}", "spec_file": f"models/{model}/model.yaml",
            "spec_hash": f"{i + 1:064x}", "canonical_spec_hash": f"{i + 2:064x}",
            "data": {"train": {"uri": "data/train.csv", "sha256": f"{i + 3:064x}",
                               "rows": 1000}},
            "metrics": {"roc_auc": 0.9, "f1": 0.8, "accuracy": 0.85},
            "gates": [{"gate": "roc_auc >= 0.8", "kind": "metric", "subject": "roc_auc",
                       "value": 0.9, "threshold": 0.8, "passed": True, "skipped": False}],
            "gates_passed": True, "pr": i, "head_sha": f"{i:040x}", "merge_sha": f"{i:040x}",
            "actor": "bench", "retrained": False, "forced": False}
    return f"Register {model} {version}\n\n{json.dumps(body, indent=1, sort_keys=True)}\n"


def make_registry(path: Path, versions: int) -> tuple[Path, int]:
    """``MODELS`` models × ``versions`` versions, one commit per version index, plus one
    stage assignment per 100 versions and model (10 per model at 1,000 versions)."""
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    out: list[str] = []
    t0 = 1_700_000_000
    for c in range(versions):
        msg = f"merge {c}"
        out.append(f"commit refs/heads/main\nmark :{c + 1}\n"
                   f"committer bench <bench@example.com> {t0 + c * 60} +0000\n"
                   f"data {len(msg)}\n{msg}\n")
        if c:
            out.append(f"from :{c}\n")
    tags = 0
    every = max(1, versions // 10)
    for c in range(versions):
        for m in range(MODELS):
            model = f"model{m}"
            version = f"v{c // 100}.{c % 100}.0"
            when = t0 + c * 60 + m
            msg = manifest(model, version, c * MODELS + m).encode()
            out.append(f"tag {model}@{version}\nfrom :{c + 1}\n"
                       f"tagger bench <bench@example.com> {when} +0000\ndata {len(msg)}\n")
            out.append(msg.decode() + "\n")
            tags += 1
            if (c + 1) % every == 0:
                stage = STAGES[(c // every) % 2]
                counter = (c + 1) // every
                body = json.dumps({"action": "assign", "model": model, "stage": stage,
                                   "version": version})
                out.append(f"tag {model}#{stage}#{counter}\nfrom :{c + 1}\n"
                           f"tagger bench <bench@example.com> {when + 30} +0000\n"
                           f"data {len(body)}\n{body}\n")
                tags += 1
    subprocess.run(["git", "-C", str(path), "fast-import", "--quiet"],
                   input="".join(out).encode(), check=True, capture_output=True)
    subprocess.run(["git", "-C", str(path), "checkout", "-q", "-f", "main"], check=True)
    subprocess.run(["git", "-C", str(path), "pack-refs", "--all"], check=True)
    return path, tags


def median_wall(cmd: list[str], cwd: Path, env: dict, repeat: int) -> float:
    wall(cmd, cwd=cwd, env=env)  # warm-up (page cache, pyc)
    return statistics.median(wall(cmd, cwd=cwd, env=env) for _ in range(repeat))


PROMOTE_SPEC = """name: churn
task: classification
data:
  train: data/train.csv
target: churned
features:
  numeric: [tenure, charges]
  categorical: [contract]
estimator:
  class: sklearn.linear_model.LogisticRegression
  params: {C: 1.0, max_iter: 200}
metrics: [roc_auc, accuracy]
"""


def make_project(path: Path) -> Path:
    """A trained, evaluated project with a bare origin, ready to promote."""
    if path.exists():
        shutil.rmtree(path)
    (path / "models" / "churn").mkdir(parents=True)
    (path / "data").mkdir()
    (path / "gitops-ml.yaml").write_text("models: models/*/model.yaml\n")
    (path / ".gitignore").write_text(".gitops-ml/\n")
    (path / "models" / "churn" / "model.yaml").write_text(PROMOTE_SPEC)
    rows = "".join(f"{i % 40},{20 + i % 7}.5,{['m', 'y'][i % 2]},{(i * 7) % 3 % 2}\n"
                   for i in range(400))
    (path / "data" / "train.csv").write_text("tenure,charges,contract,churned\n" + rows)
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "initial"]):
        subprocess.run(["git", "-C", str(path), *args], check=True, capture_output=True)
    code = ("import json,sys\nfrom gitops_ml.project.spec import load_config\n"
            "from gitops_ml.train import train\nfrom gitops_ml.runs.store import Store\n"
            "c=load_config(sys.argv[1]); r=train(c,'churn')\n"
            "Store.open(c).write_run_file(r.run_key,'evaluation.json',json.dumps("
            "{'schema_version':1,'metrics':{'roc_auc':0.9},'gates':[],'gates_passed':True}))")
    subprocess.run([PYTHON, "-c", code, str(path)], check=True, capture_output=True)
    return path


def promotion_overhead(env: dict, repeat: int) -> float:
    """Whole `gitops-ml promote --no-push` process on a new merge commit each time."""
    project = make_project(WORK / "registry-promote")
    gml = str(BIN / "gitops-ml")
    times = []
    for i in range(repeat + 1):
        subprocess.run(["git", "-C", str(project), "commit", "-q", "--allow-empty", "-m",
                        f"merge {i}"], check=True, capture_output=True, env=env)
        t = wall([gml, "promote", "churn", "--no-push", "--actor", "bench"], cwd=project,
                 env=env)
        if i:  # the first run warms the page cache and byte code
            times.append(t)
    return statistics.median(times)


def main(quick: bool = False) -> list[dict]:
    env = quiet_env(GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@example.com",
                    GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@example.com")
    versions = 100 if quick else 1000
    repo, n_tags = make_registry(WORK / f"registry-{MODELS}x{versions}", versions)
    gto = ensure_gto()
    gml = str(BIN / "gitops-ml")
    repeat = 5 if quick else 7
    size = f"{MODELS} models × {versions:,} versions ({n_tags:,} tags)"
    floor = median_wall(["git", "for-each-ref", "refs/tags"], repo, env, repeat)
    floor_full = median_wall(["git", "for-each-ref", "refs/tags",
                              "--format=%(refname)%00%(*objectname)%00%(contents)"],
                             repo, env, repeat)
    cold = {**env, "GITOPS_ML_REGISTRY_CACHE": "0"}
    ours_list = median_wall([gml, "registry", "list"], repo, cold, repeat)
    ours_cached = median_wall([gml, "registry", "list"], repo, env, repeat)
    ours_show = median_wall([gml, "registry", "show", "model3"], repo, cold, repeat)
    ours_stage = median_wall([gml, "registry", "show", "model3#production"], repo, cold,
                             repeat)
    rows = []
    gto_show = gto_model = None
    if gto is not None:
        gto_runs = 1 if not quick else 3
        gto_show = statistics.median(wall([str(gto), "show"], cwd=repo, env=env)
                                     for _ in range(gto_runs))
        gto_model = statistics.median(wall([str(gto), "show", "model3"], cwd=repo, env=env)
                                      for _ in range(gto_runs))
    for figure, ours, anchor in (
            (f"`registry list` (no cache) vs `gto show`, {size}", ours_list, gto_show),
            (f"`registry list` (cached: tag set unchanged) vs `gto show`, {size}", ours_cached,
             gto_show),
            (f"`registry show model3` vs `gto show model3`, {size}", ours_show, gto_model),
            (f"`registry show model3#production` vs `gto show model3`, {size}", ours_stage,
             gto_model)):
        if anchor is not None:
            rows.append({"figure": figure, "ours": ours, "anchor": anchor,
                         "ratio": ours / anchor, "budget": "≤ 0.5× gto",
                         "ok": ours <= 0.5 * anchor, "unit": "s"})
        else:
            rows.append({"figure": figure + " (gto did not install)", "ours": ours,
                         "anchor": None, "ratio": None, "budget": "≤ 1 s", "ok": ours <= 1.0,
                         "unit": "s"})
    for label, ours in (("no cache", ours_list), ("cached", ours_cached)):
        rows.append({"figure": f"`registry list` ({label}) vs `git for-each-ref refs/tags` "
                               f"(floor), {size}",
                     "ours": ours, "anchor": floor, "ratio": ours / floor,
                     "budget": "(floor)", "ok": None, "unit": "s"})
    rows.append({"figure": "`git for-each-ref` with peeled commit + message (what we read)",
                 "ours": floor_full, "anchor": floor, "ratio": floor_full / floor,
                 "budget": "(floor)", "ok": None, "unit": "s"})
    promo = promotion_overhead(env, 3 if quick else 7)
    import_floor = median_wall([PYTHON, "-c", "import click, yaml"], WORK, env, repeat)
    rows.append({"figure": "start-up floor: `python -c \"import click, yaml\"`",
                 "ours": import_floor, "anchor": None, "ratio": None, "budget": "(floor)",
                 "ok": None, "unit": "s"})
    rows.append({"figure": "`promote --no-push` overhead (run key, verify, card, 2 tags)",
                 "ours": promo, "anchor": import_floor, "ratio": promo / import_floor,
                 "budget": "≤ 2 s", "ok": promo <= 2.0, "unit": "s"})
    return rows


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    from run import table

    print(table([{"area": "registry", **r} for r in main(quick="--quick" in sys.argv)]))
