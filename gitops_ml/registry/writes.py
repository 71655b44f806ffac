"""Writing registry tags: annotated tag objects made with ``git mktag``, their refs created in
one ``git update-ref --stdin`` transaction (all or nothing, never over an existing tag), then
pushed with ``git push --atomic``. When another writer won the race for a name, the local tags
are removed, the remote's tags fetched, and the caller's ``plan`` asked again for the next
free names (bounded retries)."""

from __future__ import annotations

import os
import random
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitops_ml.errors import GitError, PushRejected, RegistryError, TagExistsError
from gitops_ml.registry.events import last_line
from gitops_ml.registry.state import ModelState, read_model
from gitops_ml.util.git import run_git


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


# Tags dated up to this far ahead of our clock are taken as clock skew between machines: a new
# tag is dated after them. A tag dated further ahead is not followed (its date is wrong, and
# copying it would spread the error); the doctor reports it.
CLOCK_SKEW = 300


def tag_date(state: ModelState, now: int) -> int:
    """The tagger date for a new write: now, but always after every tag of the model (within
    :data:`CLOCK_SKEW`). Tagger dates have one-second resolution, and GTO orders tags by date
    alone, breaking ties by the order it happens to list them in; concurrent promotions in
    one second would make it pick another version than the counters say. A strictly later
    date per write keeps GTO's order and the counter order the same."""
    recent = [e.created_at for e in state.events if e.created_at <= now + CLOCK_SKEW]
    return max([now, *(t + 1 for t in recent)])


def delete_local_tags(repo: str | Path, names: Iterable[str]) -> None:
    script = "".join(f"delete refs/tags/{n}\n" for n in names)
    if script:
        run_git(repo, "update-ref", "--stdin", input=script, check=False)


def has_remote(repo: str | Path, remote: str = "origin") -> bool:
    return run_git(repo, "remote", "get-url", remote, check=False).returncode == 0


def fetch_tags(repo: str | Path, remote: str = "origin", timeout: float = 120) -> None:
    proc = run_git(repo, "fetch", "--quiet", "--no-tags", remote, "refs/tags/*:refs/tags/*",
                   check=False, timeout=timeout)
    if proc.returncode != 0:
        raise GitError(f"cannot fetch tags from '{remote}': {last_line(proc.stderr)}",
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
    raise GitError(f"cannot push tags to '{remote}': {last_line(proc.stderr or proc.stdout)}",
                   hint="nothing was registered; check the remote and retry")


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
            create_tags(repo, tags, who, now=tag_date(state, int(time.time())))
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


def push_default(repo: str | Path, push: bool | None, remote: str) -> bool:
    """Push when asked; when not said, push when the remote exists."""
    if push is None:
        return has_remote(repo, remote)
    if push and not has_remote(repo, remote):
        raise RegistryError(f"no remote '{remote}' to push the registry tags to",
                            hint="add the remote, or pass --no-push to tag locally only")
    return push
