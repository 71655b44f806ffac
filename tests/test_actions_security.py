"""Hostile inputs through the composite actions: they run no command and render inert.

Each action's ``run:`` script runs here the way the runner runs it (``bash --noprofile --norc
-eo pipefail``), with the real ``gitops-ml`` on PATH, inputs in the environment exactly as the
action maps them, and ``$GITHUB_OUTPUT`` / ``$GITHUB_STEP_SUMMARY`` files. The workflows'
own structure (permissions, fork safety) is tested in test_workflows.py, and the pull request
title and branch name go through act in tests/e2e.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from gitops_ml.cli import gha
from gitops_ml.scaffold import init

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
EVIL = ("evil$(touch PWNED_SUB)`touch PWNED_TICK`;touch PWNED_SEMI ${{ github.token }} "
        "\"&&touch PWNED_QUOTE&&\" <img src=x onerror=alert(1)> $HOME\nnext-line=1")


def parse_github_output(text: str) -> dict[str, str]:
    """Read ``$GITHUB_OUTPUT`` as the runner does (``name=value`` or heredoc blocks)."""
    values: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line:
            i += 1
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body = []
            i += 1
            while lines[i] != delimiter:
                body.append(lines[i])
                i += 1
            values[name] = "\n".join(body)
        else:
            name, value = line.split("=", 1)
            values[name] = value
        i += 1
    return values


def action_script(verb: str) -> tuple[str, dict[str, str]]:
    doc = yaml.safe_load((ROOT / "actions" / verb / "action.yml").read_text())
    step = doc["runs"]["steps"][0]
    return step["run"], step["env"]


def run_action(verb: str, repo: Path, inputs: dict[str, str], tmp: Path,
               extra_env: dict[str, str] | None = None
               ) -> tuple[subprocess.CompletedProcess[str], dict[str, str], Path]:
    """Run the action's script with ``inputs`` mapped into its env as the YAML says."""
    script, env_map = action_script(verb)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    for var, expr in env_map.items():
        match = re.fullmatch(r"\$\{\{ inputs\.([a-z-]+) \}\}", expr)
        assert match, expr
        env[var] = inputs.get(match.group(1), "")
    output = tmp / f"output-{verb}"
    summary = tmp / f"summary-{verb}.md"
    output.write_text("")
    summary.write_text("")
    env.update(GITHUB_OUTPUT=str(output), GITHUB_STEP_SUMMARY=str(summary),
               GITHUB_ACTIONS="true", GITOPS_ML_NO_PROGRESS="1", **(extra_env or {}))
    proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
                          cwd=repo, env=env, capture_output=True, text=True, timeout=300)
    return proc, parse_github_output(output.read_text()), summary


def pwned(*folders: Path) -> list[Path]:
    return [p for folder in folders for p in folder.rglob("PWNED*")]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    init(root)
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(root), "commit", "-q", "-m", "init"], check=True)
    return root


# --- $GITHUB_OUTPUT ------------------------------------------------------------------------

def test_outputs_cannot_smuggle_other_outputs(tmp_path: Path) -> None:
    evil = "x\nok=false\nghadelimiter_1\nmatrix<<EOF\n{}\nEOF\n${{ secrets.TOKEN }}"
    envelope = {"ok": True, "exit_code": 0,
                "result": {"include": [{"model": evil, "spec": "models/a/model.yaml"}]}}
    out = tmp_path / "out"
    gha.write_outputs(str(out), gha.outputs_for("plan", envelope))
    values = parse_github_output(out.read_text())
    assert set(values) == {"ok", "exit-code", "matrix", "models", "count", "result"}
    assert values["ok"] == "true" and values["count"] == "1"
    assert values["models"] == evil
    assert values["matrix"] == '{"include":[{"model":' + \
        '"x\\nok=false\\nghadelimiter_1\\nmatrix<<EOF\\n{}\\nEOF\\n${{ secrets.TOKEN }}",' \
        '"spec":"models/a/model.yaml"}]}'


def test_gha_passes_annotations_through_and_keeps_the_exit_code(tmp_path: Path) -> None:
    envelope = '{"ok": false, "exit_code": 3, "result": null, "error": {"code": "x"}}'
    stdin = envelope + "\n::error file=gitops-ml.yaml,line=2::bad\n"
    out = tmp_path / "out"
    out.write_text("")
    proc = subprocess.run([sys.executable, "-m", "gitops_ml.cli.gha", "validate"], input=stdin,
                          capture_output=True, text=True,
                          env={**os.environ, "GITHUB_OUTPUT": str(out)})
    assert proc.returncode == 0  # the step's status is the CLI's, through pipefail
    assert "::error file=gitops-ml.yaml,line=2::bad" in proc.stdout.splitlines()
    assert parse_github_output(out.read_text())["exit-code"] == "3"


