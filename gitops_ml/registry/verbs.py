"""The registry's verbs: register a version (with its stage), roll a stage back, deregister a
version, deprecate a model. Each plans its tags from the current state and writes them with
:func:`gitops_ml.registry.writes.write_tags`, which retries when another writer wins a race."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitops_ml.errors import RegistryError
from gitops_ml.registry.manifest import (
    MANIFEST_SCHEMA,
    MANIFEST_VERSION,
    manifest_message,
    stage_message,
    tag_message,
)
from gitops_ml.registry.state import ModelState
from gitops_ml.registry.tags import BUMPS, bump_version, check_name, check_version, tag_name
from gitops_ml.registry.writes import NewTag, push_default, write_tags


@dataclass(frozen=True)
class StageChange:
    model: str
    stage: str | None
    version: str | None
    previous: str | None
    tags: tuple[str, ...]
    pushed: bool
    action: str


def rollback(repo: str | Path, model: str, to: str, stage: str = "production", *,
             actor: str | None = None, push: bool | None = None,
             remote: str = "origin") -> StageChange:
    """Assign ``stage`` to an earlier version with a NEW stage tag; history keeps both."""
    check_name(model)
    check_version(to)
    check_name(stage, "stage name")
    do_push = push_default(repo, push, remote)

    def plan(state: ModelState) -> tuple[list[NewTag], Any]:
        v = state.version(to)
        if v is None or not v.registered:
            raise RegistryError(f"model '{model}' has no version {to}")
        if not v.active:
            raise RegistryError(f"{model} {to} is deregistered; it cannot take a stage")
        current = state.stage(stage)
        if current is not None and current.version == to:
            return [], current.version
        extra = {"reason": "rollback", "actor": actor,
                 "previous": current.version if current else None}
        msg = stage_message(model, stage, to, "assign", extra)
        name = tag_name("assign", model, stage=stage, counter=state.max_counter + 1)
        return [NewTag(name, v.commit, msg)], current.version if current else None

    res = write_tags(repo, model, plan, push=do_push, remote=remote)
    return StageChange(model=model, stage=stage, version=to, previous=res.value,
                       tags=res.tags, pushed=res.pushed, action="rollback")


def deprecate(repo: str | Path, model: str, version: str | None = None, *,
              actor: str | None = None, push: bool | None = None,
              remote: str = "origin") -> StageChange:
    """Deregister one version (``name@vX.Y.Z!``) or deprecate the model (``name@deprecated``)."""
    check_name(model)
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
            return [NewTag(name, v.commit, msg)], None
        if state.deprecated:
            raise RegistryError(f"model '{model}' is already deprecated")
        name = tag_name("deprecate", model)
        if any(e.tag == name for e in state.events):
            raise RegistryError(f"model '{model}' was deprecated once already (tag {name})")
        last = state.events[-1].commit
        msg = tag_message(f"Deprecate {model}", {**payload, "action": "deprecate"})
        return [NewTag(name, last, msg)], None

    res = write_tags(repo, model, plan, push=do_push, remote=remote)
    return StageChange(model=model, stage=None, version=version, previous=None, tags=res.tags,
                       pushed=res.pushed, action="deregister" if version else "deprecate")


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
    artifact registers nothing new (only assigns the stage if it moved).
    """
    check_name(model)
    if stage is not None:
        check_name(stage, "stage name")
    if bump not in BUMPS:
        raise RegistryError(f"unknown bump '{bump}'", hint="use major, minor or patch")
    do_push = push_default(repo, push, remote)
    sha = (manifest.get("artifact") or {}).get("sha256")

    def plan(state: ModelState) -> tuple[list[NewTag], Any]:
        tags: list[NewTag] = []
        at_commit = state.versions_at(commit)
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
            if current is None or current.version != chosen:
                extra = {"reason": "promote", "actor": actor, "pr": final.get("pr"),
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
