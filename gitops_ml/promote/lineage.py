"""How a registered version came to be, and whether it can be made again.

``lineage`` joins the version's tag (its manifest), the run record, the evaluation and the
drift summary in the store, and the Git history (commit authors, the spec as it was at that
commit). ``reproduce`` checks the recorded commit out into a temporary worktree, retrains
there with a fresh store, and compares the artifact's sha256 with the registered one.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitops_ml.errors import ArtifactError, GitopsMLError, RegistryError
from gitops_ml.gates import GateResult, all_passed
from gitops_ml.registry.queries import resolve
from gitops_ml.runs.records import (
    DriftRecord,
    EvaluationRecord,
    RunRecord,
    read_drift,
    read_evaluation,
    read_run,
    run_gates,
)
from gitops_ml.util.frozen import replace
from gitops_ml.util.git import git_out, run_git
from gitops_ml.util.numbers import number


@dataclass(frozen=True)
class Lineage:
    model: str
    version: str
    tag: str | None
    active: bool
    stages: tuple[str, ...]
    registered_at: str
    registered_by: str
    commit: dict[str, Any]  # the registered (merge) commit: sha, author, date, subject
    trained_commit: dict[str, Any] | None  # where the PR's run trained
    pr: int | None
    head_sha: str | None
    actor: str | None
    approver: str | None
    artifact: dict[str, Any]
    run_key: str | None
    data: dict[str, Any]
    spec: dict[str, Any]  # file, hashes, estimator class and params (from the spec at commit)
    metrics: dict[str, Any]
    deltas: dict[str, Any]
    gates: tuple[GateResult, ...]
    gates_passed: bool | None
    drift: dict[str, Any] | None
    bias: dict[str, Any] | None
    libraries: dict[str, str]
    retrained: bool
    forced: bool
    model_card: dict[str, Any] | None
    notes: tuple[str, ...] = ()


def _commit_info(repo: Path, sha: str | None) -> dict[str, Any] | None:
    if not sha:
        return None
    proc = run_git(repo, "log", "-1", "--format=%H%x00%an%x00%ae%x00%aI%x00%cn%x00%s", sha,
                   check=False)
    if proc.returncode != 0:
        return {"sha": sha, "note": "commit not in this clone"}
    parts = (proc.stdout.rstrip("\n").split("\0") + [""] * 6)[:6]
    return {"sha": parts[0], "author": parts[1], "author_email": parts[2], "date": parts[3],
            "committer": parts[4], "subject": parts[5]}


def _spec_at(repo: Path, commit: str, spec_file: str | None, root_rel: str) -> dict[str, Any]:
    """The estimator class and params from the spec file as it was at ``commit``."""
    if not spec_file:
        return {}
    import yaml

    path = f"{root_rel}/{spec_file}" if root_rel not in ("", ".") else spec_file
    proc = run_git(repo, "show", f"{commit}:{path}", check=False)
    if proc.returncode != 0:
        return {}
    try:
        doc = yaml.safe_load(proc.stdout) or {}
    except yaml.YAMLError:
        return {}
    est = doc.get("estimator") or {}
    return {"estimator": est.get("class") or est.get("factory"), "params": est.get("params")
            or {}, "task": doc.get("task"), "target": doc.get("target"),
            "features": doc.get("features"), "description": doc.get("description")}


def _records(store: Any, run_key: str | None, notes: list[str]
             ) -> tuple[RunRecord | None, EvaluationRecord | None, DriftRecord | None]:
    """The run's records in the store; one that cannot be read is left out with a note."""
    if store is None or not run_key:
        return None, None, None
    out: list[Any] = []
    for read in (read_run, read_evaluation, read_drift):
        try:
            out.append(read(store, run_key))
        except GitopsMLError as exc:
            notes.append(f"left out: {exc.message}")
            out.append(None)
    return out[0], out[1], out[2]


def _open_store(repo: Path) -> tuple[Any, Any, str]:
    """The project's store and config, when the repo is a gitops-ml project."""
    from gitops_ml.project.spec import load_config
    from gitops_ml.runs.store import Store

    try:
        config = load_config(repo)
    except GitopsMLError:
        return None, None, "."
    top = Path(git_out(repo, "rev-parse", "--show-toplevel")).resolve()
    root = config.root_path.resolve()
    rel = root.relative_to(top).as_posix() if root != top and top in root.parents else "."
    return Store.open(config), config, rel


