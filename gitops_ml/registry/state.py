"""The registry's state: a model's tags replayed into versions and stages.

It follows GTO's rules with its default (timestamp) ordering:

- a version is active unless its latest register/deregister event is a deregistration;
- a stage assignment belongs to the version registered at the tag's commit (GTO maps stage
  tags to versions by commit); a (version, stage) pair is active when its latest event is an
  assignment; the stage's current version is the active pair assigned most recently;
- the model is deprecated when its latest event is a deprecation.

Ties in the tagger date (one-second resolution) are broken by the tag's counter, which the
write path makes strictly increasing per model.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitops_ml.registry.events import TagEvent, iso, read_events
from gitops_ml.registry.manifest import parse_manifest
from gitops_ml.registry.tags import semver_key


@dataclass(frozen=True)
class Version:
    """A registered version of a model."""

    model: str
    version: str
    commit: str
    tag: str | None
    created_ts: int
    author: str
    active: bool  # False once deregistered
    registered: bool  # False for a commit GTO "discovers" through a stage tag alone
    stages: tuple[str, ...] = ()
    message: str = field(default="", repr=False)

    @property
    def created_at(self) -> str:
        return iso(self.created_ts)

    @functools.cached_property
    def manifest(self) -> dict[str, Any] | None:
        """The manifest in the registration tag's message, parsed on first use (``list`` on
        10,000 versions never parses one)."""
        return parse_manifest(self.message) if self.registered else None

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "version": self.version, "commit": self.commit,
                "tag": self.tag, "created_at": self.created_at, "author": self.author,
                "active": self.active, "registered": self.registered,
                "stages": list(self.stages), "manifest": self.manifest}


@dataclass(frozen=True)
class StageState:
    stage: str
    version: str
    commit: str
    tag: str
    assigned_at: str


@dataclass(frozen=True)
class ModelState:
    """Everything the registry knows about one model."""

    name: str
    versions: tuple[Version, ...]  # newest (semver) first, deregistered included
    stages: tuple[StageState, ...]  # current version of each stage, by stage name
    deprecated: bool
    events: tuple[TagEvent, ...]  # oldest first
    max_counter: int

    @property
    def latest(self) -> Version | None:
        for v in self.versions:
            if v.active and v.registered:
                return v
        return None

    @property
    def greatest_version(self) -> str | None:
        """The highest version ever registered (deregistered too): the base of the next bump."""
        names = [v.version for v in self.versions if v.registered]
        return max(names, key=semver_key) if names else None

    def stage(self, stage: str) -> StageState | None:
        return next((s for s in self.stages if s.stage == stage), None)

    def version(self, version: str) -> Version | None:
        return next((v for v in self.versions if v.version == version), None)

    def versions_at(self, commit: str) -> list[Version]:
        return [v for v in self.versions if v.commit == commit and v.registered]

    def to_dict(self) -> dict[str, Any]:
        latest = self.latest
        return {"name": self.name, "deprecated": self.deprecated,
                "latest": latest.version if latest else None,
                "stages": {s.stage: s.version for s in self.stages},
                "versions": [v.to_dict() for v in self.versions]}


def build_model_state(name: str, events: Iterable[TagEvent]) -> ModelState:
    """Replay a model's tags in time order (GTO's timestamp rules, see the module doc)."""
    ordered = sorted((e for e in events if e.model == name), key=TagEvent.sort_key)
    reg: dict[str, TagEvent] = {}  # version -> registration
    direct: dict[str, TagEvent] = {}  # version -> latest register/deregister
    commit_of: dict[str, str] = {}  # version -> commit
    by_commit: dict[str, str] = {}  # commit -> version (the last registered there)
    vstage: dict[tuple[str, str], TagEvent] = {}  # (version, stage) -> latest (un)assignment
    last_assign: dict[tuple[str, str], TagEvent] = {}
    deprecated = False
    max_counter = 0
    first_at: dict[str, TagEvent] = {}  # commit -> its oldest tag
    for e in ordered:  # stage tags map to the version registered at their commit
        first_at.setdefault(e.commit, e)
        if e.action == "register" and e.version:
            by_commit[e.commit] = e.version
    for e in ordered:
        if e.counter is not None:
            max_counter = max(max_counter, e.counter)
        if e.action in ("register", "deregister") and e.version:
            direct[e.version] = e
            commit_of.setdefault(e.version, e.commit)
            if e.action == "register":
                reg.setdefault(e.version, e)
        elif e.action in ("assign", "unassign") and e.stage:
            version = by_commit.get(e.commit, e.commit)
            commit_of.setdefault(version, e.commit)
            vstage[(version, e.stage)] = e
            if e.action == "assign":
                last_assign[(version, e.stage)] = e
        if e.action == "deprecate":
            deprecated = True
        elif e.action != "create":
            deprecated = False

    def active(version: str) -> bool:
        d = direct.get(version)
        return d is None or d.action == "register"

    current: dict[str, tuple[tuple[int, int, int, str], StageState]] = {}
    for (version, stage), e in vstage.items():
        if e.action != "assign" or not active(version):
            continue
        a = last_assign[(version, stage)]
        key = a.sort_key()
        if stage not in current or key > current[stage][0]:
            current[stage] = (key, StageState(stage=stage, version=version, commit=a.commit,
                                              tag=a.tag, assigned_at=a.created_iso))
    stages_of: dict[str, list[str]] = {}
    for _, s in current.values():
        stages_of.setdefault(s.version, []).append(s.stage)
    versions = []
    for version, commit in commit_of.items():
        r = reg.get(version)
        first = r or first_at[commit]
        versions.append(Version(
            model=name, version=version, commit=commit, tag=r.tag if r else None,
            created_ts=first.created_at, author=first.tagger, active=active(version),
            registered=r is not None, stages=tuple(sorted(stages_of.get(version, []))),
            message=r.message if r else ""))
    versions.sort(key=lambda v: (v.registered, semver_key(v.version)), reverse=True)
    return ModelState(name=name, versions=tuple(versions),
                      stages=tuple(s for _, (_, s) in sorted(current.items())),
                      deprecated=deprecated, events=tuple(ordered), max_counter=max_counter)


@dataclass(frozen=True)
class RegistryState:
    models: tuple[ModelState, ...]

    def model(self, name: str) -> ModelState | None:
        return next((m for m in self.models if m.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {"models": [m.to_dict() for m in self.models]}


def read_state(repo: str | Path, *, messages: bool = True) -> RegistryState:
    by_model: dict[str, list[TagEvent]] = {}
    for e in read_events(repo, messages=messages):
        by_model.setdefault(e.model, []).append(e)
    return RegistryState(models=tuple(build_model_state(n, evs)
                                      for n, evs in sorted(by_model.items())))


def read_model(repo: str | Path, model: str) -> ModelState:
    return build_model_state(model, read_events(repo, model))

