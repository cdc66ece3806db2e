"""Appends through an open Delta table: nothing lost when another writer (compaction) committed in between, and a
table whose commit failed is opened afresh."""

from __future__ import annotations

import pyarrow as pa
import pytest
from deltalake import DeltaTable

from storage.delta_writes import OpenTables
from storage.maintenance import compact_and_vacuum


def _rows(start: int) -> pa.Table:
    return pa.table({"n": pa.array(range(start, start + 3), pa.int64())})


def test_appends_through_an_open_table_survive_compaction_and_vacuum_in_between(tmp_path):
    uri = str(tmp_path / "t")
    tables = OpenTables()
    for start in range(0, 30, 3):
        tables.append(uri, _rows(start))
        if start == 12:
            compact_and_vacuum(uri)
            DeltaTable(uri).vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False)
    assert sorted(DeltaTable(uri).to_pyarrow_table()["n"].to_pylist()) == list(range(30))


def test_a_failed_append_opens_the_table_afresh(tmp_path):
    uri = str(tmp_path / "t")
    tables = OpenTables()
    tables.append(uri, _rows(0))
    tables.append(uri, _rows(3))
    opened = tables._open[uri]
    with pytest.raises(Exception):  # noqa: B017 - deltalake's own error types
        tables.append(uri, pa.table({"n": pa.array(["not a number"])}))
    assert uri not in tables._open
    tables.append(uri, _rows(6))
    assert tables._open[uri] is not opened
    assert sorted(DeltaTable(uri).to_pyarrow_table()["n"].to_pylist()) == list(range(9))
