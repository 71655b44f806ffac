"""Small real datasets written as CSV into tmp repos, for the train/evaluate tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny data fits fastest on one thread; OpenMP spinning on a shared machine is slow.
    (Autouse in every test module that imports it.)"""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


BC_FEATURES = ["mean_radius", "mean_texture", "mean_smoothness", "worst_concavity",
               "worst_area", "mean_symmetry"]


def breast_cancer() -> pd.DataFrame:
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    return frame[[*BC_FEATURES, "target"]]


def wine() -> pd.DataFrame:
    from sklearn.datasets import load_wine

    frame = load_wine(as_frame=True).frame
    frame.columns = [c.replace("/", "_") for c in frame.columns]
    frame["target"] = frame["target"].map({0: "barolo", 1: "grignolino", 2: "barbera"})
    return frame


def diabetes() -> pd.DataFrame:
    from sklearn.datasets import load_diabetes

    return load_diabetes(as_frame=True).frame


def groups(n: int = 600, seed: int = 0) -> pd.DataFrame:
    """Generated churn-like data with a categorical feature, missing values and a group."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(0, 72, n).astype(float)
    charges = rng.normal(70, 20, n).round(2)
    contract = rng.choice(["monthly", "yearly", "two-year"], n)
    gender = rng.choice(["f", "m"], n)
    logit = -0.04 * tenure + 0.03 * (charges - 70) + (contract == "monthly") * 1.2 \
        + (gender == "m") * 0.4
    churned = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    tenure[rng.random(n) < 0.05] = np.nan
    contract = contract.astype(object)
    contract[rng.random(n) < 0.05] = None
    return pd.DataFrame({"tenure": tenure, "charges": charges, "contract": contract,
                         "gender": gender, "churned": churned})


def yaml_list(items: list[str]) -> str:
    return "[" + ", ".join(items) + "]"


def spec_text(name: str, *, task: str = "classification", train: str = "data/train.csv",
              test: str | None = None, target: str = "target",
              numeric: list[str] | None = None, categorical: list[str] | None = None,
              sensitive: list[str] | None = None,
              estimator: str = "sklearn.linear_model.LogisticRegression",
              params: dict | None = None, factory: str | None = None,
              metrics: list[str] | None = None, gates: list[dict] | None = None,
              bootstrap: int = 200) -> str:
    lines = [f"name: {name}", f"task: {task}", "data:", f"  train: {train}"]
    if test:
        lines.append(f"  test: {test}")
    lines.append(f"target: {target}")
    lines.append("features:")
    if numeric:
        lines.append(f"  numeric: {yaml_list(numeric)}")
    if categorical:
        lines.append(f"  categorical: {yaml_list(categorical)}")
    if sensitive:
        lines.append(f"  sensitive: {yaml_list(sensitive)}")
    lines.append("estimator:")
    if factory:
        lines.append(f"  factory: {factory}")
    else:
        lines.append(f"  class: {estimator}")
        lines.append(f"  params: {json.dumps(params or {})}")
    if metrics:
        lines.append(f"metrics: {yaml_list(metrics)}")
    if gates:
        lines.append("gates:")
        lines.extend(f"  - {json.dumps(g)}" for g in gates)
    lines.append(f"evaluation: {{bootstrap: {bootstrap}, seed: 7}}")
    return "\n".join(lines) + "\n"


def write_repo(make_repo, frames: dict[str, pd.DataFrame], specs: dict[str, str],
               extra: dict[str, str] | None = None, name: str = "repo") -> Path:
    files = {"gitops-ml.yaml": "models: models/*/model.yaml\n", ".gitignore": ".gitops-ml/\n"}
    files.update({f"models/{n}/model.yaml": text for n, text in specs.items()})
    files.update(extra or {})
    for rel, frame in frames.items():
        files[rel] = frame.to_csv(index=False)
    return make_repo(files, name=name)
