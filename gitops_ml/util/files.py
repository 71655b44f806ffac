"""Writing files so that a reader never sees half of one.

Every write that must not be seen half-done goes through :func:`staged_file`: bytes go to a
temporary file in the destination's folder (so the rename is atomic) and are renamed into
place only when the writer says so; on any failure the temporary file is removed.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO


class StagedFile:
    """A temporary file, open for writing, that :meth:`commit` renames to its destination."""

    def __init__(self, folder: Path, prefix: str) -> None:
        import tempfile  # lazily: not on the start-up path of validate and plan

        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=prefix, suffix=".tmp")
        self.path = Path(tmp)
        self.file: BinaryIO = os.fdopen(fd, "wb")
        self.committed = False

    def commit(self, target: Path) -> None:
        """Close the file and rename it to ``target`` (in the same file system)."""
        self.file.close()
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.path, target)
        self.committed = True

    def discard(self) -> None:
        self.file.close()
        if not self.committed:
            with contextlib.suppress(OSError):
                self.path.unlink()


@contextlib.contextmanager
def staged_file(folder: Path, prefix: str = ".incoming-") -> Iterator[StagedFile]:
    """A :class:`StagedFile` in ``folder``, removed on exit unless it was committed. For a
    destination known only once the bytes are written (a content-addressed blob)."""
    staged = StagedFile(folder, prefix)
    try:
        yield staged
    finally:
        staged.discard()


@contextlib.contextmanager
def atomic_writer(path: Path) -> Iterator[BinaryIO]:
    """A binary file to write ``path`` through: renamed into place when the block ends
    without an error, removed otherwise."""
    with staged_file(path.parent, prefix=f".{path.name}.") as staged:
        yield staged.file
        staged.commit(path)


def atomic_write(path: Path, data: bytes | str) -> None:
    """Write ``data`` (text is UTF-8) to ``path`` atomically: a crash leaves the old file or
    the new one, never a truncated one."""
    with atomic_writer(path) as fh:
        fh.write(data.encode() if isinstance(data, str) else data)
