"""The derived tables' rows held back between their commits, so that a table commits at most once a period.

A Delta commit costs delta-rs about the same for two rows as for two thousand (15-20 ms of CPU here, most of it the
log's state after the commit), and the journal's 100 ms group commits made nearly every one of them commit two or
three derived tables too (orders, decisions, marks): in `scripts/bench_latency.py` that was 55 µs of the writer
process's CPU per background tick, and 24 µs without them, on the same two cores as the trading threads.

The derived tables are a projection of the journal: rows held here and lost with the process are projected again
from the journal by `LakeWriter.catch_up` at the next start (every session's write-ahead log exists from its start,
so every session is folded and caught up). A table's commit carries the newest batch version it holds, so a batch
retried after a failure is not held twice.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa


class DerivedBacklog:
    """Rows held per session and table (a writer also folds earlier sessions' write-ahead logs at a start)."""

    def __init__(self, every_s: float) -> None:
        self.every_s = every_s
        """0: each batch's rows commit with it, as before."""
        self._rows: dict[tuple[str, str], list[pa.Table]] = {}
        self._through: dict[tuple[str, str], int] = {}
        self._exec_ids: set[str] = set()
        self._last_commit_s: float | None = None

    def holds(self, session_id: str, table: str, version: int) -> bool:
        """Whether a batch of this version already gave `table` its rows (a retry after a failed commit)."""
        return self._through.get((session_id, table), 0) >= version

    def hold(self, session_id: str, table: str, rows: pa.Table, version: int) -> None:
        self._rows.setdefault((session_id, table), []).append(rows)
        self._through[session_id, table] = version
        if table == "fills":
            self._exec_ids.update(rows["exec_id"].to_pylist())

    @property
    def holding(self) -> bool:
        return bool(self._rows)

    @property
    def exec_ids(self) -> set[str]:
        """The fills held: a broker's replay of one of them in a later batch is the same fill."""
        return self._exec_ids

    def due(self, now_s: float) -> bool:
        if not self._rows:
            return False
        if self._last_commit_s is None:
            self._last_commit_s = now_s  # the first rows wait their period from now, not from the writer's start
        return now_s - self._last_commit_s >= self.every_s

    def pending(self) -> Iterator[tuple[str, str, pa.Table, int]]:
        """Each held (session, table), its rows and the batch version they go under."""
        for session_id, table in sorted(self._rows):
            yield session_id, table, pa.concat_tables(self._rows[session_id, table]), self._through[session_id, table]

    def committed(self, session_id: str, table: str, now_s: float) -> None:
        """From here the table's own mark says which batches it holds (and a retired mark, none: a name reused)."""
        del self._rows[session_id, table], self._through[session_id, table]
        if table == "fills" and not any(held == "fills" for _, held in self._rows):
            self._exec_ids.clear()
        self._last_commit_s = now_s
