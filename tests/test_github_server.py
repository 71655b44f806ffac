"""The GitHub-compatible test server is as strict as GitHub, and the adapter copes with it:
token permissions computed from the workflow YAML, identities, error bodies shaped like
GitHub's REST description, Releases with assets, and labels GitHub drops."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from github import Auth, Github, GithubException

from gitops_ml.errors import GitHubError
from gitops_ml.github import ClientSettings, GitHubClient
from gitops_ml.github.checks import set_gate_status
from gitops_ml.github.comments import upsert_sticky_comment
from gitops_ml.github.monitor_issue import LABEL, sync_drift_issue
from gitops_ml.github.releases import create_release
from tests.ghserver import NOT_ACCESSIBLE, GitHubServer, workflow_token_permissions

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
TEMPLATES = ROOT / "gitops_ml" / "templates" / "init" / "common" / "dot-github" / "workflows"
ACTIONS_TOKEN = "ghs_jobTOKEN0123456789"
PERSONAL_TOKEN = "ghp_personalTOKEN0123456789"
REPO = "acme/models"
SHA = "b" * 40
FAST = ClientSettings(retries=2, backoff=0, max_retry_after=5, secondary_rate_wait=0,
                      seconds_between_requests=None, seconds_between_writes=None, timeout=10)


@pytest.fixture
def server() -> Iterator[GitHubServer]:
    with GitHubServer(token=ACTIONS_TOKEN) as gh:
        gh.add_token(PERSONAL_TOKEN, login="alice")
        gh.add_repo(REPO)
        gh.add_pull(REPO, 7, head_sha=SHA)
        yield gh


def client(server: GitHubServer, token: str = ACTIONS_TOKEN) -> GitHubClient:
    return GitHubClient(token, api_url=server.url, settings=FAST)


def caller(name: str) -> dict[str, object]:
    """An init caller workflow, as `init` writes it."""
    import yaml

    from gitops_ml.scaffold import render_scaffold

    doc = yaml.safe_load(render_scaffold("classification")[1][f".github/workflows/{name}"])
    return {("on" if key is True else key): value for key, value in doc.items()}


def job_token(server: GitHubServer, caller_file: str, callee_file: str, job: str,
              value: str) -> dict[str, str]:
    """Register a token with the permissions GitHub gives ``job`` of ``callee_file`` when
    called from the init caller ``caller_file``."""
    calling = caller(caller_file)
    (caller_job,) = calling["jobs"]  # type: ignore[misc]
    granted = workflow_token_permissions(calling, caller_job, WORKFLOWS / callee_file, job)
    server.add_token(value, permissions=granted)
    return granted


# --- permissions computed from the workflow YAML --------------------------------------------

def test_permissions_are_what_the_caller_grants_intersected_with_what_the_job_asks() -> None:
    calling = {"permissions": {"contents": "write", "issues": "read"},
               "jobs": {"call": {"uses": "x/y/.github/workflows/z.yml@v1"}}}
    called = {"permissions": {"contents": "read"},
              "jobs": {"a": {"permissions": {"contents": "write", "issues": "write",
                                             "checks": "write"}},
                       "b": {}}}
    assert workflow_token_permissions(calling, "call", called, "a") == {
        "contents": "write", "issues": "read"}  # checks: not granted by the caller
    assert workflow_token_permissions(calling, "call", called, "b") == {"contents": "read"}
    # a caller job's own permissions win over its workflow's
    calling["jobs"]["call"]["permissions"] = {"contents": "read"}
    assert workflow_token_permissions(calling, "call", called, "a") == {"contents": "read"}
    # nothing declared anywhere: GitHub's restricted default
    assert workflow_token_permissions({"jobs": {"j": {}}}, "j") == {"contents": "read",
                                                                  "packages": "read"}
    assert workflow_token_permissions({"permissions": "write-all", "jobs": {"j": {}}},
                                      "j")["checks"] == "write"
    with pytest.raises(ValueError, match="not a permission: content: read"):
        workflow_token_permissions({"permissions": {"content": "read"}, "jobs": {"j": {}}}, "j")


def test_outside_its_permissions_a_job_token_gets_403_not_accessible(server) -> None:
    """The pull request workflow's token is read-only: it cannot comment."""
    granted = job_token(server, "ml-pull-request.yml", "pull-request.yml", "model", "ghs_pr")
    assert granted == {"contents": "read"}
    with pytest.raises(GitHubError) as err:
        upsert_sticky_comment(client(server, "ghs_pr"), REPO, 7, "churn", "report")
    assert f"403: {NOT_ACCESSIBLE}" in err.value.message
    assert "pull-requests: write" in err.value.hint
    assert server.comments_on(REPO, 7) == []


