"""The monitor's reference: the data the production version was trained on.

``monitor`` compares fresh data against it. The registry names the production version and its
run key (the stage tag and the version's manifest); the run record in the store names the data
it was trained on, by URI and sha256, so the bytes read back are verified.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gitops_ml.errors import ArtifactError
from gitops_ml.project.spec import InlinePointer
from gitops_ml.registry.state import read_model

if TYPE_CHECKING:
    from gitops_ml.project.spec import ModelSpec, ProjectConfig


@dataclass(frozen=True)
class ProductionReference:
    """The data a registered version was trained on, as a pointer drift can read."""

    model: str
    version: str
    stage: str
    run_key: str
    role: str  # the data role of the run it comes from ("train" when recorded)
    pointer: InlinePointer
    rows: int | None = None


def production_reference(config: ProjectConfig, spec: ModelSpec,
                         stage: str | None = None) -> ProductionReference | None:
    """The training data of the version at ``stage`` (default: the spec's promotion stage),
    from its run record (else its manifest). None when no version holds the stage."""
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
    recorded = data.get(role) if role else None
    if not isinstance(recorded, dict) or not recorded.get("uri"):
        raise ArtifactError(f"{spec.name} {current.version} ({stage}) records no data pointers")
    sha = recorded.get("sha256")
    rows = recorded.get("rows")
    return ProductionReference(
        model=spec.name, version=current.version, stage=stage, run_key=str(run_key or ""),
        role=role, pointer=InlinePointer(uri=str(recorded["uri"]),
                                         sha256=sha if isinstance(sha, str) else None),
        rows=rows if isinstance(rows, int) else None)
