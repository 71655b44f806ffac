"""Promotion against real Git repos and a real bare remote, with a real trained artifact."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from gitops_ml.ci import CIContext
from gitops_ml.errors import (
    ArtifactError,
    ConfigError,
    ExitCode,
    GitError,
    PromotionRefused,
    RegistryError,
)
from gitops_ml.project.spec import find_spec, load_config
from gitops_ml.promote.promotion import promote
from gitops_ml.registry.state import read_model
from gitops_ml.registry.writes import Identity
from gitops_ml.runs.store import Store
from tests import projects


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def train_and_evaluate(repo: Path, model: str = "churn", passed: bool = True) -> str:
    """What CI does on the pull request: train, then evaluate (writes evaluation.json).
    ``passed=False`` first commits an unreachable gate (gates are not part of the run key)."""
    from gitops_ml.evaluate.evaluation import evaluate
    from gitops_ml.train import train

    if not passed:
        spec = repo / "models" / model / "model.yaml"
        spec.write_text(spec.read_text().replace("{metric: roc_auc, min: 0.5}",
                                                 "{metric: roc_auc, max: 0.01}"))
        git(repo, "commit", "-qam", "an unreachable gate")
    config = load_config(repo)
    result = train(config, model)
    ev = evaluate(config, model, bootstrap=20)
    assert ev.gates_passed is passed
    return result.run_key


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return projects.committed_repo(
        tmp_path / "repo", {**projects.files("churn"), ".gitignore": ".gitops-ml/\n"},
        origin=tmp_path / "origin.git")


def test_promote_registers_the_evaluated_artifact(project: Path, tmp_path: Path):
    key = train_and_evaluate(project)
    config = load_config(project)
    result = promote(config, "churn", actor="alice", pr=7)
    assert (result.version, result.stage, result.pushed) == ("v0.1.0", "production", True)
    assert result.tags == ("churn@v0.1.0", "churn#production#1")
    run = json.loads(Store.open(config).read_run_file(key, "run.json"))
    assert result.artifact_sha256 == run["artifact"]["sha256"]
    assert result.run_key == key
    # the manifest in the pushed tag carries what the issue lists
    fresh = tmp_path / "fresh"
    git(tmp_path, "clone", "-q", str(tmp_path / "origin.git"), str(fresh))
    m = read_model(fresh, "churn").version("v0.1.0").manifest
    assert m["artifact"]["sha256"] == run["artifact"]["sha256"]
    assert m["run_key"] == key and m["pr"] == 7 and m["actor"] == "alice"
    assert m["merge_sha"] == git(project, "rev-parse", "HEAD")
    ev = json.loads(Store.open(config).read_run_file(key, "evaluation.json"))
    assert m["metrics"] == ev["metrics"] and m["gates_passed"] is True
    assert m["data"]["train"]["sha256"] == run["data"]["train"]["sha256"]
    assert m["spec_hash"] and m["canonical_spec_hash"]
    assert m["retrained"] is False and m["forced"] is False
    sha = m["artifact"]["sha256"]  # a repo-relative store path: runners' paths differ
    assert m["artifact"]["uri"] == f".gitops-ml/store/blobs/sha256/{sha[:2]}/{sha[2:]}"
    # the model card is stored with the version
    card = Store.open(config).read_bytes(m["model_card"]["sha256"]).decode()
    assert card.startswith("# Model card: churn v0.1.0")
    assert "roc_auc" in card and "#7" in card
    assert Store.open(config).read_run_file(key, "model_card.md").decode() == card
    # promoting again on the same commit registers nothing new
    again = promote(config, "churn")
    assert again.existing and again.tags == () and again.version == "v0.1.0"


def test_no_artifact_fails_loudly_and_retrain_is_recorded(project: Path):
    train_and_evaluate(project)
    (project / "data" / "train.csv").write_text(projects.CSV + "1,20.5,monthly,f,1\n")
    git(project, "commit", "-qam", "more data")
    config = load_config(project)
    with pytest.raises(ArtifactError, match="no trained artifact for churn with run key") as e:
        promote(config, "churn")
    assert "--retrain" in e.value.one_line()
    assert git(project, "tag", "-l") == ""
    from gitops_ml.runs.key import run_key

    key = run_key(config, find_spec(config, "churn")).key
    result = promote(config, "churn", retrain=True)
    assert result.retrained and result.manifest["retrained"] is True
    assert result.run_key == key


def test_uncommitted_spec_changes_are_refused(project: Path):
    train_and_evaluate(project)
    spec = project / "models" / "churn" / "model.yaml"
    spec.write_text(spec.read_text().replace("C: 1.0", "C: 2.0"))
    with pytest.raises(RegistryError, match=r"uncommitted changes to models/churn/model\.yaml"):
        promote(load_config(project), "churn")


def test_tagger_falls_back_to_the_actions_actor(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch):
    repo = tmp_path / "r"
    git(tmp_path, "init", "-q", str(repo))
    for var in ("GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "GIT_AUTHOR_NAME",
                "GIT_AUTHOR_EMAIL", "EMAIL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "empty"))
    (tmp_path / "empty").write_text("[user]\n\tuseConfigOnly = true\n")
    monkeypatch.setenv("GITHUB_ACTOR", "octocat")
    assert Identity.current(repo) == Identity("octocat",
                                                       "octocat@users.noreply.github.com")


def test_failed_gates_are_refused_unless_forced(project: Path):
    train_and_evaluate(project, passed=False)
    config = load_config(project)
    with pytest.raises(PromotionRefused, match=r"failed its gates: roc_auc"):
        promote(config, "churn")
    assert git(project, "tag", "-l") == ""
    forced = promote(config, "churn", force=True)
    assert forced.forced and forced.manifest["forced"] is True


def test_missing_evaluation_is_refused(project: Path):
    from gitops_ml.train import train

    train(load_config(project), "churn")
    with pytest.raises(PromotionRefused, match="no evaluation recorded"):
        promote(load_config(project), "churn")


def test_corrupt_artifact_in_the_store_is_refused(project: Path):
    key = train_and_evaluate(project)
    config = load_config(project)
    store = Store.open(config)
    sha = json.loads(store.read_run_file(key, "run.json"))["artifact"]["sha256"]
    blob = store.path_of(sha)
    blob.write_bytes(blob.read_bytes()[:-10] + b"tampered!!")
    with pytest.raises(ArtifactError, match="corrupt artifact: sha256 is"):
        promote(config, "churn")
    assert git(project, "tag", "-l") == ""


def test_unreachable_remote_is_clear_and_leaves_no_tag(project: Path, tmp_path: Path):
    train_and_evaluate(project)
    git(project, "remote", "set-url", "origin", str(tmp_path / "nowhere.git"))
    with pytest.raises(GitError, match="cannot fetch tags from 'origin'"):
        promote(load_config(project), "churn")
    assert git(project, "tag", "-l") == ""


@pytest.mark.parametrize("how", ["squash", "rebase", "merge"])
def test_merges_of_every_kind_find_the_pr_artifact(project: Path, how: str):
    git(project, "checkout", "-q", "-b", "feature")
    spec = project / "models" / "churn" / "model.yaml"
    spec.write_text(spec.read_text().replace("C: 1.0", "C: 0.5"))
    git(project, "commit", "-qam", "churn: C=0.5")
    pr_key = train_and_evaluate(project)  # what CI did on the pull request
    pr_head = git(project, "rev-parse", "HEAD")
    git(project, "checkout", "-q", "main")
    (project / "README.md").write_text("unrelated change on main\n")
    git(project, "add", "README.md")
    git(project, "commit", "-qm", "docs")
    if how == "squash":
        git(project, "merge", "-q", "--squash", "feature")
        git(project, "commit", "-qm", "churn: C=0.5 (#12)")
    elif how == "rebase":
        git(project, "checkout", "-q", "feature")
        git(project, "rebase", "-q", "main")
        git(project, "checkout", "-q", "main")
        git(project, "merge", "-q", "--ff-only", "feature")
    else:
        git(project, "merge", "-q", "--no-ff", "-m", "Merge pull request #12 from x/feature",
            "feature")
    head = git(project, "rev-parse", "HEAD")
    assert head != pr_head
    result = promote(load_config(project), "churn")
    assert result.run_key == pr_key and result.commit == head
    if how != "rebase":
        assert result.pr == 12


def test_artifacts_folder_from_ci_is_imported_and_verified(project: Path, tmp_path: Path):
    key = train_and_evaluate(project)
    config = load_config(project)
    store = Store.open(config)
    run = json.loads(store.read_run_file(key, "run.json"))
    download = tmp_path / "download" / "churn"
    download.mkdir(parents=True)
    for name in ("run.json", "evaluation.json"):
        (download / name).write_bytes(store.read_run_file(key, name))
    shutil.copyfile(store.path_of(run["artifact"]["sha256"]), download / "model.skops")
    # a clone without the store: the run comes from the downloaded artifact
    clone = tmp_path / "main-clone"
    git(tmp_path, "clone", "-q", str(tmp_path / "origin.git"), str(clone))
    with pytest.raises(ArtifactError, match="no trained artifact"):
        promote(load_config(clone), "churn")
    # tampered bytes are refused
    good = (download / "model.skops").read_bytes()
    (download / "model.skops").write_bytes(good + b"x")
    with pytest.raises(ArtifactError, match="corrupt artifact"):
        promote(load_config(clone), "churn", artifacts=tmp_path / "download")
    (download / "model.skops").write_bytes(good)
    result = promote(load_config(clone), "churn", artifacts=tmp_path / "download")
    assert result.run_key == key and result.version == "v0.1.0"
    assert any("imported from" in n for n in result.notes)


def test_the_ci_context_fills_the_manifest(project: Path, tmp_path: Path):
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 42, "head": {"sha": "f" * 40},
                                                  "merged_by": {"login": "bob"}}}))
    ci = CIContext.from_env({"GITHUB_EVENT_PATH": str(event), "GITHUB_ACTOR": "carol",
                             "GITHUB_REPOSITORY": "acme/models", "GITHUB_RUN_ID": "9"})
    train_and_evaluate(project)
    m = promote(load_config(project), "churn", ci=ci).manifest
    assert (m["pr"], m["head_sha"], m["actor"], m["merged_by"]) == (42, "f" * 40, "carol", "bob")
    assert m["run_url"] == "https://github.com/acme/models/actions/runs/9"


def test_without_an_event_the_pr_comes_from_the_merge_commit(project: Path):
    train_and_evaluate(project)
    git(project, "commit", "-q", "--allow-empty", "-m", "Merge pull request #7 from x/y")
    assert promote(load_config(project), "churn").pr == 7


class RecordingPublisher:
    """A release publisher in memory (promote's ReleasePublisher protocol)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str, str, list[str]]] = []

    def publish(self, repository: str, tag: str, title: str, body: str,
                assets: list[Path]) -> str:
        self.calls.append((repository, tag, title, body, sorted(p.name for p in assets)))
        assert all(p.is_file() for p in assets)
        return f"https://example.invalid/{repository}/releases/{tag}"


def test_registry_github_publishes_through_the_injected_publisher(project: Path):
    (project / "gitops-ml.yaml").write_text(projects.CONFIG + "registry: github\n")
    git(project, "commit", "-qam", "registry: github")
    train_and_evaluate(project)
    with pytest.raises(ConfigError, match="needs a release publisher"):
        promote(load_config(project), "churn", ci=CIContext(repository="acme/models"))
    assert git(project, "tag", "-l") == ""  # refused before anything was registered
    publisher = RecordingPublisher()
    result = promote(load_config(project), "churn", ci=CIContext(repository="acme/models"),
                     publisher=publisher)
    assert result.release_url == "https://example.invalid/acme/models/releases/churn@v0.1.0"
    [(repo, tag, title, body, assets)] = publisher.calls
    assert (repo, tag, title) == ("acme/models", "churn@v0.1.0", "churn v0.1.0")
    assert assets == ["model.skops", "model_card.md"]
    assert body.startswith("# Model card: churn v0.1.0")


def test_registry_github_creates_a_release(project: Path, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch, gml):
    """The CLI injects the GitHub adapter as promote's release publisher."""
    from tests.ghserver import GitHubServer

    (project / "gitops-ml.yaml").write_text(projects.CONFIG + "registry: github\n")
    git(project, "commit", "-qam", "registry: github")
    train_and_evaluate(project)
    with GitHubServer(token="t0ken") as gh:
        gh.add_repo("acme/models")
        for key, value in {"GITHUB_TOKEN": "t0ken", "GITHUB_API_URL": gh.url,
                           "GITHUB_REPOSITORY": "acme/models",
                           "GITOPS_ML_GITHUB_SECONDS_BETWEEN_REQUESTS": "0",
                           "GITOPS_ML_GITHUB_SECONDS_BETWEEN_WRITES": "0"}.items():
            monkeypatch.setenv(key, value)
        r = gml("promote", "churn", "-o", "json", cwd=project)
        assert r.exit_code == 0, r.output
        assert r.json()["result"]["release_url"]
        releases = list(gh.repos["acme/models"].releases.values())
        assert [r["tag_name"] for r in releases] == ["churn@v0.1.0"]
        names = sorted(a["name"] for a in releases[0]["assets"])
        assert names == ["model.skops", "model_card.md"]
        assert releases[0]["body"].startswith("# Model card: churn v0.1.0")


# --- the CLI ------------------------------------------------------------------------------

def test_cli_promote_and_registry_commands(project: Path, gml):
    train_and_evaluate(project)
    r = gml("promote", "churn", "--actor", "alice", cwd=project)
    assert r.exit_code == 0, r.output
    assert "churn v0.1.0 registered" in r.stdout and "pushed to origin" in r.stdout
    r = gml("registry", "list", "-o", "json", cwd=project)
    assert r.exit_code == 0
    assert r.json()["result"]["models"][0] == {"name": "churn", "latest": "v0.1.0",
                                               "stages": {"production": "v0.1.0"},
                                               "versions": 1, "deprecated": False}
    r = gml("registry", "show", "churn#production", cwd=project)
    assert r.exit_code == 0 and "churn v0.1.0" in r.stdout and "run_key:" in r.stdout
    r = gml("registry", "show", "churn", cwd=project)
    assert r.exit_code == 0 and "stages: production=v0.1.0" in r.stdout
    r = gml("registry", "history", "churn", "-o", "json", cwd=project)
    assert [e["tag"] for e in r.json()["result"]["events"]][-1] == "churn@v0.1.0"
    r = gml("registry", "show", "churn@v9.9.9", cwd=project)
    assert r.exit_code == ExitCode.REGISTRY
    assert "error: model 'churn' has no version v9.9.9" in r.stderr
    r = gml("registry", "show", "nope#", cwd=project)
    assert r.exit_code == ExitCode.REGISTRY and "cannot parse 'nope#'" in r.stderr


def test_cli_promote_errors_have_exit_codes(project: Path, gml):
    r = gml("promote", "churn", cwd=project)
    assert r.exit_code == ExitCode.REGISTRY
    assert r.stderr.startswith("error: no trained artifact for churn")
    assert "Traceback" not in r.output
    r = gml("promote", "nosuch", cwd=project)
    assert r.exit_code == ExitCode.CONFIG
    r = gml("promote", "churn", "--bump", "huge", cwd=project)
    assert r.exit_code == ExitCode.USAGE
    train_and_evaluate(project, passed=False)
    r = gml("promote", "churn", "-o", "json", cwd=project)
    assert r.exit_code == ExitCode.REGISTRY
    assert r.json()["error"]["code"] == "promotion_refused"


def test_cli_rollback_and_deprecate(project: Path, gml):
    train_and_evaluate(project)
    assert gml("promote", "churn", cwd=project).exit_code == 0
    spec = project / "models" / "churn" / "model.yaml"
    spec.write_text(spec.read_text().replace("C: 1.0", "C: 0.3"))
    git(project, "commit", "-qam", "C=0.3")
    train_and_evaluate(project)
    assert gml("promote", "churn", cwd=project).exit_code == 0
    r = gml("rollback", "churn", "v0.1.0", cwd=project)
    assert r.exit_code == 0, r.output
    assert "churn production: v0.2.0 -> v0.1.0 (tag churn#production#3, pushed)" in r.stdout
    r = gml("registry", "show", "churn#production", "-o", "json", cwd=project)
    assert r.json()["result"]["version"]["version"] == "v0.1.0"
    r = gml("rollback", "churn", "v0.1.0", cwd=project)
    assert "nothing to do" in r.stdout
    r = gml("rollback", "churn", "1.0", cwd=project)
    assert r.exit_code == ExitCode.REGISTRY and "invalid version '1.0'" in r.stderr
    r = gml("deprecate", "churn", "v0.2.0", cwd=project)
    assert r.exit_code == 0 and "churn v0.2.0 deregistered (tag churn@v0.2.0!" in r.stdout
    r = gml("deprecate", "churn", cwd=project)
    assert r.exit_code == 0 and "churn deprecated" in r.stdout
    r = gml("deprecate", "churn", cwd=project)
    assert r.exit_code == ExitCode.REGISTRY and "already deprecated" in r.stderr


def test_artifacts_folder_holding_a_store_copy(project: Path, tmp_path: Path):
    """The pull-request workflow uploads the store folder; download-artifact puts it under
    <dir>/gitops-ml-run-<model>/ (runs/<key>/run.json + blobs/sha256/..)."""
    key = train_and_evaluate(project)
    download = tmp_path / "gitops-ml-artifacts"
    shutil.copytree(project / ".gitops-ml" / "store", download / "gitops-ml-run-churn")
    clone = tmp_path / "main-clone"
    git(tmp_path, "clone", "-q", str(tmp_path / "origin.git"), str(clone))
    result = promote(load_config(clone), "churn", artifacts=download)
    assert result.run_key == key and result.manifest["gates_passed"] is True
    # a store that kept the run record but lost the blob is completed from the download
    store = Store.open(load_config(project))
    sha = json.loads(store.read_run_file(key, "run.json"))["artifact"]["sha256"]
    store.path_of(sha).unlink()
    git(project, "commit", "-q", "--allow-empty", "-m", "next merge")
    again = promote(load_config(project), "churn", artifacts=download)
    assert again.artifact_sha256 == sha and store.has(sha)


def test_a_failed_drift_gate_is_refused_too(project: Path):
    """evaluate leaves drift gates to drift; promote reads drift.json's verdict."""
    key = train_and_evaluate(project)
    store = Store.open(load_config(project))
    gate = {"gate": "share_of_drifted_columns ≤ 0.3", "kind": "drift",
            "subject": "share_of_drifted_columns", "threshold": {"max": 0.3}}
    ev = json.loads(store.read_run_file(key, "evaluation.json"))
    ev["gates"].append({**gate, "value": None, "passed": False, "skipped": True,
                        "note": "evaluated by drift"})
    store.write_run_file(key, "evaluation.json", json.dumps(ev).encode())
    drift = json.loads((Path(__file__).parent / "data/records_v1/drift.json").read_text())
    drift.update(model="churn", gates=[{**gate, "value": 0.6, "passed": False,
                                        "skipped": False}])  # schema 1, as today's drift writes
    store.write_run_file(key, "drift.json", json.dumps(drift).encode())
    with pytest.raises(PromotionRefused, match=r"failed its gates: share_of_drifted_columns"):
        promote(load_config(project), "churn")
    assert git(project, "tag", "-l") == ""
