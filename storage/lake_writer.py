"""The persistence actor's storage: the journal plus the derived tables, each batch one idempotent commit per table.

Every commit carries a Delta app transaction (`app_id` = session/table, `version` = the persistence actor's batch
number), so a batch retried after an ambiguous error lands once; fills are also unique by exec_id across sessions.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
from deltalake import CommitProperties, DeltaTable, Transaction
from loguru import logger

from messages import Message
from storage.commit_marks import retire_marks
from storage.delta_writes import OpenTables
from storage.derived_backlog import DerivedBacklog
from storage.disk_flush import LakeFlush
from storage.journal import DeltaJournal
from storage.lake_access import one_line
from storage.live_compaction import EVERY_COMMITS, LiveCompaction
from storage.tables import PROJECTED_TYPES, SCHEMA_VERSION, SCHEMA_VERSION_KEY, SCHEMAS, project


class LakeWriter:
    def __init__(self, journal: DeltaJournal, compact_every: int = EVERY_COMMITS, derived_every_s: float = 0.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """`compact_every`: commits of a table between the passes that bin-pack its small files while this writer
        runs (storage/live_compaction.py; 0: none). `derived_every_s`: the derived tables commit at most this often,
        their rows held between (storage/derived_backlog.py; 0: with every batch)."""
        self.journal = journal
        self._root = journal.uri.rsplit("/", 1)[0]
        self._options = journal.storage_options
        self._committed: dict[str, int] = {}
        self._exec_ids: set[str] | None = None
        self._open = OpenTables(self._options)
        self._flush = LakeFlush(self._root)
        self.live_compaction = LiveCompaction(self._options, compact_every)
        self._backlog = DerivedBacklog(derived_every_s)
        self._caught_up: set[str] = set()
        self._clock = clock

    def table_uri(self, table: str) -> str:
        return f"{self._root}/{table}"

    def _known_exec_ids(self) -> set[str]:
        if self._exec_ids is None:
            uri = self.table_uri("fills")
            exists = DeltaTable.is_deltatable(uri, storage_options=self._options)
            ids = DeltaTable(uri, storage_options=self._options).to_pyarrow_table(columns=["exec_id"]) if exists else None
            self._exec_ids = set(ids["exec_id"].to_pylist()) if ids is not None else set()
        return self._exec_ids

    def _committed_version(self, app_id: str, uri: str) -> int:
        if app_id not in self._committed:
            exists = DeltaTable.is_deltatable(uri, storage_options=self._options)
            version = DeltaTable(uri, storage_options=self._options).transaction_version(app_id) if exists else None
            self._committed[app_id] = int(version or 0)
        return self._committed[app_id]

    def committed_version(self, session_id: str) -> int:
        return self.journal.committed_version(session_id)

    def journaled_seqs(self, session_id: str) -> set[int]:
        return self.journal.journaled_seqs(session_id)

    def append(self, session_id: str, messages: Sequence[Message], version: int) -> bool:
        """The journal first (the source of truth), then each derived table, all under the batch `version` (the
        derived rows held until due: storage/derived_backlog.py). Returns whether derived rows are held back."""
        if not messages:
            return self._backlog.holding
        if session_id not in self._caught_up:  # a writer process started afresh mid-session: what the last one held
            self.catch_up(session_id)
            self._caught_up.add(session_id)
        self.journal.append(session_id, messages, version)
        self.live_compaction.committed(self.journal.uri)
        exec_ids = self._known_exec_ids()
        backlog = self._backlog
        stored = exec_ids | backlog.exec_ids if backlog.exec_ids else exec_ids
        for table, rows in sorted(project(session_id, messages, stored).items()):
            app_id = f"{session_id}/{table}"
            if self._committed_version(app_id, self.table_uri(table)) >= version:  # got it before an ambiguous error
                if table == "fills":
                    exec_ids.update(rows["exec_id"].to_pylist())
                continue
            if not backlog.holds(session_id, table, version):
                backlog.hold(session_id, table, rows, version)
        if backlog.due(self._clock()):
            self.commit_held()
        self._flush()  # on disk now, in commit-sized pieces, not in the kernel's later bursts (storage/disk_flush.py)
        return backlog.holding

    def commit_held(self) -> None:
        """Every derived table's held rows, each table one commit; a failed one stays held for the retry."""
        for session_id, table, rows, version in list(self._backlog.pending()):
            self._write(table, rows, f"{session_id}/{table}", version)
            self._backlog.committed(session_id, table, self._clock())

    def catch_up(self, session_id: str) -> int:
        """Write the derived rows of `session_id`'s journaled batches that its tables lack; returns the rows.

        A batch reaches the journal first, and its derived rows are held up to `derived_every_s` before their tables
        commit: a process killed meanwhile leaves the session's last batches in the journal alone. A table whose last
        version for the session is older is given the rows it lacks (by seq), under the journal's version."""
        self.commit_held()
        version = self.journal.committed_version(session_id)
        if not version:
            return 0
        lagging = [table for table in sorted(SCHEMAS)
                   if self._committed_version(f"{session_id}/{table}", self.table_uri(table)) < version]
        if not lagging:
            return 0
        messages = list(self.journal.read(session_id, types=PROJECTED_TYPES))
        projected = project(session_id, messages, self._known_exec_ids())
        written = 0
        for table in lagging:
            rows = projected.get(table)
            if rows is None:
                continue
            stored = self._stored_seqs(table, session_id)
            rows = rows.filter(pc.invert(pc.is_in(rows["seq"], value_set=stored))) if len(stored) else rows
            if rows.num_rows:
                self._write(table, rows, f"{session_id}/{table}", version)
                written += rows.num_rows
        return written

    def close(self) -> None:
        """Let a compaction pass in progress finish and drop the open tables (each holds its log in memory); a later
        append opens them again."""
        try:
            self.commit_held()
        except Exception as exc:  # noqa: BLE001 - the journal holds them: the next start's catch-up writes them
            logger.warning(f"derived rows not committed at close ({one_line(exc)}): the next start writes them")
        self.live_compaction.close()
        self._open.forget()
        self._flush.close()

    def retire_marks(self, session_id: str) -> int:
        """Retire a session's idempotency marks once it is complete in the lake and can commit no more (see
        storage/commit_marks.py): each derived table's first, the journal's last; returns how many went."""
        self.commit_held()
        marks = [(self.table_uri(table), f"{session_id}/{table}") for table in sorted(SCHEMAS)]
        retired = retire_marks([*marks, (self.journal.uri, session_id)], self._options)
        for _, app_id in marks:  # the same name may be used again: ask the tables then
            self._committed.pop(app_id, None)
        self._open.forget()
        self.journal.marks_retired(session_id)
        return retired

    def _stored_seqs(self, table: str, session_id: str) -> pa.Array:
        """The seqs `table` holds for one session, reading only that column of that session's files (a derived
        table grows with years of history; this runs at every start)."""
        uri = self.table_uri(table)
        if not DeltaTable.is_deltatable(uri, storage_options=self._options):
            return pa.array([], pa.int64())
        dataset = DeltaTable(uri, storage_options=self._options).to_pyarrow_dataset()
        return dataset.to_table(columns=["seq"], filter=ds.field("session_id") == session_id)["seq"].combine_chunks()

    def _write(self, table: str, rows, app_id: str, version: int) -> None:  # noqa: ANN001 - a pa.Table
        try:
            self._open.append(
                self.table_uri(table),
                rows,
                description=f"thetanode {table}, {SCHEMA_VERSION_KEY} {SCHEMA_VERSION}",
                commit_properties=CommitProperties(app_transactions=[Transaction(app_id=app_id, version=version)]),
            )
        except Exception:
            self._committed.pop(app_id, None)
            raise
        self._committed[app_id] = version
        self.live_compaction.committed(self.table_uri(table))
        if table == "fills":  # only once stored: a failed commit must not make its fills look written
            self._known_exec_ids().update(rows["exec_id"].to_pylist())


def read_table(writer_or_root: LakeWriter, table: str, session_id: str | None = None):  # noqa: ANN201 - pa.Table
    uri = writer_or_root.table_uri(table)
    options = writer_or_root.journal.storage_options
    if not DeltaTable.is_deltatable(uri, storage_options=options):
        return SCHEMAS[table].empty_table()
    data = DeltaTable(uri, storage_options=options).to_pyarrow_table()
    return data.filter(pc.equal(data["session_id"], session_id)) if session_id is not None else data
