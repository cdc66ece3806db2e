"""The write-ahead log and its gate: a command is delivered only once synced; a torn tail is ignored; folding adds
exactly what the lake lacks; an unwritable log refuses orders and modifications but lets cancels out."""

from __future__ import annotations

from actors.runtime.write_ahead import WriteAheadGate
from messages import (
    REJECT_NOT_SENT,
    Alert,
    CancelOrder,
    Halt,
    ModifyOrder,
    OrderFilled,
    OrderRejected,
    PlaceOrder,
    StorageStateChanged,
    UnderlyingQuote,
)
from storage.journal import DeltaJournal
from storage.lake_writer import LakeWriter, read_table
from storage.write_ahead import WriteAheadLog, fold_logs, read_log


def _place(seq: int) -> PlaceOrder:
    return PlaceOrder(ts=10**18 + seq, seq=seq, client_order_id=f"IC-1-O{seq}", strategy_id="IC-1", purpose="open",
                      legs=(), quantity=1, limit_price=-1.2)


def test_commands_are_synced_with_everything_before_them_and_market_data_is_not_logged(tmp_path):
    gate = WriteAheadGate(WriteAheadLog(tmp_path, "s"))
    assert gate.check(Halt(ts=1, seq=1, reason="x")) == (True, [])
    quote = UnderlyingQuote(ts=2, seq=2, symbol="SPY", bid=580.0, ask=580.1, last=580.05)
    assert gate.check(quote) == (True, [])  # market state: never logged
    assert not (tmp_path / "s.wal").exists()  # nothing synced before a command
    assert gate.check(_place(3)) == (True, [])
    assert [m.seq for m in read_log(tmp_path / "s.wal")] == [1, 3]


def test_a_torn_tail_is_ignored_and_folding_adds_only_what_the_lake_lacks(tmp_path):
    log = WriteAheadLog(tmp_path / "wal", "run-1")
    for seq in (1, 2, 3):
        log.append(_place(seq))
    log.sync()
    with (tmp_path / "wal" / "run-1.wal").open("ab") as torn:
        torn.write(b"\x00\x00\x01\x00garbage")  # a record cut short by the crash
    lake = LakeWriter(DeltaJournal(str(tmp_path / "lake")))
    lake.append("run-1", [_place(1)], 1)  # the journal got the first one before the crash
    assert fold_logs(tmp_path / "wal", lake) == 2
    assert [m.seq for m in lake.journal.read("run-1")] == [1, 2, 3]
    assert not (tmp_path / "wal" / "run-1.wal").exists()
    assert fold_logs(tmp_path / "wal", lake) == 0


def test_an_unwritable_log_refuses_orders_and_modifications_but_lets_cancels_out(tmp_path):
    (tmp_path / "wal").write_text("a file where the log directory should be")
    gate = WriteAheadGate(WriteAheadLog(tmp_path / "wal", "s"))
    deliver, notes = gate.check(_place(1))
    assert not deliver
    assert [type(n) for n in notes] == [StorageStateChanged, Alert, OrderRejected]
    assert notes[0].state == "failing" and notes[2].code == REJECT_NOT_SENT
    deliver, notes = gate.check(ModifyOrder(seq=2, client_order_id="IC-1-O1", limit_price=-1.1))
    assert not deliver and [type(n) for n in notes] == [Alert]  # reported once as failing, then per command
    deliver, notes = gate.check(CancelOrder(seq=3, client_order_id="IC-1-O1", reason="deadline"))
    assert deliver and notes == []
    (tmp_path / "wal").unlink()
    deliver, notes = gate.check(_place(4))
    assert deliver and notes[0] == StorageStateChanged(store="write_ahead", state="ok",
                                                       reason="write-ahead log writable again")
    assert [m.seq for m in read_log(tmp_path / "wal" / "s.wal")] == [3, 4]  # the refused ones were never logged


def test_folding_also_writes_the_derived_rows_a_crash_kept_from_the_tables(tmp_path):
    """A batch reaches the journal first, then each derived table: a node killed in between leaves that batch in the
    journal only. The next start's fold projects it into the tables, once."""
    fill = OrderFilled(ts=10**18 + 2, seq=2, client_order_id="IC-1-O1", exec_id="E-1", quantity=1, price=-1.2,
                       commission_usd=4.0)
    lake = LakeWriter(DeltaJournal(str(tmp_path / "lake")))
    lake.append("run-1", [_place(1)], 1)
    lake.journal.append("run-1", [fill], 2)  # killed before the tables got batch 2
    log = WriteAheadLog(tmp_path / "wal", "run-1")
    log.append(_place(1))
    log.append(fill)
    log.sync()
    assert fold_logs(tmp_path / "wal", lake) == 0  # the journal lacked nothing
    restarted = LakeWriter(DeltaJournal(str(tmp_path / "lake")))
    assert read_table(restarted, "fills")["exec_id"].to_pylist() == ["E-1"]
    assert sorted(read_table(restarted, "orders")["seq"].to_pylist()) == [1]
    assert restarted.catch_up("run-1") == 0  # idempotent: nothing is written twice
    assert read_table(restarted, "fills")["exec_id"].to_pylist() == ["E-1"]


def test_the_catch_up_reads_every_type_the_tables_are_projected_from():
    import ast
    import inspect

    from storage import tables

    cases = ast.walk(ast.parse(inspect.getsource(tables._rows)))
    projected = {node.cls.id for node in cases if isinstance(node, ast.MatchClass)}
    assert projected == {t.__name__ for t in tables.PROJECTED_TYPES}
