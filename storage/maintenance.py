"""Lake upkeep: compact small files (the group commits leave many) and vacuum unreferenced ones.

The journal is compacted one date partition at a time, only the partitions still holding more than a few files (or,
before the newest day, more than one small file), and rewritten sorted by message type into row groups of
`ROW_GROUP_ROWS` rows compressed with zstd: a read of a few types (strategies, orders, the node's starts) then skips
the row groups of quotes and timers by their statistics, and a compacted day stays compacted, so a pass costs the new
days, not the year.

Vacuum keeps at least 7 days of history (Delta's own safety window) so a reader or a time-travel query that is
still using an older version never loses its files.

Each pass then checkpoints the table and removes log entries older than its `delta.logRetentionDuration`, 5 s
(`LOG_RETENTION_S`, set when a table is created, and on older tables at a node's start; delta-rs also trims at every
checkpoint the writer's own commits make, one per `CHECKPOINT_EVERY` commits): opening a Delta table lists its whole
`_delta_log` directory and replays every entry after the newest checkpoint, and each commit costs more the longer the
log, so a log of every group commit (ten a second while the node writes) would make every commit, start, status and
restart pay for the lake's age. Nothing in the node reads an older version: restarts, status and reports read the
newest, and the writer's idempotency marks (app transactions) are carried in each checkpoint. What goes is the
entries before the newest checkpoint that is itself older than the retention (every version younger than it can still
be rebuilt). A reader opens from the newest checkpoint and the entries after it, so at ten commits a second it would
have to stall about 8 seconds (the retention and a checkpoint interval) between listing the log and reading it to miss
one; a table kept open (storage/current_table.py) reloads from the newest checkpoint when the entries after its
version are gone. Data files are vacuum's, kept a week. A compaction pass that runs beside the writer is a
transaction read at one version: one that outlasts that window fails its commit (`Invalid table version`), is logged,
and is tried again at the next pass. So each day is its own transaction, read when its turn comes, and the scheduled
pass, which runs beside the writer, leaves the day the writer fills to the writer's own passes
(storage/live_compaction.py, well under a second each) and rewrites only past days, which nothing appends to any more;
the start's pass runs before anything writes. The retention is a table property, and changing it is a metadata commit
that fails a concurrent writer's next append: it is set only before the node's writer opens the lake, with the other
table properties (storage/delta_writes.py's `TABLE_PROPERTIES`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable, WriterProperties

from storage.delta_writes import LOG_RETENTION, LOG_RETENTION_SETTING, TABLE_PROPERTIES

MIN_RETENTION_HOURS = 168
ROW_GROUP_ROWS = 16_384
COMPACT_FILES_PER_DATE = 4
"""A date partition with more data files than this is compacted; a compacted day has one file per 128 MB."""
SMALL_DAY_BYTES = 64 * 1024 * 1024
"""A day before the newest with a few files (a session that ended after a compaction pass, one that crossed midnight
UTC) holding no more than this together is rewritten into one file: a finished day no longer grows, so that happens
once, and the table's log, which lists every data file and which every open reads, stops carrying them (at 1,000
sessions, 1,534 files became 1,003)."""
COMPACTED_FILES = WriterProperties(compression="ZSTD", compression_level=3, max_row_group_size=ROW_GROUP_ROWS)
"""How every compaction writes its files: the passes here and the writer's own (storage/live_compaction.py)."""


@dataclass(frozen=True)
class MaintenanceResult:
    table: str
    files_removed_by_compaction: int
    files_added_by_compaction: int
    files_vacuumed: int


def data_files(table_uri: str, storage_options: dict[str, str] | None = None) -> int:
    """How many data files the table's current version references (0 before its first commit)."""
    if not DeltaTable.is_deltatable(table_uri, storage_options=storage_options or None):
        return 0
    return len(DeltaTable(table_uri, storage_options=storage_options or None).file_uris())


