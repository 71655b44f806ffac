"""Promotion on merge: register the exact artifact the pull request evaluated.

``promote`` computes the run key at HEAD (the canonical spec, the data sha256s, the library
versions), finds that run in the store or in a folder of downloaded CI artifacts (never by
commit SHA: squash and rebase merges change it), verifies the artifact's sha256, refuses when
the recorded gates failed (unless ``force``), renders the model card, and registers the next
version with its stage (see :mod:`gitops_ml.registry.verbs`). No artifact means a loud
failure, not a silent retraining: ``retrain=True`` retrains explicitly and the manifest says so.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from gitops_ml.ci import NO_CI, CIContext
from gitops_ml.errors import (
    ArtifactError,
    ConfigError,
    GitHubError,
    PromotionRefused,
    RegistryError,
)
from gitops_ml.gates import all_passed as gates_ok
from gitops_ml.registry.manifest import MANIFEST_SCHEMA, MANIFEST_VERSION
from gitops_ml.registry.tags import check_name, tag_name
from gitops_ml.registry.verbs import confirm_stage, register
from gitops_ml.registry.writes import Identity
from gitops_ml.runs.records import (
    DriftRecord,
    EvaluationRecord,
    RunRecord,
    read_drift,
    read_evaluation,
    read_run,
    run_gates,
)
from gitops_ml.util.git import git_out, head_commit, run_git
from gitops_ml.util.hashing import is_sha256
from gitops_ml.version import __version__

if TYPE_CHECKING:
    from gitops_ml.project.spec import ModelSpec, ProjectConfig
    from gitops_ml.runs.store import Store

RUN_FILES = ("run.json", "evaluation.json", "drift.json", "report.json")


class ReleasePublisher(Protocol):
    """Publishes a version as a release with files attached (``registry: github``).

    The core never talks to GitHub itself: the CLI passes the GitHub adapter
    (:class:`gitops_ml.github.releases.GitHubReleases`); a test can pass any object with this
    method."""

    def publish(self, repository: str, tag: str, title: str, body: str,
                assets: Sequence[Path]) -> str:
        """Create (or reuse) the release of ``tag`` in ``repository`` (OWNER/NAME) with
        ``assets`` attached; return its URL."""
        ...


def pr_from_merge_commit(repo: str | Path) -> int | None:
    """The pull request number in the subject of HEAD ("Merge pull request #12 ...",
    "Title (#12)"), for promotions outside a ``pull_request`` event."""
    proc = run_git(repo, "log", "-1", "--format=%s", check=False)
    m = re.search(r"Merge pull request #(\d+)|\(#(\d+)\)\s*$", proc.stdout.strip())
    return int(m[1] or m[2]) if m else None


# --- finding the run ----------------------------------------------------------------------

@dataclass(frozen=True)
class DownloadedRun:
    """A run found in a folder of downloaded CI artifacts, verified but not yet stored."""

    run_key: str
    run_file: Path
    artifact: Path
    files: dict[str, bytes]

    # the run files, read like a store's (gitops_ml.runs.records.RunFiles)
    def has_run_file(self, run_key: str, name: str) -> bool:
        return run_key == self.run_key and name in self.files

    def read_run_file(self, run_key: str, name: str) -> bytes:
        return self.files[name]

    def run_file_uri(self, run_key: str, name: str) -> str:
        return str(self.run_file.parent / name)

    def store_into(self, store: Store) -> None:
        store.put_file(self.artifact)
        for name, raw in self.files.items():
            store.write_run_file(self.run_key, name, raw)


def find_download(folder: Path, run_key: str) -> DownloadedRun | None:
    """The run ``run_key`` in a downloaded CI artifact or cache, verified, or None.

    Accepted layouts: a store copy (``runs/<key>/run.json`` + ``blobs/sha256/..``), a folder
    per run (``<key>/run.json`` + ``model.skops``), or a single run (``run.json`` +
    ``model.skops``), at any depth. The folder is untrusted data, written by whoever could run
    code in the pull request's job: the run record must name this run key, the artifact must
    hash to the sha256 it names (both from the same folder, so that alone proves nothing), and
    the archive must pass the artifact allow-list, load, and be the model its run record
    describes. Nothing is written to the store here.
    """
    from gitops_ml.util.hashing import sha256_file

    if not folder.is_dir():
        raise ArtifactError(f"{folder}: artifacts folder not found")
    for run_file in sorted(folder.rglob("run.json")):
        try:
            record = RunRecord.from_json(run_file.read_bytes(), source=str(run_file))
        except ArtifactError:
            continue
        if record.run_key != run_key:
            continue
        sha = record.artifact_sha256
        candidates = [run_file.parent / "model.skops",
                      *(p / "blobs" / "sha256" / sha[:2] / sha[2:] for p in run_file.parents
                        if p == folder or folder in p.parents)]
        candidates += sorted(run_file.parent.glob("*.skops"))
        found = None
        mismatched = None
        for c in candidates:
            if c.is_file():
                if sha256_file(c) == sha:
                    found = c
                    break
                mismatched = c
        if found is None:
            if mismatched is not None:
                raise ArtifactError(f"{mismatched}: corrupt artifact: its sha256 does not match "
                                    f"{sha[:12]} recorded in {run_file}",
                                    hint="download the pull request's artifact again")
            raise ArtifactError(f"{run_file}: run {run_key[:12]} found, but not its artifact "
                                f"{sha[:12]} (expected model.skops beside it)")
        _check_archive(found, record, run_file)
        files = {name: (run_file.parent / name).read_bytes() for name in RUN_FILES
                 if (run_file.parent / name).is_file()}
        return DownloadedRun(run_key, run_file, found, files)
    return None


def _check_archive(path: Path, record: Any, run_file: Path) -> None:
    """The downloaded archive loads under the allow-list and is the model of its record."""
    from gitops_ml.runs import artifacts

    model = artifacts.load(path)  # refuses, naming the type, before anything is built
    final = model.steps[-1][1] if hasattr(model, "steps") and model.steps else model
    problems = []
    estimator = str(record.estimator or "")
    if estimator and not estimator.startswith("factory:") \
            and type(final).__name__ != estimator.rsplit(".", 1)[-1]:
        problems.append(f"it holds a {type(final).__name__}, the record says {estimator}")
    names = getattr(model, "feature_names_in_", None)
    if names is not None and record.features \
            and sorted(map(str, names)) != sorted(record.features):
        problems.append("its input columns differ from the record's features")
    if problems:
        raise ArtifactError(f"{path}: the artifact does not match its run record {run_file}: "
                            f"{'; '.join(problems)}",
                            hint="promote only the artifact the pull request's job trained")


def import_artifacts(store: Store, folder: Path, run_key: str) -> bool:
    """Verify (:func:`find_download`) and copy the run into the store; False when absent."""
    found = find_download(folder, run_key)
    if found is None:
        return False
    found.store_into(store)
    return True


def _portable(config: ProjectConfig, location: str) -> str:
    """A store path inside the repository, relative to its root (runners' paths differ)."""
    if "://" in location:
        return location
    try:
        return Path(location).resolve().relative_to(config.root_path.resolve()).as_posix()
    except ValueError:
        return location


def _run_complete(store: Store, run_key: str) -> bool:
    """The run record and its artifact blob are both in the store."""
    try:
        run = read_run(store, run_key)
        return run is not None and bool(store.has(run.artifact_sha256))
    except ArtifactError:
        return False


# --- the result ---------------------------------------------------------------------------

@dataclass(frozen=True)
class PromotionResult:
    model: str
    version: str
    tag: str
    stage: str | None
    stage_tag: str | None
    tags: tuple[str, ...]
    run_key: str
    artifact_sha256: str
    commit: str
    pushed: bool
    existing: bool
    retrained: bool
    forced: bool
    attempts: int
    pr: int | None
    release_url: str | None
    manifest: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in (
            "model", "version", "tag", "stage", "stage_tag", "tags", "run_key",
            "artifact_sha256", "commit", "pushed", "existing", "retrained", "forced",
            "attempts", "pr", "release_url", "manifest", "notes")}


