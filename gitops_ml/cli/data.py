"""``gitops-ml data``: add, push, pull and verify the data behind pointers."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import click

from gitops_ml.cli._app import common_options, emit, state
from gitops_ml.errors import ExitCode

F = TypeVar("F", bound=Callable[..., Any])

if TYPE_CHECKING:
    from gitops_ml import ItemResult, Progress, Reporter


def show_progress() -> bool:
    """Bars only for a person at a terminal: not in CI, not when asked to be quiet."""
    if os.environ.get("GITOPS_ML_NO_PROGRESS") or os.environ.get("CI") \
            or os.environ.get("GITHUB_ACTIONS"):
        return False
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _human(n: int | None) -> str:
    if n is None:
        return "? B"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} B"


class BarReporter:
    """A click progress bar on stderr per task (tasks of unknown size get none)."""

    @contextlib.contextmanager
    def task(self, label: str, total: int | None) -> Iterator[Progress]:
        if not total:
            yield lambda n: None
            return
        with click.progressbar(length=total, label=f"{label} ({_human(total)})",
                               file=sys.stderr, show_eta=True, show_percent=True) as bar:
            yield bar.update


def _reporter() -> Reporter | None:
    return BarReporter() if show_progress() else None


def _item_lines(items: tuple[ItemResult, ...]) -> list[str]:
    lines = []
    for i in items:
        where = f" -> {i.path}" if i.path and i.path != i.uri else ""
        origin = f" ({i.source})" if i.source != i.uri else ""
        lines.append(f"{i.status:<10} {i.uri}{origin}{where}")
    return lines


@click.group()
@common_options
def data() -> None:
    """Add, push, pull and verify data behind pointers.

    A pointer file (NAME.ptr.yaml) holds uri, sha256, size and format. Remote data is
    fetched into the content-addressed cache, and its sha256 is checked as it streams.
    """


@data.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--to", "to", metavar="URI", help="Upload the file here (s3://, file://, a "
              "folder ending in '/') and point at the upload.")
@click.option("--pointer", "pointer", metavar="PATH", type=click.Path(dir_okay=False),
              help="Where to write the pointer (default: FILE.ptr.yaml beside FILE).")
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet", "jsonl"]),
              help="The data format, when the suffix does not say.")
@common_options
def add(file: str, to: str | None, pointer: str | None, fmt: str | None) -> None:
    """Hash FILE and write a pointer to it (optionally uploading it first)."""
    from gitops_ml import data_add

    result = data_add(state().repo, file, to=to, pointer=pointer, fmt=fmt,
                      reporter=_reporter())
    verb = "wrote" if result.changed else "unchanged"
    pushed = f"; pushed to {result.uri}" if result.pushed else ""
    emit(result, f"{verb} {result.pointer_file}: {result.uri} sha256 {result.sha256} "
                 f"({_human(result.size)}, {result.format}){pushed}")


def _pointer_selection(fn: F) -> F:
    """POINTERS and --model: which pointers a data command works on (default: all)."""
    fn = click.option("--model", metavar="NAME", help="Only the pointers of this model.")(fn)
    return click.argument("pointers", nargs=-1)(fn)


def _transfer_text(result: Any, counted: tuple[tuple[str, str], ...]) -> str:
    """The item lines, then one line counting items by status (push and pull)."""
    lines = _item_lines(result.items)
    lines.append(", ".join(f"{result.count(status)} {label}" for status, label in counted))
    return "\n".join(lines)


@data.command()
@_pointer_selection
@common_options
def push(pointers: tuple[str, ...], model: str | None) -> None:
    """Upload local data to the URIs of POINTERs (default: every model's pointers)."""
    from gitops_ml import data_push

    result = data_push(state().repo, pointers, model=model, reporter=_reporter())
    emit(result, lambda: _transfer_text(result, (
        ("pushed", "pushed"), ("present", "already there"), ("local", "in the repository"))))


@data.command()
@_pointer_selection
@common_options
def pull(pointers: tuple[str, ...], model: str | None) -> None:
    """Fetch the data of POINTERs into the cache, verified (default: every model's)."""
    from gitops_ml import data_pull

    result = data_pull(state().repo, pointers, model=model, reporter=_reporter())
    emit(result, lambda: _transfer_text(result, (
        ("downloaded", "downloaded"), ("cached", "already cached"),
        ("local", "in the repository"))))


@data.command()
@_pointer_selection
@common_options
def verify(pointers: tuple[str, ...], model: str | None) -> None:
    """Re-hash the local data of POINTERs and report mismatches (default: every model's)."""
    from gitops_ml import data_verify

    result = data_verify(state().repo, pointers, model=model, reporter=_reporter())

    def text() -> str:
        lines = []
        for i in result.items:
            if i.status in ("mismatch", "missing"):
                lines.append(f"error: {i.message}")
            else:
                origin = f" ({i.source})" if i.source != i.uri else ""
                lines.append(f"{i.status:<10} {i.uri}{origin}")
        bad = len(result.failures)
        good = sum(1 for i in result.items if i.status in ("ok", "hashed"))
        remote = sum(1 for i in result.items if i.status == "not-local")
        summary = f"{good} verified" + (f", {bad} failed" if bad else "")
        lines.append(summary + (f", {remote} not local (not checked)" if remote else ""))
        return "\n".join(lines)

    emit(result, text, exit_code=ExitCode.OK if result.ok else ExitCode.DATA)
