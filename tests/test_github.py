"""The GitHub adapter, driven through PyGithub over HTTP to the GitHub-compatible server."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitops_ml.errors import GitHubError
from gitops_ml.github import ClientSettings, GitHubClient
from gitops_ml.github.checks import set_gate_status
from gitops_ml.github.comments import marker, upsert_sticky_comment
from gitops_ml.github.monitor_issue import issue_marker, sync_drift_issue
from gitops_ml.github.releases import create_release
from tests.ghserver import GitHubServer

TOKEN = "ghs_SECRETtoken0123456789abcdef"
REPO = "acme/models"
SHA = "a" * 40
FAST = ClientSettings(retries=3, backoff=0, max_retry_after=5, secondary_rate_wait=0,
                      seconds_between_requests=None, seconds_between_writes=None, timeout=10)


@pytest.fixture
def server() -> Iterator[GitHubServer]:
    with GitHubServer(token=TOKEN) as gh:
        gh.add_repo(REPO)
        gh.add_pull(REPO, 7, head_sha=SHA)
        yield gh


@pytest.fixture
def client(server: GitHubServer) -> GitHubClient:
    return GitHubClient(TOKEN, api_url=server.url, settings=FAST)


def test_sticky_comment_is_created_then_updated(server, client):
    first = upsert_sticky_comment(client, REPO, 7, "churn", "report v1")
    assert first.action == "created"
    second = upsert_sticky_comment(client, REPO, 7, "churn", "report v2")
    assert second.action == "updated" and second.comment_id == first.comment_id
    comments = server.comments_on(REPO, 7)
    assert len(comments) == 1
    assert comments[0]["body"] == f"{marker('churn')}\nreport v2"
    third = upsert_sticky_comment(client, REPO, 7, "churn", "report v2")
    assert third.action == "unchanged"


def test_one_sticky_comment_per_model(server, client):
    upsert_sticky_comment(client, REPO, 7, "churn", "a")
    upsert_sticky_comment(client, REPO, 7, "fraud", "b")
    upsert_sticky_comment(client, REPO, 7, "churn", "c")
    bodies = sorted(c["body"] for c in server.comments_on(REPO, 7))
    assert bodies == [f"{marker('churn')}\nc", f"{marker('fraud')}\nb"]


def test_update_with_fewer_than_100_comments_takes_two_requests(server, client):
    server.add_comments(REPO, 7, [f"chatter {i}" for i in range(60)])
    upsert_sticky_comment(client, REPO, 7, "churn", "v1")
    server.add_comments(REPO, 7, [f"more {i}" for i in range(30)])
    server.reset_counts()
    assert upsert_sticky_comment(client, REPO, 7, "churn", "v2").action == "updated"
    assert server.count() == 2, server.counts()
    assert server.count("GET", r"/issues/7/comments$") == 1
    assert server.count("PATCH") == 1


def test_comments_are_paged_past_100(server, client):
    server.add_comments(REPO, 7, [f"chatter {i}" for i in range(150)])
    server.add_comments(REPO, 7, [f"{marker('churn')}\nold report"])
    server.add_comments(REPO, 7, [f"chatter {i}" for i in range(60)])
    server.reset_counts()
    result = upsert_sticky_comment(client, REPO, 7, "churn", "new report")
    assert result.action == "updated"
    assert server.count("GET", r"/issues/7/comments$") == 3  # 100 + 100 + 11
    assert server.count("POST") == 0
    assert len(server.comments_on(REPO, 7)) == 211


def test_duplicates_from_an_old_race_are_removed(server, client):
    server.add_comments(REPO, 7, [f"{marker('churn')}\none", f"{marker('churn')}\ntwo"])
    result = upsert_sticky_comment(client, REPO, 7, "churn", "three")
    assert result.removed_duplicates == 1
    assert [c["body"] for c in server.comments_on(REPO, 7)] == [f"{marker('churn')}\nthree"]


def test_502_on_a_create_that_was_applied_makes_no_duplicate(server, client):
    server.fail("POST", r"/issues/7/comments$", 502, applied=True)
    result = upsert_sticky_comment(client, REPO, 7, "churn", "report")
    assert result.action == "created"
    assert len(server.comments_on(REPO, 7)) == 1
    assert server.count("POST") == 1  # never resent blindly
    assert server.count("GET", r"/issues/7/comments$") == 2  # listed again after the 502


def test_502_on_a_create_that_was_not_applied_creates_once(server, client):
    server.fail("POST", r"/issues/7/comments$", 502)
    assert upsert_sticky_comment(client, REPO, 7, "churn", "report").action == "created"
    assert len(server.comments_on(REPO, 7)) == 1
    assert server.count("POST") == 2


def test_patch_is_retried_on_502(server, client):
    upsert_sticky_comment(client, REPO, 7, "churn", "v1")
    server.fail("PATCH", r"/issues/comments/\d+$", 502, times=2)
    assert upsert_sticky_comment(client, REPO, 7, "churn", "v2").action == "updated"
    assert server.count("PATCH") == 3
    assert server.comments_on(REPO, 7)[0]["body"].endswith("v2")


def test_repeated_502_becomes_one_github_error(server, client):
    server.fail("GET", r"/issues/7/comments$", 502, times=10)
    with pytest.raises(GitHubError) as err:
        upsert_sticky_comment(client, REPO, 7, "churn", "report")
    assert "kept answering with 502 responses" in err.value.message
    assert "rerun" in err.value.hint
    assert server.count("GET") == 1 + FAST.retries


def test_secondary_rate_limit_honours_retry_after(server, client):
    server.secondary_rate_limit("POST", r"/issues/7/comments$", retry_after=1)
    start = time.monotonic()
    assert upsert_sticky_comment(client, REPO, 7, "churn", "report").action == "created"
    assert time.monotonic() - start >= 1.0
    assert server.count("POST") == 2
    assert len(server.comments_on(REPO, 7)) == 1


def test_429_is_retried(server, client):
    server.fail("GET", r"/issues/7/comments$", 429, headers={"Retry-After": "0"})
    server.fail("PATCH", r"/issues/comments/", 429, headers={"Retry-After": "0"})
    upsert_sticky_comment(client, REPO, 7, "churn", "v1")
    assert upsert_sticky_comment(client, REPO, 7, "churn", "v2").action == "updated"
    assert server.count("GET") == 3 and server.count("PATCH") == 2


def test_rate_limit_that_does_not_end_is_one_error(server, client):
    server.secondary_rate_limit("GET", r"/issues/7/comments$", retry_after=0, times=10)
    with pytest.raises(GitHubError) as err:
        upsert_sticky_comment(client, REPO, 7, "churn", "v1")
    assert "403" in err.value.message or "rate limit" in err.value.one_line()


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits the retry policy computes, recorded instead of slept."""
    import urllib3.util.retry

    waits: list[float] = []
    monkeypatch.setattr(urllib3.util.retry.time, "sleep", waits.append)
    return waits


