"""A local lake's group commits pushed to disk as they land, by the writer, in its own time.

Delta's local store writes through the page cache and never syncs: each group commit leaves dirty pages that the
kernel writes back later, in bursts (every few seconds, once pages are 30 s old). The write-ahead log lives on the
same file system (`LAKE/_thetanode/wal`) and fsyncs before every order command, and a device flush queues behind the
writeback in flight. Measured in `scripts/bench_latency.py --spacing-ms 1000 --orders 150` (150 s at 10k ticks/s,
2026-11-26, alternating): the write-ahead fsync's p99 was 27.2 and 25.7 ms, 24 and 29 of its 151 fsyncs over 5 ms,
tick→order's p99 29.4 and 38.3 ms. With the writer flushing the lake's file system (`syncfs`) after each group commit,
its data reaches the disk in commit-sized pieces as it goes: fsync p99 5.4 and 7.0 ms (2 and 6 over 5 ms), tick→order
p99 19.7 and 16.1 ms; commit lag unchanged. A committed batch is then on disk as well, not only in the page cache.

Linux only (`syncfs`); elsewhere, and for an object-store lake, this does nothing.
"""

from __future__ import annotations

import ctypes
import os
import sys

from storage.lake_access import local_path

_syncfs = getattr(ctypes.CDLL(None, use_errno=True), "syncfs", None) if sys.platform.startswith("linux") else None


class LakeFlush:
    """Flushes the file system a local lake is on; call it after each commit (on the writer's thread: the call
    waits for the disk without holding the GIL)."""

    def __init__(self, lake_root: str) -> None:
        self._root = local_path(lake_root) if _syncfs is not None else None
        self._fd: int | None = None

    def __call__(self) -> None:
        if self._root is None:
            return
        if self._fd is None:
            self._fd = os.open(self._root, os.O_RDONLY)  # after the first commit made the directory
        if _syncfs(self._fd) != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"flushing the lake's file system to disk failed: {os.strerror(error)}")

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
