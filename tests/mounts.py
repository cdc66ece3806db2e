"""Real filesystem faults for storage tests: a small tmpfs that can be filled to the last byte or remounted read-only.

Mounting needs privileges; where it is not permitted the test is skipped, saying why."""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


def _run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, check=False)


class Tmpfs:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._filler = path / ".filler"

    def fill(self) -> None:
        """Write until the filesystem has no byte left (ENOSPC ends the copy, as it would a real writer)."""
        _run("dd", "if=/dev/zero", f"of={self._filler}", "bs=64k")

    def free(self) -> None:
        self._filler.unlink(missing_ok=True)

    def read_only(self, timeout_s: float = 30.0) -> None:
        """Remount read-only between two writes: the kernel refuses ("busy") while a file is open for writing, and
        the node writes whenever it commits."""
        deadline = time.monotonic() + timeout_s
        while (result := _run("mount", "-o", "remount,ro", str(self.path))).returncode != 0:
            assert "busy" in result.stderr and time.monotonic() < deadline, result.stderr
            time.sleep(0.02)

    def writable(self) -> None:
        result = _run("mount", "-o", "remount,rw", str(self.path))
        assert result.returncode == 0, result.stderr


@contextlib.contextmanager
def tmpfs(path: Path, size: str = "3m") -> Iterator[Tmpfs]:
    path.mkdir(parents=True, exist_ok=True)
    result = _run("mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path))
    if result.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here: {result.stderr.strip() or result.returncode}")
    try:
        yield Tmpfs(path)
    finally:
        _run("mount", "-o", "remount,rw", str(path))
        _run("umount", "-l", str(path))
