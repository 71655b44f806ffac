"""The registry's state: a model's tags replayed into versions and stages.

The replay follows GTO's rules, with one difference of order:

- a version is active unless its latest register/deregister event is a deregistration;
- a stage assignment belongs to the version registered at the tag's commit (GTO maps stage
  tags to versions by commit); a (version, stage) pair is active when its latest event is an
  assignment; the stage's current version is the active pair assigned most recently;
- the model is deprecated when its latest event is a deprecation.

"Latest" and "most recently" are in **counter order** for the tags that carry a counter
(``churn#production#7``): the counter is what the writer took as the next free number, so it
cannot be forged by a clock. The tags without one (versions, deprecation, GTO's simple stage
tags) keep their tagger-date order. GTO orders everything by tagger date, so a tag dated in
the future pins a stage there; :func:`stages_by_date` computes that view, and the doctor
(:mod:`gitops_ml.registry.doctor`) reports every place where the two disagree. The write path
(:func:`gitops_ml.registry.writes.write_tags`) dates each write after every tag of the model,
so on the tags gitops-ml writes the two orders are the same.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitops_ml.registry.events import TagEvent, iso, read_events
from gitops_ml.registry.manifest import parse_manifest
from gitops_ml.registry.tags import model_name, semver_key


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
    events: tuple[TagEvent, ...]  # in replay order (see the module doc), oldest first
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


def gate_problem(v: Version) -> str | None:
    """Why ``v`` may not take a stage without ``--force`` (None: it may).

    A stage holds a version that was registered and passed its gates; a version promoted with
    ``--force``, or one without a gitops-ml manifest (its gates unknown), needs a new
    ``--force`` to take a stage again.
    """
    if not v.registered:
        return "no version is registered at its commit"
    if not v.active:
        return "it is deregistered"
    m = v.manifest
    if m is None:
        return "its tag carries no gitops-ml manifest, so its gates are unknown"
    if m.get("forced"):
        return "it was promoted with --force, past its gates"
    if m.get("gates_passed") is not True:
        return "its manifest does not record passed gates"
    return None


def replay_order(events: Iterable[TagEvent]) -> list[TagEvent]:
    """Tags in the order they take effect: the tags with a counter in counter order, in the
    places the date order gives the counted tags; the others in date order."""
    by_date = sorted(events, key=TagEvent.sort_key)
    counted = iter(sorted((e for e in by_date if e.counter is not None),
                          key=lambda e: (e.counter, e.sort_key())))
    return [next(counted) if e.counter is not None else e for e in by_date]


def build_model_state(name: str, events: Iterable[TagEvent]) -> ModelState:
    """Replay a model's tags (the rules and the order are in the module doc)."""
    ordered = replay_order(e for e in events if e.model == name)
    reg: dict[str, TagEvent] = {}  # version -> registration
    direct: dict[str, TagEvent] = {}  # version -> latest register/deregister
    commit_of: dict[str, str] = {}  # version -> commit
    by_commit: dict[str, str] = {}  # commit -> version (the last registered there)
    vstage: dict[tuple[str, str], int] = {}  # (version, stage) -> its latest (un)assignment
    last_assign: dict[tuple[str, str], int] = {}
    deprecated = False
    max_counter = 0
    first_at: dict[str, TagEvent] = {}  # commit -> its oldest tag
    for e in ordered:  # stage tags map to the version registered at their commit
        first_at.setdefault(e.commit, e)
        if e.action == "register" and e.version:
            by_commit[e.commit] = e.version
    for i, e in enumerate(ordered):
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
            vstage[(version, e.stage)] = i
            if e.action == "assign":
                last_assign[(version, e.stage)] = i
        if e.action == "deprecate":
            deprecated = True
        elif e.action != "create":
            deprecated = False

    def active(version: str) -> bool:
        d = direct.get(version)
        return d is None or d.action == "register"

    current: dict[str, tuple[int, StageState]] = {}
    for (version, stage), i in vstage.items():
        if ordered[i].action != "assign" or not active(version):
            continue
        at = last_assign[(version, stage)]
        a = ordered[at]
        if stage not in current or at > current[stage][0]:
            current[stage] = (at, StageState(stage=stage, version=version, commit=a.commit,
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


def stages_by_date(state: ModelState) -> dict[str, tuple[str, ...]]:
    """The version at each stage as GTO (``gto show``) orders the tags: by tagger date alone.

    More than one version for a stage means a tie in the same second, which GTO breaks by the
    order it happens to list the tags in. The versions are the same as :class:`ModelState`'s
    unless a tag is dated out of counter order (the doctor's business).
    """
    by_commit = {e.commit: e.version for e in sorted(state.events, key=TagEvent.sort_key)
                 if e.action == "register" and e.version}
    pairs: dict[tuple[str, str], list[TagEvent]] = {}
    for e in state.events:
        if e.action in ("assign", "unassign") and e.stage:
            pairs.setdefault((by_commit.get(e.commit, e.commit), e.stage), []).append(e)
    best: dict[str, tuple[int, list[str]]] = {}
    for (version, stage), evs in pairs.items():
        v = state.version(version)
        if v is None or not v.active:
            continue
        if max(evs, key=lambda e: (e.created_at, e.counter or 0)).action != "assign":
            continue
        when = max(e.created_at for e in evs if e.action == "assign")
        if stage not in best or when > best[stage][0]:
            best[stage] = (when, [version])
        elif when == best[stage][0]:
            best[stage][1].append(version)
    return {stage: tuple(sorted(vs)) for stage, (_, vs) in sorted(best.items())}


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
    """One model's state (``model`` as GTO names it: ``name`` or ``folder:name``)."""
    name = model_name(model)
    return build_model_state(name, read_events(repo, name))

