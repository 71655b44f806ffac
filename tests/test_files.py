"""util.files: the one atomic write. A reader sees the old file or the new one, and a failed
write leaves neither half a file nor a temporary file behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitops_ml.util.files import atomic_write, atomic_writer, staged_file


def test_atomic_write_replaces_the_file_and_leaves_nothing_beside_it(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "run.json"
    atomic_write(path, b"old")
    atomic_write(path, "new ✓")
    assert path.read_text(encoding="utf-8") == "new ✓"
    assert sorted(p.name for p in path.parent.iterdir()) == ["run.json"]


def test_a_failed_write_keeps_the_old_file_and_removes_the_temporary_one(tmp_path: Path) -> None:
    path = tmp_path / "report.md"
    path.write_text("old")
    with pytest.raises(RuntimeError), atomic_writer(path) as out:
        out.write(b"half of the new")
        raise RuntimeError("disk full")
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.md"]


def test_a_staged_file_lands_only_where_it_is_committed(tmp_path: Path) -> None:
    with staged_file(tmp_path / "blobs") as staged:
        staged.file.write(b"bytes")
        assert staged.path.parent == tmp_path / "blobs" and staged.path.name.endswith(".tmp")
    assert list((tmp_path / "blobs").iterdir()) == []  # not committed: thrown away
    with staged_file(tmp_path / "blobs") as staged:
        staged.file.write(b"bytes")
        staged.commit(tmp_path / "blobs" / "ab" / "cdef")
    assert (tmp_path / "blobs/ab/cdef").read_bytes() == b"bytes"
    assert [p.name for p in (tmp_path / "blobs").iterdir()] == ["ab"]
