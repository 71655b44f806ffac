"""The Git-tag model registry, in GTO's tag grammar (so ``gto show`` reads it too).

A version is an annotated tag ``name@vX.Y.Z`` whose message carries the version's manifest
(JSON). Stages are assigned with ``name#stage#N`` (``N`` counts every counted tag of the model),
unassigned with ``name#stage!#N``; ``name@vX.Y.Z!`` deregisters a version and
``name@deprecated`` deprecates the model. The grammar below is GTO's (gto 1.10,
``gto/constants.py`` and ``gto/tag.py``), defined once: a template per action and the regex that
parses every tag.

The state is read with ONE ``git for-each-ref`` call (tag name, peeled commit, tagger, date and
message), never one subprocess per tag. It follows GTO's rules with its default
(timestamp) ordering:

- a version is active unless its latest register/deregister event is a deregistration;
- a stage assignment belongs to the version registered at the tag's commit (GTO maps stage
  tags to versions by commit); a (version, stage) pair is active when its latest event is an
  assignment; the stage's current version is the active pair assigned most recently;
- the model is deprecated when its latest event is a deprecation.

Ties in the tagger date (one-second resolution) are broken by the tag's counter, which the
write path makes strictly increasing per model.

Writing creates the tag objects with ``git mktag`` and the refs in one ``git update-ref
--stdin`` transaction (all or nothing, never over an existing tag), then pushes them with
``git push --atomic``. When another promotion won the race for the same name, the local tags
are removed, the remote's tags fetched, and the caller's ``plan`` function is asked again for
the next free names (bounded retries).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import random
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from gitops_ml.errors import GitError, RegistryError
from gitops_ml.util.git import run_git

# --- the tag grammar (GTO's, verbatim) ----------------------------------------------------

SEPARATOR_IN_NAME = ":"
SEPARATOR_IN_TAG = "="
DIRNAME = "[a-zA-Z0-9-_./]+"
NAME = r"[a-zA-Z0-9]([a-zA-Z0-9-/_]*[a-zA-Z0-9])?"
SEMVER = (r"(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
          r"(?:-(?P<prerelease>(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)"
          r"(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
          r"(?:\+(?P<buildmetadata>[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?")
COUNTER = "?P<counter>[0-9]+"
FULLNAME_IN_TAG = f"(?P<dirname>{DIRNAME}{SEPARATOR_IN_TAG})?(?P<name>{NAME})"
NAME_RE = re.compile(f"^{NAME}$")
VERSION_RE = re.compile(f"^v{SEMVER}$")
TAG_RE = re.compile(
    f"^(?P<artifact>{FULLNAME_IN_TAG})(((#(?P<stage>{NAME})|@(?P<version>v{SEMVER}))"
    f"(?P<cancel>!?))|@((?P<deprecated>deprecated)|(?P<created>created)))(#({COUNTER}))?$"
)
# MODEL, MODEL@vX.Y.Z, MODEL@latest, MODEL#stage: what `registry show` accepts.
REFERENCE_RE = re.compile(
    f"^(?P<artifact>{NAME})(#(?P<stage>{NAME})|@(?P<version>latest|greatest|v{SEMVER}))?$")

Action = Literal["register", "deregister", "assign", "unassign", "deprecate", "create"]
TAG_TEMPLATES: dict[str, str] = {
    "register": "{name}@{version}",
    "deregister": "{name}@{version}!",
    "assign": "{name}#{stage}#{counter}",
    "unassign": "{name}#{stage}!#{counter}",
    "deprecate": "{name}@deprecated",
}
COUNTED = frozenset({"assign", "unassign"})
_RANK = {"create": 0, "register": 0, "assign": 1, "unassign": 1, "deregister": 2,
         "deprecate": 3}
BUMPS = ("major", "minor", "patch")
MANIFEST_SCHEMA = "gitops-ml/manifest"
MANIFEST_VERSION = 1

_SEP = "\x00"
# One record per tag: name, object type, peeled commit, tagger name, email, unix date, message.
_FORMAT = ("%(refname:strip=2)%00%(objecttype)%00%(*objectname)%00%(taggername)%00"
           "%(taggeremail)%00%(taggerdate:unix)%00%(contents)%00")
# Without the messages (``registry list`` never needs a manifest): a tenth of the bytes.
_FORMAT_NO_MESSAGE = _FORMAT.replace("%(contents)", "")
_FIELDS = 7


def check_name(value: str, what: str = "model name") -> str:
    """A model or stage name must match GTO's name regex (letters, digits, '-', '_', '/')."""
    if not NAME_RE.match(value):
        raise RegistryError(
            f"invalid {what} '{value}': use letters, digits, '-', '_' and '/', starting and "
            "ending with a letter or digit")
    return value


