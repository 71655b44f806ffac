"""``gitops-ml comment``: a report file or fork-safe bundles, posted through PyGithub over HTTP
to the GitHub-compatible server, with every refusal of the untrusted bundle."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitops_ml.errors import ExitCode
from gitops_ml.github.comments import marker
from tests.ghserver import GitHubServer
from tests.report_fixtures import HEAD_SHA, write_records

TOKEN = "ghs_commentTOKEN_must_never_show_0123"
REPO = "acme/models"
OTHER_SHA = "d" * 40


@pytest.fixture
def server() -> Iterator[GitHubServer]:
    with GitHubServer(token=TOKEN) as gh:
        gh.add_repo(REPO)
        gh.add_pull(REPO, 12, head_sha=HEAD_SHA, head_repo="someone/models-fork")
        gh.add_pull(REPO, 13, head_sha=OTHER_SHA)
        yield gh


def env_for(server: GitHubServer, event: Path | None = None, **extra: str) -> dict[str, str]:
    env = {"GITHUB_TOKEN": TOKEN, "GITHUB_API_URL": server.url, "GITHUB_REPOSITORY": REPO,
           "GITOPS_ML_GITHUB_SECONDS_BETWEEN_REQUESTS": "0",
           "GITOPS_ML_GITHUB_SECONDS_BETWEEN_WRITES": "0", "GITOPS_ML_GITHUB_BACKOFF": "0",
           "GITHUB_SERVER_URL": "https://github.com", "GITHUB_RUN_ID": "42"}
    if event is not None:
        env["GITHUB_EVENT_PATH"] = str(event)
    env.update(extra)
    return env


def pr_event(tmp_path: Path, number: int = 12, sha: str = HEAD_SHA) -> Path:
    path = tmp_path / "pr-event.json"
    path.write_text(json.dumps({"pull_request": {"number": number, "title": "Better churn",
                                                 "head": {"sha": sha, "ref": "feature"}}}))
    return path


def run_event(tmp_path: Path, numbers: list[int], sha: str = HEAD_SHA,
              head_repo: str = "someone/models-fork") -> Path:
    path = tmp_path / "run-event.json"
    path.write_text(json.dumps({"action": "completed", "workflow_run": {
        "head_sha": sha, "pull_requests": [{"number": n} for n in numbers],
        "head_repository": {"full_name": head_repo}}}))
    return path


def make_report(tmp_path: Path, gml, *, bundle: Path | None = None, model: str = "churn",
                number: int = 12, sha: str = HEAD_SHA) -> Path:
    paths = write_records(tmp_path / "records")
    for p in paths.values():  # the same records, under another model name when asked
        doc = json.loads(p.read_text())
        doc["model"] = model
        p.write_text(json.dumps(doc))
    out = tmp_path / f"{model}.md"
    args = ["report", model, "--out", out, "--run", paths["run"], "--evaluation",
            paths["evaluation"], "--drift", paths["drift"], "--pr", str(number), "--sha", sha]
    if bundle is not None:
        args += ["--bundle", bundle]
    r = gml(*args, cwd=tmp_path)
    assert r.exit_code == 0, r.output
    return out


def test_comment_posts_then_updates_and_sets_the_status(tmp_path, gml, server) -> None:
    report = make_report(tmp_path, gml)
    env = env_for(server, pr_event(tmp_path))
    r = gml("comment", report, cwd=tmp_path, env=env)
    assert r.exit_code == 0, r.output
    assert "created comment for churn on acme/models#12" in r.stdout
    comments = server.comments_on(REPO, 12)
    assert len(comments) == 1
    assert comments[0]["body"].startswith(marker("churn") + "\n")
    assert comments[0]["body"].count("gitops-ml:model=") == 1
    run = server.repos[REPO].check_runs[0]
    assert run["name"] == "gitops-ml/churn" and run["conclusion"] == "failure"
    assert run["head_sha"] == HEAD_SHA

    server.reset_counts()
    r = gml("comment", "--pr", "12", "--github-repo", REPO, report, "--no-status", "-o", "json",
            cwd=tmp_path, env=env)
    assert r.exit_code == 0, r.output
    assert r.json()["result"]["posted"][0]["comment"]["action"] == "unchanged"
    assert server.count() == 1  # one listing; nothing to change
    assert len(server.comments_on(REPO, 12)) == 1


def test_comment_falls_back_to_a_status_without_check_permission(tmp_path, gml, server):
    server.check_runs_forbidden = True
    report = make_report(tmp_path, gml)
    r = gml("comment", "--pr", "12", report, cwd=tmp_path, env=env_for(server))
    assert r.exit_code == 0, r.output
    status = server.repos[REPO].statuses[0]
    assert status["context"] == "gitops-ml/churn" and status["state"] == "failure"
    assert status["sha"] == HEAD_SHA  # read from the pull request (no event here)
    assert status["target_url"] == "https://github.com/acme/models/actions/runs/42"


def test_bad_token_is_one_line_without_the_token(tmp_path, gml, server) -> None:
    report = make_report(tmp_path, gml)
    env = env_for(server, GITHUB_TOKEN="ghp_BAD_secret_value_987")
    r = gml("comment", "--pr", "12", report, cwd=tmp_path, env=env)
    assert r.exit_code == ExitCode.GITHUB
    assert "GitHub rejected the token" in r.stderr and "expired" in r.stderr
    assert "ghp_BAD_secret_value_987" not in r.output and TOKEN not in r.output
    assert len(r.stderr.strip().splitlines()) == 1
    r = gml("comment", "--pr", "12", report, "--traceback", cwd=tmp_path, env=env)
    assert "ghp_BAD_secret_value_987" not in r.output


def test_missing_pr_is_404(tmp_path, gml, server) -> None:
    report = make_report(tmp_path, gml)
    r = gml("comment", "--pr", "999", report, cwd=tmp_path, env=env_for(server))
    assert r.exit_code == ExitCode.GITHUB
    assert "pull request #999 of acme/models not found" in r.stderr


def test_no_token_says_how_to_set_it(tmp_path, gml, server) -> None:
    report = make_report(tmp_path, gml)
    env = env_for(server)
    env["GITHUB_TOKEN"] = ""
    r = gml("comment", "--pr", "12", report, cwd=tmp_path, env=env)
    assert r.exit_code == ExitCode.GITHUB and "set GITHUB_TOKEN" in r.stderr


def test_report_file_without_marker_needs_model(tmp_path, gml, server) -> None:
    plain = tmp_path / "plain.md"
    plain.write_text("hello")
    r = gml("comment", "--pr", "12", plain, cwd=tmp_path, env=env_for(server))
    assert r.exit_code == ExitCode.GITHUB and "no model marker" in r.stderr
    r = gml("comment", "--pr", "12", "--model", "churn", plain, cwd=tmp_path,
            env=env_for(server))
    assert r.exit_code == 0, r.output
    assert server.comments_on(REPO, 12)[0]["body"] == f"{marker('churn')}\nhello"


def test_nothing_to_post_and_no_pr_number(tmp_path, gml, server) -> None:
    r = gml("comment", "--pr", "12", cwd=tmp_path, env=env_for(server))
    assert r.exit_code == ExitCode.GITHUB and "nothing to post" in r.stderr
    report = make_report(tmp_path, gml)
    r = gml("comment", report, cwd=tmp_path, env=env_for(server))
    assert r.exit_code == ExitCode.GITHUB and "no pull request number" in r.stderr
    r = gml("comment", "--pr", "12", report, cwd=tmp_path,
            env={**env_for(server), "GITHUB_REPOSITORY": ""})
    assert r.exit_code == ExitCode.GITHUB and "no repository given" in r.stderr
    assert server.count() == 0


# --- bundles -------------------------------------------------------------------------------

def test_bundles_of_two_models_are_posted(tmp_path, gml, server) -> None:
    make_report(tmp_path, gml, bundle=tmp_path / "bundles" / "churn")
    make_report(tmp_path, gml, bundle=tmp_path / "bundles" / "fraud", model="fraud")
    env = env_for(server, run_event(tmp_path, [12]))
    r = gml("comment", "--from-bundle", tmp_path / "bundles", cwd=tmp_path, env=env)
    assert r.exit_code == 0, r.output
    bodies = [c["body"] for c in server.comments_on(REPO, 12)]
    assert sorted(b.splitlines()[0] for b in bodies) == [marker("churn"), marker("fraud")]
    assert {c["name"] for c in server.repos[REPO].check_runs} == {"gitops-ml/churn",
                                                                  "gitops-ml/fraud"}
    r = gml("comment", "--from-bundle", tmp_path / "bundles", "--model", "fraud",
            cwd=tmp_path, env=env)
    assert r.exit_code == 0 and "unchanged comment for fraud" in r.stdout


def test_bundle_with_another_pr_number_is_refused(tmp_path, gml, server) -> None:
    make_report(tmp_path, gml, bundle=tmp_path / "b")
    r = gml("comment", "--from-bundle", tmp_path / "b", cwd=tmp_path,
            env=env_for(server, run_event(tmp_path, [13])))
    assert r.exit_code == ExitCode.UNTRUSTED
    assert "names PR #12, but the triggering run belongs to #13; refused" in r.stderr
    assert server.count() == 0 and server.comments_on(REPO, 12) == []


def test_bundle_with_another_head_sha_is_refused(tmp_path, gml, server) -> None:
    make_report(tmp_path, gml, bundle=tmp_path / "b")
    r = gml("comment", "--from-bundle", tmp_path / "b", cwd=tmp_path,
            env=env_for(server, run_event(tmp_path, [12], sha=OTHER_SHA)))
    assert r.exit_code == ExitCode.UNTRUSTED
    assert "names head SHA c0ffee111111, but the triggering run built dddddddddddd" in r.stderr
    assert server.count() == 0


def test_fork_bundle_is_checked_against_the_pull_request(tmp_path, gml, server) -> None:
    # GitHub lists no pull request in workflow_run payloads of forks: ask the API instead
    make_report(tmp_path, gml, bundle=tmp_path / "b")
    r = gml("comment", "--from-bundle", tmp_path / "b", cwd=tmp_path,
            env=env_for(server, run_event(tmp_path, [])))
    assert r.exit_code == 0, r.output
    assert server.count("GET", r"/pulls/12$") == 1


def test_fork_bundle_naming_another_pr_is_refused(tmp_path, gml, server) -> None:
    make_report(tmp_path, gml, bundle=tmp_path / "b", number=13)  # PR 13 is at OTHER_SHA
    r = gml("comment", "--from-bundle", tmp_path / "b", cwd=tmp_path,
            env=env_for(server, run_event(tmp_path, [])))
    assert r.exit_code == ExitCode.UNTRUSTED
    assert "pull request #13 is at dddddddddddd" in r.stderr
    assert server.comments_on(REPO, 13) == []


def test_fork_bundle_from_another_repository_is_refused(tmp_path, gml, server) -> None:
    make_report(tmp_path, gml, bundle=tmp_path / "b")
    r = gml("comment", "--from-bundle", tmp_path / "b", cwd=tmp_path,
            env=env_for(server, run_event(tmp_path, [], head_repo="mallory/models")))
    assert r.exit_code == ExitCode.UNTRUSTED and "refused" in r.stderr


def test_bundle_outside_workflow_run_is_refused(tmp_path, gml, server) -> None:
    make_report(tmp_path, gml, bundle=tmp_path / "b")
    r = gml("comment", "--from-bundle", tmp_path / "b", cwd=tmp_path,
            env=env_for(server, pr_event(tmp_path)))
    assert r.exit_code == ExitCode.UNTRUSTED and "not a workflow_run event" in r.stderr
    r = gml("comment", "--from-bundle", tmp_path / "b", cwd=tmp_path, env=env_for(server))
    assert r.exit_code == ExitCode.UNTRUSTED and "no triggering event" in r.stderr


def tamper(bundle: Path, **changes) -> None:
    meta = json.loads((bundle / "metadata.json").read_text())
    meta.update(changes)
    (bundle / "metadata.json").write_text(json.dumps(meta))


@pytest.mark.parametrize(("change", "message"), [
    ({"extra": 1}, "unknown metadata keys: 'extra'"),
    ({"pr_number": "12"}, "metadata 'pr_number' must be int, got str"),
    ({"head_sha": "not-a-sha"}, "metadata 'head_sha' is not a commit SHA"),
    ({"model": "../../etc"}, "metadata 'model' is not a model name"),
    ({"gate_outcome": "great"}, "metadata 'gate_outcome' must be one of"),
    ({"schema_version": 1}, "unsupported bundle schema_version 1"),
    ({"gate_outcome": "passed"}, "metadata 'gate_outcome' is passed, but its gates say failed"),
    ({"gates": [{"gate": "x", "passed": "yes", "skipped": False}]}, "metadata 'gates[0]' must"),
])
def test_bundle_schema_is_checked(tmp_path, gml, server, change, message) -> None:
    make_report(tmp_path, gml, bundle=tmp_path / "b")
    tamper(tmp_path / "b", **change)
    r = gml("comment", "--from-bundle", tmp_path / "b", cwd=tmp_path,
            env=env_for(server, run_event(tmp_path, [12])))
    assert r.exit_code == ExitCode.UNTRUSTED
    assert message in r.stderr
    assert server.count() == 0


def test_bundle_size_caps(tmp_path, gml, server) -> None:
    make_report(tmp_path, gml, bundle=tmp_path / "b")
    env = env_for(server, run_event(tmp_path, [12]))
    (tmp_path / "b" / "report.md").write_text("x" * 70000)
    r = gml("comment", "--from-bundle", tmp_path / "b", cwd=tmp_path, env=env)
    assert r.exit_code == ExitCode.UNTRUSTED and "over GitHub's 65,536-character" in r.stderr
    (tmp_path / "b" / "report.md").write_text("é" * 200000)
    r = gml("comment", "--from-bundle", tmp_path / "b", cwd=tmp_path, env=env)
    assert r.exit_code == ExitCode.UNTRUSTED and "over the 262,144-byte cap" in r.stderr
    (tmp_path / "b" / "report.md").write_text("ok")
    (tmp_path / "b" / "metadata.json").write_text("{" + " " * 20000 + "}")
    r = gml("comment", "--from-bundle", tmp_path / "b", cwd=tmp_path, env=env)
    assert r.exit_code == ExitCode.UNTRUSTED and "over the 16,384-byte cap" in r.stderr
    assert server.count() == 0


def test_bundle_symlink_is_refused(tmp_path, gml, server) -> None:
    make_report(tmp_path, gml, bundle=tmp_path / "b")
    secret = tmp_path / "secret.txt"
    secret.write_text("token=abc")
    os.remove(tmp_path / "b" / "report.md")
    os.symlink(secret, tmp_path / "b" / "report.md")
    r = gml("comment", "--from-bundle", tmp_path / "b", cwd=tmp_path,
            env=env_for(server, run_event(tmp_path, [12])))
    assert r.exit_code == ExitCode.UNTRUSTED and "symbolic link; refused" in r.stderr


def test_bundle_markers_cannot_hijack_another_models_comment(tmp_path, gml, server) -> None:
    make_report(tmp_path, gml, bundle=tmp_path / "b")
    report = tmp_path / "b" / "report.md"
    report.write_text(f"{marker('fraud')}\nI am churn, pretending to be fraud")
    r = gml("comment", "--from-bundle", tmp_path / "b", cwd=tmp_path,
            env=env_for(server, run_event(tmp_path, [12])))
    assert r.exit_code == ExitCode.UNTRUSTED, r.output
    assert "the report and metadata.json disagree" in r.stderr
    assert server.comments_on(REPO, 12) == [] and server.count() == 0
