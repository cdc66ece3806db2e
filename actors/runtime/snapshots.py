"""Snapshots of the replayable cores, and the restart point they make: taken only when the cut is exact, restored
all together or not at all.

A set of snapshots is taken at one quiescent instant: every message stamped so far has been delivered and handled,
and none is stamped while the cores are written. Its cut is then one seq, `through_seq`, for every core: a restart
restores the set and replays, to every core, exactly the journal after that seq. Sets are taken at a graceful stop
and every `persistence.snapshot_every_messages` messages; an instant that turns out not to be quiescent is skipped,
never used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from loguru import logger

from actors.runtime.core import ActorCore
from actors.runtime.snapshot_codec import SnapshotError, encode_state, restore_state, schema_of
from messages import CoreSnapshot


@dataclass(frozen=True)
class RestartPoint:
    """Where a rebuild starts: every replayable core's snapshot, all cut at `through_seq` of `session_id`."""

    session_id: str
    through_seq: int
    snapshots: Mapping[str, CoreSnapshot]

    def restore(self, cores: Mapping[str, ActorCore]) -> None:
        """Overlay each core's snapshot onto it (freshly built); SnapshotError if any core has none or cannot take it."""
        for name, core in cores.items():
            snapshot = self.snapshots.get(name)
            if snapshot is None:
                raise SnapshotError(f"no snapshot of {name} at seq {self.through_seq} of {self.session_id}")
            restore_state(core, snapshot.state)


def write_snapshots(cores: Mapping[str, ActorCore], through_seq: int) -> list[CoreSnapshot]:
    """Each core's state now, which must be after it handled everything up to `through_seq` and nothing later."""
    members = tuple(cores)
    written = []
    for name, core in cores.items():
        state, modules = encode_state(core)
        written.append(CoreSnapshot(core=name, through_seq=through_seq, members=members, schema=schema_of(modules),
                                    modules=modules, state=state))
    return written


def restart_point(session_id: str, snapshots: list[CoreSnapshot]) -> RestartPoint | None:
    """The newest complete set among one session's snapshots (a crash may have cut the journaling of the last one
    short), if this code can restore every member; else None, said in the log: the rebuild then replays from the
    start."""
    by_cut: dict[int, dict[str, CoreSnapshot]] = {}
    for snapshot in snapshots:
        by_cut.setdefault(snapshot.through_seq, {})[snapshot.core] = snapshot
    for through_seq in sorted(by_cut, reverse=True):
        found = by_cut[through_seq]
        missing = set(next(iter(found.values())).members) - set(found)
        if missing:
            logger.warning(f"the snapshots at seq {through_seq} of {session_id} lack {', '.join(sorted(missing))}")
            continue
        stale = sorted(name for name, snapshot in found.items() if schema_of(snapshot.modules) != snapshot.schema)
        if stale:
            logger.warning(f"the snapshots at seq {through_seq} of {session_id} were written by other code "
                           f"({', '.join(stale)}): rebuilding from the whole journal")
            return None
        return RestartPoint(session_id, through_seq, found)
    return None
