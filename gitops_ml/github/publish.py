"""``gitops-ml comment``: post a report as the model's sticky comment and record its gates.

Two ways in:

- a report file (``gitops-ml report --format md``) in a workflow whose token may comment;
- a bundle (``--from-bundle DIR``) in a privileged ``workflow_run`` workflow: the bundle is
  untrusted data from a pull request (possibly a fork). It is checked (size caps, exact schema,
  see :mod:`gitops_ml.report.bundle`) and its PR number and head SHA must match the triggering
  run's payload. For a fork, GitHub leaves ``workflow_run.pull_requests`` empty; then the PR is
  read from the API and its head SHA and head repository must match the run's (a deleted
  fork, whose head repository is null, is refused).

Either way the text is sanitised before it is posted (:func:`gitops_ml.report.markers.sanitise`:
no markers but ours, no @-mentions, no remote images), and the commit status is set from the
gate outcome the report's own markers and the bundle's gate verdicts agree on.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitops_ml.errors import BundleError, GitHubError
from gitops_ml.github.checks import StatusResult, set_gate_status
from gitops_ml.github.client import GitHubClient
from gitops_ml.github.comments import CommentResult, upsert_sticky_comment
from gitops_ml.report import markers
from gitops_ml.report.bundle import check_against_run, find_bundles, workflow_run_payload


@dataclass(frozen=True)
class Posted:
    model: str
    pr: int
    comment: CommentResult
    status: StatusResult | None
    gate_outcome: str


@dataclass(frozen=True)
class PublishResult:
    repo: str
    posted: tuple[Posted, ...] = field(default_factory=tuple)

    def text(self) -> str:
        lines = []
        for p in self.posted:
            status = f"; {p.status.kind} {p.status.context}: {p.status.state}" \
                if p.status else ""
            lines.append(f"{p.comment.action} comment for {p.model} on {self.repo}#{p.pr} "
                         f"({p.comment.chars:,} chars){status}  {p.comment.url}")
        return "\n".join(lines)


def _event(env: Mapping[str, str]) -> dict[str, Any]:
    path = env.get("GITHUB_EVENT_PATH")
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_bytes())
    except (OSError, ValueError) as exc:
        raise GitHubError(f"{path}: cannot read the event payload ({exc})") from None
    return data if isinstance(data, dict) else {}


def _clean(model: str, text: str, outcome: str | None) -> str:
    """The report body with our markers first and the text sanitised."""
    return markers.compose(model, text, outcome)


def publish_comment(*, repo: str | None = None, pr: int | None = None,
                    report_file: Path | None = None, from_bundle: Path | None = None,
                    model: str | None = None, sha: str | None = None, status: bool = True,
                    env: Mapping[str, str] | None = None,
                    client: GitHubClient | None = None) -> PublishResult:
    """Post a report file, or every bundle in ``from_bundle``, as sticky comments."""
    env = os.environ if env is None else env
    repo = repo or env.get("GITHUB_REPOSITORY")
    if not repo:
        raise GitHubError("no repository given", hint="pass --github-repo OWNER/NAME or set "
                                                      "GITHUB_REPOSITORY")
    event = _event(env)
    if from_bundle is not None:
        return _publish_bundles(repo, from_bundle, model, event, status, env, client)
    if report_file is None:
        raise GitHubError("nothing to post", hint="pass REPORT_FILE or --from-bundle DIR")
    try:
        text = Path(report_file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise GitHubError(f"{report_file}: cannot read the report ({exc})") from None
    raw_pull = event.get("pull_request")
    pull: dict[str, Any] = raw_pull if isinstance(raw_pull, dict) else {}
    pr = pr or pull.get("number")
    if not isinstance(pr, int):
        raise GitHubError("no pull request number", hint="pass --pr N, or run on a "
                                                         "pull_request event")
    named, gates, _ = markers.leading(text)
    if model is None:
        if named is None:
            raise GitHubError(f"{report_file}: no model marker at the start of the report",
                              hint="pass --model NAME, or post a file written by "
                                   "`gitops-ml report MODEL --format md`")
        model = named
    # the gates marker counts only when the report is this model's
    mine = named is not None and markers.model_marker(named) == markers.model_marker(model)
    outcome = (gates or "none") if mine else "none"
    client = client or GitHubClient.from_env(env)
    comment = upsert_sticky_comment(client, repo, pr, model,
                                    _clean(model, text, gates if mine else None))
    result = None
    if status and outcome != "none":
        head = sha
        if head is None and pull.get("number") == pr:
            head = (pull.get("head") or {}).get("sha")
        if not head:
            with client.translate(f"reading pull request #{pr} of {repo}",
                                  permission="pull-requests: read",
                                  missing=f"pull request #{pr} of {repo}"):
                head = client.repo(repo).get_pull(pr).head.sha
        result = _status(client, repo, head, model, outcome, env)
    return PublishResult(repo, (Posted(model, pr, comment, result, outcome),))


def _status(client: GitHubClient, repo: str, sha: str, model: str, outcome: str,
            env: Mapping[str, str]) -> StatusResult:
    passed = outcome == "passed"
    server, run_id = env.get("GITHUB_SERVER_URL"), env.get("GITHUB_RUN_ID")
    url = f"{server}/{repo}/actions/runs/{run_id}" if server and run_id else None
    return set_gate_status(client, repo, sha, model, passed=passed,
                           description="all gates passed" if passed else "a gate failed: "
                           "see the gitops-ml comment", details_url=url)


def _publish_bundles(repo: str, directory: Path, model: str | None, event: Mapping[str, Any],
                     status: bool, env: Mapping[str, str],
                     client: GitHubClient | None) -> PublishResult:
    if not event:
        raise BundleError("no triggering event to check the bundle against",
                          hint="run in a workflow `on: workflow_run` (GITHUB_EVENT_PATH)")
    numbers, head_sha, head_repo = workflow_run_payload(event)
    bundles = find_bundles(Path(directory), model)  # read and checked before any request
    for bundle in bundles:
        check_against_run(bundle, numbers, head_sha)
    client = client or GitHubClient.from_env(env)
    if not numbers:  # a fork: the payload lists no PR, so ask GitHub who this PR is
        for number in sorted({b.pr_number for b in bundles}):
            with client.translate(f"reading pull request #{number} of {repo}",
                                  permission="pull-requests: read",
                                  missing=f"pull request #{number} of {repo}"):
                pull = client.repo(repo).get_pull(number)
                pull_sha = pull.head.sha
                pull_repo = pull.head.repo.full_name if pull.head.repo else None
            if pull_repo is None or head_repo is None:
                raise BundleError(f"pull request #{number}: its head repository is unknown "
                                  "(a deleted fork, or a payload without head_repository), so "
                                  "the bundle cannot be tied to it; refused")
            if pull_sha != head_sha or pull_repo != head_repo:
                raise BundleError(f"pull request #{number} is at {pull_sha[:12]} from "
                                  f"{pull_repo}, but the triggering run built "
                                  f"{head_sha[:12]} from {head_repo}; refused")
    posted = []
    for bundle in bundles:
        comment = upsert_sticky_comment(client, repo, bundle.pr_number, bundle.model,
                                        _clean(bundle.model, bundle.report,
                                               bundle.gate_outcome))
        result = None
        if status and bundle.gate_outcome != "none":
            result = _status(client, repo, head_sha, bundle.model, bundle.gate_outcome, env)
        posted.append(Posted(bundle.model, bundle.pr_number, comment, result,
                             bundle.gate_outcome))
    return PublishResult(repo, tuple(posted))
