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
        "": {"contents": "read"},
        "plan": {"contents": "read"},
        "model": {"contents": "read"},
    },
    "comment.yml": {  # posts comments and statuses; reads the triggering run's artifacts
        "": {"actions": "read", "pull-requests": "write", "statuses": "write"},
        "comment": {"actions": "read", "pull-requests": "write", "statuses": "write"},
    },
    "promote.yml": {  # pushes registry tags
        "": {"contents": "read"},
        "plan": {"contents": "read"},
        "promote": {"contents": "write", "actions": "read", "pull-requests": "read"},
    },
    "monitor.yml": {  # opens or updates the drift issue
        "": {"contents": "read"},
        "plan": {"contents": "read"},
        "monitor": {"contents": "read", "issues": "write"},
    },
    "ci.yml": {
        "": {"contents": "read"},
        "test": {"contents": "read"},
    },
}


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
    install = next(s for s in doc["runs"]["steps"] if s.get("name", "").startswith("Install"))
    assert "github.action_path" in install["env"]["PACKAGE"]
    assert "inputs.package-spec" in install["env"]["PACKAGE"]
    assert "runner.temp" in doc["runs"]["steps"][0]["env"]["VENV"]
    cache = next(s for s in doc["runs"]["steps"] if "uses" in s)
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


def test_reusable_workflows_use_our_actions_at_the_same_ref() -> None:
    for name in ("pull-request.yml", "comment.yml", "promote.yml", "monitor.yml"):
        doc = load(WORKFLOWS / name)
        for job in doc["jobs"].values():
            for step in job["steps"]:
                uses = step.get("uses", "")
                if uses.startswith(OWNER):
                    match = re.fullmatch(rf"{OWNER}/actions/([a-z]+)@v1", uses)
                    assert match and (ACTIONS / match.group(1) / "action.yml").is_file(), uses


def test_comment_workflow_never_checks_out_or_runs_pull_request_code() -> None:
    doc = load(WORKFLOWS / "comment.yml")
    text = (WORKFLOWS / "comment.yml").read_text()
    for job in doc["jobs"].values():
        for step in job["steps"]:
            uses = step.get("uses", "")
            assert not uses.startswith("actions/checkout"), "comment.yml checks out code"
            assert not uses.startswith("./"), "a local action would come from the PR's tree"
            if uses.startswith(f"{OWNER}/actions/setup@"):
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


def test_promote_workflow_serializes_and_supports_an_environment() -> None:
    doc = load(WORKFLOWS / "promote.yml")
    assert doc["concurrency"]["group"] == "gitops-ml-promote-${{ github.repository }}"
    assert doc["concurrency"]["cancel-in-progress"] is False
    promote = doc["jobs"]["promote"]
    assert promote["environment"] == "${{ inputs.environment }}"
    assert promote["strategy"]["max-parallel"] == 1
    assert "merged == true" in doc["jobs"]["plan"]["if"]


def test_no_workflow_interpolates_into_scripts() -> None:
    for path in workflow_files():
        for script in run_scripts(load(path)):
            assert "${{" not in script, f"{path.name}: expression inside run:"


def test_init_caller_workflows_grant_what_the_callees_need(tmp_path: Path) -> None:
    from gitops_ml.scaffold import render_scaffold

    files = render_scaffold("classification")[1]
    for rel, data in files.items():
        if not rel.startswith(".github/workflows/"):
            continue
        caller = yaml.safe_load(data)
        (job,) = caller["jobs"].values()
        match = re.fullmatch(rf"{OWNER}/\.github/workflows/([a-z-]+\.yml)@v1", job["uses"])
        assert match, job["uses"]
        callee = load(WORKFLOWS / match.group(1))
        granted = caller["permissions"]
        for callee_job in callee["jobs"].values():
            for scope, level in callee_job["permissions"].items():
                if level == "write":
                    assert granted.get(scope) == "write", (rel, scope)
                else:
                    assert granted.get(scope) in ("read", "write"), (rel, scope)


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