def _card_inputs(spec: ModelSpec, manifest: dict[str, Any], run: RunRecord,
                 evaluation: EvaluationRecord | None, drift: DriftRecord | None) -> Any:
    from gitops_ml.promote.model_card import CardInputs

    return CardInputs(manifest=manifest, run=run.to_dict(),
                      evaluation=evaluation.to_dict() if evaluation is not None else None,
                      drift=drift.to_dict() if drift is not None else None,
                      description=spec.description, sensitive=tuple(spec.features.sensitive),
                      confidence=spec.evaluation.confidence)


def promote(config: ProjectConfig, model: str, stage: str | None = None,
            bump: str | None = None, retrain: bool = False, force: bool = False,
            pr: int | None = None, head_sha: str | None = None, actor: str | None = None,
            push: bool | None = None, artifacts: str | Path | None = None,
            remote: str = "origin", ci: CIContext = NO_CI,
            publisher: ReleasePublisher | None = None) -> PromotionResult:
    """Register the artifact the pull request evaluated and assign its stage.

    ``push=None`` pushes when the repository has the ``origin`` remote. ``artifacts`` is a
    folder of downloaded CI artifacts to look in when the store lacks the run. ``ci`` says
    which pull request and who (the PR number falls back to the merge commit's subject);
    ``publisher`` creates the GitHub Release when the config says ``registry: github``.
    """
    from gitops_ml.project.spec import find_spec
    from gitops_ml.promote import model_card as modelcard
    from gitops_ml.runs.key import run_key as compute_key
    from gitops_ml.runs.store import Store

    spec = find_spec(config, model)
    repo = config.root_path
    commit = head_commit(repo)
    if commit is None:
        raise RegistryError("the repository has no commit to register a version at")
    stage = stage if stage is not None else spec.promotion.stage
    bump = bump or spec.promotion.bump
    check_name(spec.name)
    if stage:
        check_name(stage, "stage name")
    _check_committed(config, spec)
    store = Store.open(config)
    run_key = compute_key(config, spec).key
    notes: list[str] = []
    retrained = False
    # a downloaded run is verified here but stored only once promotion goes ahead: a refused
    # promotion must not leave it in the store, where the next train would reuse it
    download = None
    if artifacts is not None and not _run_complete(store, run_key):
        download = find_download(Path(artifacts), run_key)
        if download is not None:
            notes.append(f"run {run_key[:12]} imported from {artifacts}")
    if download is None and not store.has_run(run_key):
        if not retrain:
            where = f"the store {store.location}" + (f" or {artifacts}" if artifacts else "")
            raise ArtifactError(
                f"no trained artifact for {spec.name} with run key {run_key[:12]} in {where}: "
                "the pull request's run did not reach the store, or the spec, data or library "
                "versions at HEAD differ from what the pull request evaluated",
                hint="pass --artifacts DIR with the PR's downloaded artifact, or --retrain to "
                     "train and evaluate it now (recorded in the manifest)")
        retrained = _retrain(config, spec)
        notes.append(f"retrained run {run_key[:12]} at promotion (--retrain)")
    records = download if download is not None else store
    run = read_run(records, run_key)
    if run is None:
        raise ArtifactError(f"{records.run_file_uri(run_key, 'run.json')}: run record not found")
    if run.model != spec.name:
        raise ArtifactError(f"{records.run_file_uri(run_key, 'run.json')}: the run is of model "
                            f"'{run.model}', not '{spec.name}'")
    sha = run.artifact_sha256
    if not is_sha256(sha):
        raise ArtifactError(f"{records.run_file_uri(run_key, 'run.json')}: no artifact sha256")
    if download is None:
        store.path_of(sha)  # verifies the bytes; a corrupt blob is refused here
    evaluation = read_evaluation(records, run_key)
    drift = read_drift(records, run_key)
    gates = run_gates(evaluation, drift)
    forced = False
    if evaluation is None:
        if not force:
            raise PromotionRefused(
                f"no evaluation recorded for {spec.name} run {run_key[:12]}: its gates are "
                "unknown", hint="run gitops-ml evaluate on the pull request, or pass --force "
                                "(recorded in the manifest)")
        forced = True
        notes.append("promoted without a recorded evaluation (--force)")
    else:
        failed = [g.gate for g in gates if g.failed]
        if failed:
            if not force:
                raise PromotionRefused(
                    f"{spec.name} run {run_key[:12]} failed its gates: {', '.join(failed)}",
                    hint="fix the model, or pass --force to promote anyway (recorded)")
            forced = True
            notes.append(f"promoted despite failed gates (--force): {', '.join(failed)}")
    ctx = ci
    if config.registry == "github" and publisher is None:
        raise ConfigError("registry: github needs a release publisher to create the version's "
                          "GitHub Release", hint="run `gitops-ml promote`, or pass publisher= "
                                                 "(gitops_ml.github.releases.GitHubReleases)")
    if download is not None:
        download.store_into(store)
    artifact_path = store.path_of(sha)
    pr = pr if pr is not None else (ctx.pr if ctx.pr is not None else pr_from_merge_commit(repo))
    head = head_sha or ctx.head_sha or run.commit
    who = actor or ctx.actor or Identity.current(repo).name
    manifest: dict[str, Any] = {
        "schema": MANIFEST_SCHEMA, "schema_version": MANIFEST_VERSION,
        "model": spec.name, "version": None, "stage": stage or None,
        "artifact": {"sha256": sha, "uri": _portable(config, store.uri_of(sha)),
                     "size": artifact_path.stat().st_size,
                     "format": run.artifact.get("format", "skops")},
        "run_key": run_key, "store": _portable(config, store.location),
        "spec_file": spec.file, "spec_hash": spec.spec_hash(),
        "canonical_spec_hash": spec.canonical_hash(),
        "data": {role: {"uri": d.get("uri"), "sha256": d.get("sha256"), "rows": d.get("rows")}
                 for role, d in run.data.items()},
        "metrics": dict(evaluation.metrics) if evaluation is not None else {},
        "gates": [{k: v for k, v in g.to_dict().items() if k != "note"} for g in gates],
        "gates_passed": gates_ok(gates) if evaluation is not None else None,
        "champion": evaluation.champion.version
        if evaluation is not None and evaluation.champion is not None else None,
        "drift": {"share_of_drifted_columns": drift.share_of_drifted_columns,
                  "dataset_drift": drift.dataset_drift} if drift is not None else None,
        "pr": pr, "head_sha": head, "merge_sha": commit, "actor": who,
        "merged_by": ctx.merged_by, "trained_commit": run.commit,
        "run_url": ctx.run_url, "retrained": retrained, "forced": forced,
        "gitops_ml": __version__,
        "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }

    def render(final: dict[str, Any]) -> dict[str, Any]:
        card = modelcard.render(_card_inputs(spec, final, run, evaluation, drift))
        card_sha = store.put_bytes(card.encode())
        return {**final, "model_card": {"sha256": card_sha,
                                        "uri": _portable(config, store.uri_of(card_sha))}}

    result = register(repo, spec.name, commit, manifest, stage=stage or None,
                      bump=bump, push=push, remote=remote, actor=who, render=render)
    confirm_stage(repo, spec.name, stage or None, result.version,
                  remote=remote if result.pushed else None)
    final = result.manifest
    card_sha = (final.get("model_card") or {}).get("sha256")
    if card_sha:
        store.write_run_file(run_key, "model_card.md", store.read_bytes(card_sha))
    version_tag = tag_name("register", spec.name, version=result.version)
    stage_tag = next((t for t in result.tags if "#" in t), None)
    if result.existing:
        notes.append(f"{spec.name} {result.version} already holds this artifact at "
                     f"{commit[:12]}: nothing new registered")
    release_url = None
    if publisher is not None and config.registry == "github" and (result.pushed
                                                                  or result.existing):
        release_url = _release(publisher, ctx, spec.name, result.version, version_tag, final,
                               artifact_path, store)
    elif config.registry == "github":
        notes.append("registry: github, but the tags were not pushed: no GitHub Release")
    return PromotionResult(
        model=spec.name, version=result.version, tag=version_tag, stage=stage or None,
        stage_tag=stage_tag, tags=result.tags, run_key=run_key, artifact_sha256=sha,
        commit=commit, pushed=result.pushed, existing=result.existing,
        retrained=bool(final.get("retrained")), forced=bool(final.get("forced")),
        attempts=result.attempts, pr=final.get("pr"), release_url=release_url,
        manifest=final, notes=tuple(notes))


def _check_committed(config: ProjectConfig, spec: ModelSpec) -> None:
    """The version tag points at HEAD; the run key is computed from the files on disk. They
    must agree: the spec, its data refs in the repo and the config must be committed."""
    refs = [spec.file, config.file]
    for ref in (spec.data.train, spec.data.test, spec.data.current):
        if isinstance(ref, str) and "://" not in ref:
            refs.append(ref)
    paths = [str(config.resolve(r)) for r in refs if r]
    proc = run_git(config.root_path, "status", "--porcelain", "--untracked-files=all", "--",
                   *paths, check=False)
    changed = [line[3:] for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode == 0 and changed:
        raise RegistryError(f"uncommitted changes to {', '.join(changed)}: the version would "
                            "not match the commit its tag points at",
                            hint="commit them (promotion runs on the merged commit)")


def _retrain(config: ProjectConfig, spec: ModelSpec) -> bool:
    """Train and evaluate at promotion time (``--retrain``)."""
    from gitops_ml.evaluate.evaluation import evaluate
    from gitops_ml.train import train

    train(config, spec)
    evaluate(config, spec)
    return True


def _release(publisher: ReleasePublisher, ctx: CIContext, model: str, version: str, tag: str,
             manifest: dict[str, Any], artifact_path: Path, store: Store) -> str | None:
    """A GitHub Release for the version, with model.skops and the model card attached."""
    if not ctx.repository:
        raise GitHubError("registry: github needs GITHUB_REPOSITORY (OWNER/NAME) to create "
                          "the release", hint="set it, or use registry: git")

    card_sha = (manifest.get("model_card") or {}).get("sha256")
    with tempfile.TemporaryDirectory(prefix="gitops-ml-release-") as tmp:
        model_file = Path(tmp) / "model.skops"
        shutil.copyfile(artifact_path, model_file)
        assets = [model_file]
        body = f"{model} {version}\n"
        if card_sha:
            card = store.read_bytes(card_sha)
            (Path(tmp) / "model_card.md").write_bytes(card)
            assets.append(Path(tmp) / "model_card.md")
            body = card.decode()
        return publisher.publish(ctx.repository, tag, f"{model} {version}", body, assets)


def describe_commit(repo: str | Path, commit: str) -> dict[str, str]:
    out = git_out(repo, "log", "-1", "--format=%an%x00%ae%x00%cn%x00%ce%x00%cI%x00%s", commit)
    an, ae, cn, ce, date, subject = (out.split("\0") + [""] * 6)[:6]
    return {"author": an, "author_email": ae, "committer": cn, "committer_email": ce,
            "date": date, "subject": subject}
