"""The `journal` Delta table: every durable message of every session, partitioned by the UTC calendar date of its
timestamp (`date`, YYYY-MM-DD). A US trading session (09:30–16:00 New York) always falls within one UTC date, so a
session's messages share a partition; evenings after 19:00/20:00 New York land in the next UTC date."""

from __future__ import annotations

import datetime as dt
import functools
import threading
from collections.abc import Iterable, Iterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
from deltalake import CommitProperties, DeltaTable, Transaction
from pyarrow.parquet import filters_to_expression

from messages import Message
from messages.codec import from_msgpack_many, to_msgpack
from storage.current_table import CurrentTable
from storage.delta_writes import OpenTables
from storage.file_pruning import files_dataset, may_match

JOURNAL_SCHEMA = pa.schema(
    [
        pa.field("session_id", pa.string(), nullable=False),
        pa.field("seq", pa.int64(), nullable=False),
        pa.field("ts", pa.int64(), nullable=False),
        pa.field("date", pa.string(), nullable=False),
        pa.field("type", pa.string(), nullable=False),
        pa.field("payload", pa.binary(), nullable=False),
    ]
)


NS_PER_S = 1_000_000_000
NS_PER_DAY = 86_400 * NS_PER_S


def _utc_date(ts_ns: int) -> str:
    day, into_day = divmod(ts_ns, NS_PER_DAY)
    if NS_PER_S <= into_day < NS_PER_DAY - NS_PER_S:  # away from midnight, where the float below may round over
        return _day_iso(day)
    return dt.datetime.fromtimestamp(ts_ns / 1e9, tz=dt.UTC).date().isoformat()


@functools.lru_cache(maxsize=64)
def _day_iso(day: int) -> str:
    """Every message of a group commit asks: one conversion per day, not per message."""
    return (dt.date(1970, 1, 1) + dt.timedelta(days=day)).isoformat()


