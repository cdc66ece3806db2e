"""Compaction while the node writes: the group commits' small files bounded through the day, not only at a start.

Every group commit adds a data file to each table it writes, ten a second while quotes flow, so by a session's close
the journal's newest date partition would hold some 200,000 files, and a commit costs delta-rs more the more files
the table holds: measured here, an append 48 ms at 20,000 files and 200 ms at 100,000 (a checkpoint 50 and 190 ms).
Hours into a session the writer would spend its whole core committing, and the commit lag and the node's latency
with it. The start-up and scheduled passes (storage/maintenance.py) come too late for that.

So the writer, every `every_commits` commits of a table, has a thread of its own bin-pack that table's small files
(of the journal, only the newest date partition's: the older days are the start's and the schedule's) into files of
up to `TARGET_FILE_BYTES`. A file already that big is left alone, so a pass rewrites at most one target's worth
plus the commits since the last pass (measured: 0.3-0.6 s for 100 commits of 1,000 messages), and a day of trading
leaves a few files per table and day, whatever its length.

Compaction commits no new data (`dataChange: false`) and the writer only appends, so delta-rs resolves the two
without conflict: every row stays exactly once, and the writer's idempotency marks are untouched. A pass that fails
is logged and tried again after the next `every_commits`. The type-sorted layout the readers' row-group skipping
relies on is the start's and the schedule's: a day left with more than a few files is rewritten sorted then.
"""

from __future__ import annotations

import threading

from deltalake import DeltaTable
from loguru import logger

from storage.lake_access import one_line
from storage.maintenance import COMPACTED_FILES

EVERY_COMMITS = 200
"""Commits of a table between passes: 20 s of a live node's group commits."""
TARGET_FILE_BYTES = 16 * 1024 * 1024
"""Small enough that rewriting the day's newest file with the latest commits stays well under a second."""
CLOSE_WAIT_S = 5.0
"""Under the writer process's own 10 s to exit when the node closes it."""


class LiveCompaction:
    """Counts each table's commits and compacts a table on a thread of its own once it has had `every_commits`
    since its last pass (0: never). One pass at a time; the writer never waits for one, except at `close`."""

    def __init__(self, storage_options: dict[str, str] | None, every_commits: int = EVERY_COMMITS) -> None:
        self._options = storage_options or None
        self._every = every_commits
        self._commits: dict[str, int] = {}
        self._pass: threading.Thread | None = None
        self.passes = 0

    def committed(self, uri: str) -> None:
        """One commit to `uri` has landed."""
        if not self._every:
            return
        self._commits[uri] = self._commits.get(uri, 0) + 1
        if self._pass is not None and self._pass.is_alive():
            return
        due = [uri for uri, count in self._commits.items() if count >= self._every]
        if not due:
            return
        for uri in due:
            self._commits[uri] = 0
        self._pass = threading.Thread(target=self._compact, args=(due,), name="live-compaction", daemon=True)
        self._pass.start()

    def _compact(self, uris: list[str]) -> None:
        for uri in uris:
            try:
                table = DeltaTable(uri, storage_options=self._options)
                date = _newest_date(table)
                filters = [("date", "=", date)] if date is not None else None
                metrics = table.optimize.compact(partition_filters=filters, target_size=TARGET_FILE_BYTES,
                                                 max_concurrent_tasks=1, writer_properties=COMPACTED_FILES)
                self.passes += 1
                logger.debug(f"live compaction of {uri}{f' ({date})' if date else ''}: "
                             f"-{metrics.get('numFilesRemoved', 0)} +{metrics.get('numFilesAdded', 0)} files")
            except Exception as exc:  # noqa: BLE001 - upkeep: the commits go on, the next pass tries again
                logger.warning(f"live compaction of {uri} failed, trying again later: {one_line(exc)}")

    def close(self, timeout_s: float = CLOSE_WAIT_S) -> None:
        """Let a pass in progress finish (its commit, or nothing at all: a pass cut short leaves only unreferenced
        files, which vacuum removes)."""
        if self._pass is not None:
            self._pass.join(timeout_s)


def _newest_date(table: DeltaTable) -> str | None:
    """The newest date partition of a table partitioned by date (the one the writer is filling), else None."""
    if "date" not in table.metadata().partition_columns:
        return None
    dates = table.get_add_actions(flatten=True).column("partition.date").to_pylist()
    return max(dates, default=None)
