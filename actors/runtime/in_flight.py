"""Which publishes are in flight, counted by each publishing thread for itself: no lock on the hot path.

A snapshot's cut must be exact: every message stamped up to the cut delivered (and, by the work counter, handled),
none stamped after it delivered while the cores are written. A process-wide lock around the seq counter gave that,
but every thread stamping through one lock convoys on the GIL (a third of the threaded runtime's time went there).
Instead each thread keeps its own nesting depth (publishes in flight: a publish may publish, e.g. the write-ahead
gate's notes) and the last seq it stamped; only the thread itself writes them, and the seq counter is an atomic
`itertools.count`. Whoever wants a cut reads every thread's record before and after writing the snapshots: if all
were at rest both times, with the same last seqs, no publish delivered anything in between and all up to the
highest of those seqs were complete before it (see `ThreadedRuntime.take_snapshots`).
"""

from __future__ import annotations

import threading


class Publisher:
    """One thread's record. `depth` goes up before its seq is taken and down after its delivery is done."""

    __slots__ = ("depth", "last")

    def __init__(self) -> None:
        self.depth = 0
        self.last = 0


class InFlight:
    def __init__(self) -> None:
        self.local = threading.local()
        """`.publisher` is this thread's record once it has published (what `mine` returns)."""
        self._publishers: list[Publisher] = []
        self._registering = threading.Lock()

    def mine(self) -> Publisher:
        """This thread's record (made on its first publish)."""
        try:
            return self.local.publisher
        except AttributeError:
            publisher = self.local.publisher = Publisher()
            with self._registering:
                self._publishers.append(publisher)
            return publisher

    def at_rest(self) -> tuple[int, ...] | None:
        """Every publishing thread's last seq, or None if one has a publish in flight. Each thread's last seq is read
        on both sides of its depth: a publish that starts and ends between two reads shows as a changed seq."""
        lasts = []
        for publisher in tuple(self._publishers):
            last = publisher.last
            if publisher.depth or publisher.last != last:
                return None
            lasts.append(last)
        return tuple(lasts)

    def latest(self) -> int:
        """The highest seq stamped so far, about (a publish may be stamping): for pacing, never for a cut."""
        return max((publisher.last for publisher in tuple(self._publishers)), default=0)