class DeltaJournal:
    """Append-only journal in a Delta table at `uri` (a local directory or any deltalake URI such as s3://...)."""

    def __init__(self, uri: str, storage_options: dict[str, str] | None = None) -> None:
        self.uri = uri.rstrip("/") + "/journal"
        self._storage_options = storage_options or None
        self.storage_options = self._storage_options
        self._committed: dict[str, int] = {}
        self._table = CurrentTable(self.uri, self._storage_options)
        self._whole: tuple[int, ds.Dataset] | None = None
        self._add_actions: tuple[int, pa.Table] | None = None
        self._table_lock = threading.Lock()
        self._open = OpenTables(self._storage_options)  # appends: only the persistence actor's thread writes

    def _dataset(self, filters: list[tuple] | None = None) -> ds.Dataset:
        """The table as of now, its log read incrementally: loading a year of commits afresh costs about a second
        (measured 1.8 s at 720 versions on a busy machine), and a start reads the journal several times.

        A read under `filters` gets a dataset of only the files that can match them (Delta's partition values and
        per-file min/max statistics, read from the log without opening a file, chosen by storage/file_pruning.py in
        a few vectorised comparisons: a read of one session touches its own days only, at a cost that does not grow
        with the lake's age); a read of everything reuses the whole table's, built once per version."""
        with self._table_lock:
            table = self._load()
            if table.protocol().min_reader_version > 1:  # column mapping, deletion vectors: delta-rs knows them
                return table.to_pyarrow_dataset(file_pruning_predicate=filters or None)
            files = self._files(table)
            if filters:
                return files_dataset(table, files.filter(may_match(files, filters)), self._storage_options)
            version = table.version()
            if self._whole is None or self._whole[0] != version:
                self._whole = (version, files_dataset(table, files, self._storage_options))
            return self._whole[1]

    def _files(self, table: DeltaTable) -> pa.Table:
        """The current version's data files with their partition values and statistics (under `_table_lock`)."""
        version = table.version()
        if self._add_actions is None or self._add_actions[0] != version:
            self._add_actions = (version, pa.table(table.get_add_actions(flatten=True)))
        return self._add_actions[1]

    def _dates_holding(self, type_name: str) -> list[str]:
        """The date partitions, newest first, with a file whose `type` range (Delta's per-file statistics, in the log)
        can hold `type_name`; a file without statistics may hold anything. Costs no file read and no dataset build."""
        with self._table_lock:
            files = self._files(self._load())
        return sorted(set(files.filter(may_match(files, [("type", "=", type_name)]))["partition.date"].to_pylist()),
                      reverse=True)

    def _load(self) -> DeltaTable:
        """The table up to now (under `_table_lock`): loaded once, then only the log's new entries are read."""
        try:
            table = self._table.get()
        except Exception:
            self._whole = self._add_actions = None  # replaced or gone: the next read loads it afresh
            raise
        if table is None:
            raise FileNotFoundError(f"no Delta table at {self.uri}")
        return table

    def committed_version(self, session_id: str) -> int:
        """Highest batch version this session has committed, from the table's app-transaction record (0 if none)."""
        if not self.exists():
            return 0
        table = DeltaTable(self.uri, storage_options=self._storage_options)
        return int(table.transaction_version(session_id) or 0)

    def marks_retired(self, session_id: str) -> None:
        """This session's marks were retired through another handle: ask the table for its mark at the next append,
        and append through a table opened afresh (see `OpenTables.forget`)."""
        self._committed.pop(session_id, None)
        self._open.forget()

    def append(self, session_id: str, messages: Sequence[Message], version: int | None = None) -> None:
        """One atomic commit, idempotent by batch `version` (default: one past the last committed): a batch the
        session already committed (a retry after an ambiguous storage error) is not written twice."""
        if not messages:
            return
        if session_id not in self._committed:  # first append, or the one after a failed one: ask the table
            self._committed[session_id] = self.committed_version(session_id)
        if version is None:
            version = self._committed[session_id] + 1
        if self._committed[session_id] >= version:
            return
        table = pa.table(
            {
                "session_id": [session_id] * len(messages),
                "seq": [m.seq for m in messages],
                "ts": [m.ts for m in messages],
                "date": [_utc_date(m.ts) for m in messages],
                "type": [type(m).__name__ for m in messages],
                "payload": [to_msgpack(m) for m in messages],
            },
            schema=JOURNAL_SCHEMA,
        )
        try:
            self._open.append(
                self.uri,
                table,
                partition_by=["date"],
                commit_properties=CommitProperties(app_transactions=[Transaction(app_id=session_id, version=version)]),
            )
        except Exception:
            self._committed.pop(session_id, None)  # the commit may or may not have landed: ask the table next time
            raise
        self._committed[session_id] = version

    def exists(self) -> bool:
        return DeltaTable.is_deltatable(self.uri, storage_options=self._storage_options)

    def _scan(self, columns: list[str], filters: list[tuple] | None = None) -> pa.Table:
        """Only `columns` of only the rows matching `filters` (a conjunction of (column, op, value)).

        Each data file carries its partition values and min/max statistics, so files that cannot match are never
        opened (a group commit's file holds one session, one date and a contiguous seq range). Under a type
        predicate the payload column, nearly all of the bytes, is read only from the row groups where it matched:
        Arrow reads every projected column of a row group it scans, and a type predicate would otherwise
        pull in the payloads of all the quotes around the few rows wanted."""
        if not self.exists() or any(op == "in" and not values for _, op, values in filters or ()):
            return JOURNAL_SCHEMA.empty_table().select(columns)  # Arrow cannot type a match against nothing
        dataset = self._dataset(filters)
        if not filters:
            return dataset.to_table(columns=columns)
        where = filters_to_expression(filters)
        if "payload" not in columns or not any(column == "type" for column, _, _ in filters):
            return dataset.to_table(columns=columns, filter=where)  # the files' statistics did the pruning
        parts = [part for fragment in dataset.get_fragments(filter=where)
                 for part in fragment.split_by_row_group(filter=where) if part.count_rows(filter=where)]
        if not parts:
            return JOURNAL_SCHEMA.empty_table().select(columns)
        matching = ds.FileSystemDataset(parts, dataset.schema, dataset.format, dataset.filesystem)
        return matching.to_table(columns=columns, filter=where)

    def read(self, session_id: str, up_to_seq: int | None = None, after_seq: int = 0,
             types: Iterable[type[Message]] | None = None) -> Iterator[Message]:
        """One session's messages in seq order, those with `after_seq < seq <= up_to_seq` (of `types`, default all)."""
        filters: list[tuple] = [("session_id", "=", session_id)]
        if after_seq:
            filters.append(("seq", ">", after_seq))
        if up_to_seq is not None:
            filters.append(("seq", "<=", up_to_seq))
        if types is not None:
            filters.append(("type", "in", sorted({t.__name__ for t in types})))
        table = self._scan(["seq", "payload"], filters).sort_by("seq")
        yield from _decoded(table)

    def read_sessions(self, sessions: Iterable[str], types: Iterable[type[Message]] | None = None) -> Iterator[Message]:
        """Many sessions in one scan, session after session (ordered by their first message's time), each in seq
        order: what a restarting node rebuilds from. Only these sessions' files (and `types`' rows) are read."""
        wanted = sorted(set(sessions))
        if not wanted:
            return
        filters: list[tuple] = [("session_id", "in", wanted)]
        if types is not None:
            filters.append(("type", "in", sorted({t.__name__ for t in types})))
        table = self._scan(["session_id", "seq", "ts", "payload"], filters)
        if not table.num_rows:
            return
        starts = table.group_by("session_id").aggregate([("ts", "min")])  # sessions never overlap in time
        order = sorted(zip(starts["ts_min"].to_pylist(), starts["session_id"].to_pylist(), strict=True))
        rank = pc.index_in(table["session_id"], value_set=pa.array([s for _, s in order], pa.string()))
        table = table.append_column("rank", rank).sort_by([("rank", "ascending"), ("seq", "ascending")])
        yield from _decoded(table)

    def read_type(self, message_type: type[Message], sessions: Iterable[str] | None = None) -> Iterator[Message]:
        """Every journaled message of one type (of the given sessions, default all), in time order (ts, then seq)."""
        return self.read_types((message_type,), sessions)

    def read_types(self, types: Iterable[type[Message]], sessions: Iterable[str] | None = None) -> Iterator[Message]:
        """Every journaled message of these types (of the given sessions, default all) in one scan, in time order."""
        filters: list[tuple] = [("type", "in", sorted({t.__name__ for t in types}))]
        if sessions is not None:
            filters.append(("session_id", "in", sorted(set(sessions))))
        table = self._scan(["ts", "seq", "payload"], filters)
        yield from _decoded(table.sort_by([("ts", "ascending"), ("seq", "ascending")]))

    def read_with_sessions(self, types: Iterable[type[Message]]) -> Iterator[tuple[str, Message]]:
        """Every journaled message of these types, each with its session, in time order (ts, then seq)."""
        table = self._scan(["session_id", "ts", "seq", "payload"], [("type", "in", sorted({t.__name__ for t in types}))])
        table = table.sort_by([("ts", "ascending"), ("seq", "ascending")])
        return zip(table["session_id"].to_pylist(), _decoded(table), strict=True)

    def last_ts(self, message_type: type[Message]) -> int:
        """The time of the latest message of one type (0 if none), reading only the `ts` column of the newest date
        partition that holds one (partitions are UTC dates, so no older one can hold a later message)."""
        if not self.exists():
            return 0
        for date in self._dates_holding(message_type.__name__):
            table = self._scan(["ts"], [("date", "=", date), ("type", "=", message_type.__name__)])
            if table.num_rows:
                return int(pc.max(table["ts"]).as_py())
        return 0

    def sessions_with(self, message_type: type[Message], sessions: Iterable[str]) -> set[str]:
        """Which of `sessions` journaled a message of this type, reading only the session column of its rows."""
        table = self._scan(["session_id"], [("type", "=", message_type.__name__),
                                            ("session_id", "in", sorted(set(sessions)))])
        return set(pc.unique(table["session_id"]).to_pylist())

    def journaled_seqs(self, session_id: str) -> set[int]:
        table = self._scan(["seq"], [("session_id", "=", session_id)])
        return set(table["seq"].to_pylist())

    def sessions(self) -> list[str]:
        """Every session with journaled messages, reading only the (dictionary-encoded) session column."""
        table = self._scan(["session_id"])
        return sorted(pc.unique(table["session_id"]).to_pylist())


def _decoded(table: pa.Table) -> Iterator[Message]:
    """The payload column decoded chunk by chunk, each in one call: a binary chunk's values are its payloads laid
    end to end in one buffer."""
    for chunk in table["payload"].chunks:
        if not len(chunk):
            continue
        width = np.int64 if pa.types.is_large_binary(chunk.type) else np.int32
        offsets = np.frombuffer(chunk.buffers()[1], dtype=width)[chunk.offset:chunk.offset + len(chunk) + 1]
        start, end = int(offsets[0]), int(offsets[-1])
        yield from from_msgpack_many(len(chunk), memoryview(chunk.buffers()[2])[start:end])
