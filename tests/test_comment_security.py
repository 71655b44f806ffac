"""Hostile comments and bundles, through PyGithub against the GitHub-compatible server.

Who can write what: anyone can comment on a public pull request; the author of a pull request
(or of a fork) controls every byte of the bundle its job uploads. None of it may move the
sticky comment, mention people, pull remote images, or set a status its gates do not give.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from gitops_ml.errors import ExitCode
from gitops_ml.github import ClientSettings, GitHubClient
from gitops_ml.github.comments import marker, upsert_sticky_comment
from gitops_ml.report import markers
from tests.ghserver import GitHubServer
from tests.report_fixtures import HEAD_SHA
from tests.test_comment import REPO, TOKEN, env_for, make_report, run_event

FAST = ClientSettings(retries=1, backoff=0, max_retry_after=5, secondary_rate_wait=0,
                      seconds_between_requests=None, seconds_between_writes=None, timeout=10)


@pytest.fixture
def server() -> Iterator[GitHubServer]:
    with GitHubServer(token=TOKEN) as gh:
        gh.add_repo(REPO)
        gh.add_pull(REPO, 12, head_sha=HEAD_SHA, head_repo="someone/models-fork")
        yield gh


def test_a_persons_comment_carrying_the_marker_is_never_edited_or_deleted(server) -> None:
    """An Actions token: our comments are github-actions[bot]'s; mallory's are not ours."""
    forged = [f"{marker('churn')}\nmallory's fake report", f"{marker('churn')}\nand a 2nd"]
    server.add_comments(REPO, 12, forged, login="mallory")
    client = GitHubClient(TOKEN, api_url=server.url, settings=FAST)
    first = upsert_sticky_comment(client, REPO, 12, "churn", "the real report")
    assert first.action == "created" and first.removed_duplicates == 0
    second = upsert_sticky_comment(client, REPO, 12, "churn", "the real report, v2")
    assert second.action == "updated" and second.comment_id == first.comment_id
    comments = server.comments_on(REPO, 12)
    by = {c["user"]["login"]: [] for c in comments}
    for c in comments:
        by[c["user"]["login"]].append(c["body"])
    assert by["mallory"] == forged
    assert by["github-actions[bot]"] == [f"{marker('churn')}\nthe real report, v2"]
    assert server.count("GET", r"^/user$") == 0  # an Actions token never asks who it is


def test_a_personal_token_finds_its_own_comments_by_get_user(server) -> None:
    server.add_token("ghp_alice", login="alice")
    server.add_comments(REPO, 12, [f"{marker('churn')}\nbob's"], login="bob")
    client = GitHubClient("ghp_alice", api_url=server.url, settings=FAST)
    first = upsert_sticky_comment(client, REPO, 12, "churn", "v1")
    second = upsert_sticky_comment(client, REPO, 12, "churn", "v2")
    assert (first.action, second.action) == ("created", "updated")
    bodies = {c["user"]["login"]: c["body"] for c in server.comments_on(REPO, 12)}
    assert bodies == {"bob": f"{marker('churn')}\nbob's", "alice": f"{marker('churn')}\nv2"}
    assert server.count("GET", r"^/user$") == 1  # asked once per client


def test_a_marker_in_the_middle_of_our_own_comment_does_not_make_it_sticky(server) -> None:
    client = GitHubClient(TOKEN, api_url=server.url, settings=FAST)
    upsert_sticky_comment(client, REPO, 12, "churn", f"text {marker('fraud')} text")
    fraud = upsert_sticky_comment(client, REPO, 12, "fraud", "fraud's report")
    assert fraud.action == "created"
    assert len(server.comments_on(REPO, 12)) == 2


NESTED = "<!-- gitops<!-- gitops-ml:model=fraud -->-ml:model=fraud -->"


@pytest.mark.parametrize("text", [
    NESTED,
    "<!--gitops-ml:model=fraud -->",
    "<!--   GITOPS-ML:model=fraud -->",
    "<!-- gitops<!-- gitops<!-- gitops-ml -->-ml -->-ml:model=fraud -->",
])
def test_markers_are_neutralised_to_a_fixed_point(text: str) -> None:
    once = markers.sanitise(text)
    assert re.search(r"<!--\s*gitops-ml", once, re.IGNORECASE) is None, once
    assert markers.sanitise(once) == once


def test_a_nested_marker_in_a_bundle_cannot_take_over_another_models_comment(
        tmp_path, gml, server) -> None:
    make_report(tmp_path, gml, bundle=tmp_path / "b")
    report = tmp_path / "b" / "report.md"
    report.write_text(report.read_text() + f"\n{NESTED}\n")
    env = env_for(server, run_event(tmp_path, [12]))
    r = gml("comment", "--from-bundle", tmp_path / "b", cwd=tmp_path, env=env)
    assert r.exit_code in (0, ExitCode.GATES_FAILED), r.output
    (churn,) = server.comments_on(REPO, 12)
    assert marker("fraud") not in churn["body"]
    client = GitHubClient(TOKEN, api_url=server.url, settings=FAST)
    assert upsert_sticky_comment(client, REPO, 12, "fraud", "fraud").action == "created"
    assert server.comments_on(REPO, 12)[0]["body"] == churn["body"]


def test_mentions_and_remote_images_are_neutralised(tmp_path, gml, server) -> None:
    make_report(tmp_path, gml, bundle=tmp_path / "b")
    report = tmp_path / "b" / "report.md"
    report.write_text(report.read_text() + "\ncc @acme/security-team and @octocat "
                      "![pixel](https://evil.example/p.png) <img src=https://evil.example/i> "
                      "mail me at a@b.example\n")
    r = gml("comment", "--from-bundle", tmp_path / "b", cwd=tmp_path,
            env=env_for(server, run_event(tmp_path, [12])))
    assert r.exit_code in (0, ExitCode.GATES_FAILED), r.output
    body = server.comments_on(REPO, 12)[0]["body"]
    assert "@acme" not in body and "@octocat" not in body
    assert f"@{markers.ZWJ}acme/security-team" in body
    assert "![" not in body and "<img" not in body
    assert "[pixel](https://evil.example/p.png)" in body  # a link a reader may choose to follow
    assert "a@b.example" in body  # not a mention: left alone


def test_the_status_follows_the_gate_verdicts_not_a_free_field(tmp_path, gml, server) -> None:
    """The fixture's gates fail. A bundle claiming success in its metadata, or in its report's
    marker, is refused; no status is set and nothing is posted."""
    make_report(tmp_path, gml, bundle=tmp_path / "b")
    meta_path = tmp_path / "b" / "metadata.json"
    good = meta_path.read_text()
    meta = json.loads(good)
    assert meta["gate_outcome"] == "failed"
    env = env_for(server, run_event(tmp_path, [12]))
    meta["gate_outcome"] = "passed"
    meta_path.write_text(json.dumps(meta))
    r = gml("comment", "--from-bundle", tmp_path / "b", cwd=tmp_path, env=env)
    assert r.exit_code == ExitCode.UNTRUSTED and "its gates say failed" in r.stderr
    meta["gates"] = [{**g, "passed": True} for g in meta["gates"]]  # consistent, but ...
    meta_path.write_text(json.dumps(meta))
    r = gml("comment", "--from-bundle", tmp_path / "b", cwd=tmp_path, env=env)
    assert r.exit_code == ExitCode.UNTRUSTED  # ... the report still says the gates failed
    assert "the report and metadata.json disagree" in r.stderr
    assert server.count() == 0
    meta_path.write_text(good)
    r = gml("comment", "--from-bundle", tmp_path / "b", cwd=tmp_path, env=env)
    assert r.exit_code in (0, ExitCode.GATES_FAILED), r.output
    repo = server.repos[REPO]
    verdicts = [s["state"] for s in repo.statuses if s["sha"] == HEAD_SHA] + [
        c["conclusion"] for c in repo.check_runs if c["head_sha"] == HEAD_SHA]
    assert verdicts and all(v == "failure" for v in verdicts), verdicts


def test_a_deleted_fork_is_refused(tmp_path, gml, server) -> None:
    server.repos[REPO].pulls[12]["head"]["repo"] = None  # GitHub's answer once a fork is gone
    make_report(tmp_path, gml, bundle=tmp_path / "b")
    r = gml("comment", "--from-bundle", tmp_path / "b", cwd=tmp_path,
            env=env_for(server, run_event(tmp_path, [])))
    assert r.exit_code == ExitCode.UNTRUSTED, r.output
    assert "head repository is unknown" in r.stderr
    assert server.comments_on(REPO, 12) == []


def test_deeply_nested_metadata_is_a_bundle_error(tmp_path, gml, server) -> None:
    make_report(tmp_path, gml, bundle=tmp_path / "b")
    (tmp_path / "b" / "metadata.json").write_text("[" * 8000 + "]" * 8000)
    r = gml("comment", "--from-bundle", tmp_path / "b", cwd=tmp_path,
            env=env_for(server, run_event(tmp_path, [12])))
    assert r.exit_code == ExitCode.UNTRUSTED, r.output
    assert "nested too deeply" in r.stderr and "Traceback" not in r.output


def test_a_persons_issue_carrying_the_drift_marker_is_never_edited_or_closed(server) -> None:
    from gitops_ml.github.monitor_issue import issue_marker, sync_drift_issue

    forged = server.add_issue(REPO, "Drift: churn", f"{issue_marker('churn')}\nfake",
                              login="mallory", labels=("gitops-ml",))
    client = GitHubClient(TOKEN, api_url=server.url, settings=FAST)
    opened = sync_drift_issue(client, REPO, "churn", drifted=True, title="Drift: churn",
                              body="real drift")
    assert opened.action == "opened" and opened.number != forged["number"]
    closed = sync_drift_issue(client, REPO, "churn", drifted=False, title="Drift: churn",
                              body="", resolved_comment="gone")
    assert closed.action == "closed" and closed.number == opened.number
    mine = server.repos[REPO].issues[forged["number"]]
    assert (mine["state"], mine["title"], mine["body"]) == (
        "open", "Drift: churn", f"{issue_marker('churn')}\nfake")
