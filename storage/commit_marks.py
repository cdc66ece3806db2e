"""Retiring a finished session's idempotency marks, so that the tables stop carrying one per session ever run.

Every group commit carries a Delta app transaction (storage/lake_writer.py): app id the session (the journal) or
`session/table` (each derived table), version the batch. A retried batch whose mark is there is not written twice.
Delta keeps each app id's newest mark in every checkpoint for ever, so after a year of daily restarts each table holds
a thousand, and every open of a table and every mark lookup reads them all (on the 1,000-session bench lake: about
0.8 ms of the journal's open and 0.7 ms of the session index's, and a lookup in the index costs 1-2 ms more).

A mark matters only while its session can still commit: the running session, and one whose write-ahead log is left
(every session's is: the next start folds what the lake lacks, writes the derived rows a crash kept from the tables,
then deletes the log). Once folded, the session is complete in the lake and nothing commits for it again, so the fold
retires its marks: one commit per table of the same marks stamped `lastUpdated` at the epoch. Under the table property
`delta.setTransactionRetentionDuration` (`TABLE_PROPERTIES`), delta-rs no longer answers a mark older than the
retention and leaves it out of the next checkpoint. The writers' own marks carry no `lastUpdated`, and a mark without
one never expires, whatever the retention: only retired marks go.

The derived tables' marks are retired before the journal's: a session name used again (a fixed `node.session_id`)
then never finds a derived table ahead of its journal, which would make it skip rows as already written.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from deltalake import CommitProperties, DeltaTable, Transaction
from loguru import logger

MARK_RETENTION = "delta.setTransactionRetentionDuration"
MARK_RETENTION_SETTING = "interval 604800 seconds"
"""A week; only retired marks carry the time this is counted from (and theirs is the epoch)."""
RETIRED_AT_MS = 1


def retire_marks(marks: Iterable[tuple[str, str]], storage_options: dict[str, str] | None = None) -> int:
    """Retire each `(table uri, app id)` mark the table still answers, in the order given; returns how many. A table
    without the mark retention (created before it, and not yet given it at a start) keeps its marks."""
    retired = 0
    for uri, app_id in marks:
        if not DeltaTable.is_deltatable(uri, storage_options=storage_options or None):
            continue
        table = DeltaTable(uri, storage_options=storage_options or None)
        metadata = table.metadata()
        version = table.transaction_version(app_id)
        if version is None or MARK_RETENTION not in metadata.configuration:
            continue
        table.create_write_transaction(
            [], mode="append", schema=table.schema(), partition_by=metadata.partition_columns or None,
            commit_properties=CommitProperties(
                app_transactions=[Transaction(app_id=app_id, version=version, last_updated=RETIRED_AT_MS)]))
        retired += 1
    return retired


class RetiresMarks(Protocol):
    def retire_marks(self, session_id: str) -> int: ...


def retire_or_keep(lake: RetiresMarks, session_id: str) -> None:
    """Retire a finished session's marks (the write-ahead fold's, and a backtest's own at its end). Upkeep: a mark
    kept costs a little at each open, never data, so a failure is logged and the marks are kept."""
    try:
        lake.retire_marks(session_id)
    except Exception as exc:  # noqa: BLE001 - any storage error: the caller's work is done either way
        logger.warning(f"session {session_id}: its commit marks could not be retired, kept: {exc}")
