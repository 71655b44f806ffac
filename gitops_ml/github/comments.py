"""One sticky pull-request comment per model, found by a hidden marker.

The comment is found by listing the pull request's comments (paged, 100 a page) before any
create. A create that fails with a 5xx may still have gone through, so the comments are listed
again before trying once more: a comment is never duplicated. Updating an existing comment on a
pull request with fewer than 100 comments costs two requests (one list, one PATCH): the
repository and issue objects are lazy and send nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from github import GithubException
from github.Issue import Issue
from github.IssueComment import IssueComment

from gitops_ml.errors import GitHubError
from gitops_ml.github.client import COMMENT_LIMIT, GitHubClient

PERMISSION = "pull-requests: write"


def marker(model: str) -> str:
    """The hidden marker that names a model's sticky comment."""
    safe = re.sub(r"[^A-Za-z0-9_.:/@+-]", "_", model)
    return f"<!-- gitops-ml:model={safe} -->"


@dataclass(frozen=True)
class CommentResult:
    action: str  # "created" | "updated" | "unchanged"
    comment_id: int
    url: str
    chars: int
    removed_duplicates: int = 0


def with_marker(model: str, body: str) -> str:
    mark = marker(model)
    return body if mark in body else f"{mark}\n{body}"


def find_sticky(issue: Issue, model: str) -> list[IssueComment]:
    """Every comment on ``issue`` that carries the model's marker, oldest first."""
    mark = marker(model)
    return [c for c in issue.get_comments() if mark in (c.body or "")]


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
        issue = client.repo(repo).get_issue(pr)  # lazy: no request
        found = find_sticky(issue, model)
        if not found:
            try:
                created = issue.create_comment(body)
                return CommentResult("created", created.id, created.html_url, len(body))
            except GithubException as exc:
                if exc.status < 500:
                    raise
            # a 5xx on a create may hide a comment that was made: look again before retrying
            found = find_sticky(issue, model)
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
