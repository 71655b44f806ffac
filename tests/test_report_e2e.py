"""The whole path on real records: train, drift and evaluate (champion vs candidate) on
scikit-learn's breast cancer data, then ``report`` from the store by the run key, a bundle in
the pull_request phase, and ``comment --from-bundle`` in the workflow_run phase, through
PyGithub to the GitHub-compatible server."""

from __future__ import annotations

import json
import subprocess

import pytest

from gitops_ml.github.comments import marker
from tests.ghserver import GitHubServer
from tests.report_scenario import build

pytestmark = pytest.mark.slow

TOKEN = "ghs_e2e_token"
REPO = "acme/models"


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    repo = tmp_path_factory.mktemp("e2e") / "repo"
    with pytest.MonkeyPatch.context() as mp:
        for key, value in {"GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@example.com",
                           "GIT_COMMITTER_NAME": "c", "GIT_COMMITTER_EMAIL": "c@example.com",
                           "GIT_CONFIG_NOSYSTEM": "1",
                           "GIT_CONFIG_GLOBAL": str(repo.parent / "gitconfig")}.items():
            mp.setenv(key, value)
        keys = build(repo)
    head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], check=True,
                          capture_output=True, text=True).stdout.strip()
    return repo, keys, head


def test_report_reads_the_run_of_the_current_spec_from_the_store(scenario, gml) -> None:
    repo, keys, _ = scenario
    r = gml("report", "cancer", "-o", "json", cwd=repo)
    assert r.exit_code == 0, r.output
    result = r.json()["result"]
    assert set(result["sources"]) == {"run", "evaluation", "drift"}
    assert all(keys["candidate"] in uri for uri in result["sources"].values())
    assert result["gate_outcome"] == "failed"  # live data drifted past the drift gate
    md = gml("report", "cancer", cwd=repo).stdout
    assert f"### Metrics vs the champion ({keys['champion'][:12]})" in md
    assert "| ❌ | share_of_drifted_columns ≤ 0.2 |" in md
    drift_rows = [line.split(" | ")[0] for line in md.splitlines() if "K-S p_value" in line
                  or "Z-test p_value |" in line]
    assert drift_rows[:3] == ["| mean radius", "| worst texture", "| clinic"]
    assert "| clinic | " in md and "Groups of clinic" in md  # bias slices
    assert keys["candidate"] in md and "data/train.csv · sha256 " in md  # lineage


def test_two_phase_posting_of_a_real_report(scenario, gml, tmp_path) -> None:
    repo, _, head = scenario
    event = tmp_path / "pr.json"
    event.write_text(json.dumps({"pull_request": {"number": 5, "title": "Smaller C",
                                                  "head": {"sha": head, "ref": "smaller-c"}}}))
    bundle = tmp_path / "artifact" / "cancer"
    summary = tmp_path / "step-summary.md"
    r = gml("report", "cancer", "--bundle", bundle, "--out", tmp_path / "report.md", cwd=repo,
            env={"GITHUB_EVENT_PATH": str(event), "GITHUB_STEP_SUMMARY": str(summary)})
    assert r.exit_code == 0, r.output
    assert "### Drift" in summary.read_text()
    run_event = tmp_path / "run.json"
    run_event.write_text(json.dumps({"workflow_run": {
        "head_sha": head, "pull_requests": [{"number": 5}],
        "head_repository": {"full_name": REPO}}}))
    with GitHubServer(token=TOKEN) as server:
        server.add_repo(REPO)
        server.add_pull(REPO, 5, head_sha=head)
        env = {"GITHUB_TOKEN": TOKEN, "GITHUB_API_URL": server.url,
               "GITHUB_REPOSITORY": REPO, "GITHUB_EVENT_PATH": str(run_event),
               "GITOPS_ML_GITHUB_SECONDS_BETWEEN_REQUESTS": "0",
               "GITOPS_ML_GITHUB_SECONDS_BETWEEN_WRITES": "0"}
        r = gml("comment", "--from-bundle", tmp_path / "artifact", cwd=tmp_path, env=env)
        assert r.exit_code == 0, r.output
        body = server.comments_on(REPO, 5)[0]["body"]
        assert body.startswith(marker("cancer"))
        assert body.split("\n", 1)[1] == (tmp_path / "report.md").read_text().split("\n", 1)[1]
        run = server.repos[REPO].check_runs[0]
        assert run["head_sha"] == head and run["conclusion"] == "failure"


def test_check_gates_judged_by_drift_are_counted_once(tmp_path, monkeypatch) -> None:
    """The defect: with a `{check: data_checks}` gate, evaluate's "evaluated by drift" skip and
    drift's verdict were both listed, and the heading said "all 5 gates passed" for 4 gates."""
    from gitops_ml.project.spec import load_config
    from gitops_ml.report.view import load_inputs, render_markdown
    from tests.report_scenario import build

    for key, value in {"GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@example.com",
                       "GIT_COMMITTER_NAME": "c", "GIT_COMMITTER_EMAIL": "c@example.com",
                       "GIT_CONFIG_NOSYSTEM": "1",
                       "GIT_CONFIG_GLOBAL": str(tmp_path / "gitconfig")}.items():
        monkeypatch.setenv(key, value)
    repo = tmp_path / "repo"
    keys = build(repo, gates="  - {metric: roc_auc, min: 0.95}\n"
                             "  - {fairness: demographic_parity_difference, max: 0.25}\n"
                             "  - {drift: share_of_drifted_columns, max: 0.9}\n"
                             "  - {check: data_checks}\n")
    inputs = load_inputs(load_config(repo), "cancer", run_key=keys["candidate"])
    md = render_markdown(inputs)
    assert "## ✅ cancer: all 4 gates passed" in md
    table = md[md.index("### Gates"):].split("\n\n")[1].splitlines()[2:]
    assert [row.split(" | ")[1] for row in table] == [
        "roc_auc ≥ 0.95", "demographic_parity_difference ≤ 0.25",
        "share_of_drifted_columns ≤ 0.9", "data_checks"]
    assert table[-1].startswith("| ✅ | data_checks | 0 | none failed |")
    assert "evaluated by drift" not in md
    assert inputs.gate_outcome == "passed" and len(inputs.gates) == 4
