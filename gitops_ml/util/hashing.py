"""Hashing files, and the one spelling of a sha256 digest.

hashlib is imported when a file is hashed, not when this module is: loading OpenSSL is not
free, and ``validate`` imports this module only to check the shape of a digest.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

CHUNK = 8 * 1024 * 1024
SHA256_PATTERN = "[0-9a-f]{64}"
SHA256_RE = re.compile(SHA256_PATTERN)
MD5_RE = re.compile("[0-9a-f]{32}")

Progress = Callable[[int], None]
"""A callback that receives the number of bytes just processed."""

MD5_DOS2UNIX = "md5-dos2unix"
"""DVC 2's md5 of a file: each 1 MiB block that looks like text (judged on its first 512 bytes)
is hashed with CRLF turned into LF. DVC 3 records ``hash: md5`` and hashes the bytes as they
are; a ``.dvc`` file without that key was written by DVC 2 and holds this digest."""
_DVC_BLOCK = 1024 * 1024  # dvc_data.hashfile.hash.fobj_md5's read size
_DVC_TEXT_PROBE = 512  # dvc_data.hashfile.istextfile.DEFAULT_CHUNK_SIZE
_TEXT_CHARS = bytes(range(32, 127)) + b"\n\r\t\f\b"


def _looks_like_text(block: bytes) -> bool:
    """DVC's heuristic (dvc_data.hashfile.istextfile.istextblock): no NUL byte, and at most
    30 % of the bytes outside printable ASCII and common control characters."""
    if not block:
        return True
    if b"\x00" in block:
        return False
    return len(block.translate(None, _TEXT_CHARS)) / len(block) <= 0.30


class _Dos2UnixMD5:
    """An md5 that hashes like DVC 2: block by block, CRLF -> LF in the blocks that are text."""

    name = MD5_DOS2UNIX

    def __init__(self) -> None:
        import hashlib

        self._md5 = hashlib.md5(usedforsecurity=False)

    def update(self, data: bytes | memoryview) -> None:
        # hash_file reads CHUNK-sized blocks, a multiple of DVC's 1 MiB reads, so the block
        # boundaries (where a CRLF split in two stays unconverted in DVC too) are the same.
        for start in range(0, len(data), _DVC_BLOCK):
            block = bytes(data[start:start + _DVC_BLOCK])
            if _looks_like_text(block[:_DVC_TEXT_PROBE]):
                block = block.replace(b"\r\n", b"\n")
            self._md5.update(block)

    def hexdigest(self) -> str:
        return self._md5.hexdigest()


def _hasher(algorithm: str) -> Any:
    import hashlib

    if algorithm == MD5_DOS2UNIX:
        return _Dos2UnixMD5()
    return hashlib.new(algorithm)


def is_sha256(value: str) -> bool:
    """True for a sha256 hex digest: 64 lowercase hex characters."""
    return bool(SHA256_RE.fullmatch(value))


def hash_file(path: str | Path, algorithms: tuple[str, ...] = ("sha256",),
              progress: Progress | None = None) -> dict[str, str]:
    """Several digests of a file in one pass, read in 8 MiB blocks into one reused buffer
    (hashlib releases the GIL on big updates)."""
    hashers = [_hasher(a) for a in algorithms]
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        while True:
            n = f.readinto(buf)
            if not n:
                break
            chunk = view[:n]
            for h in hashers:
                h.update(chunk)
            if progress is not None:
                progress(n)
    return {a: h.hexdigest() for a, h in zip(algorithms, hashers, strict=True)}


def sha256_file(path: str | Path, progress: Progress | None = None) -> str:
    """sha256 of a file."""
    return hash_file(path, ("sha256",), progress)["sha256"]