def test_the_comment_job_token_may_comment_and_create_check_runs(server) -> None:
    """comment.yml creates check runs: its token must hold checks: write (granted by the
    init caller and asked for by the job), or GitHub refuses and no check run ever appears."""
    granted = job_token(server, "ml-comment.yml", "comment.yml", "comment", "ghs_comment")
    assert granted.get("checks") == "write", granted
    c = client(server, "ghs_comment")
    assert upsert_sticky_comment(c, REPO, 7, "churn", "report").action == "created"
    result = set_gate_status(c, REPO, SHA, "churn", passed=True, description="ok")
    assert result.kind == "check_run"
    assert server.repos[REPO].check_runs[0]["name"] == "gitops-ml/churn"


def test_check_runs_need_checks_write(server) -> None:
    server.add_token("ghs_nochecks", permissions={"statuses": "write"})
    result = set_gate_status(client(server, "ghs_nochecks"), REPO, SHA, "churn", passed=False,
                             description="a gate failed")
    assert result.kind == "status"  # the documented fallback, and only with statuses: write
    assert server.repos[REPO].check_runs == []
    server.add_token("ghs_nothing", permissions={"contents": "read"})
    with pytest.raises(GitHubError) as err:
        set_gate_status(client(server, "ghs_nothing"), REPO, SHA, "churn", passed=True,
                        description="ok")
    assert "statuses: write" in err.value.hint


def test_a_personal_token_never_creates_check_runs(server) -> None:
    result = set_gate_status(client(server, PERSONAL_TOKEN), REPO, SHA, "churn", passed=True,
                             description="ok")
    assert result.kind == "status"
    assert server.repos[REPO].check_runs == []


# --- identities -----------------------------------------------------------------------------

def test_an_actions_token_is_no_user_and_writes_as_github_actions_bot(server) -> None:
    gh = Github(auth=Auth.Token(ACTIONS_TOKEN), base_url=server.url, retry=None)
    with pytest.raises(GithubException) as err:
        _ = gh.get_user().login
    assert err.value.status == 403 and err.value.data["message"] == NOT_ACCESSIBLE
    upsert_sticky_comment(client(server), REPO, 7, "churn", "report")
    (comment,) = server.comments_on(REPO, 7)
    assert comment["user"]["login"] == "github-actions[bot]"
    assert comment["user"]["type"] == "Bot"


def test_a_personal_token_is_the_user_of_get_user(server) -> None:
    gh = Github(auth=Auth.Token(PERSONAL_TOKEN), base_url=server.url, retry=None)
    assert gh.get_user().login == "alice"
    upsert_sticky_comment(client(server, PERSONAL_TOKEN), REPO, 7, "churn", "report")
    (comment,) = server.comments_on(REPO, 7)
    assert (comment["user"]["login"], comment["user"]["type"]) == ("alice", "User")


def test_an_unknown_token_is_401_bad_credentials(server) -> None:
    answer = requests.get(f"{server.url}/repos/{REPO}",
                          headers={"Authorization": "token nope"}, timeout=10)
    assert answer.status_code == 401 and answer.json()["message"] == "Bad credentials"


# --- error bodies as in GitHub's REST description --------------------------------------------

