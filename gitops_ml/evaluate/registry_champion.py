"""The registry's answers to other parts: evaluate's champion and the monitor's reference.

- :class:`RegistryChampion` implements
  :class:`gitops_ml.evaluate.champion.ChampionProvider`: stage -> version (the tag) -> run
  key (its manifest) -> artifact (from the store, sha256 verified against both the run record
  and the manifest).
- :func:`production_reference` gives the drift monitor the data pointer the production
  version was trained on (recorded in its run.json).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gitops_ml.errors import ArtifactError
from gitops_ml.registry.state import read_model

if TYPE_CHECKING:
    from gitops_ml.evaluate.champion import Champion
    from gitops_ml.project.spec import ModelSpec, ProjectConfig


class RegistryChampion:
    """evaluate's champion: the version at the spec's promotion stage, its verified artifact."""

    def find(self, config: ProjectConfig, spec: ModelSpec) -> Champion | None:
        from gitops_ml.evaluate.champion import from_run

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


@dataclass(frozen=True)
class ProductionReference:
    model: str
    version: str
    stage: str
    run_key: str
    reference: dict[str, Any]  # {uri, sha256, rows} of the data the version was trained on
    role: str


def production_reference(config: ProjectConfig, spec: ModelSpec,
                         stage: str | None = None) -> ProductionReference | None:
    """The data the production version was trained on (its run.json's 'train' pointer), as the
    drift monitor's reference. None when no version holds the stage."""
    from gitops_ml.runs.store import Store

    stage = stage or spec.promotion.stage
    state = read_model(config.root_path, spec.name)
    current = state.stage(stage)
    if current is None:
        return None
    version = state.version(current.version)
    manifest = (version.manifest if version else None) or {}
    run_key = manifest.get("run_key")
    data = manifest.get("data") or {}
    store = Store.open(config)
    if run_key and store.has_run(run_key):
        run = json.loads(store.read_run_file(run_key, "run.json"))
        data = run.get("data") or data
    role = "train" if "train" in data else next(iter(data), "")
    if not role:
        raise ArtifactError(f"{spec.name} {current.version} ({stage}) records no data pointers")
    return ProductionReference(model=spec.name, version=current.version, stage=stage,
                               run_key=str(run_key or ""), reference=dict(data[role]), role=role)
