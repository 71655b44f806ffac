"""A real pull request's worth of records: scikit-learn's breast cancer data, a champion run and
a candidate run trained and evaluated by gitops-ml, and drifted live data — for the end-to-end
report test and the comment screenshot (docs/comment_screenshot.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

FEATURES = ["mean radius", "mean texture", "mean perimeter", "mean area", "mean smoothness",
            "worst radius", "worst texture", "worst concavity"]

SPEC = """name: cancer
task: classification
description: Flags malignant tumours from cell measurements.
data:
  train: data/train.csv
  test: data/test.csv
  current: data/live.csv
target: malignant
features:
  numeric: [{features}]
  categorical: [clinic]
  sensitive: [clinic]
estimator:
  class: sklearn.linear_model.LogisticRegression
  params: {{C: {c}, max_iter: 5000}}
metrics: [roc_auc, f1, accuracy]
evaluation: {{bootstrap: 200, seed: 7}}
gates:
{gates}"""
GATES = """  - {metric: roc_auc, min: 0.95}
  - {metric: roc_auc, max_drop: 0.002}
  - {fairness: demographic_parity_difference, max: 0.25}
  - {drift: share_of_drifted_columns, max: 0.2}
"""


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def build(repo: Path, gates: str = GATES) -> dict[str, str]:
    """Create the repository, train and evaluate a champion (C=1) and a candidate (C=0.01),
    and compute drift on live data (before the candidate's evaluation, as the workflow
    runs them). ``gates`` is the spec's list of gates (YAML lines). Returns the run keys."""
    import numpy as np
    from sklearn.datasets import load_breast_cancer

    from gitops_ml import train
    from gitops_ml.api import drift_model
    from gitops_ml.evaluate import evaluation as evaluate
    from gitops_ml.project.spec import load_config

    raw = load_breast_cancer(as_frame=True)
    df = raw.frame[FEATURES].copy()
    df["malignant"] = (raw.target == 0).astype(int)
    rng = np.random.default_rng(0)
    df["clinic"] = np.where(rng.random(len(df)) < 0.6, "north", "south")
    df = df.sample(frac=1, random_state=1).reset_index(drop=True)
    live = df.iloc[400:].copy()
    live["mean radius"] = live["mean radius"] * 1.25
    live["worst texture"] = live["worst texture"] + 6
    live["clinic"] = np.where(rng.random(len(live)) < 0.25, "north", "south")
    repo.mkdir(parents=True, exist_ok=True)
    (repo / "data").mkdir(exist_ok=True)
    (repo / "models" / "cancer").mkdir(parents=True, exist_ok=True)
    (repo / "gitops-ml.yaml").write_text("models: models/*/model.yaml\n")
    df.iloc[:400].to_csv(repo / "data" / "train.csv", index=False)
    df.iloc[400:].to_csv(repo / "data" / "test.csv", index=False)
    live.to_csv(repo / "data" / "live.csv", index=False)
    spec = repo / "models" / "cancer" / "model.yaml"
    features = ", ".join(FEATURES)
    _git(repo, "init", "-q", "-b", "main")
    spec.write_text(SPEC.format(features=features, c="1.0", gates=gates))
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "cancer model")
    config = load_config(repo)
    champion = train.train(config, "cancer")
    evaluate.evaluate(config, "cancer")
    _git(repo, "checkout", "-q", "-b", "smaller-c")
    spec.write_text(SPEC.format(features=features, c="0.01", gates=gates))
    _git(repo, "commit", "-q", "-am", "Regularise harder")
    config = load_config(repo)
    candidate = train.train(config, "cancer")
    drift_model(repo, "cancer")
    evaluate.evaluate(config, "cancer", champion=champion.run_key)
    return {"champion": champion.run_key, "candidate": candidate.run_key}