def documented(server: GitHubServer, **kw: float) -> GitHubClient:
    """A client with the default (documented) waits, and no pacing."""
    settings = ClientSettings(seconds_between_requests=None, seconds_between_writes=None,
                              backoff=0, **kw)  # type: ignore[arg-type]
    return GitHubClient(TOKEN, api_url=server.url, settings=settings)


def test_secondary_rate_limit_without_retry_after_waits_a_minute(server, sleeps):
    """GitHub: without retry-after, wait at least one minute before retrying."""
    server.secondary_rate_limit("POST", r"/issues/7/comments$", retry_after=None)
    assert upsert_sticky_comment(documented(server), REPO, 7, "churn", "r").action == "created"
    assert sleeps == [60.0]
    assert server.count("POST") == 2


def test_a_secondary_rate_limit_that_lasts_waits_longer_each_time(server, sleeps):
    server.secondary_rate_limit("GET", r"/issues/7/comments$", retry_after=None, times=2)
    assert upsert_sticky_comment(documented(server), REPO, 7, "churn", "r").action == "created"
    assert sleeps == [60.0, 120.0]


def test_a_long_retry_after_is_never_cut_short(server, sleeps):
    """Retrying before Retry-After has passed only burns the budget: it is an error at once."""
    server.fail("GET", r"/issues/7/comments$", 429, headers={"Retry-After": "3600"})
    with pytest.raises(GitHubError) as err:
        upsert_sticky_comment(documented(server), REPO, 7, "churn", "v1")
    assert sleeps == []
    assert server.count("GET") == 1
    assert "wait 3,600 s, more than the 300 s a job waits" in err.value.message
    assert "GITOPS_ML_GITHUB_MAX_RETRY_AFTER" in err.value.hint


