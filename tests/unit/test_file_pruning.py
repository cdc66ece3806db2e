"""The journal's reads choose their files from the Delta log in a few vectorised comparisons (storage/file_pruning.py):
no file holding a matching row is ever left out (checked against every row of the table), and no more files are kept
than delta-rs's own pruning keeps; a file without statistics may hold anything."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pytest
from deltalake import DeltaTable, write_deltalake
from pyarrow.parquet import filters_to_expression

from messages import Halt, NodeStarted, TimerFired
from storage.file_pruning import files_dataset, may_match
from storage.journal import DeltaJournal

DAY = 86_400 * 10**9
T0 = 1_767_225_600 * 10**9  # 2026-01-01 UTC

FILTERS = [
    [("session_id", "=", "run-3")],
    [("session_id", "in", ["run-1", "run-4", "no-such"])],
    [("session_id", "in", [f"run-{n}" for n in range(0, 40, 3)])],
    [("session_id", "in", [f"run-{n}" for n in range(1, 90, 4)])],  # many values: a binary search per file
    [("seq", "in", list(range(5, 200, 7)))],
    [("session_id", "in", ["no-such"])],
    [("session_id", "=", "run-2"), ("seq", ">", 3)],
    [("session_id", "=", "run-2"), ("seq", "<=", 2)],
    [("seq", ">=", 5), ("seq", "<", 6)],
    [("type", "in", ["Halt"])],
    [("type", "=", "NodeStarted"), ("session_id", "in", ["run-0", "run-5"])],
    [("date", "=", "2026-01-03"), ("type", "=", "TimerFired")],
    [("date", "in", ["2026-01-02", "2026-01-05"])],
    [("date", ">", "2026-01-04")],
    [("ts", "<=", T0 + DAY)],
    [("type", "!=", "Halt")],  # not pruned by: every file kept
]


def _journal(tmp_path) -> DeltaJournal:
    """Six sessions on six days, each in three group commits (three files), the third holding a Halt."""
    journal = DeltaJournal(str(tmp_path))
    for n in range(6):
        at, session = T0 + n * DAY, f"run-{n}"
        journal.append(session, [NodeStarted(ts=at, seq=1, session_id=session, mode="run")])
        journal.append(session, [TimerFired(ts=at + s, seq=s, target="decision", key="t") for s in (2, 3, 4)])
        journal.append(session, [Halt(ts=at + 5, seq=5, reason="x"), TimerFired(ts=at + 6, seq=6, target="d", key="t")])
    return journal


def _files_holding_matches(uri: str, filters: list[tuple]) -> set[str]:
    """The files (read whole, one by one) holding a row that matches `filters`."""
    whole, where = DeltaTable(uri).to_pyarrow_dataset(), filters_to_expression(filters)
    return {fragment.path for fragment in whole.get_fragments()
            if ds.FileSystemDataset([fragment], whole.schema, whole.format, whole.filesystem).count_rows(filter=where)}


@pytest.mark.parametrize("filters", FILTERS, ids=[str(f) for f in FILTERS])
def test_a_read_keeps_every_file_that_can_match_and_no_more_than_delta_rs_keeps(tmp_path, filters):
    journal = _journal(tmp_path)
    table = DeltaTable(journal.uri)
    files = pa.table(table.get_add_actions(flatten=True))
    kept = set(files.filter(may_match(files, filters))["path"].to_pylist())
    assert _files_holding_matches(journal.uri, filters) <= kept
    assert kept <= set(table.to_pyarrow_dataset(file_pruning_predicate=filters).files)
    if filters[0][1] == "!=":
        assert len(kept) == files.num_rows


def test_a_read_under_filters_returns_exactly_the_matching_rows(tmp_path):
    journal = _journal(tmp_path)
    everything = DeltaTable(journal.uri).to_pyarrow_table()
    for filters in FILTERS:
        expected = everything.filter(filters_to_expression(filters)).select(["session_id", "seq"])
        got = journal._dataset(filters).to_table(columns=["session_id", "seq"], filter=filters_to_expression(filters))
        assert sorted(got.to_pylist(), key=str) == sorted(expected.to_pylist(), key=str), filters
    assert journal._dataset([("session_id", "=", "run-1")]).to_table(columns=["date"])["date"].to_pylist() == \
        ["2026-01-02"] * 6, "the partition value is read from the file's place in the table"


def test_the_whole_table_is_every_file_with_its_partition_values(tmp_path):
    journal = _journal(tmp_path)
    whole = journal._dataset()
    assert sorted(whole.files) == sorted(DeltaTable(journal.uri).to_pyarrow_dataset().files)
    assert whole.to_table(columns=["date"]).num_rows == 36
    assert pc.count_distinct(whole.to_table(columns=["date"])["date"]).as_py() == 6
    assert journal.sessions() == [f"run-{n}" for n in range(6)]


def test_a_file_without_statistics_may_hold_anything(tmp_path):
    uri = str(tmp_path / "t")
    for n in range(3):
        write_deltalake(uri, pa.table({"session_id": [f"run-{n}"], "seq": [n], "date": [f"2026-01-0{n + 1}"]}),
                        mode="append", partition_by=["date"],
                        configuration={"delta.dataSkippingNumIndexedCols": "0"} if n == 0 else None)
    table = DeltaTable(uri)
    files = pa.table(table.get_add_actions(flatten=True))
    kept = files.filter(may_match(files, [("session_id", "=", "run-9"), ("seq", "in", [7, 8])]))
    assert kept.num_rows == files.num_rows, "the table was created without statistics: nothing can be ruled out"
    dataset = files_dataset(table, kept)
    assert sorted(dataset.to_table(filter=ds.field("seq") >= 1)["session_id"].to_pylist()) == ["run-1", "run-2"]
