"""One sticky pull-request comment per model, found by its author and a hidden marker.

Only comments written by the token's own identity are candidates, so nobody else's comment is
ever edited or deleted, whatever it contains. An Actions token (an installation token,
``ghs_``) cannot call ``GET /user`` (403 "Resource not accessible by integration"); its
comments are by ``github-actions[bot]``. Any other token's identity is ``GET /user``, asked
once per client. The marker must begin the body (see :mod:`gitops_ml.report.markers`).

The comment is found by listing the pull request's comments (paged, 100 a page) before any
create. A create that fails with a 5xx may still have gone through, so the comments are listed
again before trying once more: a comment is never duplicated. Updating an existing comment on a
pull request with fewer than 100 comments costs two requests (one list, one PATCH): the
repository and issue objects are lazy and send nothing.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

from github import GithubException
from github.Issue import Issue
from github.IssueComment import IssueComment

from gitops_ml.errors import GitHubError
from gitops_ml.github.client import COMMENT_LIMIT, GitHubClient
from gitops_ml.report import markers

PERMISSION = "pull-requests: write"
ACTIONS_BOT = "github-actions[bot]"
_LOGINS: weakref.WeakKeyDictionary[GitHubClient, str] = weakref.WeakKeyDictionary()


def marker(model: str) -> str:
    """The hidden marker that names a model's sticky comment."""
    return markers.model_marker(model)


def own_login(client: GitHubClient) -> str:
    """The login that the client's token writes comments as."""
    login = _LOGINS.get(client)
    if login is None:
        if client._token.startswith("ghs_"):  # an installation (Actions) token: /user is 403
            login = ACTIONS_BOT
        else:
            try:
                login = str(client.github.get_user().login)
            except GithubException as exc:
                if exc.status != 403:
                    raise
                login = ACTIONS_BOT  # "Resource not accessible by integration"
        _LOGINS[client] = login
    return login


@dataclass(frozen=True)
class CommentResult:
    action: str  # "created" | "updated" | "unchanged"
    comment_id: int
    url: str
    chars: int
    removed_duplicates: int = 0


def with_marker(model: str, body: str) -> str:
    """``body`` beginning with the model's marker (and its gates marker, if it had one), with
    every other marker in it neutralised."""
    found, outcome, rest = markers.leading(body)
    mine = found is not None and markers.model_marker(found) == marker(model)
    head = marker(model) + "\n"
    if mine and outcome:
        head += markers.gates_marker(outcome) + "\n"
    return head + markers.neutralise_markers(rest if mine else body)


def find_sticky(issue: Issue, model: str, login: str) -> list[IssueComment]:
    """The comments on ``issue`` by ``login`` that begin with the model's marker, oldest
    first."""
    mark = marker(model) + "\n"
    return [c for c in issue.get_comments()
            if (c.body or "").startswith(mark) and c.user is not None and c.user.login == login]


def upsert_sticky_comment(client: GitHubClient, repo: str, pr: int, model: str,
                          body: str) -> CommentResult:
    """Create or update the model's sticky comment on pull request ``pr`` of ``repo``."""
    body = with_marker(model, body)
    if len(body) > COMMENT_LIMIT:
        raise GitHubError(f"the comment for {model} is {len(body):,} characters; GitHub's limit "
                          f"is {COMMENT_LIMIT:,}",
                          hint="post the Markdown from `gitops-ml report --format md`, which "
                               "always fits")
    where = f"commenting on pull request #{pr} of {repo}"
    missing = f"pull request #{pr} of {repo}"
    with client.translate(where, permission=PERMISSION, missing=missing):
        login = own_login(client)
        issue = client.repo(repo).get_issue(pr)  # lazy: no request
        found = find_sticky(issue, model, login)
        if not found:
            try:
                created = issue.create_comment(body)
                return CommentResult("created", created.id, created.html_url, len(body))
            except GithubException as exc:
                if exc.status < 500:
                    raise
            # a 5xx on a create may hide a comment that was made: look again before retrying
            found = find_sticky(issue, model, login)
            if not found:
                created = issue.create_comment(body)
                return CommentResult("created", created.id, created.html_url, len(body))
            if found[0].body == body and len(found) == 1:
                return CommentResult("created", found[0].id, found[0].html_url, len(body))
        keep, extra = found[0], found[1:]
        for dup in extra:  # left by an older race: one comment per model
            dup.delete()
        if keep.body == body:
            return CommentResult("unchanged", keep.id, keep.html_url, len(body), len(extra))
        try:
            keep.edit(body)
        except GithubException as exc:
            if exc.status != 404:
                raise
            # deleted between the listing and the edit (by a person or a parallel run)
            created = issue.create_comment(body)
            return CommentResult("created", created.id, created.html_url, len(body),
                                 len(extra))
        return CommentResult("updated", keep.id, keep.html_url, len(body), len(extra))
