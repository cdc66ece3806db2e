"""The `journal` Delta table: every durable message of every session, partitioned by the UTC calendar date of its
timestamp (`date`, YYYY-MM-DD). A US trading session (09:30–16:00 New York) always falls within one UTC date, so a
session's messages share a partition; evenings after 19:00/20:00 New York land in the next UTC date."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import CommitProperties, DeltaTable, Transaction, write_deltalake

from messages import Message
from messages.codec import from_msgpack, to_msgpack

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


def _utc_date(ts_ns: int) -> str:
    return dt.datetime.fromtimestamp(ts_ns / 1e9, tz=dt.UTC).date().isoformat()


class DeltaJournal:
    """Append-only journal in a Delta table at `uri` (a local directory or any deltalake URI such as s3://...)."""

    def __init__(self, uri: str, storage_options: dict[str, str] | None = None) -> None:
        self.uri = uri.rstrip("/") + "/journal"
        self._storage_options = storage_options or None
        self.storage_options = self._storage_options
        self._committed: dict[str, int] = {}

    def committed_version(self, session_id: str) -> int:
        """Highest batch version this session has committed, from the table's app-transaction record (0 if none)."""
        if not self.exists():
            return 0
        table = DeltaTable(self.uri, storage_options=self._storage_options)
        return int(table.transaction_version(session_id) or 0)

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
            write_deltalake(
                self.uri,
                table,
                mode="append",
                partition_by=["date"],
                storage_options=self._storage_options,
                commit_properties=CommitProperties(app_transactions=[Transaction(app_id=session_id, version=version)]),
            )
        except Exception:
            self._committed.pop(session_id, None)  # the commit may or may not have landed: ask the table next time
            raise
        self._committed[session_id] = version

    def exists(self) -> bool:
        return DeltaTable.is_deltatable(self.uri, storage_options=self._storage_options)

    def _table(self, session_id: str | None) -> pa.Table:
        if not self.exists():
            return JOURNAL_SCHEMA.empty_table()
        table = DeltaTable(self.uri, storage_options=self._storage_options).to_pyarrow_table(
            columns=["session_id", "seq", "payload"]
        )
        if session_id is not None:
            table = table.filter(pc.equal(table["session_id"], session_id))
        return table

    def read(self, session_id: str, up_to_seq: int | None = None) -> Iterator[Message]:
        table = self._table(session_id)
        if up_to_seq is not None:
            table = table.filter(pc.less_equal(table["seq"], up_to_seq))
        table = table.sort_by("seq")
        for payload in table["payload"].to_pylist():
            yield from_msgpack(payload)

    def read_type(self, message_type: type[Message], sessions: Iterable[str] | None = None) -> Iterator[Message]:
        """Every journaled message of one type (of the given sessions, default all), in time order (ts, then seq)."""
        if not self.exists():
            return
        table = DeltaTable(self.uri, storage_options=self._storage_options).to_pyarrow_table(
            columns=["session_id", "ts", "seq", "type", "payload"], filters=[("type", "=", message_type.__name__)]
        )
        if sessions is not None:
            table = table.filter(pc.is_in(table["session_id"], value_set=pa.array(sorted(set(sessions)), pa.string())))
        for payload in table.sort_by([("ts", "ascending"), ("seq", "ascending")])["payload"].to_pylist():
            yield from_msgpack(payload)

    def journaled_seqs(self, session_id: str) -> set[int]:
        if not self.exists():
            return set()
        table = DeltaTable(self.uri, storage_options=self._storage_options).to_pyarrow_table(
            columns=["seq"], filters=[("session_id", "=", session_id)])
        return set(table["seq"].to_pylist())

    def sessions(self) -> list[str]:
        table = self._table(None)
        return sorted(set(table["session_id"].to_pylist()))
