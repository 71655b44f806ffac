"""Start-up paths: ``--help``, ``plan`` and ``validate`` against ``python -c "import click, yaml"``,
and ``plan`` on 200 specs × 1,000 commits (budget 1 s)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from common import BENCH, BIN, PYTHON, WORK, interleaved_medians, quiet_env, wall

ESTIMATORS = [
    ("classification", "sklearn.linear_model.LogisticRegression", "{C: 0.5, max_iter: 300}"),
    ("classification", "sklearn.ensemble.RandomForestClassifier", "{n_estimators: 50}"),
    ("classification", "sklearn.ensemble.HistGradientBoostingClassifier", "{max_iter: 100}"),
    ("classification", "sklearn.tree.DecisionTreeClassifier", "{max_depth: 4}"),
    ("regression", "sklearn.linear_model.Ridge", "{alpha: 1.0}"),
    ("regression", "sklearn.ensemble.GradientBoostingRegressor", "{n_estimators: 50}"),
    ("regression", "sklearn.neighbors.KNeighborsRegressor", "{n_neighbors: 7}"),
]


def spec_text(i: int) -> str:
    task, cls, params = ESTIMATORS[i % len(ESTIMATORS)]
    metrics = "[roc_auc, f1]" if task == "classification" else "[rmse, r2]"
    gate = "roc_auc, min: 0.7" if task == "classification" else "r2, min: 0.1"
    return (f"name: model-{i:03d}\ntask: {task}\ndescription: benchmark model {i}\n"
            f"data:\n  train: data/train.csv\n  split: {{test_size: 0.25, seed: {i}}}\n"
            "target: y\nfeatures:\n  numeric: [a, b, c]\n  categorical: [d]\n"
            f"estimator:\n  class: {cls}\n  params: {params}\nmetrics: {metrics}\n"
            f"gates:\n  - {{metric: {gate}}}\n")


def git(repo: Path, *args: str, input: bytes | None = None) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                   input=input)


def make_repo(path: Path, n_specs: int, n_commits: int) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    files = {"gitops-ml.yaml": "models: models/*/model.yaml\n",
             "data/train.csv": "a,b,c,d,y\n1,2,3,x,0\n"}
    for i in range(n_specs):
        files[f"models/model-{i:03d}/model.yaml"] = spec_text(i)
    # One fast-import stream: the first commit holds the tree, the rest touch one file each.
    stream = []
    author = "bench <bench@example.com> 1700000000 +0000"
    for c in range(n_commits):
        stream.append(f"commit refs/heads/main\nmark :{c + 1}\ncommitter {author}\n"
                      f"data {len(f'c{c}')}\nc{c}\n")
        if c:
            stream.append(f"from :{c}\n")
        changes = files if c == 0 else {f"models/model-{c % n_specs:03d}/notes.md": f"{c}\n"}
        for rel, text in changes.items():
            blob = text.encode()
            stream.append(f"M 100644 inline {rel}\ndata {len(blob)}\n{text}\n")
    git(path, "fast-import", "--quiet", input="".join(stream).encode())
    git(path, "checkout", "-q", "-f", "main")
    git(path, "branch", "base", f"main~{min(20, n_commits - 1)}")
    return path


def compile_package() -> None:
    """Write gitops_ml's bytecode, as ``pip install`` (non-editable) does for every package.

    The anchor's click and yaml were byte-compiled by pip; an editable install under
    PYTHONDONTWRITEBYTECODE=1 (set on these machines) would recompile our modules on every
    start and measure the compiler, not the program.
    """
    import compileall

    compileall.compile_dir(str(BENCH.parent / "gitops_ml"), quiet=1)


def main(quick: bool = False) -> list[dict]:
    compile_package()
    env = quiet_env(GITOPS_ML_CACHE_DIR=str(WORK / "catalogue-cache"))
    gml = str(BIN / "gitops-ml")
    small = make_repo(WORK / "cli-20", 20, 30)
    big = make_repo(WORK / "cli-200", 200, 200 if quick else 1000)
    subprocess.run([gml, "validate"], cwd=small, env=env, check=True, capture_output=True)
    repeat = 7 if quick else 21
    base_cmd = [PYTHON, "-c", "import click, yaml"]
    medians = interleaved_medians({
        "anchor": base_cmd,
        "help": [gml, "--help"],
        "plan": [gml, "plan", "--base", "base"],
        "validate": [gml, "validate"],
    }, repeat=repeat, cwd=small, env=env)
    anchor = medians["anchor"]
    rows = []
    for key, figure in (("help", "`gitops-ml --help`"),
                        ("plan", "`gitops-ml plan --base` (20 specs)"),
                        ("validate", "`gitops-ml validate` (20 specs, stock sklearn, warm "
                                     "catalogue)")):
        ratio = medians[key] / anchor
        rows.append({"figure": figure, "ours": medians[key], "anchor": anchor,
                     "ratio": ratio, "budget": "≤ 1.5× import click, yaml", "ok": ratio <= 1.5,
                     "unit": "s"})
    big_plan = sorted(wall([gml, "plan", "--base", "base"], cwd=big, env=env)
                      for _ in range(repeat))[repeat // 2]
    rows.append({"figure": f"`plan` on 200 specs × {200 if quick else 1000} commits",
                 "ours": big_plan, "anchor": anchor, "ratio": big_plan / anchor,
                 "budget": "≤ 1 s", "ok": big_plan <= 1.0, "unit": "s"})
    return rows


if __name__ == "__main__":
    from common import print_table

    print_table("cli", main(quick="--quick" in sys.argv))
