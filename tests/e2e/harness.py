"""Run the reusable workflows with act the way hosted runners run them.

Nothing is shared between two workflow runs but what GitHub shares: the repository (a bare
``origin``), the GitHub API (tests/ghserver.py on 127.0.0.1) and the run artifacts (folders,
through the download/upload-artifact stand-ins). Each run (``Site.run``) gets

- a fresh clone of ``origin`` with every branch and tag, as ``actions/checkout`` with
  ``fetch-depth: 0`` gives them, checked out at the event's commit;
- an empty store (the store is gitignored, so a clone has none) and a fresh HOME with no git
  identity (act copies the clone into a new workspace for each job);
- the ``GITHUB_*`` variables and the event payload a real run would have, and its own run id;
- a GITHUB_TOKEN with the permissions GitHub would give the job, computed from the caller and
  the called workflow's YAML (:func:`tests.ghserver.workflow_token_permissions`);
- optionally another venv (``venv=``): the promote job in an environment where one library
  differs by a patch version.

``OWNER/gitops-ml@v1`` maps to a lean copy of this checkout; the third-party actions map to the
stand-ins in tests/e2e/stubs at the SHAs the YAML pins; ``gh`` is a stand-in on PATH that
answers from the test server. act prints each step's job summary in its log, where
``summaries`` reads it (never from act's temporary files, which it truncates per step).

The payload builders cover what the scenario needs: a pull request (same-repository or fork;
for a fork GitHub leaves ``workflow_run.pull_requests`` empty), a merge pushed to main, and
its ``workflow_run``. A scenario is a sequence of ``Site.run`` calls; see test_e2e_act.py.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.ghserver import GitHubServer, workflow_token_permissions

ROOT = Path(__file__).resolve().parents[2]
STUBS = Path(__file__).parent / "stubs"
VENV_BIN = Path(sys.executable).parent
VENV = VENV_BIN.parent
OWNER_REPO = "gitops-ml/gitops-ml"
REPOSITORY = "acme/models"
SUMMARY_MARK = "\u2699  Summary - "  # act prints each step's summary after this
ACT_LINE = re.compile(r"^\[[^\]\n]+/[^\]\n]+\] ")  # "[workflow/job] ...": act's own lines
_run_ids = itertools.count(5001)


def git(repo: Path, *args: str, env: Mapping[str, str] | None = None) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True, env=None if env is None else dict(env)).stdout.strip()


def excerpt(log: str) -> str:
    """What a failure message needs from an act log: the errors and failed steps, and the end."""
    keep = [line for line in log.splitlines()
            if "::error" in line or "Failure -" in line or "error:" in line]
    return "\n".join(keep[-40:]) + "\n...\n" + log[-3000:]


def act_step_failed(log: str, step: str) -> bool:
    """Whether act reported the step named ``step`` as failed (act's own log line).

    act 0.2.89 runs host steps under a pty and, when a step exits non-zero, returns without
    waiting for the pty's output to be copied (pkg/container/host_environment.go: `cmd.Run()`
    returns its error before `<-logctx.Done()`). Under load the last lines a failing step
    printed can be missing from the log: the `-n 2` flake of
    test_a_failed_gate_fails_the_check_but_still_reports also came from asserting such a line
    (its `::error` annotation). So tests look at act's own lines, at step outputs (act reads
    them from GITHUB_OUTPUT) and at files, never at what a failing step printed."""
    return f"\u274c  Failure - Main {step} [" in log


def summaries(log: str) -> list[str]:
    """The job summaries act printed, one per step that wrote one.

    act gives each step a fresh GITHUB_STEP_SUMMARY file and removes it with the job; it prints
    the content in its log when the step ends. Reading the log is exact; watching the file
    (as these tests once did, with inotify) raced with act's truncation under load and missed
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
        path.write_text(re.sub(r"uses: \$/actions/([a-z]+)",
                               rf"uses: {OWNER_REPO}/actions/\1@v1", text))
    return dest


def use_prepared_venv(workflow: Path, venv: Path = VENV,
                      extra: dict[str, str] | None = None) -> None:
    """Give a caller workflow `venv:` (and more inputs): the setup action then uses ``venv``
    instead of pip installing into a new one (its self-hosted-runner mode)."""
    text = workflow.read_text()
    job_uses = next(line for line in text.splitlines() if line.strip().startswith("uses: "))
    inputs = {"venv": str(venv), **(extra or {})}
    block = "\n".join(f"      {k}: '{v}'" for k, v in inputs.items())
    if "\n    with:\n" in text:
        text = text.replace("\n    with:\n", f"\n    with:\n{block}\n", 1)
    else:
        text = text.replace(job_uses, f"{job_uses}\n    with:\n{block}", 1)
    workflow.write_text(text)


