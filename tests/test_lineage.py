"""Lineage, reproduction, the champion lookup and the production reference, on real repos."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gitops_ml.drift.reference import production_reference
from gitops_ml.errors import ArtifactError, ExitCode
from gitops_ml.evaluate import champion
from gitops_ml.evaluate.champion import RegistryChampion
from gitops_ml.project.spec import find_spec, load_config
from gitops_ml.promote.lineage import lineage, render_text, reproduce
from gitops_ml.promote.promotion import promote
from gitops_ml.registry.verbs import register
from gitops_ml.runs.store import Store
from tests.test_promote import git, project, train_and_evaluate  # noqa: F401


def test_lineage_joins_tag_run_and_git(project: Path):  # noqa: F811
    key = train_and_evaluate(project)
    promote(load_config(project), "churn", pr=12, actor="alice")
    lin = lineage(project, "churn@v0.1.0")
    assert lin.commit["sha"] == git(project, "rev-parse", "HEAD")
    assert lin.commit["author"] == "Test Author"
    assert lin.pr == 12 and lin.actor == "alice"
    assert lin.run_key == key
    run = json.loads(Store.open(load_config(project)).read_run_file(key, "run.json"))
    assert lin.data["train"]["sha256"] == run["data"]["train"]["sha256"]
    assert lin.spec["estimator"] == "sklearn.linear_model.LogisticRegression"
    assert lin.spec["params"] == {"C": 1.0, "max_iter": 200}
    assert 0 <= lin.metrics["roc_auc"] <= 1 and lin.gates_passed is True
    assert lin.libraries["sklearn"] == run["versions"]["sklearn"]
    assert lin.stages == ("production",)
    text = render_text(lin)
    assert "churn v0.1.0  [production]" in text and "PR          #12" in text
    assert "estimator sklearn.linear_model.LogisticRegression (C=1.0, max_iter=200)" in text
    # the stage reference resolves to the same version
    assert lineage(project, "churn#production").version == "v0.1.0"


def test_lineage_cli_json_and_errors(project: Path, gml):  # noqa: F811
    train_and_evaluate(project)
    promote(load_config(project), "churn")
    r = gml("lineage", "churn@v0.1.0", "-o", "json", cwd=project)
    assert r.exit_code == 0, r.output
    res = r.json()["result"]
    assert res["version"] == "v0.1.0" and res["artifact"]["sha256"]
    r = gml("lineage", "churn@v3.0.0", cwd=project)
    assert r.exit_code == ExitCode.REGISTRY and "has no version v3.0.0" in r.stderr


@pytest.mark.slow
def test_reproduce_gives_the_same_artifact(project: Path, gml):  # noqa: F811
    train_and_evaluate(project)
    promote(load_config(project), "churn")
    # the working tree moves on: reproduction must use the recorded commit, not HEAD
    spec = project / "models" / "churn" / "model.yaml"
    spec.write_text(spec.read_text().replace("C: 1.0", "C: 0.1"))
    git(project, "commit", "-qam", "later change")
    result = reproduce(project, "churn@v0.1.0")
    assert result.identical, result
    assert result.run_key_matches is True
    assert git(project, "worktree", "list").count("\n") == 0  # the temp worktree is gone
    r = gml("reproduce", "churn@v0.1.0", cwd=project)
    assert r.exit_code == 0 and "artifact identical" in r.stdout


def test_champion_provider_is_stage_version_artifact(project: Path):  # noqa: F811
    config = load_config(project)
    spec = find_spec(config, "churn")
    provider = champion.default_provider()
    assert isinstance(provider, RegistryChampion)
    assert provider.find(config, spec) is None  # no version yet
    key = train_and_evaluate(project)
    promote(config, "churn")
    champ = provider.find(config, spec)
    assert champ is not None
    assert champ.version == "v0.1.0" and champ.run_key == key
    assert 0 <= champ.metrics["roc_auc"] <= 1
    assert champ.artifact_path.is_file()
    # a corrupt champion artifact is refused, not compared against
    champ.artifact_path.write_bytes(b"garbage")
    with pytest.raises(ArtifactError, match="corrupt artifact"):
        provider.find(config, spec)


def test_production_reference_is_the_training_data(project: Path):  # noqa: F811
    config = load_config(project)
    spec = find_spec(config, "churn")
    assert production_reference(config, spec) is None
    key = train_and_evaluate(project)
    promote(config, "churn")
    ref = production_reference(config, spec)
    run = json.loads(Store.open(config).read_run_file(key, "run.json"))
    assert ref.version == "v0.1.0" and ref.role == "train"
    assert ref.pointer.sha256 == run["data"]["train"]["sha256"]
    assert ref.pointer.uri == run["data"]["train"]["uri"]
    assert ref.rows == run["data"]["train"]["rows"]


def test_reproduce_reports_a_different_artifact(project: Path, gml):  # noqa: F811
    key = train_and_evaluate(project)
    git(project, "commit", "-q", "--allow-empty", "-m", "a merge")
    # a version whose manifest names bytes this commit's training cannot give
    register(project, "churn", git(project, "rev-parse", "HEAD"),
                      {"artifact": {"sha256": "0" * 64}, "run_key": key}, push=False)
    r = gml("reproduce", "churn@v0.1.0", cwd=project)
    assert r.exit_code == ExitCode.NOT_REPRODUCED
    assert "churn v0.1.0: artifact DIFFERENT" in r.stdout and r.stderr == ""
    assert "recorded:   " + "0" * 64 in r.stdout
