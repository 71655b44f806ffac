"""The gate outcome on the commit: a check run when the token may create one (a GitHub App
token, such as the Actions ``GITHUB_TOKEN``), else a commit status ``gitops-ml/<model>``."""

from __future__ import annotations

from dataclasses import dataclass

from github import GithubException

from gitops_ml.github.client import GitHubClient


@dataclass(frozen=True)
class StatusResult:
    kind: str  # "check_run" | "status"
    context: str
    state: str  # success | failure | error | pending
    sha: str


def context_name(model: str) -> str:
    return f"gitops-ml/{model}"


def set_gate_status(client: GitHubClient, repo: str, sha: str, model: str, *, passed: bool,
                    description: str, details_url: str | None = None,
                    summary: str = "", prefer_check_run: bool = True) -> StatusResult:
    """Record the gate outcome of ``model`` on commit ``sha``."""
    context = context_name(model)
    description = description[:140]  # GitHub's limit for a status description
    state = "success" if passed else "failure"
    r = client.repo(repo)
    if prefer_check_run:
        with client.translate(f"creating check run {context}", permission="checks: write"):
            output: dict[str, str | list[dict[str, str | int]]] = {
                "title": description, "summary": summary[:65535] or description}
            try:
                if details_url:
                    r.create_check_run(name=context, head_sha=sha, status="completed",
                                       conclusion=state, output=output, details_url=details_url)
                else:
                    r.create_check_run(name=context, head_sha=sha, status="completed",
                                       conclusion=state, output=output)
                return StatusResult("check_run", context, state, sha)
            except GithubException as exc:
                # 403: not a GitHub App token (a PAT cannot create check runs): use a status
                if exc.status != 403 or "rate limit" in str(exc.message or "").lower():
                    raise
    with client.translate(f"setting commit status {context} on {sha[:12]}",
                          permission="statuses: write", missing=f"commit {sha[:12]} of {repo}"):
        commit = r.get_commit(sha)  # lazy: no request
        if details_url:
            commit.create_status(state, target_url=details_url, description=description,
                                 context=context)
        else:
            commit.create_status(state, description=description, context=context)
    return StatusResult("status", context, state, sha)
