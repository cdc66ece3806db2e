"""A finished session's idempotency marks (Delta app transactions) are retired when the next start folds its
write-ahead log, and leave the tables' checkpoints; a session that can still commit keeps its marks, so a retried batch
still lands once; every message and derived row stays readable."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
from deltalake import DeltaTable

from messages import OrderFilled, PlaceOrder
from storage.commit_marks import MARK_RETENTION
from storage.journal import DeltaJournal
from storage.lake_writer import LakeWriter, read_table
from storage.maintenance import trim_log
from storage.tables import SCHEMAS
from storage.write_ahead import WriteAheadLog, fold_logs


def _place(seq: int, session: str) -> PlaceOrder:
    return PlaceOrder(ts=10**18 + seq, seq=seq, client_order_id=f"{session}-O{seq}", strategy_id="IC-1",
                      purpose="open", legs=(), quantity=1, limit_price=-1.2)


def _fill(seq: int, session: str) -> OrderFilled:
    return OrderFilled(ts=10**18 + seq, seq=seq, client_order_id=f"{session}-O1", exec_id=f"{session}-E{seq}",
                       quantity=1, price=-1.2, commission_usd=4.0)


def _session(lake: LakeWriter, wal: Path, session: str) -> None:
    """Two batches, each also in the session's write-ahead log (left in place at the stop, as the node leaves it)."""
    log = WriteAheadLog(wal, session)
    for version, message in enumerate([_place(1, session), _fill(2, session)], start=1):
        log.append(message)
        lake.append(session, [message], version)
    log.sync()
    log.close()


def _checkpointed_marks(table_uri: str) -> set[str]:
    log = Path(table_uri) / "_delta_log"
    version = json.loads((log / "_last_checkpoint").read_text())["version"]
    txn = pq.read_table(log / f"{version:020d}.checkpoint.parquet", columns=["txn"])["txn"]
    return {mark["appId"] for mark in txn.to_pylist() if mark is not None}


def _table_uris(lake: LakeWriter) -> list[str]:
    return [lake.journal.uri, *(lake.table_uri(t) for t in SCHEMAS if DeltaTable.is_deltatable(lake.table_uri(t)))]


def test_the_fold_retires_a_finished_sessions_marks_and_the_checkpoint_drops_them(tmp_path):
    lake = LakeWriter(DeltaJournal(str(tmp_path / "lake")))
    _session(lake, tmp_path / "wal", "run-1")
    assert lake.committed_version("run-1") == 2 and DeltaTable(lake.table_uri("orders")).transaction_version(
        "run-1/orders") == 1
    assert all(DeltaTable(uri).metadata().configuration[MARK_RETENTION] for uri in _table_uris(lake))

    assert fold_logs(tmp_path / "wal", LakeWriter(DeltaJournal(str(tmp_path / "lake")))) == 0  # as the next start
    reopened = LakeWriter(DeltaJournal(str(tmp_path / "lake")))
    assert reopened.committed_version("run-1") == 0
    for uri in _table_uris(reopened):
        table = DeltaTable(uri)
        assert table.transaction_version("run-1") is None and table.transaction_version("run-1/orders") is None
        trim_log(table)
        assert not {mark for mark in _checkpointed_marks(uri) if mark.startswith("run-1")}, uri
    assert [m.seq for m in reopened.journal.read("run-1")] == [1, 2]
    assert read_table(reopened, "fills")["exec_id"].to_pylist() == ["run-1-E2"]
    assert sorted(read_table(reopened, "orders")["seq"].to_pylist()) == [1]


def test_a_session_that_can_still_commit_keeps_its_marks_and_its_retry_lands_once(tmp_path):
    """The running session's marks carry no `lastUpdated`: no retention, not even none at all, lets them go."""
    lake = LakeWriter(DeltaJournal(str(tmp_path / "lake")))
    _session(lake, tmp_path / "wal", "run-1")
    lake.append("run-2", [_place(1, "run-2")], 1)  # the running session: its log is opened after the fold
    for uri in _table_uris(lake):
        DeltaTable(uri).alter.set_table_properties({MARK_RETENTION: "interval 0 seconds"})
    fold_logs(tmp_path / "wal", LakeWriter(DeltaJournal(str(tmp_path / "lake"))))
    for uri in _table_uris(lake):
        trim_log(DeltaTable(uri))
    assert "run-2" in _checkpointed_marks(lake.journal.uri)
    assert "run-2/orders" in _checkpointed_marks(lake.table_uri("orders"))

    retried = LakeWriter(DeltaJournal(str(tmp_path / "lake")))  # its batch retried after an ambiguous error
    retried.append("run-2", [_place(1, "run-2")], 1)
    assert [m.seq for m in retried.journal.read("run-2")] == [1]
    assert read_table(retried, "orders", "run-2")["seq"].to_pylist() == [1]
    retried.append("run-2", [_fill(2, "run-2")], 2)
    assert [m.seq for m in retried.journal.read("run-2")] == [1, 2]


def test_a_session_name_used_again_after_its_marks_went_writes_from_its_first_batch(tmp_path):
    lake = LakeWriter(DeltaJournal(str(tmp_path / "lake")))
    _session(lake, tmp_path / "wal", "run-1")
    assert lake.retire_marks("run-1") == 3  # the journal's, the orders' and the fills': the tables it wrote
    lake.append("run-1", [_place(3, "run-1")], 1)  # the persistence starts again from the mark it finds: none
    assert [m.seq for m in lake.journal.read("run-1")] == [1, 2, 3]
    assert sorted(read_table(lake, "orders", "run-1")["seq"].to_pylist()) == [1, 3]
    assert lake.committed_version("run-1") == 1


def test_marks_that_cannot_be_retired_are_kept_and_the_fold_goes_on(tmp_path):
    class Unwritable(LakeWriter):
        def retire_marks(self, session_id: str) -> int:
            raise OSError("disk full")

    lake = LakeWriter(DeltaJournal(str(tmp_path / "lake")))
    _session(lake, tmp_path / "wal", "run-1")
    assert fold_logs(tmp_path / "wal", Unwritable(DeltaJournal(str(tmp_path / "lake")))) == 0
    assert not (tmp_path / "wal" / "run-1.wal").exists(), "folded: the log is done with"
    assert LakeWriter(DeltaJournal(str(tmp_path / "lake"))).committed_version("run-1") == 2, "its marks kept"
