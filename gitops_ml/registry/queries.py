"""What the CLI asks the registry: ``list`` (with its cache), ``show``, ``history`` and the
version a reference (``MODEL``, ``MODEL@vX.Y.Z``, ``MODEL@latest``, ``MODEL#stage``) names."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from gitops_ml.errors import RegistryError
from gitops_ml.registry.events import TagEvent
from gitops_ml.registry.state import ModelState, Version, read_model, read_state
from gitops_ml.registry.tags import FULLNAME, NAME, SEMVER, model_name
from gitops_ml.util.files import atomic_write
from gitops_ml.util.git import run_git

# MODEL, MODEL@vX.Y.Z, MODEL@latest, MODEL#stage: what `registry show` accepts. MODEL may be
# folder-qualified, as GTO names it (folder:name) or as its tags write it (folder=name).
REFERENCE_RE = re.compile(
    f"^(?P<artifact>{FULLNAME})(#(?P<stage>{NAME})|@(?P<version>latest|greatest|v{SEMVER}))?$")


@dataclass(frozen=True)
class ModelSummary:
    name: str
    latest: str | None
    stages: dict[str, str]
    versions: int
    deprecated: bool


@dataclass(frozen=True)
class RegistryList:
    models: tuple[ModelSummary, ...]


def list_models(repo: str | Path, *, cache: bool = True) -> RegistryList:
    """``registry list``: every model with its latest version and stages.

    The answer is cached in the Git directory under a fingerprint of every tag ref (name and
    object id: tag objects are immutable, so the same fingerprint means the same tags). Any
    new, moved or deleted tag changes it and the state is read again. ``cache=False`` or
    ``GITOPS_ML_REGISTRY_CACHE=0`` skips the cache.
    """
    use_cache = cache and os.environ.get("GITOPS_ML_REGISTRY_CACHE", "1") != "0"
    fingerprint, cache_file = _list_cache_key(repo) if use_cache else ("", None)
    if cache_file is not None:
        hit = _read_list_cache(cache_file, fingerprint)
        if hit is not None:
            return hit
    state = read_state(repo, messages=False)
    out = []
    for m in state.models:
        latest = m.latest
        out.append(ModelSummary(name=m.name, latest=latest.version if latest else None,
                                stages={s.stage: s.version for s in m.stages},
                                versions=sum(1 for v in m.versions if v.registered and v.active),
                                deprecated=m.deprecated))
    result = RegistryList(models=tuple(out))
    if cache_file is not None:
        _write_list_cache(cache_file, fingerprint, result)
    return result


_CACHE_RULES = 2  # bump when the state rules change: old cache entries stop matching


def _list_cache_key(repo: str | Path) -> tuple[str, Path | None]:
    import hashlib

    proc = run_git(repo, "for-each-ref", "--format=%(objectname) %(refname)", "refs/tags",
                   check=False)
    if proc.returncode != 0:
        if "not a git repository" in proc.stderr:
            raise RegistryError(f"{Path(repo).absolute()} is not in a Git repository",
                                hint="run inside the repository, or pass -C DIR")
        return "", None
    common = run_git(repo, "rev-parse", "--git-common-dir", check=False)
    if common.returncode != 0:
        return "", None
    git_dir = Path(common.stdout.strip())
    if not git_dir.is_absolute():
        git_dir = Path(repo) / git_dir
    digest = hashlib.sha256(proc.stdout.encode()).hexdigest()
    return f"{_CACHE_RULES}:{digest}", git_dir / "gitops-ml" / "registry-list.json"


def _read_list_cache(path: Path, fingerprint: str) -> RegistryList | None:
    try:
        data = json.loads(path.read_text())
        if data.get("fingerprint") != fingerprint:
            return None
        return RegistryList(models=tuple(ModelSummary(**m) for m in data["models"]))
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _write_list_cache(path: Path, fingerprint: str, result: RegistryList) -> None:
    payload = json.dumps({"fingerprint": fingerprint, "models": [
        {"name": m.name, "latest": m.latest, "stages": m.stages, "versions": m.versions,
         "deprecated": m.deprecated} for m in result.models]})
    with contextlib.suppress(OSError):  # a read-only clone still answers, without the cache
        atomic_write(path, payload.encode())


@dataclass(frozen=True)
class Reference:
    model: str
    version: str | None = None  # vX.Y.Z, or 'latest'
    stage: str | None = None


def parse_reference(ref: str) -> Reference:
    """``MODEL``, ``MODEL@vX.Y.Z``, ``MODEL@latest`` or ``MODEL#stage``."""
    m = REFERENCE_RE.match(ref)
    if not m:
        raise RegistryError(f"cannot parse '{ref}'",
                            hint="use MODEL, MODEL@vX.Y.Z, MODEL@latest or MODEL#stage")
    version = m["version"]
    if version == "greatest":
        version = "latest"
    return Reference(model=model_name(m["artifact"]), version=version, stage=m["stage"])


def resolve(repo: str | Path, ref: str | Reference) -> tuple[ModelState, Version]:
    """The version a reference names; a clear error when there is none."""
    r = parse_reference(ref) if isinstance(ref, str) else ref
    state = read_model(repo, r.model)
    if not state.events:
        raise RegistryError(f"model '{r.model}' has no versions in the registry",
                            hint="promote it first (gitops-ml promote)")
    if r.stage:
        s = state.stage(r.stage)
        if s is None:
            known = ", ".join(x.stage for x in state.stages) or "none"
            raise RegistryError(f"model '{r.model}' has no version in stage '{r.stage}'",
                                hint=f"stages with a version: {known}")
        v = state.version(s.version)
        assert v is not None
        return state, v
    if r.version and r.version != "latest":
        found = state.version(r.version)
        if found is None:
            raise RegistryError(f"model '{r.model}' has no version {r.version}",
                                hint=f"latest is {state.latest.version}" if state.latest
                                else None)
        return state, found
    latest = state.latest
    if latest is None:
        raise RegistryError(f"model '{r.model}' has no active version")
    return state, latest


@dataclass(frozen=True)
class VersionDetail:
    model: str
    version: Version
    stages: tuple[str, ...]
    deprecated: bool


def show(repo: str | Path, ref: str) -> ModelState | VersionDetail:
    """``registry show MODEL`` (the model) or ``MODEL@VERSION`` / ``MODEL#STAGE`` (a version)."""
    r = parse_reference(ref)
    if r.version is None and r.stage is None:
        state = read_model(repo, r.model)
        if not state.events:
            raise RegistryError(f"model '{r.model}' has no versions in the registry",
                                hint="promote it first (gitops-ml promote)")
        return state
    state, v = resolve(repo, r)
    return VersionDetail(model=state.name, version=v, stages=v.stages,
                         deprecated=state.deprecated)


@dataclass(frozen=True)
class History:
    model: str
    events: tuple[TagEvent, ...]


def history(repo: str | Path, model: str) -> History:
    """``registry history MODEL``: every tag of the model, newest first in the order they take
    effect (stage tags by their counter, see :mod:`gitops_ml.registry.state`)."""
    state = read_model(repo, model)
    if not state.events:
        raise RegistryError(f"model '{state.name}' has no versions in the registry")
    # stage tags name no version: GTO reads it from the version registered at their commit,
    # and names a commit no version was registered at by its full SHA
    at = {v.commit: v.version for v in state.versions if v.registered}
    events = [dataclasses.replace(e, version=at.get(e.commit, e.commit))
              if e.action in ("assign", "unassign") else e for e in state.events]
    return History(model=state.name, events=tuple(reversed(events)))