def test_gha_refuses_an_unknown_verb() -> None:
    proc = subprocess.run([sys.executable, "-m", "gitops_ml.cli.gha", "rm -rf"], input="{}",
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "usage" in proc.stderr


# --- inputs through the actions ------------------------------------------------------------

@pytest.mark.parametrize(("verb", "inputs"), [
    ("validate", {"path": EVIL}),
    ("plan", {"base": EVIL}),
    ("train", {"model": EVIL}),
    ("evaluate", {"model": EVIL}),
    ("drift", {"model": "breast-cancer", "current": EVIL, "reference": EVIL}),
    ("report", {"model": EVIL, "bundle": "bundle"}),
    ("promote", {"model": EVIL, "stage": EVIL, "github-token": "t"}),
    ("monitor", {"model": EVIL, "current": EVIL, "github-token": "t"}),
    ("comment", {"bundle": EVIL, "github-token": "t"}),
])
def test_hostile_inputs_run_no_command(repo: Path, tmp_path: Path, verb: str,
                                       inputs: dict[str, str]) -> None:
    proc, outputs, _ = run_action(verb, repo, inputs, tmp_path)
    assert pwned(repo, tmp_path, Path.cwd()) == []
    assert "Traceback" not in proc.stderr
    if verb == "comment":  # no such folder: no bundle was uploaded, nothing to post
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert (outputs["ok"], outputs["posted"]) == ("true", "0")
    else:
        assert proc.returncode not in (0, 1), proc.stdout + proc.stderr  # a clean user error
        assert outputs["ok"] == "false"
    assert outputs["exit-code"] == str(proc.returncode)
    text = proc.stdout + proc.stderr
    assert str(Path.home()) not in text.replace(str(tmp_path), "")  # $HOME stayed literal


def _evil_column_repo(repo: Path) -> str:
    """Rename a feature to a hostile column name, in the data and in the spec."""
    name = "<img src=x onerror=alert(1)>$(touch PWNED_COL)`touch PWNED_COL2`${{ github.token }}"
    csv = repo / "data" / "breast-cancer.csv"
    text = csv.read_text()
    header, rest = text.split("\n", 1)
    csv.write_text(header.replace("mean_texture", '"' + name + '"') + "\n" + rest)
    data = csv.read_bytes()
    ptr = repo / "data" / "breast-cancer.ptr.yaml"
    ptr.write_text(re.sub(r"sha256: [0-9a-f]{64}", f"sha256: {hashlib.sha256(data).hexdigest()}",
                          re.sub(r"size: \d+", f"size: {len(data)}", ptr.read_text())))
    spec = repo / "models" / "breast-cancer" / "model.yaml"
    spec.write_text(spec.read_text().replace("    - mean_texture\n",
                                             "    - " + yaml.safe_dump(name).split("\n")[0]
                                             + "\n"))
    return name


@pytest.mark.slow
def test_a_hostile_column_name_renders_inert(repo: Path, tmp_path: Path) -> None:
    import cmarkgfm
    from cmarkgfm.cmark import Options

    name = _evil_column_repo(repo)
    for verb in ("validate", "train", "evaluate", "drift"):
        proc, outputs, _ = run_action(verb, repo, {"model": "breast-cancer"}, tmp_path)
        assert proc.returncode in (0, 5), f"{verb}: {proc.stdout[-3000:]}{proc.stderr}"
        if verb == "drift":  # the column went through the pipeline under its own name
            columns = json.loads(outputs["result"])["columns"]
            assert name in [c["column"] for c in columns]
    # the pull request's title and branch name are hostile too
    head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], check=True,
                          capture_output=True, text=True).stdout.strip()
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {
        "number": 3, "title": EVIL, "head": {"ref": EVIL, "sha": head},
        "base": {"ref": "main", "sha": head}}}))
    proc, outputs, summary = run_action(
        "report", repo, {"model": "breast-cancer", "bundle": "bundle"}, tmp_path,
        {"GITHUB_EVENT_PATH": str(event), "GITHUB_EVENT_NAME": "pull_request"})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    assert pwned(repo, tmp_path, Path.cwd()) == []
    for text in (summary.read_text(), (repo / "bundle" / "report.md").read_text()):
        assert "onerror" in text and "PWNED_SEMI" in text  # column and title are shown ...
        html = cmarkgfm.github_flavored_markdown_to_html(text, options=Options.CMARK_OPT_UNSAFE)
        assert "<img" not in html  # ... as text, even where raw HTML would pass
    assert outputs["ok"] == "true" and outputs["gate-outcome"] in ("passed", "failed")
