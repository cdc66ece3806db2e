"""Counts messages queued or being handled across all mailboxes, so a virtual clock advances only when idle."""

from __future__ import annotations

import threading


class WorkCounter:
    def __init__(self) -> None:
        self._pending = 0
        self._idle = threading.Condition()

    def add(self, delta: int) -> None:
        with self._idle:
            self._pending += delta
            if self._pending <= 0:
                self._idle.notify_all()

    def done(self) -> None:
        self.add(-1)

    @property
    def pending(self) -> int:
        return self._pending

    def wait_idle(self, timeout: float | None = None) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._pending <= 0, timeout=timeout)
