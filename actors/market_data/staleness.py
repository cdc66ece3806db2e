"""Stale-quote detection: which subscribed keys have gone quiet for too long while the market is open."""

from __future__ import annotations


class StalenessTracker:
    SNAPSHOT_FRESH = ("_stale_after_ns",)  # from config
    """Ages count from the later of the last quote and the session open, so overnight silence is not staleness.

    A key is reported once per episode: a fresh quote re-arms it.
    """

    def __init__(self, stale_after_ns: int) -> None:
        self._stale_after_ns = stale_after_ns
        self._last_ns: dict[str, int] = {}
        self._reported: set[str] = set()

    def watch(self, key: str, since_ns: int) -> None:
        self._last_ns.setdefault(key, since_ns)

    def forget(self, key: str) -> None:
        self._last_ns.pop(key, None)
        self._reported.discard(key)

    def quoted(self, key: str, at_ns: int) -> None:
        if key in self._last_ns:
            self._last_ns[key] = max(self._last_ns[key], at_ns)
            self._reported.discard(key)

    def newly_stale(self, now_ns: int, session_open_ns: int) -> list[tuple[str, int]]:
        """(key, age) for every key that just crossed the limit, in key order."""
        stale = []
        for key in sorted(self._last_ns):
            age = now_ns - max(self._last_ns[key], session_open_ns)
            if age > self._stale_after_ns and key not in self._reported:
                self._reported.add(key)
                stale.append((key, now_ns - self._last_ns[key]))
        return stale