def check_version(value: str) -> str:
    if not VERSION_RE.match(value):
        raise RegistryError(f"invalid version '{value}'", hint="versions look like v1.2.0")
    return value


def tag_name(action: str, name: str, *, version: str | None = None, stage: str | None = None,
             counter: int | None = None) -> str:
    """The tag for an action, from its template (the inverse of :func:`parse_tag`)."""
    check_name(name)
    if version is not None:
        check_version(version)
    if stage is not None:
        check_name(stage, "stage name")
    if action in COUNTED and counter is None:
        raise RegistryError(f"{action} tags need a counter")
    tag = TAG_TEMPLATES[action].format(name=name, version=version, stage=stage, counter=counter)
    if not TAG_RE.match(tag):  # defensive: the templates and the regex must agree
        raise RegistryError(f"internal: tag '{tag}' does not parse")
    return tag


@dataclass(frozen=True)
class ParsedTag:
    action: Action
    name: str
    version: str | None = None
    stage: str | None = None
    counter: int | None = None


def parse_tag(tag: str) -> ParsedTag | None:
    """Parse a tag name in GTO's grammar; None when it is not a registry tag."""
    m = TAG_RE.match(tag)
    if not m:
        return None
    action: Action
    if m["deprecated"]:
        action = "deprecate"
    elif m["created"]:
        action = "create"
    elif m["version"]:
        action = "deregister" if m["cancel"] == "!" else "register"
    else:
        action = "unassign" if m["cancel"] == "!" else "assign"
    # GTO names artifacts in sub-folders 'folder:name' and writes them 'folder=name' in tags.
    artifact = m["artifact"].replace(SEPARATOR_IN_TAG, SEPARATOR_IN_NAME)
    return ParsedTag(action=action, name=artifact, version=m["version"],
                     stage=m["stage"], counter=int(m["counter"]) if m["counter"] else None)


def semver_key(version: str) -> tuple[int, int, int, int, str]:
    """Sort key for vX.Y.Z[-pre][+build]: releases after their pre-releases."""
    m = VERSION_RE.match(version)
    if not m:
        return (-1, -1, -1, -1, version)
    pre = m["prerelease"]
    return (int(m["major"]), int(m["minor"]), int(m["patch"]), 0 if pre else 1, pre or "")


def bump_version(current: str | None, bump: str) -> str:
    if bump not in BUMPS:
        raise RegistryError(f"unknown bump '{bump}'", hint="use major, minor or patch")
    major, minor, patch = (0, 0, 0)
    if current is not None:
        key = semver_key(current)
        major, minor, patch = key[0], key[1], key[2]
    if bump == "major":
        return f"v{major + 1}.0.0"
    if bump == "minor":
        return f"v{major}.{minor + 1}.0"
    return f"v{major}.{minor}.{patch + 1}"


# --- reading ------------------------------------------------------------------------------

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


def parse_manifest(message: str) -> dict[str, Any] | None:
    """The JSON manifest in a tag message: the whole message, or the body after a subject."""
    text = message.strip()
    candidates = [text]
    if "\n\n" in text:
        candidates.append(text.split("\n\n", 1)[1].strip())
    for candidate in candidates:
        if candidate.startswith("{"):
            try:
                data = json.loads(candidate)
            except ValueError:
                continue
            if isinstance(data, dict):
                return data
    return None


