"""One node per lake and client id: an exclusive advisory lock held for the process's whole life."""

from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path


class NodeAlreadyRunning(RuntimeError):
    """Another live process holds the lock; the text names its pid."""


class NodeLock:
    def __init__(self, control_dir: str, lake_uri: str, client_id: int) -> None:
        digest = hashlib.sha256(f"{lake_uri}|{client_id}".encode()).hexdigest()[:16]
        self.path = Path(control_dir) / f"node-{client_id}-{digest}.lock"
        self._file = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise NodeAlreadyRunning(f"another node (pid {holder}) already runs on this lake and client id "
                                     f"({self.path})") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
