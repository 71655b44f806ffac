"""``gitops-ml plan``: which models does a change affect?

A model is affected when its spec, a pointer it uses (or the data file a plain path names), the
project config, or any file in its folder changed since the merge base with ``--base``. The
result is also a GitHub Actions matrix, so N affected models fan out over N runners.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from gitops_ml.project import spec
from gitops_ml.project.spec import InlinePointer, ModelSpec, ProjectConfig
from gitops_ml.util import git as gitutil
from gitops_ml.util.frozen import Record


class AffectedModel(Record):
    """A model the change affects, and why."""

    name: str
    spec: str
    reasons: tuple[str, ...]


class PlanResult(Record):
    """The affected models since a base revision."""

    base: str | None
    changed_files: int
    models: tuple[AffectedModel, ...]

    @property
    def matrix(self) -> dict[str, list[dict[str, str]]]:
        """A GitHub Actions ``strategy.matrix``: ``{"include": [{"model", "spec"}]}``."""
        return {"include": [{"model": m.name, "spec": m.spec} for m in self.models]}

    def to_dict(self) -> dict[str, list[dict[str, str]]]:
        return self.matrix


def model_inputs(config: ProjectConfig, model: ModelSpec) -> dict[str, str]:
    """Repo-relative files a model depends on (besides its folder), with what each one is."""
    deps = {model.file: "spec", spec.CONFIG_FILE: "config"}
    for role in ("train", "test", "current"):
        ref = getattr(model.data, role)
        if isinstance(ref, str):
            deps[PurePosixPath(ref).as_posix()] = f"{role} data pointer"
        elif isinstance(ref, InlinePointer) and "://" not in ref.uri:
            deps[PurePosixPath(ref.uri).as_posix()] = f"{role} data"
    if model.estimator.factory:
        deps[model.estimator.factory.rpartition(":")[0]] = "pipeline factory"
    return deps


def plan(root: str | None = None, base: str | None = None) -> PlanResult:
    config = spec.load_config(root)
    if base is None:
        return PlanResult(None, 0, tuple(
            AffectedModel(m.name, m.file, ("no --base: every model",))
            for m in spec.load_specs(config)))
    pending = gitutil.ChangedFiles(config.root, base)  # git answers while the specs load
    try:
        models = spec.load_specs(config)
    except BaseException:
        pending.cancel()
        raise
    changed = pending.result()
    changed_set = set(changed)
    affected = []
    for model in models:
        reasons = []
        deps = model_inputs(config, model)
        for path in sorted(changed_set.intersection(deps)):
            reasons.append(f"{deps[path]} changed ({path})")
        folder = model.folder.rstrip("/") + "/"
        in_folder = sorted(p for p in changed if p.startswith(folder) and p not in deps)
        if in_folder:
            more = f" and {len(in_folder) - 1} more" if len(in_folder) > 1 else ""
            reasons.append(f"file in its folder changed ({in_folder[0]}{more})")
        if reasons:
            affected.append(AffectedModel(model.name, model.file, tuple(reasons)))
    return PlanResult(base, len(changed), tuple(affected))
