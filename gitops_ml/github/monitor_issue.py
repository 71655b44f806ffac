"""One drift issue per model: opened (or updated) while drift lasts, closed when it is gone.

The issue is found by a hidden marker in its body among the open issues labelled
``gitops-ml`` (one listing, paged), so a rerun updates the issue instead of opening another.
GitHub silently drops the labels of a new issue when its creator lacks push (triage) access,
so the labels are checked after creation and added when they were dropped; and when no
labelled issue carries the marker, the open issues are searched once more without the label
(and the label put back), so a lost label never makes a run open a second issue. Only issues
written by the token's own identity whose body begins with the marker count (see
:func:`gitops_ml.github.comments.own_login`): an issue anyone else opens with the marker is
never edited, labelled or closed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from github.Issue import Issue

from gitops_ml.github.client import COMMENT_LIMIT, GitHubClient
from gitops_ml.github.comments import own_login

LABEL = "gitops-ml"
PERMISSION = "issues: write"


def issue_marker(model: str) -> str:
    from gitops_ml.report.markers import drift_issue_marker

    return drift_issue_marker(model)


@dataclass(frozen=True)
class IssueResult:
    action: str  # "opened" | "updated" | "closed" | "none"
    number: int | None
    url: str | None


def sync_drift_issue(client: GitHubClient, repo: str, model: str, *, drifted: bool,
                     title: str, body: str, resolved_comment: str = "") -> IssueResult:
    """Open or update the model's drift issue when ``drifted``; otherwise comment and close it."""
    mark = issue_marker(model)
    body = body if body.startswith(mark) else f"{mark}\n{body}"
    if len(body) > COMMENT_LIMIT:
        body = body[:COMMENT_LIMIT - 200] + "\n\n… (cut to fit GitHub's limit; the full " \
                                            "report is in the workflow's artifacts)\n"
    with client.translate(f"syncing the drift issue of {model} in {repo}",
                          permission=PERMISSION, missing=f"repository {repo}"):
        r = client.repo(repo)
        login = own_login(client)  # only our own issues: nobody else's is edited or closed

        def ours(issue: Issue) -> bool:
            return (issue.body or "").startswith(mark) and issue.user is not None \
                and issue.user.login == login

        found = [i for i in r.get_issues(state="open", labels=[LABEL]) if ours(i)]
        if not found:  # its label may have been dropped: look once without it
            found = [i for i in r.get_issues(state="open") if ours(i)]
            for issue in found:
                _ensure_label(issue)
        if drifted:
            if found:
                issue = found[0]
                if issue.body != body or issue.title != title:
                    issue.edit(title=title, body=body)
                return IssueResult("updated", issue.number, issue.html_url)
            issue = r.create_issue(title=title, body=body, labels=[LABEL])
            _ensure_label(issue)
            return IssueResult("opened", issue.number, issue.html_url)
        if not found:
            return IssueResult("none", None, None)
        for issue in found:
            issue.create_comment(resolved_comment or f"Drift for `{model}` is gone: closing.")
            issue.edit(state="closed", state_reason="completed")
        return IssueResult("closed", found[0].number, found[0].html_url)


def _ensure_label(issue: Issue) -> None:
    """Add the label when GitHub dropped it (the issue as returned shows its labels)."""
    if LABEL not in {label.name for label in issue.labels}:
        issue.add_to_labels(LABEL)


def sync_monitor_issue(result: Any, *, repo: str | None = None,
                       env: Mapping[str, str] | None = None,
                       client: GitHubClient | None = None) -> IssueResult:
    """``gitops-ml monitor --github-issue``: the drift issue of a monitor result
    (``drift_run.MonitorResult``: ``model``, ``drift_found``, ``drift``), in the repository of
    ``GITHUB_REPOSITORY`` unless ``repo`` is given. The body is the report's drift section
    (escaped like every report), within GitHub's size limit."""
    from gitops_ml.ci import CIContext
    from gitops_ml.errors import GitHubError
    from gitops_ml.report.view import ReportInputs, render_drift_issue

    env = os.environ if env is None else env
    repo = repo or env.get("GITHUB_REPOSITORY")
    if not repo:
        raise GitHubError("no repository for the drift issue",
                          hint="set GITHUB_REPOSITORY (Actions sets it) or pass "
                               "--github-repo OWNER/NAME")
    inputs = ReportInputs(result.model, None, None, result.drift.to_record(),
                          CIContext.from_env(env).report_context())
    title, body = render_drift_issue(inputs)
    client = client or GitHubClient.from_env(env)
    return sync_drift_issue(client, repo, result.model, drifted=bool(result.drift_found),
                            title=title, body=body)