def test_a_retry_after_within_the_limit_is_waited_in_full(server, sleeps):
    server.secondary_rate_limit("PATCH", r"/issues/comments/", retry_after=240)
    client = documented(server)
    upsert_sticky_comment(client, REPO, 7, "churn", "v1")
    assert upsert_sticky_comment(client, REPO, 7, "churn", "v2").action == "updated"
    assert sleeps == [240.0]


def test_body_too_long_is_refused_with_the_limit(server, client):
    server.body_limit = 1000
    with pytest.raises(GitHubError) as err:
        upsert_sticky_comment(client, REPO, 7, "churn", "x" * 2000)
    # GitHub puts the reason of a 422 in errors[].message, not in message
    assert "422: Validation Failed: body is too long (maximum is 1000 characters)" in \
        err.value.message
    assert "65,536" in err.value.hint


def test_body_over_65536_is_refused_before_sending(server, client):
    with pytest.raises(GitHubError) as err:
        upsert_sticky_comment(client, REPO, 7, "churn", "x" * 70000)
    assert "65,536" in err.value.message
    assert server.count() == 0


def test_bad_token_is_401_and_never_printed(server):
    bad = "ghp_WRONGtoken_do_not_print_42"
    client = GitHubClient(bad, api_url=server.url, settings=FAST)
    with pytest.raises(GitHubError) as err:
        upsert_sticky_comment(client, REPO, 7, "churn", "report")
    text = err.value.one_line()
    assert "401" in text and "expired" in text
    assert bad not in text and bad not in repr(client) and bad not in str(err.value.to_dict())


def test_missing_pull_request_is_404(server, client):
    with pytest.raises(GitHubError) as err:
        upsert_sticky_comment(client, REPO, 999, "churn", "report")
    assert "pull request #999 of acme/models not found" in err.value.message


def test_403_on_comment_names_the_permission(server, client):
    server.forbidden_writes.add("comments")
    with pytest.raises(GitHubError) as err:
        upsert_sticky_comment(client, REPO, 7, "churn", "report")
    assert err.value.hint == ("the token lacks pull-requests: write; add it to the workflow's "
                              "permissions")


def test_check_run_when_allowed(server, client):
    result = set_gate_status(client, REPO, SHA, "churn", passed=False, description="2 gates "
                             "failed")
    assert result.kind == "check_run" and result.state == "failure"
    run = server.repos[REPO].check_runs[0]
    assert run["name"] == "gitops-ml/churn" and run["conclusion"] == "failure"
    assert server.repos[REPO].statuses == []


def test_status_when_check_run_is_forbidden(server, client):
    server.check_runs_forbidden = True
    result = set_gate_status(client, REPO, SHA, "churn", passed=True, description="all gates "
                             "passed", details_url="https://example.com/run/1")
    assert result.kind == "status" and result.state == "success"
    status = server.repos[REPO].statuses[0]
    assert status["context"] == "gitops-ml/churn" and status["sha"] == SHA
    assert status["target_url"] == "https://example.com/run/1"


def test_status_forbidden_too_names_the_permission(server, client):
    server.check_runs_forbidden = True
    server.forbidden_writes.add("statuses")
    with pytest.raises(GitHubError) as err:
        set_gate_status(client, REPO, SHA, "churn", passed=True, description="ok")
    assert "statuses: write" in err.value.hint


