"""Small gitops-ml projects as text, for tests that need a valid starting point."""

from __future__ import annotations

import subprocess
from pathlib import Path

CONFIG = "models: models/*/model.yaml\n"

CSV = "tenure,charges,contract,gender,churned\n" + "".join(
    f"{i % 40},{20 + i % 7}.5,{['monthly', 'yearly'][i % 2]},{['f', 'm'][i % 3 % 2]},{i % 2}\n"
    for i in range(60)
)


def spec(name: str = "churn", **overrides: str) -> str:
    parts = {
        "name": name,
        "task": "classification",
        "data": "\n  train: data/train.csv",
        "target": "churned",
        "features": "\n  numeric: [tenure, charges]\n  categorical: [contract]\n"
                    "  sensitive: [gender]",
        "estimator": "\n  class: sklearn.linear_model.LogisticRegression\n"
                     "  params: {C: 1.0, max_iter: 200}",
        "metrics": "[roc_auc, f1, accuracy]",
        "gates": "\n  - {metric: roc_auc, min: 0.5}",
    }
    parts.update(overrides)
    return "".join(f"{k}: {v}\n" for k, v in parts.items() if v is not None)


def files(*names: str) -> dict[str, str]:
    """A project with one model per name, sharing data/train.csv."""
    out = {"gitops-ml.yaml": CONFIG, "data/train.csv": CSV}
    for name in names or ("churn",):
        out[f"models/{name}/model.yaml"] = spec(name)
    return out


def committed_repo(repo: Path, files: dict[str, str], *, origin: Path | None = None,
                   commit: bool = True) -> Path:
    """A git repository at ``repo`` holding ``files`` in one commit on ``main`` (or, without
    ``commit``, written but not committed); with ``origin``, a bare repository there as its
    ``origin`` with ``main`` pushed."""
    def git(cwd: Path, *args: str) -> None:
        subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True)

    repo.mkdir(parents=True, exist_ok=True)
    git(repo, "init", "-q", "-b", "main")
    for rel, text in files.items():
        path = repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if not commit:
        return repo
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "initial")
    if origin is not None:
        git(origin.parent, "init", "-q", "--bare", str(origin))
        git(repo, "remote", "add", "origin", str(origin))
        git(repo, "push", "-q", "origin", "main")
    return repo
