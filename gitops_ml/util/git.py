"""Thin helpers over the ``git`` command line (one subprocess per question, never per file)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from gitops_ml.errors import GitError


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


def changed_files(repo: str | Path, base: str) -> list[str]:
    """Files changed since the merge base of ``base`` and HEAD, in the working tree too
    (uncommitted and untracked files count), relative to ``repo`` and limited to it.

    Two git calls whatever the history's length: start-up is plan's whole cost.
    """
    return ChangedFiles(repo, base).result()


class ChangedFiles:
    """:func:`changed_files`, started now and collected by :meth:`result`, so the caller can
    work (read the specs) while git answers. Both git processes run at once: each costs a few
    ms to start, and start-up is plan's whole budget."""

    _DIFF = ("diff", "--name-only", "--no-renames", "--relative", "-z")

    def __init__(self, repo: str | Path, base: str) -> None:
        self.repo, self.base = repo, base
        self._untracked = _start_git(repo, "ls-files", "--others", "--exclude-standard", "-z")
        try:
            self._diff = _start_git(repo, *self._DIFF, "--merge-base", base, "--")
        except BaseException:
            self.cancel()
            raise

    def result(self) -> list[str]:
        diff_out, _ = self._diff.communicate(timeout=120)
        others, err = self._untracked.communicate(timeout=120)
        if self._untracked.returncode != 0:
            raise GitError(f"git ls-files failed: {err.strip() or self._untracked.returncode}")
        if self._diff.returncode != 0:
            _diagnose_base(self.repo, self.base)
            # no merge base (unrelated histories): compare with base itself
            diff_out = run_git(self.repo, *self._DIFF, self.base, "--").stdout
        files = {p for p in diff_out.split("\0") if p}
        files.update(p for p in others.split("\0") if p)
        return sorted(files)

    def cancel(self) -> None:
        """Stop the git processes (the caller failed before it needed the answer)."""
        for proc in (getattr(self, "_untracked", None), getattr(self, "_diff", None)):
            if proc is not None and proc.poll() is None:
                proc.kill()
            if proc is not None:
                proc.communicate()


def _start_git(repo: str | Path, *args: str) -> subprocess.Popen[str]:
    try:
        return subprocess.Popen(["git", "-C", str(repo), *args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    except FileNotFoundError as exc:
        raise GitError("git is not installed or not on PATH") from exc


def _diagnose_base(repo: str | Path, base: str) -> None:
    """Turn a failed diff into the error a user can act on."""
    proc = run_git(repo, "rev-parse", "--verify", "-q", f"{base}^{{commit}}", check=False)
    if proc.returncode == 0:
        return
    if not is_repo(repo):
        raise GitError(f"{repo} is not a git repository",
                       hint="plan --base compares git revisions; run it inside the repo")
    raise GitError(f"unknown git revision '{base}'",
                   hint="fetch it first (in Actions: actions/checkout with fetch-depth: 0)")