def job_permissions(caller: Path, callee_job: str | None = None) -> dict[str, str]:
    """The token GitHub gives a job of the workflow ``caller`` calls (its only job's)."""
    doc = yaml.safe_load(caller.read_text())
    doc = {("on" if k is True else k): v for k, v in doc.items()}
    ((job_id, job),) = doc["jobs"].items()
    match = re.search(r"\.github/workflows/([a-z-]+\.yml)@", job["uses"])
    assert match, job["uses"]
    callee = ROOT / ".github" / "workflows" / match.group(1)
    called = yaml.safe_load(callee.read_text())
    jobs = list(called["jobs"])
    return workflow_token_permissions(doc, job_id, callee, callee_job or jobs[-1])


@dataclass
class Run:
    """One workflow run: its id, token, act's exit code and log."""

    run_id: int
    workflow: str
    returncode: int
    log: str
    clone: Path
    token: str
    permissions: dict[str, str]

    @property
    def summary(self) -> str:
        return summary_of(self.log)


@dataclass
class Site:
    """The shared parts of a scenario: origin, the GitHub server, run artifacts."""

    tmp: Path
    origin: Path
    checkout: Path
    artifacts: Path
    server: GitHubServer
    runs: list[Run] = field(default_factory=list)

    def artifact(self, run: Run | int, name: str) -> Path:
        run_id = run.run_id if isinstance(run, Run) else run
        return self.artifacts / str(run_id) / name

    def expire(self, run: Run | int, name: str) -> None:
        """GitHub deletes artifacts after their retention days: downloading fails then."""
        (self.artifact(run, name) / ".expired").touch()

    def run(self, event: str, payload: dict[str, Any], workflow: str, *, sha: str,
            job: str | None = None, venv: Path | None = None,
            extra_env: Mapping[str, str] | None = None, run_id: int | None = None,
            register: str | None = None) -> Run:
        """Run ``workflow`` (a caller in the repository's .github/workflows) for ``event`` on a
        fresh clone of origin at ``sha``, as a hosted runner would.

        ``job`` names the called workflow's job whose token the run gets (default its last);
        ``venv`` is put first on PATH (the caller workflows, committed, name the venv the setup
        action uses); ``register`` records the run on the server as a run of that workflow
        file (for ``gh run list``)."""
        run_id = run_id or next(_run_ids)
        where = self.tmp / f"run-{run_id}"
        clone, home = where / "repo", where / "home"
        home.mkdir(parents=True)
        subprocess.run(["git", "clone", "--quiet", "--no-checkout", str(self.origin),
                        str(clone)], check=True, capture_output=True)
        git(clone, "checkout", "--quiet", "--detach", sha)
        caller = clone / ".github" / "workflows" / workflow
        permissions = job_permissions(caller, job)
        token = f"ghs_run{run_id}token"
        self.server.add_token(token, permissions=permissions)
        event_file = where / "event.json"
        event_file.write_text(json.dumps(payload))
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("GITHUB_", "RUNNER_", "GIT_", "GITOPS_ML_", "PYTEST_"))}
        env.update(HOME=str(home), GITOPS_ML_E2E_ARTIFACTS=str(self.artifacts),
                   PATH=os.pathsep.join([str(STUBS / "bin"), str((venv or VENV) / "bin"),
                                         env.get("PATH", "")]))
        variables = {"GITOPS_ML_E2E_ARTIFACTS": str(self.artifacts),
                     "GITOPS_ML_E2E_RUN_ID": str(run_id), "GITHUB_RUN_ID": str(run_id),
                     "GITHUB_REPOSITORY": REPOSITORY, "GITHUB_API_URL": self.server.url,
                     "GITHUB_SERVER_URL": "https://github.com",
                     "GITOPS_ML_GITHUB_SECONDS_BETWEEN_REQUESTS": "0",
                     "GITOPS_ML_GITHUB_SECONDS_BETWEEN_WRITES": "0", **(extra_env or {})}
        args = [str(VENV_BIN / "act"), event, "-e", str(event_file),
                "-P", "ubuntu-latest=-self-hosted", "-W", f".github/workflows/{workflow}",
                "--action-cache-path", str(where / "actcache"),
                # no listener: the cache stand-in always misses, and act's cache server would
                # bind an address of the machine's own choosing, not loopback
                "--no-cache-server",
                "--local-repository", f"{OWNER_REPO}@v1={self.checkout}",
                "-s", f"GITHUB_TOKEN={token}"]
        for action, ref in pinned_actions().items():  # each at the SHA the YAML pins
            args += ["--local-repository", f"{action}@{ref}={STUBS / action.split('/')[1]}"]
        for key, value in variables.items():
            args += ["--env", f"{key}={value}"]
        proc = subprocess.run(args, cwd=clone, env=env, capture_output=True, text=True,
                              timeout=900)
        log = proc.stdout + proc.stderr
        (where / "act.log").write_text(log)  # the whole log, for a failure's post-mortem
        run = Run(run_id, workflow, proc.returncode, log, clone, token, permissions)
        if register:
            self.server.add_workflow_run(REPOSITORY, register, run_id, head_sha=sha,
                                         event=event,
                                         conclusion="success" if run.returncode == 0
                                         else "failure")
        self.runs.append(run)
        return run


