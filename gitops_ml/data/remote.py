"""Moving bytes to and from remote stores: fsspec (http(s), s3, gs …) and ``file://``.

fsspec (and s3fs, aiohttp) are imported only when a remote URI is touched, so ``validate`` and
``plan`` stay light. HTTP waits are bounded (:data:`HTTP_TIMEOUT_ENV`), S3 endpoints come from
the standard AWS variables, and every failure becomes one line: a
:class:`~gitops_ml.errors.TransferError` or :class:`~gitops_ml.errors.DataNotFoundError`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from gitops_ml.data.pointers import file_uri_path, uri_scheme
from gitops_ml.errors import ConfigError, DataError, DataNotFoundError, GitopsMLError, TransferError
from gitops_ml.util.files import staged_file
from gitops_ml.util.hashing import CHUNK, Progress

DEFAULT_HTTP_TIMEOUT = 30.0
HTTP_TIMEOUT_ENV = "GITOPS_ML_HTTP_TIMEOUT"
LOCAL_SCHEMES = ("", "file")  # written and read with plain os calls, no fsspec


def http_timeout() -> float:
    raw = os.environ.get(HTTP_TIMEOUT_ENV)
    if not raw:
        return DEFAULT_HTTP_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{HTTP_TIMEOUT_ENV} must be a number of seconds, got {raw!r}") \
            from None
    if value <= 0:
        raise ConfigError(f"{HTTP_TIMEOUT_ENV} must be positive, got {raw!r}")
    return value


def storage_options(uri: str) -> dict[str, Any]:
    """fsspec options for a URI's protocol: bounded HTTP timeouts, S3 endpoint from the
    standard AWS environment variables (``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL``)."""
    scheme = uri_scheme(uri)
    if scheme in ("http", "https"):
        import aiohttp

        t = http_timeout()
        return {"client_kwargs": {"timeout": aiohttp.ClientTimeout(
            total=None, connect=t, sock_connect=t, sock_read=t)}}
    if scheme in ("s3", "s3a"):
        client: dict[str, Any] = {}
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        if endpoint:
            client["endpoint_url"] = endpoint
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        if region:
            client["region_name"] = region
        return {"client_kwargs": client, "skip_instance_cache": True} if client else {}
    return {}


def filesystem(uri: str) -> tuple[Any, str]:
    """The fsspec file system for ``uri`` and the path within it."""
    try:
        from fsspec.core import split_protocol, url_to_fs
    except ImportError as exc:  # pragma: no cover - fsspec is a dependency
        raise DataError("fsspec is needed for remote data", hint="pip install fsspec") from exc
    protocol, _ = split_protocol(uri)
    try:
        fs, path = url_to_fs(uri, **storage_options(uri))
    except ImportError as exc:
        extra = " (pip install 'gitops-ml[s3]')" if protocol in ("s3", "s3a") else ""
        raise DataError(f"no support installed for {protocol}:// URIs{extra}: {exc}") from exc
    except ValueError as exc:
        raise DataError(f"unsupported URI {uri}: {exc}") from exc
    return fs, uri if protocol in ("http", "https") else path


@contextlib.contextmanager
def open_remote(uri: str, mode: str = "rb", size: int | None = None) -> Iterator[BinaryIO]:
    """Open a remote file for streaming; every failure becomes a one-line DataError.
    A known ``size`` spares an HTTP server the HEAD request fsspec sends first."""
    if uri_scheme(uri) == "file":
        try:
            f: Any = open(file_uri_path(uri), mode)  # noqa: SIM115 - closed below
        except OSError as exc:
            raise transfer_error(exc, uri) from exc
        with f:
            yield f
        return
    fs, path = filesystem(uri)
    try:
        if mode == "rb" and uri_scheme(uri) in ("http", "https"):
            # one streaming GET, no range requests
            f = fs.open(path, mode, block_size=0, **({"size": size} if size else {}))
        else:
            f = fs.open(path, mode)
    except GitopsMLError:
        raise
    except Exception as exc:
        raise transfer_error(exc, uri) from exc
    try:
        yield f
    except BaseException:
        # closing a half-written remote file would publish it (s3fs completes the multipart
        # upload on close): throw the upload away instead
        discard = getattr(f, "discard", None) if "w" in mode else None
        with contextlib.suppress(Exception):
            discard() if callable(discard) else f.close()
        raise
    with contextlib.suppress(Exception):
        f.close()


def transfer_error(exc: BaseException, uri: str) -> DataError:
    import asyncio

    # fsspec's HTTP file system reports every failure of its HEAD request as
    # FileNotFoundError; the real reason is further down the chain.
    chain: list[BaseException] = []
    probe: BaseException | None = exc
    while probe is not None and probe not in chain:
        chain.append(probe)
        probe = probe.__cause__ or probe.__context__
    for link in chain:
        if isinstance(link, (TimeoutError, asyncio.TimeoutError)) \
                or "Timeout" in type(link).__name__:
            return TransferError(f"timed out after {http_timeout():g}s waiting for {uri}",
                                 hint=f"the server did not answer; set {HTTP_TIMEOUT_ENV} to "
                                      "wait longer")
        if "Connector" in type(link).__name__ or isinstance(link, ConnectionError):
            return TransferError(f"cannot connect to the server of {uri}: {link}")
    if isinstance(exc, FileNotFoundError):
        return DataNotFoundError(f"not found: {uri}", hint="check the URI and that the data "
                                 "was pushed ('gitops-ml data push')")
    if isinstance(exc, PermissionError):
        return TransferError(f"permission denied: {uri}", hint="check your credentials")
    status = getattr(exc, "status", None) or getattr(exc, "code", None)
    detail = f"HTTP {status}" if isinstance(status, int) else f"{type(exc).__name__}: {exc}"
    return TransferError(f"transfer failed for {uri}: {detail}".strip())


def upload(path: Path, uri: str, progress: Progress | None = None) -> str:
    """Copy a local file to ``uri`` (a path, ``file://`` or an fsspec URI), returning its
    sha256 computed in the same pass. A local destination is written atomically; a remote one
    is discarded, not completed, when the copy fails."""
    import hashlib  # lazily: loading OpenSSL is not free on validate's path

    if uri_scheme(uri) in ("http", "https"):
        raise TransferError(f"cannot push to {uri}: HTTP(S) pointers are read-only",
                            hint="push to s3:// or a folder, and serve it over HTTP yourself")
    h = hashlib.sha256()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    with contextlib.ExitStack() as stack:
        src = stack.enter_context(open(path, "rb", buffering=0))
        local = uri_scheme(uri) in LOCAL_SCHEMES
        if local:
            dest = Path(file_uri_path(uri)) if uri_scheme(uri) == "file" else Path(uri)
            staged = stack.enter_context(staged_file(dest.parent))
            out: Any = staged.file
        else:
            out = stack.enter_context(open_remote(uri, "wb"))
        try:
            while True:
                n = src.readinto(buf)
                if not n:
                    break
                h.update(view[:n])
                out.write(view[:n])
                if progress is not None:
                    progress(n)
            if local:
                staged.commit(dest)
            else:
                out.close()  # s3fs completes the multipart upload here
        except GitopsMLError:
            raise
        except Exception as exc:
            raise transfer_error(exc, uri) from exc
    return h.hexdigest()


def remote_size(uri: str) -> int | None:
    """The size of a remote object, or None when it does not exist."""
    if uri_scheme(uri) in LOCAL_SCHEMES:
        p = Path(file_uri_path(uri)) if uri_scheme(uri) == "file" else Path(uri)
        return p.stat().st_size if p.is_file() else None
    fs, path = filesystem(uri)
    try:
        info = fs.info(path)
    except FileNotFoundError:
        return None
    except Exception as exc:
        raise transfer_error(exc, uri) from exc
    size = info.get("size")
    return int(size) if size is not None else None


def read_chunks(src: BinaryIO, uri: str) -> Iterator[bytes]:
    """The bytes of an open remote file in 8 MiB chunks; a failure mid-stream becomes a
    one-line :class:`~gitops_ml.errors.TransferError`."""
    while True:
        try:
            chunk = src.read(CHUNK)
        except GitopsMLError:
            raise
        except Exception as exc:
            raise transfer_error(exc, uri) from exc
        if not chunk:
            return
        yield chunk
