"""The CI context: who and what triggered this run, read once from the environment and the
event payload.

The CLI builds one :class:`CIContext` at the edge (:meth:`CIContext.from_env` over
``os.environ``) and passes it into the API verbs; nothing below the CLI reads ``GITHUB_*``
variables. Outside GitHub Actions every field is empty, and a test or the demo builds the
context it wants directly (``CIContext(pr=1, head_sha=...)``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

DEFAULT_SERVER = "https://github.com"


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _number(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _object(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def read_event(path: str | None) -> dict[str, Any]:
    """The event payload at ``path`` (``GITHUB_EVENT_PATH``); empty when there is none or it
    cannot be read (the context then simply lacks what the event would have said)."""
    if not path or not Path(path).is_file():
        return {}
    try:
        event = json.loads(Path(path).read_bytes())
    except (OSError, ValueError):
        return {}
    return event if isinstance(event, dict) else {}


@dataclass(frozen=True)
class CIContext:
    """What the Actions environment says about this run. Every field may be None.

    ``head_sha`` is the pull request's head commit (from the event, or ``--sha``/``--head-sha``);
    ``sha`` is ``GITHUB_SHA``, the commit the workflow runs on (a merge commit on
    ``pull_request``, the pushed commit on ``push``).
    """

    pr: int | None = None
    title: str | None = None
    head_sha: str | None = None
    branch: str | None = None
    actor: str | None = None
    merged_by: str | None = None
    repository: str | None = None
    event: str | None = None
    sha: str | None = None
    run_url: str | None = None
    step_summary: str | None = None
    actions: bool = False  # GITHUB_ACTIONS=true: running inside a workflow

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> CIContext:
        """Read ``GITHUB_*`` variables and the ``pull_request`` part of the event payload."""
        event = read_event(env.get("GITHUB_EVENT_PATH"))
        pr = _object(event.get("pull_request"))
        head, merged_by = _object(pr.get("head")), _object(pr.get("merged_by"))
        repository = _text(env.get("GITHUB_REPOSITORY"))
        run_id = _text(env.get("GITHUB_RUN_ID"))
        run_url = None
        if repository and run_id:
            server = _text(env.get("GITHUB_SERVER_URL")) or DEFAULT_SERVER
            run_url = f"{server}/{repository}/actions/runs/{run_id}"
        return cls(pr=_number(pr.get("number")), title=_text(pr.get("title")),
                   head_sha=_text(head.get("sha")), branch=_text(head.get("ref")),
                   actor=_text(env.get("GITHUB_ACTOR")), merged_by=_text(merged_by.get("login")),
                   repository=repository, event=_text(env.get("GITHUB_EVENT_NAME")),
                   sha=_text(env.get("GITHUB_SHA")), run_url=run_url,
                   step_summary=_text(env.get("GITHUB_STEP_SUMMARY")),
                   actions=env.get("GITHUB_ACTIONS") == "true")

    def but(self, **changes: Any) -> CIContext:
        """This context with the fields given (those that are not None) replaced: how
        command-line options such as ``--pr`` override what the event says."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def report_context(self) -> dict[str, Any]:
        """The fields the report shows (pull request, title, head commit, branch, run), the
        head commit falling back to ``GITHUB_SHA``."""
        ctx = {"pr": self.pr, "title": self.title, "head_sha": self.head_sha or self.sha,
               "branch": self.branch, "run_url": self.run_url, "repository": self.repository}
        return {k: v for k, v in ctx.items() if v is not None}


NO_CI = CIContext()
