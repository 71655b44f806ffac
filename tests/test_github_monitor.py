"""``gitops-ml monitor --github-issue``: one drift issue per model, opened, updated and closed,
on real data (scikit-learn's wine dataset) through PyGithub to the GitHub-compatible server."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from gitops_ml.errors import ExitCode
from gitops_ml.github.monitor_issue import issue_marker
from tests.ghserver import GitHubServer

pytestmark = pytest.mark.slow  # reads and tests real data: > 5 s on a loaded machine

TOKEN = "ghs_monitorTOKEN_4242"
REPO = "acme/models"
SPEC = """name: wine
task: classification
data:
  train: data/train.csv
  test: data/test.csv
target: target
features:
  numeric: [alcohol, malic_acid, ash, magnesium, proline]
estimator:
  class: sklearn.linear_model.LogisticRegression
  params: {max_iter: 2000}
gates:
  - {drift: share_of_drifted_columns, max: 0.3}
"""


@pytest.fixture
def server() -> Iterator[GitHubServer]:
    with GitHubServer(token=TOKEN) as gh:
        gh.add_repo(REPO)
        yield gh


@pytest.fixture
def project(make_repo):
    from sklearn.datasets import load_wine

    df = load_wine(as_frame=True).frame[["alcohol", "malic_acid", "ash", "magnesium",
                                          "proline", "target"]]
    df = df.sample(frac=1, random_state=0).reset_index(drop=True)
    drifted = df.iloc[120:].copy()
    drifted["alcohol"] += 1.5
    drifted["proline"] *= 1.6
    drifted["magnesium"] += 30
    files = {"gitops-ml.yaml": "models: models/*/model.yaml\n", "models/wine/model.yaml": SPEC,
             "data/train.csv": df.iloc[:120].to_csv(index=False),
             "data/test.csv": df.iloc[120:].to_csv(index=False),
             "data/drifted.csv": drifted.to_csv(index=False),
             "data/same.csv": df.iloc[:120].assign(ash=np.asarray(df["ash"][:120]))
             .to_csv(index=False)}
    return make_repo(files)


def env(server: GitHubServer) -> dict[str, str]:
    return {"GITHUB_TOKEN": TOKEN, "GITHUB_API_URL": server.url, "GITHUB_REPOSITORY": REPO,
            "GITOPS_ML_GITHUB_SECONDS_BETWEEN_REQUESTS": "0",
            "GITOPS_ML_GITHUB_SECONDS_BETWEEN_WRITES": "0"}


def test_monitor_opens_updates_and_closes_the_drift_issue(project, gml, server) -> None:
    args = ["monitor", "wine", "--reference", "data/train.csv", "--github-issue"]
    r = gml(*args, "--current", "data/drifted.csv", cwd=project, env=env(server))
    assert r.exit_code == ExitCode.DRIFT_FOUND, r.output
    assert "issue: opened #1" in r.stdout
    issue = server.repos[REPO].issues[1]
    assert issue["body"].startswith(issue_marker("wine"))
    assert issue["title"].startswith("Drift in wine: ") and "### Drift" in issue["body"]
    assert [label["name"] for label in issue["labels"]] == ["gitops-ml"]

    r = gml(*args, "--current", "data/drifted.csv", "-o", "json", cwd=project,
            env=env(server))
    assert r.exit_code == ExitCode.DRIFT_FOUND
    assert r.json()["result"]["issue"]["action"] == "updated"
    assert len(server.repos[REPO].issues) == 1

    r = gml(*args, "--current", "data/same.csv", cwd=project, env=env(server))
    assert r.exit_code == 0, r.output
    assert "issue: closed #1" in r.stdout and issue["state"] == "closed"
    assert "gone" in server.comments_on(REPO, 1)[0]["body"]


def test_monitor_issue_needs_a_repository(project, gml, server) -> None:
    e = env(server)
    del e["GITHUB_REPOSITORY"]
    r = gml("monitor", "wine", "--reference", "data/train.csv", "--current",
            "data/drifted.csv", "--github-issue", cwd=project, env=e)
    assert r.exit_code == ExitCode.GITHUB and "set GITHUB_REPOSITORY" in r.stderr


def test_monitor_issue_without_permission(project, gml, server) -> None:
    server.forbidden_writes.add("issues")
    r = gml("monitor", "wine", "--reference", "data/train.csv", "--current",
            "data/drifted.csv", "--github-issue", cwd=project, env=env(server))
    assert r.exit_code == ExitCode.GITHUB
    assert "the token lacks issues: write" in r.stderr
