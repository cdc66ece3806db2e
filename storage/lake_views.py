"""Cheap, repeated reads of the derived tables for readers that refresh (the dashboard) or read once (the report).

A reader never writes and never holds a lock: Delta readers see the last committed version, so the node's writer is
never slowed or blocked. A table is looked at again only when its Delta version moved (`update_incremental` reads
just the new log entries), and then only its new data files are read (the tables are append-only; after a
compaction rewrote files, the table is read whole once), and only the columns asked for.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.dataset as ds
from deltalake import DeltaTable

from storage.current_table import CurrentTable
from storage.tables import SCHEMAS


@dataclass
class _Cached:
    version: int
    columns: tuple[str, ...]
    files: frozenset[str]
    data: pa.Table


class LakeViews:
    def __init__(self, lake_uri: str, storage_options: dict[str, str] | None = None) -> None:
        self.lake_uri = lake_uri.rstrip("/")
        self._options = storage_options or None
        self._tables: dict[str, CurrentTable] = {}
        self._cache: dict[str, _Cached] = {}
        self.files_read = 0
        """Data files read so far: what keeps a refreshing reader cheap is that this grows by the new files only."""

    def exists(self) -> bool:
        return DeltaTable.is_deltatable(f"{self.lake_uri}/journal", storage_options=self._options)

    def _handle(self, table: str) -> DeltaTable | None:
        """None while the table is not written yet: the node has had nothing of this kind to record."""
        if table not in self._tables:
            self._tables[table] = CurrentTable(f"{self.lake_uri}/{table}", self._options)
        return self._tables[table].get()

    def version(self, table: str) -> int:
        """The table's current Delta version (-1 before its first commit)."""
        handle = self._handle(table)
        return -1 if handle is None else handle.version()

    def versions(self, tables: tuple[str, ...]) -> tuple[int, ...]:
        """One number per table: a change means something new was committed."""
        return tuple(self.version(table) for table in tables)

    def read(self, table: str, columns: tuple[str, ...] | None = None) -> pa.Table:
        """The table's rows (only `columns`), sorted by time; the cached copy while its version has not moved."""
        columns = columns or tuple(SCHEMAS[table].names)
        handle = self._handle(table)
        if handle is None:
            return SCHEMAS[table].empty_table().select(list(columns))
        cached = self._cache.get(table)
        if cached and not set(columns) <= set(cached.columns):
            cached = None
        if cached and cached.version == handle.version():
            return cached.data.select(list(columns))
        order = SCHEMAS[table].names.index
        wanted = list(cached.columns) if cached else sorted(set(columns) | {"ts", "seq"}, key=order)
        dataset = handle.to_pyarrow_dataset()
        files = frozenset(dataset.files)
        if cached and cached.files <= files:  # appended since: read just the new files
            new = ds.FileSystemDataset.from_paths(sorted(files - cached.files), schema=dataset.schema,
                                                  format=dataset.format, filesystem=dataset.filesystem)
            data = pa.concat_tables([cached.data, new.to_table(columns=wanted)])
            self.files_read += len(files - cached.files)
        else:
            data = dataset.to_table(columns=wanted)
            self.files_read += len(files)
        data = data.sort_by([("ts", "ascending"), ("seq", "ascending")])
        self._cache[table] = _Cached(handle.version(), tuple(wanted), files, data)
        return data.select(list(columns))
