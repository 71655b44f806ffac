"""``gitops-ml demo``: the whole life of a model, on real git, real data, no GitHub."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from gitops_ml import demo, scaffold
from gitops_ml.cli import cli
from gitops_ml.cli._app import run
from gitops_ml.errors import ConfigError, ExitCode


def gitops(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(cli, list(args))
    out, err = capsys.readouterr()
    return code, out, err


def tags(repo: Path) -> list[str]:
    out = subprocess.run(["git", "-C", str(repo), "tag", "-l"], check=True,
                         capture_output=True, text=True).stdout
    return out.split()


IDENTITY_VARIABLES = ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME",
                      "GIT_COMMITTER_EMAIL")


def git_variables() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith("GIT")}


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[demo.DemoResult, list[str]]:
    seen: list[str] = []
    environments: list[dict[str, str]] = []

    def on_step(step: demo.DemoStep) -> None:
        seen.append(step.title)
        environments.append(git_variables())
    base = tmp_path_factory.mktemp("demo") / "run"
    with pytest.MonkeyPatch.context() as mp:
        home = tmp_path_factory.mktemp("demo-home")
        mp.setenv("HOME", str(home))
        mp.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
        mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
        for key in ("GITHUB_TOKEN", "GITHUB_ACTIONS", *IDENTITY_VARIABLES):
            mp.delenv(key, raising=False)
        before = git_variables()
        result = demo.run_demo(base, on_step=on_step)
        # the demo never changes the caller's Git environment, not even while a step runs
        # (libraries it imports may set their own variables, such as OpenMP's KMP_*)
        assert all(env == before for env in environments), \
            sorted({k for env in environments for k in env.keys() ^ before.keys()})
        assert git_variables() == before
    return result, seen


@pytest.mark.slow
def test_demo_runs_the_whole_life_of_a_model(demo_run) -> None:
    result, seen = demo_run
    by_title: dict[str, list[demo.DemoStep]] = {}
    for step in result.steps:
        by_title.setdefault(step.title, []).append(step)
    problems = [f"{s.phase}/{s.title}: {s.status}: {s.text[:300]}" for s in result.steps
                if s.status not in (demo.OK, demo.GATES_FAILED, demo.DRIFT)]
    assert problems == [], "\n".join(problems)
    assert result.complete and result.exit_code == 0
    assert seen == [s.title for s in result.steps]  # reported as they ran
    phases = [s.phase for s in result.steps]
    assert phases.index("pull request") > phases.index("main")
    assert phases.index("merge") > phases.index("pull request")
    expected = ["scaffold the repository", "commit to main", "train", "promote",
                "open a pull request", "validate", "plan", "drift",
                "report (the pull request comment)", "merge", "model card",
                "registry history", "lineage"]
    for title in expected:
        assert title in by_title, title


@pytest.mark.slow
def test_demo_promotes_the_baseline_and_the_merged_model(demo_run) -> None:
    result, _ = demo_run
    repo = Path(result.repo)
    names = tags(repo)
    assert {"breast-cancer@v0.1.0", "breast-cancer@v0.2.0"} <= set(names)
    assert {"breast-cancer#production#1", "breast-cancer#production#2"} <= set(names)
    origin = Path(result.directory) / "origin.git"
    assert set(names) <= set(tags(origin))  # pushed to the remote
    # the pull request changed the hyperparameter and the data; main has both after merge
    spec = yaml.safe_load((repo / "models/breast-cancer/model.yaml").read_text())
    assert spec["estimator"]["params"]["C"] == 0.3
    assert spec["data"]["current"] == "data/breast-cancer-fresh.ptr.yaml"
    history = next(s for s in result.steps if s.title == "registry history").text
    assert "breast-cancer@v0.2.0" in history and "breast-cancer#production#1" in history
    lineage = next(s for s in result.steps if s.title == "lineage").text
    assert "v0.2.0" in lineage and "C=0.3" in lineage and "#1" in lineage


@pytest.mark.slow
def test_demo_writes_what_a_reviewer_sees(demo_run) -> None:
    result, _ = demo_run
    out = Path(result.output)
    comment = (out / "comment.md").read_text()
    assert "breast-cancer" in comment and "roc_auc" in comment
    assert "{{" not in comment and "{%" not in comment
    report_step = next(s for s in result.steps if s.title.startswith("report"))
    assert "roc_auc" in report_step.text  # printed to the terminal
    assert (out / "summary.md").stat().st_size > 0
    metadata = json.loads((out / "bundle" / "metadata.json").read_text())
    assert metadata["pr_number"] == demo.PR_NUMBER
    card = (out / "model_card.md").read_text()
    assert "breast-cancer" in card and "v0.2.0" in card
    html = out / "drift.html"
    assert html.is_file() and html.stat().st_size > 10_000
    assert result.files["evidently html"] == str(html)
    drift = next(s for s in result.steps if s.title == "drift")
    assert "mean_texture" in drift.text  # the shifted measurement is found


def test_fresh_batch_is_seeded_and_shifts_two_measurements() -> None:
    sample = scaffold.load_sample("classification")
    first, second = demo.fresh_batch(sample), demo.fresh_batch(sample)
    assert first == second
    lines = first.decode().splitlines()
    assert lines[0].split(",") == list(sample.columns) and len(lines) == 201


def test_demo_refuses_a_folder_that_is_not_empty(tmp_path: Path, capsys) -> None:
    (tmp_path / "something").write_text("x")
    code, _, err = gitops(capsys, "demo", "--dir", str(tmp_path))
    assert code == 3
    assert "is not empty" in err and "Traceback" not in err


@pytest.mark.slow
def test_demo_commits_as_the_demo_identity_from_the_repository_config(demo_run) -> None:
    """The fixture ran it with no identity in the environment or the global config; the
    identity lives in the demo repository's own config (the fixture checks the environment
    was never changed)."""
    result, _ = demo_run
    repo = Path(result.repo)
    authors = subprocess.run(["git", "-C", str(repo), "log", "--format=%an <%ae>"],
                             check=True, capture_output=True, text=True).stdout.splitlines()
    assert set(authors) == {"gitops-ml demo <demo@gitops-ml.invalid>"}


def test_a_failing_step_is_reported_with_its_exit_code_and_the_rest_go_on() -> None:
    runner = demo.Runner(None)

    def body() -> str:
        raise ConfigError("models/x/model.yaml: broken")

    failed = runner.step("p", "piece", "gitops-ml piece", body)
    ok = runner.step("p", "next", "gitops-ml next", lambda: "fine")
    assert (failed.status, failed.exit_code) == (demo.FAILED, ExitCode.CONFIG)
    assert failed.text == "models/x/model.yaml: broken" and ok.status == demo.OK
    result = demo.DemoResult("d", "r", "o", "m", tuple(runner.steps))
    assert not result.complete and result.exit_code == ExitCode.CONFIG
    assert demo.DemoResult("d", "r", "o", "m", (ok,)).exit_code == 0


def test_the_demo_calls_only_the_public_api() -> None:
    """An application of the API: no core module is named by a string, none imported past
    the API (the layer test checks the direction)."""
    import ast

    tree = ast.parse(Path(demo.__file__).read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert "importlib" not in imported
    core = {m for m in imported if m and m.startswith("gitops_ml")}
    assert core <= {"gitops_ml", "gitops_ml.ci", "gitops_ml.errors", "gitops_ml.util"}, core