def iso(ts: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def read_events(repo: str | Path, model: str | None = None, *,
                messages: bool = True) -> list[TagEvent]:
    """Every annotated registry tag (of one model, or all), in one ``git for-each-ref``.
    ``messages=False`` leaves the tag messages (the manifests) out."""
    patterns: list[str] = ["refs/tags"]
    if model is not None:
        check_name(model)
        # '*' stops at '/', and GTO names may hold '/': the third pattern covers those.
        patterns = [f"refs/tags/{model}@*", f"refs/tags/{model}#*", f"refs/tags/{model}#*/**"]
    fmt = _FORMAT if messages else _FORMAT_NO_MESSAGE
    proc = run_git(repo, "for-each-ref", f"--format={fmt}", *patterns, check=False)
    if proc.returncode != 0:
        if "not a git repository" in proc.stderr:
            raise RegistryError(f"{Path(repo).absolute()} is not in a Git repository",
                                hint="run inside the repository, or pass -C DIR")
        raise GitError(f"cannot read the registry tags: {_last_line(proc.stderr)}")
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


# --- what the CLI shows -------------------------------------------------------------------

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


_CACHE_RULES = 1  # bump when the state rules change: old cache entries stop matching


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
    import tempfile

    payload = json.dumps({"fingerprint": fingerprint, "models": [
        {"name": m.name, "latest": m.latest, "stages": m.stages, "versions": m.versions,
         "deprecated": m.deprecated} for m in result.models]})
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".registry-list.", suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            f.write(payload)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only clone still answers, just without the cache


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
    return Reference(model=m["artifact"], version=version, stage=m["stage"])


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
    """``registry history MODEL``: every tag of the model, newest first."""
    state = read_model(repo, model)
    if not state.events:
        raise RegistryError(f"model '{model}' has no versions in the registry")
    # stage tags name no version: GTO reads it from the version registered at their commit
    at = {v.commit: v.version for v in state.versions if v.registered}
    events = [dataclasses.replace(e, version=at.get(e.commit, e.commit[:12]))
              if e.action in ("assign", "unassign") else e for e in state.events]
    return History(model=model, events=tuple(reversed(events)))


# --- writing ------------------------------------------------------------------------------

@dataclass(frozen=True)
class NewTag:
    """A tag to create: its name, the commit it points at, and its message."""

    name: str
    commit: str
    message: str


@dataclass(frozen=True)
class Identity:
    name: str
    email: str

    @staticmethod
    def current(repo: str | Path) -> Identity:
        """Git's committer identity; a bot identity when none is configured (CI runners)."""
        proc = run_git(repo, "var", "GIT_COMMITTER_IDENT", check=False)
        m = re.match(r"^(.*?) <(.*)> \d+ [-+]\d{4}$", proc.stdout.strip())
        if proc.returncode == 0 and m:
            return Identity(m[1], m[2])
        actor = os.environ.get("GITHUB_ACTOR")
        if actor and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.\[\]-]*", actor):
            return Identity(actor, f"{actor}@users.noreply.github.com")
        return Identity("gitops-ml", "gitops-ml@users.noreply.github.com")


def create_tags(repo: str | Path, tags: Sequence[NewTag], identity: Identity | None = None,
                now: int | None = None) -> None:
    """Create annotated tags locally, all or none, never over an existing tag."""
    who = identity or Identity.current(repo)
    stamp = int(time.time()) if now is None else now
    objects = []
    for t in tags:
        for bad in ("\n", "<", ">"):
            if bad in who.name or bad in who.email:
                raise RegistryError(f"invalid tagger identity {who.name!r} <{who.email}>")
        body = (f"object {t.commit}\ntype commit\ntag {t.name}\n"
                f"tagger {who.name} <{who.email}> {stamp} +0000\n\n{t.message.rstrip()}\n")
        objects.append(run_git(repo, "mktag", input=body).stdout.strip())
    # One update-ref transaction: every ref is created, or none; 'create' never overwrites.
    script = "".join(f"create refs/tags/{t.name} {sha}\n"
                     for t, sha in zip(tags, objects, strict=True))
    proc = run_git(repo, "update-ref", "--stdin", input=script, check=False)
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise TagExistsError(
            f"cannot create {', '.join(t.name for t in tags)}: "
            f"{detail[-1] if detail else 'update-ref failed'}")


def delete_local_tags(repo: str | Path, names: Iterable[str]) -> None:
    script = "".join(f"delete refs/tags/{n}\n" for n in names)
    if script:
        run_git(repo, "update-ref", "--stdin", input=script, check=False)


class TagExistsError(RegistryError):
    code = "tag_exists"


class PushRejected(RegistryError):
    code = "push_rejected"


def has_remote(repo: str | Path, remote: str = "origin") -> bool:
    return run_git(repo, "remote", "get-url", remote, check=False).returncode == 0


def fetch_tags(repo: str | Path, remote: str = "origin", timeout: float = 120) -> None:
    proc = run_git(repo, "fetch", "--quiet", "--no-tags", remote, "refs/tags/*:refs/tags/*",
                   check=False, timeout=timeout)
    if proc.returncode != 0:
        raise GitError(f"cannot fetch tags from '{remote}': {_last_line(proc.stderr)}",
                       hint="check the remote's URL and your network/credentials")


def push_tags(repo: str | Path, names: Sequence[str], remote: str = "origin",
              timeout: float = 120) -> None:
    """Push tags atomically. A name taken on the remote raises :class:`PushRejected`."""
    refs = [f"refs/tags/{n}:refs/tags/{n}" for n in names]
    proc = run_git(repo, "push", "--atomic", "--porcelain", remote, *refs, check=False,
                   timeout=timeout)
    if proc.returncode == 0:
        return
    out = proc.stdout + proc.stderr
    if re.search(r"already exists|\[rejected\]|fetch first|non-fast-forward|stale info", out):
        raise PushRejected(f"tags already exist on '{remote}': {', '.join(names)}")
    raise GitError(f"cannot push tags to '{remote}': {_last_line(proc.stderr or proc.stdout)}",
                   hint="nothing was registered; check the remote and retry")


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    lines = [ln for ln in lines if not ln.startswith("error: failed to push")] or lines
    return lines[-1] if lines else "unknown error"


@dataclass(frozen=True)
class WriteResult:
    tags: tuple[str, ...]
    pushed: bool
    attempts: int
    value: Any = None


