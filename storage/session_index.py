"""The session index: one row per session start and per core snapshot, beside the journal.

A start needs the earlier sessions in time order and the newest of them holding a snapshot set. Found in the journal,
that is a type scan of every file of every day (at 1,000 sessions, 6.6 s for the starts and 0.9 s for the snapshots
of a 10.9 s restart). The lake writer projects both into this derived table as it journals them, so a start reads a
few small rows instead.

The index is trusted only once complete: a lake journaled before the index existed (or an index created by a catch-up
of one batch) lacks rows, so the first `run` start, holding the node's lock, backfills it from one journal scan and
marks it complete in the same commit (an app transaction). Until then readers, such as `thetanode status`, fall back
to the journal scan. The writer's own crash between the journal and this table is repaired as for every derived table
(`LakeWriter.catch_up` at the next start).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
from deltalake import CommitProperties, DeltaTable, Transaction, write_deltalake

from messages import CoreSnapshot, Message, NodeStarted
from storage.current_table import CurrentTable
from storage.journal import DeltaJournal
from storage.tables import SCHEMA_VERSION, SCHEMA_VERSION_KEY, SCHEMAS, project

INDEX_TABLE = "session_index"
COMPLETE_APP_ID = f"{INDEX_TABLE}/complete"
"""The app transaction the backfill commits with: its presence says every journaled start and snapshot is indexed."""


class SessionIndex:
    def __init__(self, journal: DeltaJournal) -> None:
        self._journal = journal
        self._options = journal.storage_options
        self.uri = f"{journal.uri.rsplit('/', 1)[0]}/{INDEX_TABLE}"
        self._table = CurrentTable(self.uri, self._options)
        self._lock = threading.Lock()
        self._complete = False

    def _current(self) -> DeltaTable | None:
        with self._lock:
            return self._table.get()

    def complete(self) -> bool:
        """Whether the mark of completeness is in the index; once seen, not asked again (a mark lookup reads the
        table's log, and nothing removes this mark: compaction and checkpoints keep every app transaction)."""
        if not self._complete:
            table = self._current()
            self._complete = table is not None and table.transaction_version(COMPLETE_APP_ID) is not None
        return self._complete

    def backfill(self) -> int:
        """Index every start and snapshot the journal holds and the index lacks, and mark it complete; returns the
        rows written. Only by a node holding the lake's lock (nothing else writes then); a no-op once complete."""
        if self.complete():
            return 0
        return self.mark_complete(self.missing_rows())

    def missing_rows(self) -> pa.Table:
        """The index rows of every start and snapshot in the journal that the index lacks (one scan of the journal)."""
        by_session: dict[str, list[Message]] = defaultdict(list)
        for session, message in self._journal.read_with_sessions((NodeStarted, CoreSnapshot)):
            by_session[session].append(message)
        parts = [project(session, messages)[INDEX_TABLE] for session, messages in sorted(by_session.items())]
        rows = pa.concat_tables(parts) if parts else SCHEMAS[INDEX_TABLE].empty_table()
        indexed = self._rows(["session_id", "seq"])
        if not indexed.num_rows:
            return rows
        keys = pc.binary_join_element_wise(indexed["session_id"], pc.cast(indexed["seq"], pa.string()), "#")
        wanted = pc.binary_join_element_wise(rows["session_id"], pc.cast(rows["seq"], pa.string()), "#")
        return rows.filter(pc.invert(pc.is_in(wanted, value_set=keys)))

    def mark_complete(self, missing: pa.Table) -> int:
        """Write `missing` and the mark of completeness in one commit; returns the rows written."""
        write_deltalake(self.uri, missing, mode="append", storage_options=self._options,
                        description=f"thetanode {INDEX_TABLE}, {SCHEMA_VERSION_KEY} {SCHEMA_VERSION}",
                        commit_properties=CommitProperties(app_transactions=[Transaction(app_id=COMPLETE_APP_ID,
                                                                                         version=1)]))
        return missing.num_rows

    def _rows(self, columns: list[str], where: ds.Expression | None = None) -> pa.Table:
        table = self._current()
        if table is None:
            return SCHEMAS[INDEX_TABLE].empty_table().select(columns)
        return table.to_pyarrow_dataset().to_table(columns=columns, filter=where)

    def started(self, mode: str) -> dict[str, int]:
        """Each session started in `mode`, with the time it started."""
        if not self.complete():
            return {m.session_id: m.ts for m in self._journal.read_type(NodeStarted)
                    if isinstance(m, NodeStarted) and m.mode == mode}
        rows = self._rows(["session_id", "ts"], (ds.field("event") == "started") & (ds.field("mode") == mode))
        return dict(zip(rows["session_id"].to_pylist(), rows["ts"].to_pylist(), strict=True))

    def sessions(self) -> list[str]:
        """Every session (of any mode), by name."""
        if not self.complete():
            return self._journal.sessions()
        rows = self._rows(["session_id"], ds.field("event") == "started")
        return sorted(pc.unique(rows["session_id"]).to_pylist())

    def newest(self) -> str | None:
        """The session started last (None before any; the journal is not asked)."""
        rows = self._rows(["session_id", "ts"], ds.field("event") == "started")
        if not rows.num_rows:
            return None
        return rows.sort_by([("ts", "descending"), ("session_id", "descending")])["session_id"][0].as_py()

    def holding_snapshots(self, sessions: Iterable[str]) -> set[str]:
        """Which of `sessions` journaled a core snapshot."""
        wanted = set(sessions)
        if not wanted:
            return set()
        if not self.complete():
            return self._journal.sessions_with(CoreSnapshot, wanted)
        # `sessions` is every earlier session: an `isin` of a year of names pushed into the scan cost 2-4 ms at 1,000
        # sessions; the snapshot rows' names are compared once instead
        rows = self._rows(["session_id"], ds.field("event") == "snapshot")
        return set(pc.unique(rows["session_id"]).to_pylist()).intersection(wanted)
