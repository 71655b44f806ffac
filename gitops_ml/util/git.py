"""Thin helpers over the ``git`` command line (one subprocess per question, never per file)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from gitops_ml.errors import GitError

if TYPE_CHECKING:
    import subprocess


def run_git(repo: str | Path, *args: str, check: bool = True, input: str | None = None,
            timeout: float | None = 120) -> subprocess.CompletedProcess[str]:
    """Run ``git -C repo args…``; a failure raises :class:`GitError` with git's own message."""
    import subprocess

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
    ms to start, and start-up is plan's whole budget (so is importing :mod:`subprocess`, which
    this path does without: see :class:`_Git`)."""

    _DIFF = ("diff", "--name-only", "--no-renames", "--relative", "-z")

    def __init__(self, repo: str | Path, base: str) -> None:
        self.repo, self.base = repo, base
        self._untracked = _Git(repo, "ls-files", "--others", "--exclude-standard", "-z")
        try:
            self._diff = _Git(repo, *self._DIFF, "--merge-base", base, "--")
        except BaseException:
            self._untracked.kill()
            raise

    def result(self) -> list[str]:
        diff_code, diff_out, _ = self._diff.wait()
        code, others, err = self._untracked.wait()
        if diff_code != 0:  # first: it names what is wrong (no repository, an unknown base)
            _diagnose_base(self.repo, self.base)
            # no merge base (unrelated histories): compare with base itself
            diff_out = run_git(self.repo, *self._DIFF, self.base, "--").stdout
        if code != 0:
            raise GitError(f"git ls-files failed: {err.strip() or code}")
        files = {p for p in diff_out.split("\0") if p}
        files.update(p for p in others.split("\0") if p)
        return sorted(files)

    def cancel(self) -> None:
        """Stop the git processes (the caller failed before it needed the answer)."""
        self._untracked.kill()
        self._diff.kill()


class _Git:
    """One ``git -C repo args…`` started with :func:`os.posix_spawnp` and read through two
    pipes: what :class:`subprocess.Popen` does for this case, without importing it."""

    def __init__(self, repo: str | Path, *args: str, timeout: float = 120) -> None:
        self.args = args
        self.deadline = timeout
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        actions = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                   (os.POSIX_SPAWN_DUP2, out_w, 1), (os.POSIX_SPAWN_DUP2, err_w, 2)]
        try:
            self.pid = os.posix_spawnp("git", ["git", "-C", str(repo), *args], os.environ,
                                       file_actions=actions)
        except FileNotFoundError as exc:
            for fd in (out_r, out_w, err_r, err_w):
                os.close(fd)
            raise GitError("git is not installed or not on PATH") from exc
        os.close(out_w)
        os.close(err_w)
        self.fds = {out_r: bytearray(), err_r: bytearray()}
        self.open_fds = [out_r, err_r]
        self.out_fd, self.err_fd = out_r, err_r
        self.code: int | None = None

    def wait(self) -> tuple[int, str, str]:
        """Read both pipes to their end and reap the process: (exit code, stdout, stderr)."""
        import select
        import time

        if self.code is None:
            deadline = time.monotonic() + self.deadline
            open_fds = self.open_fds
            while open_fds:
                left = deadline - time.monotonic()
                if left <= 0:
                    self.kill()
                    raise GitError(f"git {self.args[0]} timed out after {self.deadline:g}s")
                ready, _, _ = select.select(open_fds, [], [], left)
                for fd in ready:
                    chunk = os.read(fd, 65536)
                    if chunk:
                        self.fds[fd] += chunk
                    else:
                        os.close(fd)
                        open_fds.remove(fd)
            self.code = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
        return (self.code, self.fds[self.out_fd].decode("utf-8", "surrogateescape"),
                self.fds[self.err_fd].decode("utf-8", "replace"))

    def kill(self) -> None:
        if self.code is not None:
            return
        import contextlib
        import signal

        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        while self.open_fds:
            os.close(self.open_fds.pop())
        self.code = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])


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
