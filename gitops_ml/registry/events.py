"""Registry tags as read from Git: one ``git for-each-ref`` call for all of them (tag name,
peeled commit, tagger, date and message), never one subprocess per tag."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitops_ml.errors import GitError, RegistryError
from gitops_ml.registry.manifest import parse_manifest
from gitops_ml.registry.tags import Action, model_name, name_in_tag, parse_tag
from gitops_ml.util.git import run_git

_SEP = "\x00"
# One record per tag: name, object type, peeled commit, tagger name, email, unix date, message.
_FORMAT = ("%(refname:strip=2)%00%(objecttype)%00%(*objectname)%00%(taggername)%00"
           "%(taggeremail)%00%(taggerdate:unix)%00%(contents)%00")
# Without the messages (``registry list`` never needs a manifest): a tenth of the bytes.
_FORMAT_NO_MESSAGE = _FORMAT.replace("%(contents)", "")
_FIELDS = 7
_RANK = {"create": 0, "register": 0, "assign": 1, "unassign": 1, "deregister": 2,
         "deprecate": 3}


@dataclass(frozen=True)
class TagEvent:
    """One registry tag as read from Git."""

    tag: str
    action: Action
    model: str
    commit: str
    created_at: int  # tagger date, unix seconds
    tagger: str
    tagger_email: str
    message: str
    version: str | None = None
    stage: str | None = None
    counter: int | None = None

    @property
    def manifest(self) -> dict[str, Any] | None:
        return parse_manifest(self.message)

    @property
    def created_iso(self) -> str:
        return iso(self.created_at)

    def sort_key(self) -> tuple[int, int, int, str]:
        # Tagger dates have one-second resolution; within a second, the natural order of a
        # write (register, then assign, then deregister/deprecate) and the counter decide.
        return (self.created_at, _RANK[self.action], self.counter or 0, self.tag)

    def to_dict(self) -> dict[str, Any]:
        return {"tag": self.tag, "action": self.action, "model": self.model,
                "version": self.version, "stage": self.stage, "counter": self.counter,
                "commit": self.commit, "created_at": self.created_iso, "tagger": self.tagger,
                "tagger_email": self.tagger_email}


def iso(ts: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def read_events(repo: str | Path, model: str | None = None, *,
                messages: bool = True) -> list[TagEvent]:
    """Every annotated registry tag (of one model, or all), in one ``git for-each-ref``.
    ``messages=False`` leaves the tag messages (the manifests) out."""
    patterns: list[str] = ["refs/tags"]
    if model is not None:
        model = model_name(model)
        tagged = name_in_tag(model)
        # '*' stops at '/', and GTO names may hold '/': the third pattern covers those.
        patterns = [f"refs/tags/{tagged}@*", f"refs/tags/{tagged}#*",
                    f"refs/tags/{tagged}#*/**"]
    fmt = _FORMAT if messages else _FORMAT_NO_MESSAGE
    proc = run_git(repo, "for-each-ref", f"--format={fmt}", *patterns, check=False)
    if proc.returncode != 0:
        if "not a git repository" in proc.stderr:
            raise RegistryError(f"{Path(repo).absolute()} is not in a Git repository",
                                hint="run inside the repository, or pass -C DIR")
        raise GitError(f"cannot read the registry tags: {last_line(proc.stderr)}")
    return parse_for_each_ref(proc.stdout, model)


def parse_for_each_ref(out: str, model: str | None = None) -> list[TagEvent]:
    parts = out.split(_SEP)
    events: list[TagEvent] = []
    for i in range(0, len(parts) - _FIELDS + 1, _FIELDS):
        name, otype, peeled, tagger, email, date, message = parts[i:i + _FIELDS]
        name = name.lstrip("\n")
        if otype != "tag" or not peeled:  # GTO ignores lightweight tags, and so do we
            continue
        parsed = parse_tag(name)
        if parsed is None or (model is not None and parsed.name != model):
            continue
        events.append(TagEvent(
            tag=name, action=parsed.action, model=parsed.name, commit=peeled,
            created_at=int(date) if date.strip().lstrip("-").isdigit() else 0,
            tagger=tagger, tagger_email=email.strip("<>"), message=message,
            version=parsed.version, stage=parsed.stage, counter=parsed.counter))
    return events


def last_line(text: str) -> str:
    """The line of git's stderr worth showing (not the generic 'failed to push' summary)."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    lines = [ln for ln in lines if not ln.startswith("error: failed to push")] or lines
    return lines[-1] if lines else "unknown error"
