"""Where a lake really is, and whether this process can write it: checked once at start, before anything is read.

A lake is a local directory (a path or a `file://` URI) or an object-store URI (`s3://`, `gs://`, `az://`...). Its
identity is its canonical location — the resolved directory, or the URI without a trailing slash — never the way a
config happens to spell it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlparse

META_DIR = "_thetanode"
"""The node's own files inside a local lake: the write-ahead logs and the writer's lock (Delta ignores it)."""


class LakeUnusable(RuntimeError):
    """The lake cannot be written (or read) at all; the text is one line naming it and the cause."""


class LakeDamaged(RuntimeError):
    """The lake's tables cannot be read back (a truncated data file, a gap in a Delta log): do not restart."""


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def one_line(exc: BaseException, limit: int = 240) -> str:
    """A storage error as one short line (deltalake's errors span many lines, with colours and arrows)."""
    text = " ".join(_ANSI.sub("", str(exc)).replace("↳", ";").split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def local_path(uri: str) -> Path | None:
    """The directory of a local lake; None for an object store."""
    if not uri:
        raise LakeUnusable("the lake URI is empty")
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if len(parsed.scheme) > 1:  # s3://, gs://... (a one-letter scheme would be a Windows drive)
        return None
    return Path(uri)


def canonical_uri(uri: str) -> str:
    local = local_path(uri)
    if local is not None:
        return str(local.expanduser().resolve())
    scheme, _, rest = uri.partition("://")
    return f"{scheme.lower()}://{rest.strip('/')}"


def node_files(uri: str, fallback_root: str = "thetanode-data/lakes") -> Path:
    """The local directory of the node's own files for this lake: inside a local lake, else keyed by the lake's
    canonical URI under `fallback_root` (an object store cannot be fsynced)."""
    local = local_path(uri)
    if local is not None:
        return local.expanduser().resolve() / META_DIR
    return Path(fallback_root) / lake_key(uri)


def lake_key(uri: str) -> str:
    """A short name for a lake, the same however its URI is spelt: its directory under a root shared by lakes."""
    return hashlib.sha256(canonical_uri(uri).encode()).hexdigest()[:16]


@contextlib.contextmanager
def reading(uri: str) -> Iterator[None]:
    """Any failure to read a lake back (Arrow, Delta, or a Rust panic surfacing as BaseException) is damage."""
    try:
        yield
    except (LakeUnusable, LakeDamaged, KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - pyo3's PanicException derives from BaseException
        raise LakeDamaged(f"lake {uri} cannot be read back: {one_line(exc)}") from None


def check_local_writable(uri: str) -> None:
    """A local lake must be a directory this process can create files in and fsync: one probe file, removed."""
    path = local_path(uri)
    if path is None:
        return
    if path.exists() and not path.is_dir():
        raise LakeUnusable(f"lake {uri} is not a directory")
    probe = node_files(uri) / f".probe-{os.getpid()}"
    try:
        probe.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, b"thetanode")
            os.fsync(fd)
        finally:
            os.close(fd)
        probe.unlink()
    except OSError as exc:
        raise LakeUnusable(f"lake {uri} is not writable: {exc.strerror or exc}") from None