def repository_payload() -> dict[str, Any]:
    return {"full_name": REPOSITORY, "name": "models", "owner": {"login": "acme"}}


def pull_request_payload(number: int, *, head: str, base: str, head_ref: str, title: str,
                         action: str = "synchronize", merged: bool = False,
                         head_repo: str = REPOSITORY) -> dict[str, Any]:
    return {"action": action, "number": number,
            "pull_request": {"number": number, "title": title, "merged": merged,
                             "head": {"ref": head_ref, "sha": head,
                                      "repo": {"full_name": head_repo}},
                             "base": {"ref": "main", "sha": base,
                                      "repo": {"full_name": REPOSITORY}}},
            "repository": repository_payload()}


def workflow_run_payload(run: Run, *, number: int, head: str, head_ref: str,
                         head_repo: str = REPOSITORY) -> dict[str, Any]:
    """The ``workflow_run`` event GitHub sends when a pull request run completes. For a fork
    (``head_repo`` another repository) GitHub leaves ``pull_requests`` empty."""
    pulls = [] if head_repo != REPOSITORY else [{"number": number, "head": {"sha": head}}]
    return {"action": "completed",
            "workflow_run": {"id": run.run_id, "event": "pull_request",
                             "conclusion": "success" if run.returncode == 0 else "failure",
                             "name": "ml pull request", "head_sha": head,
                             "head_branch": head_ref,
                             "head_repository": {"full_name": head_repo},
                             "pull_requests": pulls},
            "repository": repository_payload()}


def push_payload(*, before: str, after: str) -> dict[str, Any]:
    """A push to main (a merge), as promote.yml is triggered in the init template."""
    return {"ref": "refs/heads/main", "before": before, "after": after,
            "head_commit": {"id": after}, "repository": repository_payload()}


def overlay_venv(dest: Path, versions: Mapping[str, str]) -> Path:
    """A second venv: this venv's packages, except that each distribution in ``versions``
    reports that version (its metadata copied, version changed), e.g. a patch release of
    scipy that came out between the pull request's run and the merge. No download: the code is
    the same, and everything that keys on versions (the run key) sees the other version."""
    import importlib.metadata
    import sysconfig

    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(dest)], check=True)
    site = Path(sysconfig.get_path("purelib", vars={"base": str(dest),
                                                    "platbase": str(dest)}))
    ours = sysconfig.get_path("purelib")
    # after this venv's own site-packages: the copies below are found first
    (site / "zz_gitops_ml_e2e_overlay.pth").write_text(
        f"import site; site.addsitedir({ours!r})\n")
    for name, version in versions.items():
        dist = importlib.metadata.distribution(name)
        info = Path(str(dist._path))  # type: ignore[attr-defined]
        copy = site / info.name.replace(f"-{dist.version}.", f"-{version}.")
        shutil.copytree(info, copy)
        metadata = copy / "METADATA"
        metadata.write_text(re.sub(r"(?m)^Version: .*$", f"Version: {version}",
                                   metadata.read_text(), count=1))
        (copy / "RECORD").unlink(missing_ok=True)
    python = dest / "bin" / "python"
    script = dest / "bin" / "gitops-ml"
    script.write_text(f"#!{python}\nimport sys\nfrom gitops_ml.cli import main\n"
                      "sys.exit(main())\n")
    script.chmod(0o755)
    return dest
