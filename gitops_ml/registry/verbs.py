"""The registry's verbs: register a version (with its stage), roll a stage back, deregister a
version, deprecate a model. Each plans its tags from the current state and writes them with
:func:`gitops_ml.registry.writes.write_tags`, which retries when another writer wins a race."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitops_ml.errors import RegistryError, StageNotCurrent
from gitops_ml.registry.doctor import diagnose
from gitops_ml.registry.events import TagEvent
from gitops_ml.registry.manifest import (
    MANIFEST_SCHEMA,
    MANIFEST_VERSION,
    manifest_message,
    stage_message,
    tag_message,
)
from gitops_ml.registry.state import (
    ModelState,
    gate_problem,
    read_model,
    stages_by_date,
)
from gitops_ml.registry.tags import (
    BUMPS,
    bump_version,
    check_name,
    check_version,
    model_name,
    tag_name,
)
from gitops_ml.registry.writes import NewTag, fetch_tags, push_default, write_tags


@dataclass(frozen=True)
class StageChange:
    model: str
    stage: str | None
    version: str | None
    previous: str | None
    tags: tuple[str, ...]
    pushed: bool
    action: str
    # the stages this write moved: stage -> the version there after it (None: now empty)
    moved: dict[str, str | None] = field(default_factory=dict)
    forced: bool = False


def rollback(repo: str | Path, model: str, to: str, stage: str = "production", *,
             actor: str | None = None, push: bool | None = None, remote: str = "origin",
             force: bool = False) -> StageChange:
    """Assign ``stage`` to an earlier version with a NEW stage tag; history keeps both.

    The version must be registered, active and, unless ``force`` (recorded in the tag), one
    that passed its gates (see :func:`gate_problem`).
    """
    model = model_name(model)
    check_version(to)
    check_name(stage, "stage name")
    do_push = push_default(repo, push, remote)

    def plan(state: ModelState) -> tuple[list[NewTag], Any]:
        v = state.version(to)
        if v is None or not v.registered:
            raise RegistryError(f"model '{model}' has no version {to}")
        if not v.active:
            raise RegistryError(f"{model} {to} is deregistered; it cannot take a stage")
        problem = gate_problem(v)
        if problem and not force:
            raise RegistryError(f"{model} {to} cannot take {stage}: {problem}",
                                hint="pass --force to assign it anyway (recorded in the tag)")
        current = state.stage(stage)
        if current is not None and current.version == to:
            return [], current.version
        extra = {"reason": "rollback", "actor": actor,
                 "previous": current.version if current else None,
                 "forced": bool(problem)}
        msg = stage_message(model, stage, to, "assign", extra)
        name = tag_name("assign", model, stage=stage, counter=state.max_counter + 1)
        return [NewTag(name, v.commit, msg)], current.version if current else None

    res = write_tags(repo, model, plan, push=do_push, remote=remote)
    return StageChange(model=model, stage=stage, version=to, previous=res.value,
                       tags=res.tags, pushed=res.pushed, action="rollback",
                       moved={stage: to} if res.tags else {}, forced=force)


def _stage_after_deregistration(state: ModelState, version: str, stage: str, counter: int,
                                payload: dict[str, Any]) -> tuple[list[NewTag], str | None]:
    """Where ``stage`` goes when ``version``, its holder, is deregistered, as explicit tags.

    GTO would fall back to whichever other version was assigned the stage most recently,
    evaluated or not. Instead the stage goes to the most recent earlier holder that may take
    it (:func:`gate_problem`), with a new assignment tag; when there is none, every other
    version still assigned the stage is unassigned and the stage is left empty. Both tools
    then read the same answer from the tags alone.
    """
    at = {v.commit: v.version for v in state.versions if v.registered}
    latest: dict[str, tuple[int, TagEvent]] = {}  # version -> its latest event at the stage
    for i, e in enumerate(state.events):
        if e.stage == stage and e.action in ("assign", "unassign"):
            latest[at.get(e.commit, e.commit)] = (i, e)
    holders: list[str] = []  # the active (version, stage) pairs, most recently assigned first
    for name, (_, e) in sorted(latest.items(), key=lambda kv: kv[1][0], reverse=True):
        v = state.version(name)
        if e.action == "assign" and v is not None and v.active and name != version:
            holders.append(name)
    for name in holders:
        v = state.version(name)
        assert v is not None
        if gate_problem(v) is None:
            msg = stage_message(state.name, stage, name, "assign",
                                {**payload, "reason": "deregister", "previous": version})
            return [NewTag(tag_name("assign", state.name, stage=stage, counter=counter),
                           v.commit, msg)], name
    tags = []
    for i, name in enumerate(holders):
        v = state.version(name)
        assert v is not None
        msg = stage_message(state.name, stage, name, "unassign",
                            {**payload, "reason": "deregister", "previous": version})
        tags.append(NewTag(tag_name("unassign", state.name, stage=stage, counter=counter + i),
                           v.commit, msg))
    return tags, None


def deprecate(repo: str | Path, model: str, version: str | None = None, *,
              actor: str | None = None, push: bool | None = None,
              remote: str = "origin") -> StageChange:
    """Deregister one version (``name@vX.Y.Z!``) or deprecate the model (``name@deprecated``).

    Deregistering a version that holds stages moves each of them explicitly, in the same
    atomic write (:func:`_stage_after_deregistration`).
    """
    model = model_name(model)
    if version is not None:
        check_version(version)
    do_push = push_default(repo, push, remote)

    def plan(state: ModelState) -> tuple[list[NewTag], Any]:
        if not state.events:
            raise RegistryError(f"model '{model}' has no versions in the registry")
        payload = {"schema": MANIFEST_SCHEMA, "schema_version": MANIFEST_VERSION,
                   "model": model, "actor": actor}
        if version is not None:
            v = state.version(version)
            if v is None or not v.registered:
                raise RegistryError(f"model '{model}' has no version {version}")
            if not v.active:
                raise RegistryError(f"{model} {version} is already deregistered")
            name = tag_name("deregister", model, version=version)
            if any(e.tag == name for e in state.events):
                raise RegistryError(f"{model} {version} was deregistered once already "
                                    f"(tag {name}); GTO's grammar has one such tag per version")
            msg = tag_message(f"Deregister {model} {version}",
                              {**payload, "action": "deregister", "version": version})
            tags = [NewTag(name, v.commit, msg)]
            moved: dict[str, str | None] = {}
            counter = state.max_counter + 1
            for stage in v.stages:
                more, to = _stage_after_deregistration(state, version, stage, counter,
                                                       {"actor": actor})
                tags += more
                counter += len(more)
                moved[stage] = to
            return tags, moved
        if state.deprecated:
            raise RegistryError(f"model '{model}' is already deprecated")
        name = tag_name("deprecate", model)
        if any(e.tag == name for e in state.events):  # deprecated before, then reinstated
            name = tag_name("deprecate", model, counter=state.max_counter + 1)
        last = state.events[-1].commit
        msg = tag_message(f"Deprecate {model}", {**payload, "action": "deprecate"})
        return [NewTag(name, last, msg)], {}

    res = write_tags(repo, model, plan, push=do_push, remote=remote)
    return StageChange(model=model, stage=None, version=version, previous=None, tags=res.tags,
                       pushed=res.pushed, action="deregister" if version else "deprecate",
                       moved=res.value)


@dataclass(frozen=True)
class Registration:
    """What :func:`register` did."""

    model: str
    version: str
    commit: str
    tags: tuple[str, ...]
    stage: str | None
    pushed: bool
    attempts: int
    existing: bool = False  # the artifact was registered at this commit already
    manifest: dict[str, Any] = field(default_factory=dict)


def register(repo: str | Path, model: str, commit: str, manifest: dict[str, Any], *,
             stage: str | None = None, bump: str = "minor", push: bool | None = None,
             remote: str = "origin", actor: str | None = None,
             render: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
             attempts: int = 30) -> Registration:
    """Register the next version of ``model`` at ``commit`` and assign ``stage``.

    ``manifest`` must hold ``artifact.sha256``; ``version`` is filled in here. ``render`` is
    called with the manifest once the version is chosen (per attempt) and may return an updated
    manifest (e.g. with the model card's hash). Re-running on the same commit with the same
    artifact registers nothing new (only assigns the stage if it moved, or if the model was
    deprecated: a new assignment makes it active again, in GTO's reading too). A commit whose
    version was deregistered takes no version again (GTO maps one version to a commit).
    """
    model = model_name(model)
    if stage is not None:
        check_name(stage, "stage name")
    if bump not in BUMPS:
        raise RegistryError(f"unknown bump '{bump}'", hint="use major, minor or patch")
    do_push = push_default(repo, push, remote)
    sha = (manifest.get("artifact") or {}).get("sha256")

    def plan(state: ModelState) -> tuple[list[NewTag], Any]:
        tags: list[NewTag] = []
        at_commit = state.versions_at(commit)
        gone = next((v for v in at_commit if not v.active), None)
        if gone is not None:
            raise RegistryError(
                f"{model} {gone.version} was registered at commit {commit[:12]} and then "
                f"deregistered (tag {gone.tag}!): a deregistered version is not registered "
                "again, and GTO maps one version to one commit",
                hint="commit again (git commit --allow-empty -m 'promote again') and promote "
                     "the new commit, or roll back to a registered version")
        same = [v for v in at_commit
                if ((v.manifest or {}).get("artifact") or {}).get("sha256") == sha]
        if same:
            v = same[0]
            chosen, final, existing = v.version, v.manifest or {}, True
        elif at_commit:
            raise RegistryError(
                f"{model} {at_commit[0].version} is already registered at commit {commit[:12]} "
                "with a different artifact",
                hint="GTO maps stage tags to versions by commit: one version per commit; "
                     "commit the change, then promote")
        else:
            chosen = bump_version(state.greatest_version, bump)
            final = {**manifest, "model": model, "version": chosen}
            if render is not None:
                final = render(final)
            tags.append(NewTag(tag_name("register", model, version=chosen), commit,
                               manifest_message(final)))
            existing = False
        if stage is not None:
            current = state.stage(stage)
            if current is None or current.version != chosen or state.deprecated:
                extra = {"reason": "reinstate" if state.deprecated else "promote",
                         "actor": actor, "pr": final.get("pr"),
                         "previous": current.version if current else None}
                tags.append(NewTag(
                    tag_name("assign", model, stage=stage, counter=state.max_counter + 1),
                    commit, stage_message(model, stage, chosen, "assign", extra)))
        return tags, (chosen, final, existing)

    res = write_tags(repo, model, plan, push=do_push, remote=remote, attempts=attempts)
    chosen, final, existing = res.value
    return Registration(model=model, version=chosen, commit=commit, tags=res.tags, stage=stage,
                        pushed=res.pushed, attempts=res.attempts, existing=existing,
                        manifest=final)


def confirm_stage(repo: str | Path, model: str, stage: str | None, version: str, *,
                  remote: str | None = None) -> None:
    """After a write: re-read the registry and fail unless ``version`` is the current holder
    of ``stage``, both in gitops-ml's counter order and in GTO's date order (``gto show``).

    ``remote``: fetch its tags first (the write was pushed: the remote is the registry).
    Raises :class:`StageNotCurrent` naming what holds the stage instead and why (a newer
    assignment, or a tag dated in the future or out of counter order: see ``registry doctor``).
    """
    if not stage:
        return
    if remote is not None:
        fetch_tags(repo, remote)
    state = read_model(repo, model)
    current = state.stage(stage)
    if current is None or current.version != version:
        raise StageNotCurrent(
            f"{state.name} {stage} is {current.version if current else 'empty'} after writing, "
            f"not {version}" + (f" (tag {current.tag}, assigned {current.assigned_at})"
                                if current else ""),
            hint=f"another write moved it since; see gitops-ml registry history {state.name}")
    by_date = stages_by_date(state).get(stage, ())
    if by_date != (version,):
        causes = [f.message for f in diagnose(state)
                  if f.kind in ("future_dated", "out_of_order", "same_second", "counter_reused")]
        raise StageNotCurrent(
            f"{state.name} {stage} is {version} by the tag counters, but "
            f"{' or '.join(by_date) or 'empty'} by tagger date, which is how gto show reads it"
            + (f": {causes[0]}" if causes else ""),
            hint=f"run gitops-ml registry doctor {state.name}")
