"""`thetanode profile SCENARIO`: a threaded replay under memray, with its capture, flame graph and memory verdict.

Growth after warm-up compares the heap once the run is `warmup_fraction` through (caches filled, pools sized) with
the heap at its end; a steady-state node should hold it flat.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
import sys
from dataclasses import dataclass
from pathlib import Path

import memray

from actors.market_time import market_hours

from actors.replay.runner import ReplayResult, replay_threaded
from actors.replay.scenario import Scenario


@dataclass(frozen=True)
class MemoryProfile:
    capture: Path
    flamegraph: Path | None
    peak_bytes: int
    heap_after_warmup_bytes: int
    heap_at_end_bytes: int
    replay: ReplayResult

    @property
    def growth_bytes(self) -> int:
        return self.heap_at_end_bytes - self.heap_after_warmup_bytes


def heap_after_warmup(capture: Path, warmup_fraction: float) -> tuple[int, int, int]:
    """(peak, heap once warm, heap at the end) from a memray capture's periodic snapshots."""
    with memray.FileReader(capture) as reader:
        snapshots = list(reader.get_memory_snapshots())
        peak = reader.metadata.peak_memory
    if not snapshots:
        return peak, 0, 0
    warm_index = min(int(len(snapshots) * warmup_fraction), len(snapshots) - 1)
    return peak, snapshots[warm_index].heap, snapshots[-1].heap


def render_flamegraph(capture: Path) -> Path | None:
    html = capture.with_suffix(".html")
    completed = subprocess.run(
        [sys.executable, "-m", "memray", "flamegraph", "--force", "--output", str(html), str(capture)],
        capture_output=True,
        text=True,
    )
    return html if completed.returncode == 0 else None


@contextmanager
def tracked(capture: Path) -> Iterator[None]:
    """memray tracking into `capture`, with process-wide static data built first, untracked: the XNYS calendar
    makes pyarrow reserve ~1 GB of address space once per process, which is not the node's memory."""
    market_hours()
    capture.unlink(missing_ok=True)
    with memray.Tracker(capture, memory_interval_ms=5):
        yield


def profile_scenario(scenario: Scenario, out_dir: Path, warmup_fraction: float = 0.25) -> MemoryProfile:
    out_dir.mkdir(parents=True, exist_ok=True)
    capture = out_dir / f"{scenario.name}.memray.bin"
    with tracked(capture):
        replay = replay_threaded(scenario, out_dir / f"{scenario.name}.journal")
    peak, warm, end = heap_after_warmup(capture, warmup_fraction)
    return MemoryProfile(capture, render_flamegraph(capture), peak, warm, end, replay)