def test_error_bodies_have_the_shapes_of_the_rest_description(server) -> None:
    auth = {"Authorization": f"token {ACTIONS_TOKEN}"}
    missing = requests.get(f"{server.url}/repos/{REPO}/pulls/999", headers=auth, timeout=10)
    assert missing.status_code == 404
    assert set(missing.json()) == {"message", "documentation_url", "status"}  # basic-error
    assert missing.json()["status"] == "404"
    server.add_token("ghs_ro", permissions={"contents": "read"})
    refused = requests.post(f"{server.url}/repos/{REPO}/issues/7/comments",
                            headers={"Authorization": "token ghs_ro"}, json={"body": "x"},
                            timeout=10)
    assert refused.status_code == 403
    assert refused.json()["message"] == NOT_ACCESSIBLE
    assert refused.json()["documentation_url"].endswith("#create-an-issue-comment")
    server.body_limit = 10
    invalid = requests.post(f"{server.url}/repos/{REPO}/issues/7/comments", headers=auth,
                            json={"body": "x" * 11}, timeout=10)
    assert invalid.status_code == 422
    body = invalid.json()  # validation-error: the reason is in errors[].message
    assert body["message"] == "Validation Failed"
    assert body["errors"] == [{"resource": "IssueComment", "field": "body", "code": "custom",
                               "message": "body is too long (maximum is 10 characters)"}]


def test_a_duplicate_release_is_422_already_exists_in_errors(server) -> None:
    auth = {"Authorization": f"token {ACTIONS_TOKEN}"}
    url = f"{server.url}/repos/{REPO}/releases"
    assert requests.post(url, headers=auth, json={"tag_name": "m@v1"}, timeout=10).ok
    again = requests.post(url, headers=auth, json={"tag_name": "m@v1"}, timeout=10)
    assert again.status_code == 422
    assert again.json()["errors"] == [{"resource": "Release", "field": "tag_name",
                                       "code": "already_exists"}]


def test_pages_carry_link_headers(server) -> None:
    server.add_comments(REPO, 7, [f"c{i}" for i in range(5)])
    answer = requests.get(f"{server.url}/repos/{REPO}/issues/7/comments?per_page=2&page=2",
                          headers={"Authorization": f"token {ACTIONS_TOKEN}"}, timeout=10)
    link = answer.headers["Link"]
    assert 'page=3>; rel="next"' in link and 'page=3>; rel="last"' in link
    assert 'page=1>; rel="first"' in link and 'page=1>; rel="prev"' in link
    assert "_accept" not in link
    assert [c["body"] for c in answer.json()] == ["c2", "c3"]


# --- Releases and their assets, for the Release store ----------------------------------------

def test_releases_serve_their_assets(server, tmp_path: Path) -> None:
    artifact = tmp_path / "model.skops"
    artifact.write_bytes(bytes(range(256)) * 40)
    result = create_release(REPO, "churn@v1.0.0", "churn v1.0.0", "notes", [artifact],
                            client=client(server))
    gh = Github(auth=Auth.Token(ACTIONS_TOKEN), base_url=server.url, retry=None, lazy=True)
    repo = gh.get_repo(REPO)
    release = repo.get_release("churn@v1.0.0")  # by tag
    assert release.id == result.release_id
    assert [r.tag_name for r in repo.get_releases()] == ["churn@v1.0.0"]
    (asset,) = release.get_assets()
    assert asset.name == "model.skops" and asset.size == artifact.stat().st_size
    assert asset.digest == f"sha256:{hashlib.sha256(artifact.read_bytes()).hexdigest()}"
    target = tmp_path / "downloaded"
    asset.download_asset(str(target))  # Accept: octet-stream, then GitHub's redirect
    assert target.read_bytes() == artifact.read_bytes()
    public = requests.get(asset.browser_download_url, timeout=10)
    assert public.content == artifact.read_bytes()
    # reading needs contents: read; writing contents: write
    server.add_token("ghs_noread", permissions={"issues": "write"})
    with pytest.raises(GithubException) as err:
        Github(auth=Auth.Token("ghs_noread"), base_url=server.url, retry=None, lazy=True) \
            .get_repo(REPO).get_release("churn@v1.0.0")
    assert err.value.status == 403
    server.add_token("ghs_read", permissions={"contents": "read"})
    with pytest.raises(GitHubError) as gerr:
        create_release(REPO, "churn@v2.0.0", "v2", "", [artifact],
                       client=client(server, "ghs_read"))
    assert "contents: write" in gerr.value.hint


