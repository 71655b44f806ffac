"""``gitops-ml demo``: the whole life of a model on one machine, offline, with no GitHub.

In a folder it creates a repository with ``init`` (scikit-learn's breast cancer data), commits
it to ``main`` and promotes the baseline; opens a "pull request" branch that changes a
hyperparameter and adds a fresh batch of data; runs the pull request pipeline (validate, plan,
train, evaluate, drift, report) and writes what a reviewer would see to an output folder;
"merges" with ``git merge`` and promotes; and shows the registry history and the lineage.

The demo is an application of the public API, one layer above it: every step calls the
:mod:`gitops_ml.api` verb the CLI command of that name calls. It never changes ``os.environ``:
the demo's committer identity is written to the demo repository's own Git config, so every
``git`` process in it (the demo's and the registry's) agrees, and nothing leaks into the
caller's process.

It never prints: :func:`run_demo` reports each step to an ``on_step`` callback (the CLI prints
them as they come) and returns a :class:`DemoResult`.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitops_ml import api, scaffold
from gitops_ml.ci import CIContext
from gitops_ml.errors import ConfigError, GitopsMLError
from gitops_ml.util import git as gitutil

PR_BRANCH = "pr/tune-and-refresh"
PR_TITLE = "Tune C and add a fresh batch of data"
PR_NUMBER = 1

OK = "ok"
GATES_FAILED = "gates failed"
DRIFT = "drift found"
FAILED = "failed"
SKIPPED = "skipped"


@dataclass(frozen=True)
class DemoStep:
    """One step of the demo: what ran (the equivalent command), how it went, what it said."""

    phase: str
    title: str
    command: str
    status: str
    text: str = ""
    seconds: float = 0.0
    exit_code: int = 0  # of the error that failed the step

    def to_dict(self) -> dict[str, Any]:
        return {"phase": self.phase, "title": self.title, "command": self.command,
                "status": self.status, "text": self.text, "seconds": round(self.seconds, 3),
                "exit_code": self.exit_code}


@dataclass(frozen=True)
class DemoResult:
    directory: str
    repo: str
    output: str
    model: str
    steps: tuple[DemoStep, ...]
    files: dict[str, str] = field(default_factory=dict)  # what -> path in the output folder
    seconds: float = 0.0
    kept: bool = True

    @property
    def complete(self) -> bool:
        return all(s.status in (OK, GATES_FAILED, DRIFT) for s in self.steps)

    @property
    def exit_code(self) -> int:
        """The exit code of the first step that failed (0 when none did)."""
        return next((s.exit_code or 1 for s in self.steps if s.status == FAILED), 0)

    def to_dict(self) -> dict[str, Any]:
        return {"directory": self.directory, "repo": self.repo, "output": self.output,
                "model": self.model, "complete": self.complete, "exit_code": self.exit_code,
                "files": dict(self.files),
                "seconds": round(self.seconds, 3), "kept": self.kept,
                "steps": [s.to_dict() for s in self.steps]}


# --- git -----------------------------------------------------------------------------------

IDENTITY = {"user.name": "gitops-ml demo", "user.email": "demo@gitops-ml.invalid",
            "commit.gpgsign": "false", "tag.gpgsign": "false"}


def configure_identity(repo: Path) -> None:
    """The demo's committer identity in the demo repository's own config (the caller's
    ``GIT_AUTHOR_*``/``GIT_COMMITTER_*`` variables, when set, still win, as Git decides)."""
    for key, value in IDENTITY.items():
        gitutil.run_git(repo, "config", key, value)


def _git(repo: Path, *args: str) -> str:
    return gitutil.git_out(repo, *args)


# --- the pull request's change -------------------------------------------------------------

def fresh_batch(sample: scaffold.Sample, *, rows: int = 200, seed: int = 7) -> bytes:
    """A "fresh batch" of labelled rows: a seeded resample of the sample in which two
    measurements moved (as when a lab changes its instrument), so drift has something to
    find."""
    import numpy as np

    rng = np.random.default_rng(seed)
    picks = rng.choice(len(sample.rows), size=rows, replace=True)
    index = {name: i for i, name in enumerate(sample.columns)}
    shifted = {sample.features[1]: 1.35, sample.features[4]: 1.15}  # texture, smoothness
    out = []
    for i in picks:
        row = list(sample.rows[int(i)])
        for column, factor in shifted.items():
            row[index[column]] = round(float(row[index[column]]) * factor, 6)
        out.append(tuple(row))
    return scaffold.format_csv(sample.columns, out)


def pull_request_change(repo: Path, sample: scaffold.Sample) -> list[str]:
    """Edit the spec (a hyperparameter, and the fresh data as ``data.current``) and add the
    fresh batch behind a pointer. Returns the files changed."""
    spec_file = repo / "models" / sample.model / "model.yaml"
    text = spec_file.read_text(encoding="utf-8")
    pointer = f"data/{sample.model}-fresh.ptr.yaml"
    old_param, new_param = "C: 1.0", "C: 0.3"
    old_train = f"  train: data/{sample.model}.ptr.yaml\n"
    if old_param not in text or old_train not in text:
        raise ConfigError(f"{spec_file}: not the spec 'init' writes; cannot make the demo's "
                          "change")
    text = text.replace(old_param, new_param).replace(
        old_train, old_train + f"  current: {pointer}\n")
    spec_file.write_text(text, encoding="utf-8")
    data_uri = f"data/{sample.model}-fresh.csv"
    batch = fresh_batch(sample)
    (repo / data_uri).write_bytes(batch)
    (repo / pointer).write_bytes(scaffold.pointer_text(
        data_uri, batch, "A fresh batch: two measurements shifted (gitops-ml demo)."))
    return [spec_file.relative_to(repo).as_posix(), data_uri, pointer]


# --- the steps -----------------------------------------------------------------------------

class Runner:
    """Runs the steps in order, timing each and reporting it to ``on_step``."""

    def __init__(self, on_step: Callable[[DemoStep], None] | None) -> None:
        self.steps: list[DemoStep] = []
        self.on_step = on_step

    def step(self, phase: str, title: str, command: str,
             body: Callable[[], tuple[str, str] | str]) -> DemoStep:
        start = time.perf_counter()
        code = 0
        try:
            outcome = body()
            status, text = (OK, outcome) if isinstance(outcome, str) else outcome
        except GitopsMLError as exc:
            status, text, code = FAILED, exc.one_line(), exc.exit_code
        step = DemoStep(phase, title, command, status, text, time.perf_counter() - start, code)
        self.steps.append(step)
        if self.on_step is not None:
            self.on_step(step)
        return step

    def skip(self, phase: str, title: str, command: str, why: str) -> DemoStep:
        step = DemoStep(phase, title, command, SKIPPED, why)
        self.steps.append(step)
        if self.on_step is not None:
            self.on_step(step)
        return step


def _describe(result: Any, attrs: tuple[str, ...]) -> str:
    note = getattr(result, "note", None)
    if isinstance(note, str) and note:
        return note
    parts = [f"{a}={getattr(result, a)}" for a in attrs if getattr(result, a, None) is not None]
    return ", ".join(parts)


def _gates_text(result: Any) -> tuple[str, str]:
    data = result.to_dict() if hasattr(result, "to_dict") else {}
    metrics = data.get("metrics") or {}
    gates = data.get("gates") or []
    lines = ["metrics: " + ", ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}"
                                     for k, v in metrics.items())]
    for gate in gates:
        mark = "skip" if gate.get("skipped") else ("pass" if gate.get("passed") else "FAIL")
        lines.append(f"  [{mark}] {gate.get('gate')}"
                     + (f" ({gate['note']})" if gate.get("note") else ""))
    passed = data.get("gates_passed", True)
    return (OK if passed else GATES_FAILED), "\n".join(lines)


def run_demo(directory: str | Path | None = None, *, template: str = "classification",
             keep: bool = True, on_step: Callable[[DemoStep], None] | None = None
             ) -> DemoResult:
    """Run the demo in ``directory`` (a new temporary folder when None)."""
    started = time.perf_counter()
    base = Path(directory) if directory is not None else Path(
        tempfile.mkdtemp(prefix="gitops-ml-demo-"))
    if base.exists() and any(base.iterdir()):
        raise ConfigError(f"{base} is not empty", hint="give --dir a new or empty folder")
    base.mkdir(parents=True, exist_ok=True)
    repo, origin, output = base / "repo", base / "origin.git", base / "output"
    output.mkdir()
    runner = Runner(on_step)
    files: dict[str, str] = {}
    sample = scaffold.load_sample(template)
    model = sample.model
    _main_branch(runner, repo, origin, template, model)
    _pull_request(runner, repo, model, sample, output, files)
    _merge(runner, repo, model, output, files)
    result = DemoResult(str(base), str(repo), str(output), model, tuple(runner.steps), files,
                        time.perf_counter() - started, keep)
    if not keep:
        shutil.rmtree(base, ignore_errors=True)
    return result


def _main_branch(runner: Runner, repo: Path, origin: Path, template: str, model: str) -> None:
    phase = "main"

    def init() -> str:
        result = api.init_project(repo, template=template)
        return f"{len(result.created)} files: " + ", ".join(result.created)

    runner.step(phase, "scaffold the repository", f"gitops-ml init repo --template {template}",
                init)

    def commit() -> str:
        gitutil.run_git(origin.parent, "init", "-q", "--bare", "-b", "main", str(origin))
        _git(repo, "init", "-q", "-b", "main")
        configure_identity(repo)
        _git(repo, "add", "-A")
        _git(repo, "commit", "-q", "-m", "Add the breast-cancer model")
        _git(repo, "remote", "add", "origin", str(origin))
        _git(repo, "push", "-q", "origin", "main")
        return f"main at {_git(repo, 'rev-parse', '--short', 'HEAD')}, pushed to {origin.name}"

    runner.step(phase, "commit to main", "git commit && git push origin main", commit)
    _train(runner, phase, repo, model)
    _evaluate(runner, phase, repo, model)
    _promote(runner, phase, repo, model)


def _train(runner: Runner, phase: str, repo: Path, model: str) -> None:
    def body() -> str:
        result = api.train_model(repo, model)
        return _describe(result, ("run_key",))

    runner.step(phase, "train", f"gitops-ml train {model}", body)


def _evaluate(runner: Runner, phase: str, repo: Path, model: str) -> None:
    def body() -> tuple[str, str]:
        return _gates_text(api.evaluate_model(repo, model))

    runner.step(phase, "evaluate (against the champion, with the gates)",
                f"gitops-ml evaluate {model}", body)


def _promote(runner: Runner, phase: str, repo: Path, model: str) -> None:
    def body() -> str:
        result = api.promote_model(repo, model)
        stage = f", stage {result.stage} ({result.stage_tag})" if result.stage else ""
        return (f"registered {result.tag} at {result.commit[:12]}{stage}; artifact "
                f"{result.artifact_sha256[:12]}" + "".join(f"\n{n}" for n in result.notes))

    runner.step(phase, "promote", f"gitops-ml promote {model}", body)


def _pull_request(runner: Runner, repo: Path, model: str, sample: scaffold.Sample,
                  output: Path, files: dict[str, str]) -> None:
    phase = "pull request"

    def branch() -> str:
        _git(repo, "switch", "-q", "-c", PR_BRANCH)
        changed = pull_request_change(repo, sample)
        _git(repo, "add", *changed)
        _git(repo, "commit", "-q", "-m", PR_TITLE)
        return f"branch {PR_BRANCH}: C 1.0 -> 0.3; fresh batch as data.current ({changed[1]})"

    runner.step(phase, "open a pull request", f"git switch -c {PR_BRANCH} && git commit",
                branch)

    def validate() -> tuple[str, str]:
        result = api.validate(repo, check_data=True)
        lines = [f"{m.name}: {m.estimator}" for m in result.models]
        lines += [p.line_text for p in result.problems]
        return (OK if result.ok else FAILED), "\n".join(lines)

    runner.step(phase, "validate", "gitops-ml validate", validate)

    def plan() -> str:
        result = api.plan(repo, base="main")
        return "\n".join(f"{m.name}: " + "; ".join(m.reasons) for m in result.models) \
            or "no model affected"

    runner.step(phase, "plan", "gitops-ml plan --base main", plan)
    _train(runner, phase, repo, model)
    _evaluate(runner, phase, repo, model)
    _drift(runner, phase, repo, model, output, files)
    _report(runner, phase, repo, model, output, files)


def _drift(runner: Runner, phase: str, repo: Path, model: str, output: Path,
           files: dict[str, str]) -> None:
    def body() -> tuple[str, str]:
        result = api.drift_model(repo, model, html=output / "drift.html")
        data = result.to_dict() if hasattr(result, "to_dict") else {}
        html = data.get("report_html")
        if html and Path(html).is_file():
            if Path(html).resolve() != (output / "drift.html").resolve():
                shutil.copyfile(html, output / "drift.html")
            files["evidently html"] = str(output / "drift.html")
        drifted = [c["column"] for c in data.get("columns", []) if c.get("drifted")]
        text = (f"share of drifted columns {data.get('share_of_drifted_columns', 0):.2f}; "
                f"drifted: {', '.join(drifted) or 'none'}")
        return (DRIFT if drifted else OK), text

    runner.step(phase, "drift", f"gitops-ml drift {model}", body)


def _report(runner: Runner, phase: str, repo: Path, model: str, output: Path,
            files: dict[str, str]) -> None:
    def body() -> tuple[str, str]:
        head = _git(repo, "rev-parse", "HEAD")
        ci = CIContext(pr=PR_NUMBER, head_sha=head, branch=PR_BRANCH, title=PR_TITLE)
        result = api.report_model(repo, model, fmt="md", out=output / "comment.md",
                                  bundle=output / "bundle", step_summary=output / "summary.md",
                                  ci=ci)
        files["comment"] = str(output / "comment.md")
        files["summary"] = str(output / "summary.md")
        files["bundle"] = str(output / "bundle")
        status = GATES_FAILED if result.gate_outcome == "failed" else OK
        return status, result.text

    runner.step(phase, "report (the pull request comment)",
                f"gitops-ml report {model} --bundle output/bundle", body)


def _merge(runner: Runner, repo: Path, model: str, output: Path,
           files: dict[str, str]) -> None:
    phase = "merge"

    def merge() -> str:
        _git(repo, "switch", "-q", "main")
        _git(repo, "merge", "-q", "--no-ff", "-m", f"Merge pull request #{PR_NUMBER} from "
             f"{PR_BRANCH}", PR_BRANCH)
        _git(repo, "push", "-q", "origin", "main")
        return f"main at {_git(repo, 'rev-parse', '--short', 'HEAD')}"

    runner.step(phase, "merge", f"git merge --no-ff {PR_BRANCH}", merge)
    _promote(runner, phase, repo, model)

    def card() -> str:
        result = api.model_card(repo, f"{model}#production")
        (output / "model_card.md").write_text(result.text, encoding="utf-8")
        files["model card"] = str(output / "model_card.md")
        return f"{result.model} {result.version}: written to {output / 'model_card.md'}"

    runner.step(phase, "model card",
                f"gitops-ml registry card {model}#production > model_card.md", card)

    def history() -> str:
        result = api.model_history(repo, model)
        return "\n".join(f"{e.created_iso}  {e.action:<8} {e.version or '':<8} "
                         f"{e.stage or '':<11} {e.tag}" for e in result.events)

    runner.step(phase, "registry history", f"gitops-ml registry history {model}", history)

    def lineage() -> str:
        return api.lineage_text(api.model_lineage(repo, f"{model}#production"))

    runner.step(phase, "lineage", f"gitops-ml lineage {model}#production", lineage)