def lineage(repo: str | Path, ref: str) -> Lineage:
    """``lineage MODEL@VERSION``: everything recorded about a version, joined."""
    repo = Path(repo)
    state, v = resolve(repo, ref)
    if not v.registered:
        raise RegistryError(f"{state.name} {v.version} is not a registered version")
    m = v.manifest or {}
    notes: list[str] = []
    if not m:
        notes.append("the tag message holds no gitops-ml manifest (not registered by promote)")
    store, _, root_rel = _open_store(repo)
    run_key = m.get("run_key")
    run, ev, drift = _records(store, run_key, notes)
    if run_key and run is None:
        notes.append(f"run {str(run_key)[:12]} is not in the store: data and library versions "
                     "come from the manifest only")
    trained = m.get("trained_commit") or (run.commit if run else None)
    spec_file = m.get("spec_file") or (run.spec_file if run else None)
    spec = {"file": spec_file,
            "spec_hash": m.get("spec_hash") or (run.spec_hash if run else None),
            "canonical_spec_hash": m.get("canonical_spec_hash")
            or (run.canonical_spec_hash if run else None),
            **_spec_at(repo, v.commit, spec_file, root_rel)}
    drift_summary = None
    if drift is not None:
        drift_summary = {"share_of_drifted_columns": drift.share_of_drifted_columns,
                         "number_of_drifted_columns": drift.number_of_drifted_columns,
                         "dataset_drift": drift.dataset_drift, "drift_share": drift.drift_share,
                         "drifted_columns": list(drift.drifted_columns)}
    elif m.get("drift"):
        drift_summary = m["drift"]
    if ev is not None:
        gates = run_gates(ev, drift)
        gates_passed: bool | None = all_passed(gates)
    else:  # the manifest's copy (promote records the merged gates)
        gates = tuple(GateResult.from_dict(g, schema_version=2 if "status" in g else 1)
                      for g in m.get("gates") or [] if isinstance(g, dict))
        gates_passed = m.get("gates_passed")
    return Lineage(
        model=state.name, version=v.version, tag=v.tag, active=v.active, stages=v.stages,
        registered_at=v.created_at, registered_by=v.author,
        commit=_commit_info(repo, v.commit) or {"sha": v.commit},
        trained_commit=_commit_info(repo, trained), pr=m.get("pr"), head_sha=m.get("head_sha"),
        actor=m.get("actor"), approver=m.get("approver") or m.get("merged_by"),
        artifact=m.get("artifact") or (run.artifact if run else {}), run_key=run_key,
        data=(run.data if run else None) or m.get("data") or {}, spec=spec,
        metrics=(dict(ev.metrics) if ev else None) or m.get("metrics") or {},
        deltas={k: d.to_dict() for k, d in ev.deltas.items()} if ev else {},
        gates=gates, gates_passed=gates_passed, drift=drift_summary,
        bias=(ev.fairness if ev else None) or None,
        libraries=run.versions if run else {},
        retrained=bool(m.get("retrained")), forced=bool(m.get("forced")),
        model_card=m.get("model_card"), notes=tuple(notes))


def _fmt(value: Any) -> str:
    return number(value, missing="-")


@dataclass(frozen=True)
class RegisteredCard:
    """The model card a version was registered with (Markdown), read from the store."""

    model: str
    version: str
    sha256: str
    text: str


def model_card(repo: str | Path, ref: str) -> RegisteredCard:
    """The model card of the version ``ref`` names, its bytes verified against the sha256 in
    the version's manifest."""
    repo = Path(repo)
    state, v = resolve(repo, ref)
    sha = ((v.manifest or {}).get("model_card") or {}).get("sha256")
    if not isinstance(sha, str) or not sha:
        raise RegistryError(f"{state.name} {v.version} records no model card",
                            hint="it was not registered by gitops-ml promote")
    store, _, _ = _open_store(repo)
    return RegisteredCard(state.name, v.version, sha, store.read_bytes(sha).decode("utf-8"))


