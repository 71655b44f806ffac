"""Hashing files, and the one spelling of a sha256 digest.

hashlib is imported when a file is hashed, not when this module is: loading OpenSSL is not
free, and ``validate`` imports this module only to check the shape of a digest.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

CHUNK = 8 * 1024 * 1024
SHA256_PATTERN = "[0-9a-f]{64}"
SHA256_RE = re.compile(SHA256_PATTERN)
MD5_RE = re.compile("[0-9a-f]{32}")

Progress = Callable[[int], None]
"""A callback that receives the number of bytes just processed."""


def is_sha256(value: str) -> bool:
    """True for a sha256 hex digest: 64 lowercase hex characters."""
    return bool(SHA256_RE.fullmatch(value))


def hash_file(path: str | Path, algorithms: tuple[str, ...] = ("sha256",),
              progress: Progress | None = None) -> dict[str, str]:
    """Several digests of a file in one pass, read in 8 MiB blocks into one reused buffer
    (hashlib releases the GIL on big updates)."""
    import hashlib

    hashers = [hashlib.new(a) for a in algorithms]
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
