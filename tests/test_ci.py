"""The CI context: read once from the Actions environment and the event payload."""

from __future__ import annotations

import json
from pathlib import Path

from gitops_ml.ci import NO_CI, CIContext


def event(tmp_path: Path, payload: object) -> str:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(payload))
    return str(path)


def test_a_pull_request_event(tmp_path: Path) -> None:
    path = event(tmp_path, {"pull_request": {
        "number": 12, "title": "Tune C", "head": {"sha": "a" * 40, "ref": "tune"},
        "merged_by": {"login": "bob"}}})
    ci = CIContext.from_env({
        "GITHUB_EVENT_PATH": path, "GITHUB_EVENT_NAME": "pull_request", "GITHUB_ACTOR": "carol",
        "GITHUB_REPOSITORY": "acme/models", "GITHUB_RUN_ID": "9", "GITHUB_SHA": "b" * 40,
        "GITHUB_SERVER_URL": "https://ghe.example", "GITHUB_STEP_SUMMARY": "/tmp/summary",
        "GITHUB_ACTIONS": "true"})
    assert ci == CIContext(pr=12, title="Tune C", head_sha="a" * 40, branch="tune",
                           actor="carol", merged_by="bob", repository="acme/models",
                           event="pull_request", sha="b" * 40,
                           run_url="https://ghe.example/acme/models/actions/runs/9",
                           step_summary="/tmp/summary", actions=True)
    assert ci.report_context() == {"pr": 12, "title": "Tune C", "head_sha": "a" * 40,
                                   "branch": "tune", "repository": "acme/models",
                                   "run_url": "https://ghe.example/acme/models/actions/runs/9"}


def test_outside_actions_everything_is_empty() -> None:
    assert CIContext.from_env({}) == NO_CI
    assert NO_CI.report_context() == {}


def test_a_push_event_has_no_pull_request_but_its_commit(tmp_path: Path) -> None:
    ci = CIContext.from_env({"GITHUB_EVENT_PATH": event(tmp_path, {"ref": "refs/heads/main"}),
                             "GITHUB_SHA": "c" * 40, "GITHUB_REPOSITORY": "acme/models",
                             "GITHUB_RUN_ID": "3"})
    assert (ci.pr, ci.head_sha, ci.sha) == (None, None, "c" * 40)
    assert ci.run_url == "https://github.com/acme/models/actions/runs/3"  # default server
    assert ci.report_context()["head_sha"] == "c" * 40


def test_an_unreadable_or_odd_event_is_ignored(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert CIContext.from_env({"GITHUB_EVENT_PATH": str(bad)}) == NO_CI
    assert CIContext.from_env({"GITHUB_EVENT_PATH": str(tmp_path / "missing.json")}) == NO_CI
    odd = event(tmp_path, {"pull_request": {"number": True, "head": "main", "title": 3}})
    assert CIContext.from_env({"GITHUB_EVENT_PATH": odd}) == NO_CI
    listed = event(tmp_path, ["not", "an", "object"])
    assert CIContext.from_env({"GITHUB_EVENT_PATH": listed}) == NO_CI


def test_options_override_what_the_event_says(tmp_path: Path) -> None:
    ci = CIContext(pr=1, head_sha="a" * 40)
    assert ci.but(pr=7, head_sha=None) == CIContext(pr=7, head_sha="a" * 40)