# --- labels GitHub drops ---------------------------------------------------------------------

def test_dropped_labels_are_added_back_and_no_second_issue_is_opened(server) -> None:
    """Without push access GitHub drops a new issue's labels; the monitor adds them back,
    and the next run updates the same issue instead of opening another."""
    server.drop_issue_labels = True
    c = client(server)
    opened = sync_drift_issue(c, REPO, "churn", drifted=True, title="Drift: churn", body="3")
    issue = server.repos[REPO].issues[opened.number]
    assert [label["name"] for label in issue["labels"]] == [LABEL]
    again = sync_drift_issue(c, REPO, "churn", drifted=True, title="Drift: churn", body="4")
    assert (again.action, again.number) == ("updated", opened.number)
    assert [i for i in server.repos[REPO].issues.values() if "pull_request" not in i] == [issue]


def test_an_issue_that_lost_its_label_is_still_found(server) -> None:
    c = client(server)
    opened = sync_drift_issue(c, REPO, "churn", drifted=True, title="Drift: churn", body="3")
    server.repos[REPO].issues[opened.number]["labels"] = []  # someone removed it
    again = sync_drift_issue(c, REPO, "churn", drifted=True, title="Drift: churn", body="4")
    assert (again.action, again.number) == ("updated", opened.number)
    assert server.repos[REPO].issues[opened.number]["labels"] == [{"name": LABEL}]
    closed = sync_drift_issue(c, REPO, "churn", drifted=False, title="", body="")
    assert closed.action == "closed"


# --- the gh stand-in of the e2e tests ---------------------------------------------------------

def test_the_gh_stand_in_answers_promotes_look_up(server) -> None:
    """promote.yml's two gh calls, with a promote job's token: the pull request of a merge
    commit, then its pull request run; a token without actions: read is refused like gh."""
    import os
    import subprocess
    import sys

    gh = ROOT / "tests" / "e2e" / "stubs" / "bin" / "gh"
    server.repos[REPO].pulls[7]["merge_commit_sha"] = "e" * 40
    server.add_workflow_run(REPO, "ml-pull-request.yml", 4242, head_sha=SHA)
    server.add_workflow_run(REPO, "ml-pull-request.yml", 4243, head_sha="9" * 40)
    server.add_token("ghs_promote", permissions={"contents": "write", "actions": "read",
                                                 "pull-requests": "read"})
    env = {**os.environ, "GITHUB_API_URL": server.url, "GH_TOKEN": "ghs_promote"}

    def run(*args: str, token: str = "ghs_promote") -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, str(gh), *args], capture_output=True, text=True,
                              env={**env, "GH_TOKEN": token})

    head = run("api", f"repos/{REPO}/commits/{'e' * 40}/pulls", "--jq", ".[0].head.sha // empty")
    assert (head.returncode, head.stdout.strip()) == (0, SHA)
    none = run("api", f"repos/{REPO}/commits/{'1' * 40}/pulls", "--jq", ".[0].head.sha // empty")
    assert (none.returncode, none.stdout) == (0, "\n")
    runs = run("run", "list", "-R", REPO, "--workflow", "ml-pull-request.yml", "--commit", SHA,
               "--limit", "1", "--json", "databaseId", "--jq", ".[0].databaseId // empty")
    assert (runs.returncode, runs.stdout.strip()) == (0, "4242")
    server.add_token("ghs_noactions", permissions={"pull-requests": "read"})
    refused = run("run", "list", "-R", REPO, "--workflow", "ml-pull-request.yml",
                  token="ghs_noactions")
    assert refused.returncode == 1 and NOT_ACCESSIBLE in refused.stderr
    unknown = run("pr", "view", "7")
    assert unknown.returncode == 2 and "not supported" in unknown.stderr