def test_drift_issue_opened_updated_then_closed(server, client):
    opened = sync_drift_issue(client, REPO, "churn", drifted=True, title="Drift: churn",
                              body="3 columns drifted")
    assert opened.action == "opened"
    updated = sync_drift_issue(client, REPO, "churn", drifted=True, title="Drift: churn",
                               body="4 columns drifted")
    assert updated.action == "updated" and updated.number == opened.number
    other = sync_drift_issue(client, REPO, "fraud", drifted=True, title="Drift: fraud",
                             body="1 column drifted")
    assert other.number != opened.number
    issue = server.repos[REPO].issues[opened.number]
    assert issue["body"] == f"{issue_marker('churn')}\n4 columns drifted"
    closed = sync_drift_issue(client, REPO, "churn", drifted=False, title="", body="")
    assert closed.action == "closed" and issue["state"] == "closed"
    assert any(c["_issue"] == opened.number and "gone" in c["body"]
               for c in server.repos[REPO].comments.values())
    again = sync_drift_issue(client, REPO, "churn", drifted=False, title="", body="")
    assert again.action == "none"
    assert server.repos[REPO].issues[other.number]["state"] == "open"


def test_release_with_assets_and_rerun(server, client, tmp_path: Path):
    artifact = tmp_path / "model.skops"
    artifact.write_bytes(b"\x00model bytes" * 100)
    card = tmp_path / "model_card.md"
    card.write_text("# churn v1.0.0\n")
    result = create_release(REPO, "churn@v1.0.0", "churn v1.0.0", "card", [artifact, card],
                            client=client)
    assert result.created and [a.name for a in result.assets] == ["model.skops", "model_card.md"]
    assert server.repos[REPO].assets[next(iter(server.repos[REPO].assets))] == \
        artifact.read_bytes()
    again = create_release(REPO, "churn@v1.0.0", "churn v1.0.0", "card", [artifact, card],
                           client=client)
    assert not again.created and again.release_id == result.release_id
    assert len(server.repos[REPO].assets) == 2


def test_comment_deleted_between_listing_and_edit_is_recreated(server, client):
    upsert_sticky_comment(client, REPO, 7, "churn", "v1")
    server.fail("PATCH", r"/issues/comments/\d+$", 404)
    assert upsert_sticky_comment(client, REPO, 7, "churn", "v2").action == "created"
    assert [c["body"].splitlines()[-1] for c in server.comments_on(REPO, 7)] == ["v1", "v2"]


def test_settings_from_env():
    s = ClientSettings.from_env({"GITOPS_ML_GITHUB_RETRIES": "2",
                                 "GITOPS_ML_GITHUB_SECONDS_BETWEEN_REQUESTS": "0",
                                 "GITOPS_ML_GITHUB_MAX_RETRY_AFTER": "7.5"})
    assert (s.retries, s.seconds_between_requests, s.max_retry_after) == (2, None, 7.5)
    assert s.seconds_between_writes == 1.0  # default kept
    with pytest.raises(GitHubError) as err:
        ClientSettings.from_env({"GITOPS_ML_GITHUB_BACKOFF": "fast"})
    assert "GITOPS_ML_GITHUB_BACKOFF must be a number, got 'fast'" in err.value.message


def test_repository_name_is_checked(client):
    with pytest.raises(GitHubError) as err:
        upsert_sticky_comment(client, "not a repo", 7, "churn", "x")
    assert "not a repository name: 'not a repo'" in err.value.message
    assert "OWNER/NAME" in err.value.hint


def test_unreachable_api_is_one_error():
    client = GitHubClient(TOKEN, api_url="http://127.0.0.1:9", settings=FAST)
    with pytest.raises(GitHubError) as err:
        upsert_sticky_comment(client, REPO, 7, "churn", "x")
    assert "cannot reach GitHub at http://127.0.0.1:9" in err.value.message
