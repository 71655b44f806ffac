"""``gitops-ml comment --from-bundle`` after a pull request run that uploaded no bundle (it
affected no model): download-artifact v7 creates no folder for zero matches. That is not an
error: it succeeds, sends no request, and says so."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ghserver import GitHubServer

TOKEN = "ghs_nothingTOKEN_0123"
REPO = "acme/models"
HEAD = "c" * 40


@pytest.fixture
def server() -> Iterator[GitHubServer]:
    with GitHubServer(token=TOKEN) as gh:
        gh.add_pull(REPO, 5, head_sha=HEAD)
        yield gh


def env(server: GitHubServer, tmp_path: Path) -> dict[str, str]:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"action": "completed", "workflow_run": {
        "id": 99, "event": "pull_request", "conclusion": "success", "head_sha": HEAD,
        "pull_requests": [{"number": 5}], "head_repository": {"full_name": REPO}}}))
    return {"GITHUB_TOKEN": TOKEN, "GITHUB_API_URL": server.url, "GITHUB_REPOSITORY": REPO,
            "GITHUB_EVENT_PATH": str(event), "GITOPS_ML_GITHUB_SECONDS_BETWEEN_REQUESTS": "0",
            "GITOPS_ML_GITHUB_SECONDS_BETWEEN_WRITES": "0"}


@pytest.mark.parametrize("made", [False, True], ids=["no-folder", "empty-folder"])
def test_no_bundle_is_nothing_to_post(tmp_path: Path, gml, server, made: bool) -> None:
    bundles = tmp_path / "gitops-ml-bundles"
    if made:
        bundles.mkdir()
    r = gml("comment", "--from-bundle", bundles, cwd=tmp_path, env=env(server, tmp_path))
    assert r.exit_code == 0, r.output
    assert f"nothing to post: no report bundle in {bundles}" in r.stdout
    assert server.count() == 0  # no request at all
    r = gml("comment", "--from-bundle", bundles, "-o", "json", cwd=tmp_path,
            env=env(server, tmp_path))
    assert r.exit_code == 0
    assert r.json()["result"]["posted"] == []
    assert "nothing to post" in r.stderr


def test_a_folder_with_something_else_is_still_checked(tmp_path: Path, gml, server) -> None:
    bundles = tmp_path / "gitops-ml-bundles"
    (bundles / "gitops-ml-bundle-churn").mkdir(parents=True)
    (bundles / "gitops-ml-bundle-churn" / "report.md").write_text("no metadata")
    r = gml("comment", "--from-bundle", bundles, cwd=tmp_path, env=env(server, tmp_path))
    assert r.exit_code != 0
    assert "no report bundle" in r.stderr
    assert server.count() == 0
