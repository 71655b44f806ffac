"""The model card from real records (train, evaluate, promote in a tmp Git repo) reads as
prose and tables: no Python literal (None, True, a dict or list repr, a quote) outside code
spans; and ``registry card`` prints the stored card."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from gitops_ml.project.spec import load_config
from gitops_ml.promote.promotion import promote
from tests import projects

# a quote that is not an apostrophe ("target's" is prose)
LITERALS = re.compile(r"None|True|False|[{}\[\]]|(?<![A-Za-z])'|'(?![A-Za-z])")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def _project(tmp_path: Path, spec: str) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    files = {**projects.files("m"), "models/m/model.yaml": spec, ".gitignore": ".gitops-ml/\n"}
    for rel, text in files.items():
        p = repo / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "initial")
    return repo


def _train_evaluate_promote(repo: Path) -> str:
    from gitops_ml.evaluate.evaluation import evaluate
    from gitops_ml.train import train

    config = load_config(repo)
    train(config, "m")
    evaluate(config, "m", bootstrap=20)
    return promote(config, "m", actor="alice", pr=3, push=False).version


def _two_versions(repo: Path, change: tuple[str, str]) -> None:
    """v0.1.0, then a changed estimator evaluated against it as champion (v0.2.0)."""
    _train_evaluate_promote(repo)
    spec = repo / "models" / "m" / "model.yaml"
    spec.write_text(spec.read_text().replace(*change))
    git(repo, "commit", "-qam", "change the estimator")
    _train_evaluate_promote(repo)


def literals_outside_code(markdown: str) -> list[str]:
    """Every line holding a Python literal marker once code spans are removed."""
    bad = []
    for line in markdown.splitlines():
        prose = re.sub(r"`[^`]*`", "", line)
        if LITERALS.search(prose):
            bad.append(line)
    return bad


BINARY = projects.spec(
    "m", gates="\n  - {metric: roc_auc, min: 0.5}\n  - {metric: f1, max_drop: 0.5}"
    "\n  - {metric: accuracy, min_gain: -1, relative: true}")
REGRESSION = projects.spec(
    "m", task="regression", target="charges",
    features="\n  numeric: [tenure]\n  categorical: [contract, gender]\n  sensitive: [gender]",
    estimator="\n  class: sklearn.linear_model.Ridge\n  params: {alpha: 1.0}",
    metrics="[rmse, r2]", gates="\n  - {metric: rmse, max_drop: 5}\n  - {metric: r2, min: -100}")


@pytest.mark.parametrize(("spec", "change"), [
    (BINARY, ("C: 1.0", "C: 0.5")), (REGRESSION, ("alpha: 1.0", "alpha: 2.0"))],
    ids=["binary", "regression"])
def test_a_card_from_real_records_has_no_python_literals(tmp_path: Path, gml, spec: str,
                                                         change: tuple[str, str]):
    repo = _project(tmp_path, spec)
    _two_versions(repo, change)
    r = gml("registry", "card", "m@v0.2.0", cwd=repo)
    assert r.exit_code == 0, r.output
    card = r.stdout
    assert card.startswith("# Model card: m v0.2.0\n"), card
    assert "champion v0.1.0" in card, card
    bad = literals_outside_code(card)
    assert not bad, "Python literals in the card:\n" + "\n".join(bad)
    if spec is BINARY:
        assert "| roc_auc | ≥ 0.5 |" in card or "≥ 0.5" in card, card
        assert "drop ≤ 0.5 vs champion" in card, card
        assert "relative gain ≥ -1 vs champion" in card, card
    else:
        assert "drop ≤ 5 vs champion" in card and "≥ -100" in card, card


def test_registry_card_resolves_stages_and_latest_and_gives_json(tmp_path: Path, gml):
    repo = _project(tmp_path, BINARY)
    _two_versions(repo, ("C: 1.0", "C: 0.5"))
    first = gml("registry", "card", "m@v0.1.0", cwd=repo)
    assert first.exit_code == 0 and first.stdout.startswith("# Model card: m v0.1.0\n")
    assert "No champion was compared" in first.stdout
    latest = gml("registry", "card", "m", cwd=repo)
    staged = gml("registry", "card", "m#production", cwd=repo)
    assert latest.stdout == staged.stdout and latest.stdout.startswith("# Model card: m v0.2.0")
    env = gml("-o", "json", "registry", "card", "m#production", cwd=repo).json()
    assert env["ok"] is True and env["command"] == "registry card", env
    data = env["result"]
    assert (data["model"], data["version"]) == ("m", "v0.2.0")
    assert data["text"] == staged.stdout
    assert len(data["sha256"]) == 64


def test_registry_card_of_an_unknown_version_is_one_clear_line(tmp_path: Path, gml):
    repo = _project(tmp_path, BINARY)
    _train_evaluate_promote(repo)
    r = gml("registry", "card", "m@v9.9.9", cwd=repo)
    assert r.exit_code != 0 and "has no version v9.9.9" in r.stderr
    assert "Traceback" not in r.output


def test_unknown_values_render_as_a_dash_and_booleans_as_yes_no():
    from gitops_ml.promote.model_card import CardInputs, render

    text = render(CardInputs(
        manifest={"model": "m", "version": "v0.1.0", "created_at": None},
        run={"task": None, "target": None, "data": {"train": {"uri": None, "rows": None}},
             "split": {"test_size": None, "seed": 1}},
        evaluation={"metrics": {"f1": None},
                    "gates": [{"gate": "f1 >= 0.9", "value": None,
                               "threshold": {"min": 0.9}, "passed": None, "skipped": False}]},
        drift={"number_of_drifted_columns": None, "columns": [], "dataset_drift": True}))
    bad = literals_outside_code(text)
    assert not bad, "Python literals in the card:\n" + "\n".join(bad)
    assert "| Task | — |" in text and "Target: —." in text
    assert "| train | — | — | — |" in text
    assert "| f1 >= 0.9 | — | ≥ 0.9 | unknown |" in text
    assert "dataset drift: yes." in text
