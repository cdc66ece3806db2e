"""A task repeated on its own daemon thread every interval until stopped: heartbeats, control polling, upkeep."""

from __future__ import annotations

import threading
from collections.abc import Callable


class Periodic:
    def __init__(self, name: str, interval_s: float, task: Callable[[], object]) -> None:
        self._interval_s = interval_s
        self._task = task
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            self._task()

    def stop(self) -> None:
        """Stop, and wait (bounded) for a task in progress to finish."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self._interval_s * 2)
