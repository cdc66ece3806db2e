"""Appends through a Delta table kept open: the one writer of a table holds its log in memory between commits.

`write_deltalake(uri, ...)` loads the table's whole log (checkpoint plus every commit after it) before each write, so
a group commit cost more the longer a table had gone since its last checkpoint: measured here, a 400-message batch
into the journal and the derived tables took 34 ms at the first commits and 380 ms at the 90th, most of it in
loading the tables. An open table is advanced by its own commits and by delta-rs's conflict resolution when another
writer (compaction) committed in between, so a commit costs the same at the 1,000th version as at the 10th.
"""

from __future__ import annotations

from typing import Any

from deltalake import DeltaTable, write_deltalake

from storage.commit_marks import MARK_RETENTION, MARK_RETENTION_SETTING

LOG_RETENTION = "delta.logRetentionDuration"
LOG_RETENTION_S = 5
LOG_RETENTION_SETTING = f"interval {LOG_RETENTION_S} seconds"
"""How long a table keeps its log entries (storage/maintenance.py says why so short): set when a table is created.
delta-rs drops the older ones each time a commit of the writer's makes a checkpoint, so while the node writes, the
journal's log holds a few seconds of group commits and a checkpoint interval's, not the day's. Each commit costs more
the more entries the log holds: with 1,000-message commits, 20 ms at the first, 107 ms at the 500th and 200 ms at the
1,000th with a day's retention; a day's retention saturated the writer process within a minute or two of
`bench_latency.py --spacing-ms 1000`. Against 15 s and a checkpoint every 100 commits (stop 32's), 5 s and every 25
held 2,500-message journal commits at 16-20 ms where they had climbed to 50-60 ms between trims, and took the
commit lag's p99 in single runs of `bench_persistence.py --seconds 30` from 253 to 172 ms."""
CHECKPOINT_INTERVAL = "delta.checkpointInterval"
CHECKPOINT_EVERY = 25
"""Commits between checkpoints, each of which is also when the log is trimmed. A checkpoint lists every data file,
so it costs more with more files (50 ms at 20,000, 190 ms at 100,000); live compaction keeps them few."""
STATS_AS_STRUCT = "delta.checkpoint.writeStatsAsStruct"
TABLE_PROPERTIES = {LOG_RETENTION: LOG_RETENTION_SETTING, STATS_AS_STRUCT: "true",
                    MARK_RETENTION: MARK_RETENTION_SETTING, CHECKPOINT_INTERVAL: str(CHECKPOINT_EVERY)}
"""Every table's properties, set when it is created (and on older tables at a node's start). With statistics as
struct the checkpoint holds each file's statistics as typed columns beside their JSON, and delta-rs, which reads those
instead of parsing the JSON of every file, opens the journal of 1,000 sessions (1,534 files) about 2 ms (15%) faster:
every start, status and report opens it. The mark retention lets a finished session's marks go
(storage/commit_marks.py)."""


class OpenTables:
    """One open table per URI, for appends only; a table whose commit failed is opened afresh next time (the
    failure may have left the handle behind the log, and the caller retries the same batch)."""

    def __init__(self, storage_options: dict[str, str] | None = None) -> None:
        self._storage_options = storage_options or None
        self._open: dict[str, DeltaTable] = {}

    def append(self, uri: str, data: Any, **options: Any) -> None:  # noqa: ANN401 - write_deltalake's own types
        table = self._open.get(uri)
        if table is None and DeltaTable.is_deltatable(uri, storage_options=self._storage_options):
            table = self._open[uri] = DeltaTable(uri, storage_options=self._storage_options)
        try:
            if table is None:  # the first commit creates the table
                configuration = {**TABLE_PROPERTIES, **(options.pop("configuration", None) or {})}
                write_deltalake(uri, data, mode="append", storage_options=self._storage_options,
                                configuration=configuration, **options)
            else:
                write_deltalake(table, data, mode="append", **options)
        except Exception:
            self._open.pop(uri, None)
            raise

    def forget(self) -> None:
        """Open every table afresh at its next append: a commit made through another handle carried marks of an app
        id this writer may commit again (a session name used again), and delta-rs fails a commit whose table moved
        on with a mark of its own app id."""
        self._open.clear()
