"""Where a lake's write-ahead logs are, and every place they have ever been, so a start folds them all.

By default the logs live with the node's own files of the lake (`LAKE/_thetanode/wal`). `persistence.write_ahead_dir`
puts them on a device of their own: each order command waits for the log's fsync, and on the lake's file system that
flush queues behind the journal's writes. There each lake gets a subdirectory named by its canonical location, so the
nodes of several lakes can share one device and never fold each other's logs.

A log left by a crash is the only record of an order that reached the broker after the journal's last commit, so
moving the setting must not strand it. Every directory a session used is listed in the lake's node files
(`write_ahead_dirs`) before its first record is written, and a start folds every listed directory. A listed
directory that is gone stops the start with one line: its logs may hold orders (an unmounted device), and only the
trader can say it is gone for good.
"""

from __future__ import annotations

import os
from pathlib import Path

from storage.lake_access import LakeUnusable, lake_key, node_files
from storage.write_ahead import fsync_directory

RECORD = "write_ahead_dirs"
DEFAULT_SUBDIR = "wal"


def log_directory(lake_uri: str, local_dir: str, write_ahead_dir: str) -> Path:
    """This lake's write-ahead directory under the current settings."""
    if not write_ahead_dir:
        return node_files(lake_uri, local_dir) / DEFAULT_SUBDIR
    return Path(write_ahead_dir).expanduser().resolve() / lake_key(lake_uri)


def directories_to_fold(lake_uri: str, local_dir: str, current: Path) -> list[Path]:
    """The default directory, every one an earlier session recorded, and the current one: each at most once.
    Raises `LakeUnusable` when a recorded directory is missing."""
    found = [log_directory(lake_uri, local_dir, "")]
    for directory in _recorded(lake_uri, local_dir):
        if directory in found:
            continue
        if not directory.is_dir():
            raise LakeUnusable(
                f"write-ahead directory {directory}, used by an earlier session of lake {lake_uri}, is missing: its "
                f"logs may hold orders the journal lacks; mount it again, or if it is gone for good remove its line "
                f"from {node_files(lake_uri, local_dir) / RECORD}")
        found.append(directory)
    if current not in found:
        found.append(current)
    return found


def record(lake_uri: str, local_dir: str, directory: Path) -> None:
    """List `directory` (made if need be) in the lake's record, on disk before the caller writes a log there.
    The default directory is always folded and is not listed. Raises `LakeUnusable` with one line on failure."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        if directory == log_directory(lake_uri, local_dir, "") or directory in _recorded(lake_uri, local_dir):
            return
        path = node_files(lake_uri, local_dir) / RECORD
        path.parent.mkdir(parents=True, exist_ok=True)
        created = not path.exists()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, f"{directory}\n".encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:  # the record's own name must survive a crash too
            fsync_directory(path.parent)
    except OSError as exc:
        raise LakeUnusable(f"write-ahead directory {directory}: {exc.strerror or exc}") from None


def _recorded(lake_uri: str, local_dir: str) -> list[Path]:
    path = node_files(lake_uri, local_dir) / RECORD
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise LakeUnusable(f"{path}: {exc.strerror or exc}") from None
    return [Path(line) for line in lines if line.strip()]

