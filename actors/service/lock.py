"""One writer per lake, by the lake's identity: an exclusive lock that lives in the lake itself.

A local lake holds `_thetanode/writer.lock` (an flock, released by the kernel when the process dies), so any spelling
of the path, any `control_dir` and any `client_id` meet the same lock. An object-store lake cannot be flocked: it
holds a lease (`actors/service/lease.py`) that the next node may take over only after it expired.
"""

from __future__ import annotations

import fcntl
import os
import socket
from collections.abc import Callable

from storage.lake_access import LakeUnusable, local_path, node_files


class NodeAlreadyRunning(RuntimeError):
    """Another live process holds the lake; the text names it."""


class NodeLock:
    def __init__(self, lake_uri: str, storage_options: dict[str, str] | None = None,
                 lease_s: float = 30.0) -> None:
        self._uri = lake_uri
        self._lease = None
        if local_path(lake_uri) is None:
            from actors.service.lease import LakeLease

            self._lease = LakeLease(lake_uri, storage_options, lease_s)
        self.path = node_files(lake_uri) / "writer.lock"
        self._file = None

    def acquire(self) -> None:
        if self._lease is not None:
            from actors.service.lease import LeaseHeld

            try:
                self._lease.acquire()
            except LeaseHeld as held:
                raise NodeAlreadyRunning(str(held)) from None
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle = self.path.open("a+")
        except OSError as exc:
            raise LakeUnusable(f"lake {self._uri} is not writable: {exc.strerror or exc}") from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise NodeAlreadyRunning(f"another node ({holder}) already writes this lake ({self.path})") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}")
        handle.flush()
        self._file = handle

    def start_renewing(self, on_lost: Callable[[str], object]) -> None:
        """A lease must be renewed while the node runs (`on_lost` stops the node); an flock needs nothing."""
        if self._lease is not None:
            self._lease.start_renewing(on_lost)

    def release(self) -> None:
        if self._lease is not None:
            self._lease.release()
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
