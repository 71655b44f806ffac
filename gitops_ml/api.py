"""The public API: the verbs the CLI calls, each returning a frozen result.

Every verb takes its arguments in one order: the repository folder first (``None`` for the
current folder), then what it acts on (a model name, a ``MODEL[@VERSION|#STAGE]`` reference,
files), then keyword-only options. What the CI run knows (pull request, head commit, actor) comes
in as one :class:`~gitops_ml.ci.CIContext`, built by the caller; no verb reads the environment.

Nothing heavy is imported here: each verb imports the package that does its work when it is
called, so ``import gitops_ml`` and the light commands (``--help``, ``validate``, ``plan``) stay
cheap. The verbs are re-exported from :mod:`gitops_ml` (lazily).

Names say what the verb does and avoid the names of the packages below it
(``gitops_ml.train`` is the training module, ``train_model`` the verb).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gitops_ml.ci import NO_CI, CIContext
    from gitops_ml.data.sync import (
        AddResult,
        ItemResult,
        Reporter,
        TransferResult,
        VerifyResult,
    )
    from gitops_ml.drift.command import MonitorResult
    from gitops_ml.drift.stats import DriftResult
    from gitops_ml.evaluate.evaluation import EvaluationResult
    from gitops_ml.project.plan import PlanResult
    from gitops_ml.project.spec import ProjectConfig
    from gitops_ml.project.validate import ValidationResult
    from gitops_ml.promote.lineage import Lineage, RegisteredCard, Reproduction
    from gitops_ml.promote.promotion import PromotionResult, ReleasePublisher
    from gitops_ml.registry.doctor import Diagnosis
    from gitops_ml.registry.queries import History, RegistryList, VersionDetail
    from gitops_ml.registry.state import ModelState
    from gitops_ml.registry.verbs import StageChange
    from gitops_ml.report.view import ReportResult
    from gitops_ml.scaffold import InitResult
    from gitops_ml.train import TrainResult
    from gitops_ml.util.hashing import Progress

Repo = str | Path | None

__all__ = [
    "NO_CI",
    "AddResult",
    "CIContext",
    "Diagnosis",
    "DriftResult",
    "EvaluationResult",
    "History",
    "InitResult",
    "ItemResult",
    "Lineage",
    "ModelState",
    "MonitorResult",
    "PlanResult",
    "Progress",
    "PromotionResult",
    "RegisteredCard",
    "RegistryList",
    "ReleasePublisher",
    "ReportResult",
    "Reporter",
    "Reproduction",
    "StageChange",
    "TrainResult",
    "TransferResult",
    "ValidationResult",
    "VerifyResult",
    "VersionDetail",
    "data_add",
    "data_pull",
    "data_push",
    "data_verify",
    "deprecate_model",
    "drift_model",
    "drift_text",
    "evaluate_model",
    "fairness_label",
    "init_project",
    "json_schema",
    "lineage_text",
    "list_models",
    "model_card",
    "model_history",
    "model_lineage",
    "monitor_model",
    "plan",
    "promote_model",
    "registry_doctor",
    "report_model",
    "reproduce_model",
    "rollback_model",
    "show_model",
    "train_model",
    "validate",
]


def __getattr__(name: str) -> Any:
    """The result types at run time (for ``isinstance`` and annotations), each imported from
    its module only when asked for."""
    if name in ("CIContext", "NO_CI"):
        from gitops_ml import ci

        return getattr(ci, name)
    if name in ("VersionDetail", "History", "RegistryList"):
        from gitops_ml.registry import queries

        return getattr(queries, name)
    if name == "Diagnosis":
        from gitops_ml.registry.doctor import Diagnosis

        return Diagnosis
    if name == "ModelState":
        from gitops_ml.registry.state import ModelState

        return ModelState
    if name == "StageChange":
        from gitops_ml.registry.verbs import StageChange

        return StageChange
    if name in ("AddResult", "ItemResult", "Reporter", "TransferResult", "VerifyResult"):
        from gitops_ml.data import sync

        return getattr(sync, name)
    if name == "Progress":
        from gitops_ml.util.hashing import Progress

        return Progress
    if name == "DriftResult":
        from gitops_ml.drift.stats import DriftResult

        return DriftResult
    if name == "MonitorResult":
        from gitops_ml.drift.command import MonitorResult

        return MonitorResult
    if name == "EvaluationResult":
        from gitops_ml.evaluate.evaluation import EvaluationResult

        return EvaluationResult
    if name in ("PlanResult", "ValidationResult"):
        from gitops_ml.project.plan import PlanResult
        from gitops_ml.project.validate import ValidationResult

        return PlanResult if name == "PlanResult" else ValidationResult
    if name in ("Lineage", "RegisteredCard", "Reproduction"):
        from gitops_ml.promote import lineage

        return getattr(lineage, name)
    if name in ("PromotionResult", "ReleasePublisher"):
        from gitops_ml.promote import promotion

        return getattr(promotion, name)
    if name == "ReportResult":
        from gitops_ml.report.view import ReportResult

        return ReportResult
    if name == "InitResult":
        from gitops_ml.scaffold import InitResult

        return InitResult
    if name == "TrainResult":
        from gitops_ml.train import TrainResult

        return TrainResult
    raise AttributeError(f"module 'gitops_ml.api' has no attribute {name!r}")


def _config(repo: Repo) -> ProjectConfig:
    from gitops_ml.project.spec import load_config

    return load_config(repo)


def _ci(ci: CIContext | None) -> CIContext:
    if ci is not None:
        return ci
    from gitops_ml.ci import NO_CI

    return NO_CI


def _folder(repo: Repo) -> Path:
    return Path(repo or ".").absolute()


# --- project -------------------------------------------------------------------------------

def validate(repo: Repo, paths: Sequence[str] = (), *, check_data: bool = True
             ) -> ValidationResult:
    """Check the config, the model specs (or only ``paths``) and their data pointers."""
    from gitops_ml.project.validate import validate as run

    return run(repo, tuple(paths), check_data=check_data)


def plan(repo: Repo, *, base: str | None = None) -> PlanResult:
    """The models a change since ``base`` affects (every model without ``base``)."""
    from gitops_ml.project.plan import plan as run

    return run(None if repo is None else str(repo), base)


def json_schema(kind: str = "model") -> dict[str, Any]:
    """The JSON Schema of a model spec (``model``) or of ``gitops-ml.yaml`` (``config``)."""
    from gitops_ml.project import spec

    return spec.spec_json_schema() if kind == "model" else spec.config_json_schema()


def init_project(repo: str | Path = ".", *, template: str = "classification",
                 force: bool = False, owner_repo: str | None = None) -> InitResult:
    """Scaffold a gitops-ml repository in the folder ``repo`` (created if missing)."""
    from gitops_ml import scaffold

    return scaffold.init(repo, template, force=force,
                         owner_repo=owner_repo or scaffold.DEFAULT_OWNER_REPO)


# --- data ----------------------------------------------------------------------------------

def _refs(repo: Repo, config: ProjectConfig, pointers: Sequence[str]) -> list[str]:
    """Paths given relative to ``repo`` (or URIs) as the repository-relative refs data uses."""
    from gitops_ml.data import pointers as data

    base = _folder(repo)
    return [p if data.is_remote_uri(p) or p.startswith("file://") else data.rel(config, base / p)
            for p in pointers]


def data_add(repo: Repo, file: str | Path, *, to: str | None = None,
             pointer: str | Path | None = None, fmt: str | None = None,
             reporter: Reporter | None = None) -> AddResult:
    """Hash ``file`` and write a pointer to it; with ``to``, upload it there first."""
    from gitops_ml.data import pointers as data
    from gitops_ml.data.sync import add

    config, base = _config(repo), _folder(repo)
    target = to
    if to is not None and not data.is_remote_uri(to) and not to.startswith("file://"):
        target = str(base / to) + ("/" if to.endswith("/") else "")
    return add(config, base / file, to=target, pointer=base / pointer if pointer else None,
               fmt=fmt, reporter=reporter)


def data_push(repo: Repo, pointers: Sequence[str] = (), *, model: str | None = None,
              reporter: Reporter | None = None) -> TransferResult:
    """Upload the local data of ``pointers`` (default: every model's) to their URIs."""
    from gitops_ml.data.sync import push

    config = _config(repo)
    return push(config, _refs(repo, config, pointers), model=model, reporter=reporter)


def data_pull(repo: Repo, pointers: Sequence[str] = (), *, model: str | None = None,
              reporter: Reporter | None = None) -> TransferResult:
    """Fetch the data of ``pointers`` (default: every model's) into the cache, verified."""
    from gitops_ml.data.sync import pull

    config = _config(repo)
    return pull(config, _refs(repo, config, pointers), model=model, reporter=reporter)


def data_verify(repo: Repo, pointers: Sequence[str] = (), *, model: str | None = None,
                reporter: Reporter | None = None) -> VerifyResult:
    """Re-hash the local data of ``pointers`` (default: every model's)."""
    from gitops_ml.data.sync import verify

    config = _config(repo)
    return verify(config, _refs(repo, config, pointers), model=model, reporter=reporter)


# --- a pull request's pipeline -------------------------------------------------------------

def train_model(repo: Repo, model: str, *, force: bool = False) -> TrainResult:
    """Train ``model`` (a name or a spec path), or reuse the cached run of its run key."""
    from gitops_ml.train import train

    return train(_config(repo), model, force=force)


def evaluate_model(repo: Repo, model: str, *, champion: str | None = None,
                   bootstrap: int | None = None, out: str | Path | None = None
                   ) -> EvaluationResult:
    """Evaluate ``model`` on its test data, against the champion, through its gates."""
    from gitops_ml.evaluate.evaluation import evaluate

    return evaluate(_config(repo), model, champion=champion, bootstrap=bootstrap, out=out)


def drift_model(repo: Repo, model: str, *, reference: str | None = None,
                current: str | None = None, model_artifact: str | Path | None = None,
                html: str | Path | None = None, out: str | Path | None = None
                ) -> DriftResult:
    """Drift between the reference and the current data of ``model``."""
    from gitops_ml.drift.command import run_drift
    from gitops_ml.project.spec import find_spec

    config = _config(repo)
    return run_drift(config, find_spec(config, model), reference=reference, current=current,
                     model_artifact=model_artifact, html=html, out=out)


def monitor_model(repo: Repo, model: str, *, current: str, reference: str | None = None,
                  html: str | Path | None = None, out: str | Path | None = None
                  ) -> MonitorResult:
    """Drift of fresh data against the production version's reference data."""
    from gitops_ml.drift.command import monitor
    from gitops_ml.project.spec import find_spec

    config = _config(repo)
    return monitor(config, find_spec(config, model), current=current, reference=reference,
                   html=html, out=out)


def fairness_label(name: str) -> str:
    """A fairness figure or difference as people read it (``selection_rate:setosa`` ->
    ``selection rate (setosa)``, ``demographic_parity_difference`` -> ``demographic parity
    difference``)."""
    from gitops_ml.evaluate.fairness import DIFFERENCE_LABELS, figure_label

    return DIFFERENCE_LABELS.get(name) or figure_label(name)


def drift_text(result: DriftResult) -> str:
    """The drift table as plain text (the CLI and the demo show it)."""
    from gitops_ml.drift.command import text

    return text(result)


def report_model(repo: Repo, model: str, *, fmt: str = "md", out: Path | None = None,
                 bundle: Path | None = None, run_key: str | None = None,
                 run_file: Path | None = None, evaluation_file: Path | None = None,
                 drift_file: Path | None = None, step_summary: Path | None = None,
                 ci: CIContext | None = None) -> ReportResult:
    """Render the report of ``model`` (the PR comment, a bundle, the job summary).

    Records come from the store by the model's run key, or from the files given; when every
    record is given as a file, no repository is needed."""
    from gitops_ml.errors import NoConfigError
    from gitops_ml.project.spec import load_config
    from gitops_ml.report.view import make_report
    from gitops_ml.util.git import head_commit, is_repo

    explicit = any(f is not None for f in (run_file, evaluation_file, drift_file))
    try:
        config: ProjectConfig | None = load_config(repo)
    except NoConfigError:
        if not explicit:
            raise
        config = None
    context = _ci(ci).report_context()
    if config is not None and is_repo(config.root):
        context["commit"] = head_commit(config.root)
    return make_report(config, model, fmt=fmt, out=out, bundle=bundle,
                       step_summary=step_summary, run_key=run_key, run_file=run_file,
                       evaluation_file=evaluation_file, drift_file=drift_file,
                       context=context)


# --- the registry --------------------------------------------------------------------------

def promote_model(repo: Repo, model: str, *, stage: str | None = None,
                  bump: str | None = None, retrain: bool = False, force: bool = False,
                  artifacts: str | Path | None = None, pr: int | None = None,
                  head_sha: str | None = None, actor: str | None = None,
                  push: bool | None = None, ci: CIContext | None = None,
                  publisher: ReleasePublisher | None = None) -> PromotionResult:
    """Register the artifact the pull request evaluated and assign its stage. ``publisher``
    creates the GitHub Release with ``registry: github``."""
    from gitops_ml.promote.promotion import promote

    return promote(_config(repo), model, stage=stage, bump=bump, retrain=retrain,
                   force=force, pr=pr, head_sha=head_sha, actor=actor, push=push,
                   artifacts=artifacts, ci=_ci(ci), publisher=publisher)


def list_models(repo: Repo) -> RegistryList:
    """Every model in the registry with its latest version and stages."""
    from gitops_ml.registry.queries import list_models as run

    return run(_folder(repo))


def show_model(repo: Repo, ref: str) -> ModelState | VersionDetail:
    """A model's versions and stages (``MODEL``), or one version (``MODEL@v1.2.0``,
    ``MODEL#production``) with its manifest."""
    from gitops_ml.registry.queries import show

    return show(_folder(repo), ref)


def model_history(repo: Repo, model: str) -> History:
    """Every registry event of ``model``, newest first."""
    from gitops_ml.registry.queries import history

    return history(_folder(repo), model)


def rollback_model(repo: Repo, model: str, *, to: str, stage: str = "production",
                   actor: str | None = None, push: bool | None = None, force: bool = False,
                   ci: CIContext | None = None) -> StageChange:
    """Assign ``stage`` to the earlier version ``to`` with a new stage tag (``force`` for a
    version whose gates did not pass)."""
    from gitops_ml.registry.verbs import rollback

    return rollback(_folder(repo), model, to, stage, actor=actor or _ci(ci).actor, push=push,
                    force=force)


def deprecate_model(repo: Repo, model: str, *, version: str | None = None,
                    actor: str | None = None, push: bool | None = None,
                    ci: CIContext | None = None) -> StageChange:
    """Deprecate ``model``, or deregister one ``version`` of it."""
    from gitops_ml.registry.verbs import deprecate

    return deprecate(_folder(repo), model, version, actor=actor or _ci(ci).actor, push=push)


def registry_doctor(repo: Repo, model: str | None = None) -> Diagnosis:
    """Tags that make gitops-ml and gto read the registry differently, and stages held
    against the rules (of one model, or of all)."""
    from gitops_ml.registry.doctor import doctor

    return doctor(_folder(repo), model)


def model_lineage(repo: Repo, ref: str) -> Lineage:
    """How a version came to be: commit, PR, data, spec, metrics, gates, libraries."""
    from gitops_ml.promote.lineage import lineage

    return lineage(_folder(repo), ref)


def model_card(repo: Repo, ref: str) -> RegisteredCard:
    """The model card a version was registered with."""
    from gitops_ml.promote.lineage import model_card as read_card

    return read_card(_folder(repo), ref)


def lineage_text(result: Lineage) -> str:
    """A lineage as plain text (the CLI and the demo show it)."""
    from gitops_ml.promote.lineage import render_text

    return render_text(result)


def reproduce_model(repo: Repo, ref: str, *, keep: bool = False) -> Reproduction:
    """Retrain a version at its recorded commit and compare the artifact's sha256."""
    from gitops_ml.promote.lineage import reproduce

    return reproduce(_folder(repo), ref, keep=keep)