def compact_by_date(table: DeltaTable, storage_options: dict[str, str] | None = None,
                    max_files: int = COMPACT_FILES_PER_DATE, past_days_only: bool = False) -> dict[str, int]:
    """Rewrite each date partition `days_to_compact` names, sorted by type; returns the Delta metrics.

    Each day is its own transaction on the table as it is when that day's turn comes: beside a running writer, whose
    commits trim the log behind them, only one day's rewrite has to fit in the log's window, not the whole pass's.
    `past_days_only`: not the newest day, the one a running writer fills (its own passes bound that day's files,
    storage/live_compaction.py; it is rewritten sorted once it is past). `table` chooses the days."""
    totals = {"numFilesRemoved": 0, "numFilesAdded": 0}
    for date in days_to_compact(pa.table(table.get_add_actions(flatten=True)), max_files, past_days_only):
        metrics = compact_day(table.table_uri, storage_options, date)
        for key in totals:
            totals[key] += int(metrics.get(key, 0))
    return totals


def compact_day(table_uri: str, storage_options: dict[str, str] | None, date: str) -> dict[str, int]:
    """One date partition rewritten sorted by type, in one transaction read from the table's current version."""
    table = DeltaTable(table_uri, storage_options=storage_options)
    return table.optimize.z_order(["type"], partition_filters=[("date", "=", date)], writer_properties=COMPACTED_FILES)


def days_to_compact(files: pa.Table, max_files: int = COMPACT_FILES_PER_DATE, past_days_only: bool = False
                    ) -> list[str]:
    """The date partitions holding more than `max_files` data files, and the days before the newest that hold
    several files small enough together to become one (`SMALL_DAY_BYTES`), in date order (`past_days_only`: not the
    newest day)."""
    if not files.num_rows:
        return []
    days = files.group_by("partition.date").aggregate([("path", "count"), ("size_bytes", "sum")])
    newest = pc.max(days["partition.date"])
    past = pc.less(days["partition.date"], newest)
    crowded = pc.greater(days["path_count"], max_files)
    small_past_day = pc.and_(pc.and_(past, pc.greater(days["path_count"], 1)),
                             pc.less_equal(days["size_bytes_sum"], SMALL_DAY_BYTES))
    wanted = pc.or_(crowded, small_past_day)
    return sorted(days.filter(pc.and_(wanted, past) if past_days_only else wanted)["partition.date"].to_pylist())


def compact_and_vacuum(table_uri: str, storage_options: dict[str, str] | None = None,
                       retention_hours: int = MIN_RETENTION_HOURS, beside_writer: bool = False) -> MaintenanceResult:
    """`beside_writer`: a pass while the node's writer appends (the schedule's): the journal's newest day is left to
    the writer's own passes."""
    if retention_hours < MIN_RETENTION_HOURS:
        raise ValueError(f"vacuum retention {retention_hours} h is below the {MIN_RETENTION_HOURS} h safety window")
    options = storage_options or None
    table = DeltaTable(table_uri, storage_options=options)
    metrics = (compact_by_date(table, options, past_days_only=beside_writer)
               if "date" in table.metadata().partition_columns
               else table.optimize.compact(writer_properties=COMPACTED_FILES))
    table = DeltaTable(table_uri, storage_options=options)  # as the passes left it
    vacuumed = table.vacuum(retention_hours=retention_hours, dry_run=False, enforce_retention_duration=True)
    trim_log(table)
    return MaintenanceResult(table_uri, int(metrics.get("numFilesRemoved", 0)), int(metrics.get("numFilesAdded", 0)),
                             len(vacuumed))


def trim_log(table: DeltaTable) -> None:
    """Checkpoint the table and delete its log entries older than its `delta.logRetentionDuration` (not a commit:
    safe while the node writes)."""
    table.create_checkpoint()
    table.cleanup_metadata()


def keep_table_properties(table: DeltaTable, log_retention: str = LOG_RETENTION_SETTING) -> bool:
    """Give a table created before them the node's table properties (`TABLE_PROPERTIES`, the log kept
    `log_retention`); True when it was changed. A metadata commit: only while no writer holds the table open."""
    wanted = {**TABLE_PROPERTIES, LOG_RETENTION: log_retention}
    configuration = table.metadata().configuration
    missing = {key: value for key, value in wanted.items() if configuration.get(key) != value}
    if not missing:
        return False
    table.alter.set_table_properties(missing, raise_if_not_exists=False)
    return True
