"""The champion: the model a candidate is compared against.

By default the champion is the model currently at the spec's promotion stage, looked up in the
registry (:class:`RegistryChampion`: stage -> version (the tag) -> run key (its manifest) ->
artifact from the store, sha256 verified against both the run record and the manifest).
``evaluate --champion PATH|RUN_KEY`` names one explicitly (:class:`ExplicitChampion`): an
artifact file, or a run key in the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from gitops_ml.errors import ArtifactError
from gitops_ml.registry.state import read_model
from gitops_ml.util.hashing import is_sha256

if TYPE_CHECKING:
    from gitops_ml.project.spec import ModelSpec, ProjectConfig



@dataclass(frozen=True)
class Champion:
    """A model to beat. ``artifact_path`` is a local file whose sha256 has been verified."""

    artifact_sha256: str
    artifact_path: Path
    version: str | None = None
    run_key: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    features: tuple[str, ...] | None = None
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "run_key": self.run_key,
                "artifact_sha256": self.artifact_sha256, "metrics": dict(self.metrics),
                "source": self.source}


@runtime_checkable
class ChampionProvider(Protocol):
    def find(self, config: ProjectConfig, spec: ModelSpec) -> Champion | None:
        """The champion for ``spec``, or None when there is none yet (a first model)."""
        ...


class NoChampion:
    """The provider used when no registry is available: there is never a champion."""

    def find(self, config: ProjectConfig, spec: ModelSpec) -> Champion | None:
        return None


def from_run(config: ProjectConfig, run_key: str, *, version: str | None = None,
             source: str | None = None) -> Champion:
    """A champion from a run in the store: its verified artifact, features and metrics."""
    from gitops_ml.runs.records import read_evaluation, read_run
    from gitops_ml.runs.store import Store

    store = Store.open(config)
    record = read_run(store, run_key) if store.has_run(run_key) else None
    if record is None:
        raise ArtifactError(f"champion run {run_key[:12]} is not in the store {store.location}")
    path = store.path_of(record.artifact_sha256)
    evaluation = read_evaluation(store, run_key)
    metrics = {k: v for k, v in evaluation.metrics.items() if v is not None} \
        if evaluation is not None else {}
    return Champion(artifact_sha256=record.artifact_sha256, artifact_path=path,
                    version=version, run_key=run_key, metrics=metrics,
                    features=record.features, source=source or f"run {run_key[:12]}")


class ExplicitChampion:
    """``--champion PATH|RUN_KEY``: an artifact file, or a run key in the store."""

    def __init__(self, ref: str) -> None:
        self.ref = ref

    def find(self, config: ProjectConfig, spec: ModelSpec) -> Champion | None:
        from gitops_ml.util.hashing import sha256_file

        ref = self.ref
        if is_sha256(ref) and not Path(ref).exists():
            return from_run(config, ref)
        path = Path(ref)
        if not path.is_absolute() and not path.exists():
            path = config.resolve(ref)
        if not path.is_file():
            raise ArtifactError(f"{ref}: champion artifact not found",
                                hint="give an artifact file or a run key in the store")
        return Champion(artifact_sha256=sha256_file(path), artifact_path=path,
                        source=str(ref))


class RegistryChampion:
    """evaluate's champion: the version at the spec's promotion stage, its verified artifact."""

    def find(self, config: ProjectConfig, spec: ModelSpec) -> Champion | None:
        stage = spec.promotion.stage
        state = read_model(config.root_path, spec.name)
        current = state.stage(stage) if stage else None
        if current is None:
            return None
        version = state.version(current.version)
        manifest = version.manifest if version else None
        if not manifest or not manifest.get("run_key"):
            raise ArtifactError(f"{spec.name} {current.version} ({stage}) has no gitops-ml "
                                "manifest with a run key in its tag message",
                                hint="it was not registered by gitops-ml promote")
        champ = from_run(config, manifest["run_key"], version=current.version,
                         source=f"{spec.name} {current.version} ({stage})")
        expected = (manifest.get("artifact") or {}).get("sha256")
        if expected and champ.artifact_sha256 != expected:
            raise ArtifactError(f"{spec.name} {current.version}: the store's run "
                                f"{manifest['run_key'][:12]} names artifact "
                                f"{champ.artifact_sha256[:12]}, the registry {expected[:12]}")
        return champ


def default_provider() -> ChampionProvider:
    """The version at the spec's promotion stage in the Git registry."""
    return RegistryChampion()