def write_tags(repo: str | Path, model: str,
               plan: Callable[[ModelState], tuple[list[NewTag], Any]], *,
               push: bool = False, remote: str = "origin", attempts: int = 30,
               identity: Identity | None = None) -> WriteResult:
    """Create the tags ``plan(state)`` asks for and (optionally) push them, racing safely.

    ``plan`` sees the model's current state and returns the tags plus any value to hand back
    (e.g. the version it chose). On a push rejected because another writer took a name first,
    the local tags are deleted, the remote's tags fetched, and ``plan`` runs again. On any
    other failure the local tags are deleted before the error propagates: nothing half-written.
    """
    who = identity or Identity.current(repo)
    if push:
        fetch_tags(repo, remote)
    for attempt in range(1, attempts + 1):
        state = read_model(repo, model)
        tags, value = plan(state)
        if not tags:
            return WriteResult(tags=(), pushed=False, attempts=attempt, value=value)
        try:
            create_tags(repo, tags, who)
        except TagExistsError:
            if not push or attempt == attempts:
                raise
            fetch_tags(repo, remote)
            continue
        if not push:
            return WriteResult(tags=tuple(t.name for t in tags), pushed=False,
                               attempts=attempt, value=value)
        try:
            push_tags(repo, [t.name for t in tags], remote)
        except PushRejected:
            delete_local_tags(repo, [t.name for t in tags])
            if attempt == attempts:
                raise
            time.sleep(random.uniform(0.0, min(0.05 * attempt, 0.5)))
            fetch_tags(repo, remote)
            continue
        except BaseException:
            delete_local_tags(repo, [t.name for t in tags])
            raise
        return WriteResult(tags=tuple(t.name for t in tags), pushed=True, attempts=attempt,
                           value=value)
    raise RegistryError(f"could not register {model} after {attempts} attempts")


def _message(subject: str, payload: dict[str, Any]) -> str:
    return f"{subject}\n\n{json.dumps(payload, indent=1, sort_keys=True, default=str)}\n"


def stage_message(model: str, stage: str, version: str, action: str,
                  extra: dict[str, Any] | None = None) -> str:
    payload = {"schema": MANIFEST_SCHEMA, "schema_version": MANIFEST_VERSION, "action": action,
               "model": model, "stage": stage, "version": version, **(extra or {})}
    verb = "Assign" if action == "assign" else "Unassign"
    return _message(f"{verb} {model} {version} {'to' if action == 'assign' else 'from'} "
                    f"{stage}", payload)


def manifest_message(manifest: dict[str, Any]) -> str:
    run_key = str(manifest.get("run_key") or "")[:12]
    return _message(f"Register {manifest['model']} {manifest['version']}"
                    + (f" (run {run_key})" if run_key else ""), manifest)


# --- rollback and deprecation -------------------------------------------------------------

@dataclass(frozen=True)
class StageChange:
    model: str
    stage: str | None
    version: str | None
    previous: str | None
    tags: tuple[str, ...]
    pushed: bool
    action: str


def _push_default(repo: str | Path, push: bool | None, remote: str) -> bool:
    if push is None:
        return has_remote(repo, remote)
    if push and not has_remote(repo, remote):
        raise RegistryError(f"no remote '{remote}' to push the registry tags to",
                            hint="add the remote, or pass --no-push to tag locally only")
    return push


def rollback(repo: str | Path, model: str, to: str, stage: str = "production", *,
             actor: str | None = None, push: bool | None = None,
             remote: str = "origin") -> StageChange:
    """Assign ``stage`` to an earlier version with a NEW stage tag; history keeps both."""
    check_name(model)
    check_version(to)
    check_name(stage, "stage name")
    do_push = _push_default(repo, push, remote)

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
    do_push = _push_default(repo, push, remote)

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
            msg = _message(f"Deregister {model} {version}",
                           {**payload, "action": "deregister", "version": version})
            return [NewTag(name, v.commit, msg)], None
        if state.deprecated:
            raise RegistryError(f"model '{model}' is already deprecated")
        name = tag_name("deprecate", model)
        if any(e.tag == name for e in state.events):
            raise RegistryError(f"model '{model}' was deprecated once already (tag {name})")
        last = state.events[-1].commit
        msg = _message(f"Deprecate {model}", {**payload, "action": "deprecate"})
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
    do_push = _push_default(repo, push, remote)
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


def actor_default() -> str | None:
    return os.environ.get("GITHUB_ACTOR") or None


__all__ = [
    "TAG_RE", "TAG_TEMPLATES", "ModelState", "RegistryState", "TagEvent", "Version",
    "bump_version", "deprecate", "history", "list_models", "parse_tag", "read_model",
    "read_state", "register", "resolve", "rollback", "show", "tag_name",
]

