"""``registry doctor``: the tags that make gitops-ml and GTO read a registry differently, or
that break the rule "a stage holds a registered version that passed its gates (or was
forced past them)".

gitops-ml orders the tags with a counter by the counter (:mod:`gitops_ml.registry.state`);
GTO orders every tag by its tagger date. A tag dated in the future, or dated out of counter
order, therefore wins in GTO's reading and never in ours; tags of one stage in the same second
are a tie GTO breaks by listing order. Each is reported with the stages it changes.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from gitops_ml.registry.events import TagEvent, iso
from gitops_ml.registry.state import (
    ModelState,
    gate_problem,
    read_model,
    read_state,
    stages_by_date,
)
from gitops_ml.registry.writes import CLOCK_SKEW

Kind = Literal["future_dated", "out_of_order", "same_second", "counter_reused",
               "stage_disagrees", "unregistered_stage", "ungated_stage"]


@dataclass(frozen=True)
class Finding:
    model: str
    kind: Kind
    tag: str | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "kind": self.kind, "tag": self.tag,
                "message": self.message}


@dataclass(frozen=True)
class Diagnosis:
    models: int
    tags: int
    findings: tuple[Finding, ...]

    @property
    def healthy(self) -> bool:
        return not self.findings

    def to_dict(self) -> dict[str, Any]:
        return {"models": self.models, "tags": self.tags, "healthy": self.healthy,
                "findings": [f.to_dict() for f in self.findings]}


def _ago(seconds: int) -> str:
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= 2 * size:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def diagnose(state: ModelState, now: int | None = None) -> list[Finding]:
    """Every finding on one model's tags."""
    now = int(time.time()) if now is None else now
    name = state.name
    out: list[Finding] = []
    for e in state.events:
        if e.created_at > now + CLOCK_SKEW:
            out.append(Finding(name, "future_dated", e.tag,
                               f"{e.tag} is dated {e.created_iso}, {_ago(e.created_at - now)} "
                               "in the future: GTO ranks it above every tag dated before "
                               "then"))
    counted = sorted((e for e in state.events if e.counter is not None),
                     key=lambda e: (e.counter, e.created_at))
    by_counter: dict[int, list[TagEvent]] = defaultdict(list)
    for e in counted:
        by_counter[e.counter or 0].append(e)
    for counter, evs in sorted(by_counter.items()):
        if len(evs) > 1:
            out.append(Finding(name, "counter_reused", evs[1].tag,
                               f"counter {counter} is used by {len(evs)} tags "
                               f"({', '.join(e.tag for e in evs)}): their order is undefined"))
    newest: TagEvent | None = None  # the latest-dated tag among the lower counters
    for e in counted:
        if newest is not None and e.created_at < newest.created_at \
                and (newest.counter or 0) < (e.counter or 0):
            out.append(Finding(name, "out_of_order", e.tag,
                               f"{e.tag} (counter {e.counter}) is dated {e.created_iso}, "
                               f"before {newest.tag} (counter {newest.counter}, dated "
                               f"{newest.created_iso}): GTO takes the older counter as the "
                               "newer tag"))
        if newest is None or e.created_at >= newest.created_at:
            newest = e
    at = {v.commit: v.version for v in state.versions if v.registered}
    seconds: dict[tuple[str, int], set[str]] = defaultdict(set)
    tag_at: dict[tuple[str, int], list[str]] = defaultdict(list)
    for e in state.events:
        if e.action in ("assign", "unassign") and e.stage:
            seconds[(e.stage, e.created_at)].add(at.get(e.commit, e.commit))
            tag_at[(e.stage, e.created_at)].append(e.tag)
    for (stage, when), versions in sorted(seconds.items()):
        if len(versions) > 1:
            out.append(Finding(name, "same_second", tag_at[(stage, when)][-1],
                               f"{', '.join(tag_at[(stage, when)])} change {stage} in the same "
                               f"second ({iso(when)}): GTO breaks the tie by the order it "
                               "lists tags in, not by the counter"))
    by_date = stages_by_date(state)
    ours = {s.stage: s for s in state.stages}
    for stage in sorted(set(by_date) | set(ours)):
        mine = ours[stage].version if stage in ours else None
        theirs = by_date.get(stage, ())
        if theirs != ((mine,) if mine else ()):
            out.append(Finding(name, "stage_disagrees", ours[stage].tag if mine else None,
                               f"{stage}: {mine or 'empty'} by the tag counters (gitops-ml), "
                               f"{' or '.join(theirs) or 'empty'} by tagger date (gto show)"))
    for s in state.stages:
        v = state.version(s.version)
        if v is None or not v.registered:
            out.append(Finding(name, "unregistered_stage", s.tag,
                               f"{s.stage} is held by commit {s.version}, where no version of "
                               f"{name} is registered (a stage tag written outside gitops-ml)"))
            continue
        problem = gate_problem(v)
        if problem and not (v.manifest or {}).get("forced"):  # forced: recorded, allowed
            out.append(Finding(name, "ungated_stage", s.tag,
                               f"{s.stage} is held by {v.version}, but {problem}"))
    return out


def doctor(repo: str | Path, model: str | None = None, *,
           now: int | None = None) -> Diagnosis:
    """``registry doctor [MODEL]``: every finding, on one model or all of them."""
    states = [read_model(repo, model)] if model else list(read_state(repo).models)
    findings = [f for s in states for f in diagnose(s, now)]
    return Diagnosis(models=len(states), tags=sum(len(s.events) for s in states),
                     findings=tuple(findings))
