"""The derived tables commit at most once a period, their rows held between (storage/derived_backlog.py): judged by
what is on disk, also after the writer process holding rows is killed and after a node that held rows died."""

from __future__ import annotations

import os
import signal

import pytest

from actors.config import config_from_mapping
from actors.node import lake_writer, open_write_ahead, write_ahead_dir
from messages import OrderFilled, PlaceOrder, StrategyClosed
from storage.journal import DeltaJournal
from storage.journal_process import JournalProcess
from storage.lake_writer import LakeWriter, read_table
from storage.write_ahead import SUFFIX, WriteAheadLog, fold_logs
from tests.waiting import process_gone, wait_for

T0 = 1_780_000_000 * 10**9


def _fill(seq: int, exec_id: str) -> OrderFilled:
    return OrderFilled(ts=T0 + seq, seq=seq, client_order_id="O1", exec_id=exec_id, quantity=1, price=-1.5,
                       commission_usd=2.6)


def _order(seq: int) -> PlaceOrder:
    return PlaceOrder(ts=T0 + seq, seq=seq, client_order_id=f"IC-1-O{seq}", strategy_id="IC-1", purpose="open",
                      legs=(), quantity=1, limit_price=-1.5)


def _closed(seq: int) -> StrategyClosed:
    return StrategyClosed(ts=T0 + seq, seq=seq, strategy_id="IC-1", exit_price=-0.7, realized_pnl_usd=74.8,
                          commissions_usd=5.2, rule="take_profit")


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _on_disk(lake_uri: str, table: str, column: str) -> list:
    return sorted(read_table(LakeWriter(DeltaJournal(lake_uri)), table)[column].to_pylist())


def test_derived_rows_wait_for_their_period_while_the_journal_commits_every_batch(tmp_path):
    lake, clock = str(tmp_path / "lake"), _Clock()
    writer = LakeWriter(DeltaJournal(lake), derived_every_s=1.0, clock=clock)
    writer.append("s", [_order(1)], 1)
    clock.now += 0.5
    writer.append("s", [_order(2), _fill(3, "E1")], 2)
    assert [m.seq for m in DeltaJournal(lake).read("s")] == [1, 2, 3]
    assert _on_disk(lake, "orders", "seq") == [] and _on_disk(lake, "fills", "exec_id") == []
    clock.now += 0.6
    writer.append("s", [_order(4)], 3)
    assert _on_disk(lake, "orders", "seq") == [1, 2, 4] and _on_disk(lake, "fills", "exec_id") == ["E1"]
    writer.append("s", [_closed(5)], 4)  # held again: the period counts from the last commit
    assert _on_disk(lake, "strategies", "seq") == []
    writer.close()
    assert _on_disk(lake, "strategies", "seq") == [5]


def test_a_fill_held_and_replayed_by_the_broker_in_a_later_batch_is_stored_once(tmp_path):
    lake, clock = str(tmp_path / "lake"), _Clock()
    writer = LakeWriter(DeltaJournal(lake), derived_every_s=1.0, clock=clock)
    writer.append("s", [_fill(1, "E1")], 1)
    writer.append("s", [_fill(2, "E1"), _fill(3, "E2")], 2)  # IB's replay of E1 after a reconnect, and a new fill
    writer.close()
    assert _on_disk(lake, "fills", "exec_id") == ["E1", "E2"]


def test_a_derived_commit_that_fails_keeps_its_rows_and_the_batch_retried_lands_them_once(tmp_path, monkeypatch):
    lake, clock = str(tmp_path / "lake"), _Clock()
    writer = LakeWriter(DeltaJournal(lake), derived_every_s=1.0, clock=clock)
    writer.append("s", [_order(1)], 1)
    clock.now += 2
    real_write = LakeWriter._write

    def full_disk(self, table, rows, app_id, version):  # noqa: ANN001, ANN202 - the method's own signature
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(LakeWriter, "_write", full_disk)
    with pytest.raises(OSError):
        writer.append("s", [_order(2)], 2)  # the journal took it; the orders table did not
    monkeypatch.setattr(LakeWriter, "_write", real_write)
    writer.append("s", [_order(2)], 2)  # persistence retries the same batch
    writer.close()
    assert [m.seq for m in DeltaJournal(lake).read("s")] == [1, 2]
    assert _on_disk(lake, "orders", "seq") == [1, 2]


def test_rows_a_killed_writer_process_held_are_written_by_the_next_one(tmp_path):
    lake = str(tmp_path / "lake")
    writer = JournalProcess(lake, timeout_s=60, derived_every_s=3600.0)  # holds every derived row until it closes
    try:
        writer.append("s", [_order(1), _fill(2, "E1")], 1)
        writer.append("s", [_order(3)], 2)
        held_by = writer.pid
        os.kill(held_by, signal.SIGKILL)
        wait_for(lambda: process_gone(held_by), 30, "the writer process to die")
        try:  # the death is found as the commit is sent, or when it is answered: then persistence retries it
            writer.append("s", [_order(4)], 3)
        except OSError:
            writer.append("s", [_order(4)], 3)
        # the new child first wrote the rows the dead one held, from the journal; its own are held
        assert writer.started == 2
        assert _on_disk(lake, "orders", "seq") == [1, 3]
    finally:
        writer.close()
    assert _on_disk(lake, "orders", "seq") == [1, 3, 4] and _on_disk(lake, "fills", "exec_id") == ["E1"]


def test_rows_a_node_held_when_it_died_are_written_at_the_next_start_even_if_it_never_ordered(tmp_path):
    lake, wal = str(tmp_path / "lake"), tmp_path / "wal"
    WriteAheadLog(wal, "s").sync()  # as a node's start makes it: empty until an order command
    crashed = LakeWriter(DeltaJournal(lake), derived_every_s=3600.0)
    crashed.append("s", [_closed(1)], 1)  # never closed: the process died holding the row
    assert _on_disk(lake, "strategies", "seq") == []
    fold_logs(wal, LakeWriter(DeltaJournal(lake)))  # the next start
    assert _on_disk(lake, "strategies", "seq") == [1] and not list(wal.iterdir())


def test_a_start_makes_its_session_s_write_ahead_log_at_once_so_the_next_start_folds_it(tmp_path):
    config = config_from_mapping({"node": {"lake_uri": str(tmp_path / "lake")}})
    writer = lake_writer(config)
    open_write_ahead(config, writer, "s")
    assert [path.name for path in write_ahead_dir(config).iterdir()] == [f"s{SUFFIX}"]
