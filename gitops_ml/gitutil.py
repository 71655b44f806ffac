"""Thin helpers over the ``git`` command line (one subprocess per question, never per file)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from .errors import GitError


def run_git(repo: str | Path, *args: str, check: bool = True, input: str | None = None,
            timeout: float | None = 120) -> subprocess.CompletedProcess[str]:
    """Run ``git -C repo args…``; a failure raises :class:`GitError` with git's own message."""
    try:
        proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                              input=input, timeout=timeout, check=False)
    except FileNotFoundError as exc:
        raise GitError("git is not installed or not on PATH") from exc
    except subprocess.TimeoutExpired as exc:
        raise GitError(f"git {args[0]} timed out after {timeout:g}s") from exc
    if check and proc.returncode != 0:
        message = (proc.stderr or proc.stdout).strip().splitlines()
        detail = message[-1] if message else f"exit code {proc.returncode}"
        raise GitError(f"git {' '.join(args[:2])} failed: {detail}")
    return proc


def git_out(repo: str | Path, *args: str) -> str:
    return run_git(repo, *args).stdout.strip()


def is_repo(path: str | Path) -> bool:
    return run_git(path, "rev-parse", "--git-dir", check=False).returncode == 0


def head_commit(repo: str | Path) -> str | None:
    proc = run_git(repo, "rev-parse", "--verify", "-q", "HEAD", check=False)
    return proc.stdout.strip() or None


def is_dirty(repo: str | Path) -> bool:
    return bool(git_out(repo, "status", "--porcelain", "--untracked-files=no"))


def current_branch(repo: str | Path) -> str | None:
    proc = run_git(repo, "symbolic-ref", "--short", "-q", "HEAD", check=False)
    return proc.stdout.strip() or None


def verify_ref(repo: str | Path, ref: str) -> str:
    proc = run_git(repo, "rev-parse", "--verify", "-q", f"{ref}^{{commit}}", check=False)
    if proc.returncode != 0:
        raise GitError(f"unknown git revision '{ref}'",
                       hint="fetch it first (in Actions: actions/checkout with fetch-depth: 0)")
    return proc.stdout.strip()


def changed_files(repo: str | Path, base: str) -> tuple[str, list[str]]:
    """Files changed since the merge base of ``base`` and HEAD, in the working tree too
    (uncommitted and untracked files count). Returns (base commit, repo-relative paths).

    Three git calls whatever the history's length: start-up time is plan's whole cost.
    """
    proc = run_git(repo, "rev-parse", "--show-toplevel", "--verify", "-q", f"{base}^{{commit}}",
                   check=False)
    lines = proc.stdout.split("\n")
    if proc.returncode != 0 or len(lines) < 2 or not lines[1]:
        if not lines[0]:
            raise GitError(f"{repo} is not a git repository",
                           hint="plan --base compares git revisions; run it inside the repo")
        raise GitError(f"unknown git revision '{base}'",
                       hint="fetch it first (in Actions: actions/checkout with fetch-depth: 0)")
    top, base_sha = lines[0], lines[1]
    diff_args = ["diff", "--name-only", "--no-renames", "-z"]
    diff = run_git(repo, *diff_args, "--merge-base", base_sha, "--", check=False)
    if diff.returncode != 0:  # no merge base (unrelated histories): compare with base itself
        diff = run_git(repo, *diff_args, base_sha, "--")
    untracked = run_git(repo, "ls-files", "--others", "--exclude-standard", "-z")
    files = {p for p in diff.stdout.split("\0") if p}
    files.update(p for p in untracked.stdout.split("\0") if p)
    return base_sha, sorted(_relative_to(Path(top), Path(repo).resolve(), files))


def _relative_to(top: Path, root: Path, files: set[str]) -> list[str]:
    """git names paths from the top of the work tree; the project root may be below it."""
    if top.resolve() == root:
        return list(files)
    prefix = root.relative_to(top.resolve()).as_posix() + "/"
    return [f[len(prefix):] for f in files if f.startswith(prefix)]
