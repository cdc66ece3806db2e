"""Polling for a condition in tests that drive real processes and threads."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def wait_for(predicate: Callable[[], T], timeout: float = 30.0, what: str = "condition",
             context: Callable[[], str] = lambda: "") -> T:
    """The predicate's first truthy value; on timeout an AssertionError naming `what`, plus `context()` (a log tail)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:g}s waiting for {what}{context()}")


def child_processes(pid: int) -> list[int]:
    """A live process's children, gathered from each of its threads (Linux)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def process_gone(pid: int) -> bool:
    """Exited (a zombie its parent has not reaped yet counts: it can no longer write anything)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True