def render_text(lin: Lineage) -> str:
    c = lin.commit
    out = [f"{lin.model} {lin.version}" + ("" if lin.active else " (deregistered)")
           + (f"  [{', '.join(lin.stages)}]" if lin.stages else ""),
           f"  registered  {lin.registered_at} by {lin.registered_by} (tag {lin.tag})",
           f"  commit      {c.get('sha')} {c.get('subject', '')}".rstrip(),
           f"  author      {c.get('author', '-')} <{c.get('author_email', '-')}>"]
    if lin.trained_commit and lin.trained_commit.get("sha") != c.get("sha"):
        t = lin.trained_commit
        out.append(f"  trained at  {t.get('sha')} by {t.get('author', '-')}")
    out.append(f"  PR          {('#' + str(lin.pr)) if lin.pr else '-'}"
               f"  head {lin.head_sha or '-'}")
    out.append(f"  promoted by {lin.actor or '-'}; approver {lin.approver or 'not recorded'}")
    art = lin.artifact
    out.append(f"  artifact    {art.get('sha256', '-')} ({art.get('uri', '-')})")
    out.append(f"  run key     {lin.run_key or '-'}")
    if lin.retrained or lin.forced:
        out.append("  flags       " + ", ".join(f for f, on in (("retrained at promotion",
                                                                  lin.retrained),
                                                                 ("forced", lin.forced)) if on))
    out.append("data:")
    for role, d in sorted(lin.data.items()):
        out.append(f"  {role:<8} {d.get('uri')}  sha256 {d.get('sha256') or '-'}"
                   + (f"  rows {d['rows']}" if d.get("rows") is not None else ""))
    s = lin.spec
    out.append(f"spec: {s.get('file') or '-'} (sha256 {str(s.get('spec_hash') or '-')[:16]})")
    if s.get("estimator"):
        params = ", ".join(f"{k}={v}" for k, v in (s.get("params") or {}).items())
        out.append(f"  estimator {s['estimator']}" + (f" ({params})" if params else ""))
    if lin.metrics:
        out.append("metrics: " + ", ".join(f"{k}={_fmt(v)}" for k, v in lin.metrics.items()))
    if lin.gates:
        out.append("gates: " + ("passed" if lin.gates_passed else "FAILED"))
        for g in lin.gates:
            mark = "skip" if g.skipped else ("ok" if g.passed else "FAIL")
            out.append(f"  [{mark}] {g.gate}: {_fmt(g.value)}")
    if lin.drift:
        out.append(f"drift: share {_fmt(lin.drift.get('share_of_drifted_columns'))}, "
                   f"dataset drift {lin.drift.get('dataset_drift')}")
    if lin.bias:
        for attr, f in lin.bias.items():
            out.append(f"bias {attr}: demographic parity diff "
                       f"{_fmt(f.get('demographic_parity_difference'))}, equalized odds diff "
                       f"{_fmt(f.get('equalized_odds_difference'))}")
    if lin.libraries:
        out.append("libraries: " + ", ".join(f"{k} {v}" for k, v in
                                              sorted(lin.libraries.items())))
    out += [f"note: {n}" for n in lin.notes]
    return "\n".join(out)


# --- reproduce ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Reproduction:
    model: str
    version: str
    commit: str
    expected_sha256: str
    actual_sha256: str
    identical: bool
    run_key: str
    recorded_run_key: str | None
    run_key_matches: bool | None
    differences: tuple[str, ...]
    seconds: float
    worktree: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)


def reproduce(repo: str | Path, ref: str, *, keep: bool = False) -> Reproduction:
    """Retrain ``ref`` at its registered commit in a temporary worktree, with a fresh store
    (no cache reuse), and compare the artifact's sha256 with the registered one."""
    from gitops_ml.project.spec import load_config
    from gitops_ml.train import train

    start = time.perf_counter()
    repo = Path(repo)
    state, v = resolve(repo, ref)
    m = v.manifest or {}
    expected = (m.get("artifact") or {}).get("sha256")
    if not expected:
        raise RegistryError(f"{state.name} {v.version} records no artifact sha256",
                            hint="it was not registered by gitops-ml promote")
    _, config, root_rel = _open_store(repo)
    tmp = Path(tempfile.mkdtemp(prefix="gitops-ml-reproduce-"))
    tree = tmp / "tree"
    run_git(repo, "worktree", "add", "--detach", "--quiet", str(tree), v.commit)
    try:
        project = tree / root_rel if root_rel != "." else tree
        wconfig = load_config(project)
        # A fresh store (no cached run to reuse), but the data cache is shared: it is
        # content-addressed and verified, and the data may not be reachable otherwise.
        changes: dict[str, Any] = {"store": str(tmp / "store")}
        if config is not None:
            changes["cache"] = str(config.resolve(config.cache).absolute())
        wconfig = replace(wconfig, **changes)
        result = train(wconfig, state.name, force=True)
    except GitopsMLError:
        raise
    except Exception as exc:
        raise ArtifactError(f"reproducing {state.name} {v.version} failed: "
                            f"{type(exc).__name__}: {exc}") from exc
    finally:
        if not keep:
            run_git(repo, "worktree", "remove", "--force", str(tree), check=False)
            run_git(repo, "worktree", "prune", check=False)
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
    recorded_key = m.get("run_key")
    differences: list[str] = []
    recorded_versions: dict[str, str] = {}
    if config is not None and recorded_key:
        from gitops_ml.runs.store import Store

        try:
            rec = read_run(Store.open(config), recorded_key)
            recorded_versions = rec.versions if rec is not None else {}
        except GitopsMLError:
            recorded_versions = {}
    for lib, ver in sorted(result.record.versions.items()):
        old = recorded_versions.get(lib)
        if old is not None and old != ver:
            differences.append(f"{lib} {old} -> {ver}")
    return Reproduction(
        model=state.name, version=v.version, commit=v.commit, expected_sha256=expected,
        actual_sha256=result.artifact_sha256, identical=result.artifact_sha256 == expected,
        run_key=result.run_key, recorded_run_key=recorded_key,
        run_key_matches=(result.run_key == recorded_key) if recorded_key else None,
        differences=tuple(differences), seconds=round(time.perf_counter() - start, 3),
        worktree=str(tree) if keep else None)
