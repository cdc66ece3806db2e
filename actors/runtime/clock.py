"""Clocks and timers. Logic never reads the wall clock: it asks a clock, which is either the wall or virtual."""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Protocol


class Clock(Protocol):
    def now(self) -> int: ...


class WallClock:
    """Live trading: nanoseconds since the epoch from the operating system."""

    now = staticmethod(time.time_ns)
    """Nanoseconds since the epoch (the C function itself: every published message asks)."""


class ShiftedClock:
    """Wall-clock speed from a chosen instant: drills against a test gateway, in market hours at any hour."""

    def __init__(self, start_ns: int) -> None:
        self._start_ns = start_ns
        self._origin = time.monotonic_ns()

    def now(self) -> int:
        return self._start_ns + time.monotonic_ns() - self._origin


class VirtualClock:
    """Replay and demo: time moves only when the runtime advances it, never backwards."""

    def __init__(self, start_ns: int) -> None:
        self._now = start_ns
        self._lock = threading.Lock()

    def now(self) -> int:
        return self._now

    def advance_to(self, at_ns: int) -> None:
        with self._lock:
            if at_ns > self._now:
                self._now = at_ns


@dataclass(order=True)
class _Entry:
    at_ns: int
    order: int
    target: str = field(compare=False)
    key: str = field(compare=False)
    cancelled: bool = field(default=False, compare=False)


class TimerQueue:
    """Armed timers in firing order (time, then arming order), one per (target, key): re-arming replaces."""

    def __init__(self) -> None:
        self._heap: list[_Entry] = []
        self._by_id: dict[tuple[str, str], _Entry] = {}
        self._order = itertools.count()
        self._lock = threading.Lock()

    def arm(self, target: str, key: str, at_ns: int) -> bool:
        """Arm (or re-arm) a timer; returns whether it is now the first to fire, which a waiting timer thread must
        hear of. A later one it finds by itself when it wakes for the earlier."""
        with self._lock:
            previous = self._by_id.pop((target, key), None)
            if previous is not None:
                previous.cancelled = True
            entry = _Entry(at_ns, next(self._order), target, key)
            self._by_id[(target, key)] = entry
            heapq.heappush(self._heap, entry)
            return self._heap[0] is entry

    def cancel(self, target: str, key: str) -> None:
        with self._lock:
            entry = self._by_id.pop((target, key), None)
            if entry is not None:
                entry.cancelled = True

    def next_due(self) -> int | None:
        with self._lock:
            self._discard_cancelled()
            return self._heap[0].at_ns if self._heap else None

    def pop_due(self, now_ns: int) -> list[tuple[int, str, str]]:
        """Every timer due at or before `now_ns`, in firing order, as (at_ns, target, key)."""
        due: list[tuple[int, str, str]] = []
        with self._lock:
            self._discard_cancelled()
            while self._heap and self._heap[0].at_ns <= now_ns:
                entry = heapq.heappop(self._heap)
                if not entry.cancelled:
                    del self._by_id[(entry.target, entry.key)]
                    due.append((entry.at_ns, entry.target, entry.key))
                self._discard_cancelled()
        return due

    def __len__(self) -> int:
        with self._lock:
            return len(self._by_id)

    def _discard_cancelled(self) -> None:
        while self._heap and self._heap[0].cancelled:
            heapq.heappop(self._heap)
