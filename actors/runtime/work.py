"""Quiescence without a global lock: each mailbox counts its own unfinished messages (queued or being handled) under
the lock it already takes to enqueue, and this counter only sums them when someone asks whether the node is idle.

The hot path (every publish, every handled message) touches one actor's own lock, never a process-wide one; on the
wall clock nobody waits for quiescence and nothing else happens. A waiter (the virtual clock, a test, a stop) is
woken when a mailbox runs empty, and then confirms idleness by reading every mailbox's counts twice: a message sent
from one actor to another while the first pass was reading shows up as a changed enqueue count, never as idle.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol


class Accountable(Protocol):
    unfinished: int
    """Messages queued or being handled."""
    enqueued: int
    """Messages ever queued: only grows."""


class WorkCounter:
    def __init__(self) -> None:
        self._units: list[Accountable] = []
        self._settled = threading.Event()
        self._waiters = 0
        self._waiters_lock = threading.Lock()
        self.on_idle: Callable[[], None] | None = None
        """Called on the thread whose mailbox ran empty last (a virtual clock takes its next step there)."""

    def register(self, unit: Accountable) -> None:
        self._units.append(unit)

    def ran_empty(self) -> None:
        """A mailbox's last unfinished message is done: wake whoever waits for quiescence (if anyone does) once no
        mailbox has any left. The last of several finishing together sees the others' counts at zero."""
        if not self._waiters and self.on_idle is None:
            return
        for unit in self._units:
            if unit.unfinished:
                return
        if self._waiters:
            self._settled.set()
        if self.on_idle is not None:
            self.on_idle()

    @property
    def waited_for(self) -> bool:
        """Someone waits for quiescence (a stop, a test): a virtual clock leaves the idle instant to them."""
        return self._waiters > 0

    @property
    def pending(self) -> int:
        return sum(unit.unfinished for unit in self._units)

    def idle(self) -> bool:
        before = [unit.enqueued for unit in self._units]
        if any(unit.unfinished for unit in self._units):
            return False
        return before == [unit.enqueued for unit in self._units]

    def wait_idle(self, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._waiters_lock:
            self._waiters += 1
        try:
            while True:
                self._settled.clear()
                if self.idle():
                    return True
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._settled.wait(remaining)
        finally:
            with self._waiters_lock:
                self._waiters -= 1
