"""A full iron-condor lifecycle through `thetanode run --config node.toml` (a real process, every actor, the IB
adapter over a real socket) against the TWS-protocol test gateway: chain → entry → combo fill → reconciled
positions → market crash → exit by rule → closing fill → flat account → graceful stop."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from actors.replay.session import replay_session
from messages import (
    BrokerConnectionChanged,
    CoreSnapshot,
    IbConnected,
    NodeStarted,
    NodeStopping,
    OrderFilled,
    OrderTerminated,
    PlaceOrder,
    ReconciliationResult,
    StrategyClosed,
    StrategyOpened,
)
from storage.journal import DeltaJournal
from tests.ib.gateway import TestGateway
from tests.ib.harness import new_gateway, write_node_toml
from tests.snapshot_state import differing_cores
from tests.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]


def _log_tail(log: Path):  # noqa: ANN202 - a context callable for wait_for
    return lambda: f"; node log tail:\n{log.read_text()[-3000:]}"


def _write_config(tmp_path: Path, gateway: TestGateway) -> Path:
    return write_node_toml(
        tmp_path, gateway.port,
        ib={"chain_strike_range_pct": 0.10, "positions_settle_s": 0.3, "reconnect_initial_s": 0.2},
        entry={"evaluate_interval_s": 2.0},
        exits={"evaluation_delay_ms": 300},  # judge a crash once every leg is requoted, not on a half-updated set
        execution={"step_interval_s": 1.0, "deadline_s": 30.0}, persistence={"flush_interval_ms": 100},
        service={"client_id": 11})


def _start(config: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "actors.cli", "--log-level", "INFO", "run", "--config",
                             str(config)], cwd=REPO, stdout=log.open("ab"), stderr=subprocess.STDOUT)


def _reconciled_in_newest_session(lake: Path) -> bool:
    """The newest session has rebuilt, connected and found its positions matching IB's (read from the lake)."""
    journal = DeltaJournal(str(lake))
    if not journal.exists():
        return False
    starts = list(journal.read_type(NodeStarted))  # in time order
    return bool(starts) and any(m.ok for m in journal.read_type(ReconciliationResult, {starts[-1].session_id}))


def _assert_behaved(gateway: TestGateway, everything: list) -> None:
    """What must hold whatever the scheduling: one order at a time per strategy (at IB, not just in our books), every
    order sent once under its own reference and id, no fill booked twice, flat at the end."""
    assert gateway.desk.most_working_per_strategy == 1, "IB worked two orders of one strategy at once"
    ids_by_ref: dict[str, set[int]] = collections.defaultdict(set)
    for order in gateway.orders_received:  # a modification repeats its order's reference and id
        ids_by_ref[order.order_ref].add(order.order_id)
    assert all(len(ids) == 1 for ids in ids_by_ref.values()), ids_by_ref
    first_ids = [min(ids) for ids in ids_by_ref.values()]
    assert first_ids == sorted(first_ids) and len(set(first_ids)) == len(first_ids), "an order id was reused"
    placed = [m for m in everything if isinstance(m, PlaceOrder)]
    assert list(ids_by_ref) == [o.client_order_id for o in placed], "an order reached IB that the journal lacks"
    fills = [m for m in everything if isinstance(m, OrderFilled)]
    assert len({f.exec_id for f in fills}) == len(fills), "a fill was booked twice"
    assert sum(f.quantity for f in fills) == 0 and not gateway.positions(), "not flat at the end"
    story = [(type(m).__name__, getattr(m, "client_order_id", "")) for m in everything
             if isinstance(m, (PlaceOrder, OrderTerminated))]
    working: set[str] = set()
    for kind, order in story:  # in the journal too, a strategy's next order starts only after the last one ended
        if kind == "PlaceOrder":
            strategy = order.rsplit("-", 1)[0]
            assert not any(w.rsplit("-", 1)[0] == strategy for w in working), story
            working.add(order)
        else:
            working.discard(order)


@pytest.mark.timeout(180)
def test_iron_condor_lifecycle_through_thetanode_run_against_the_test_gateway(tmp_path):
    gateway = new_gateway()
    log = tmp_path / "node.log"
    config = _write_config(tmp_path, gateway)
    node = _start(config, log)
    try:
        opened = wait_for(lambda: len(gateway.positions()) == 4 and gateway.positions(), 90, "the condor's fill",
                          _log_tail(log))
        assert sorted(opened.values()) == [-1, -1, 1, 1]
        gateway.set_underlying("SPY", 556.0)  # -4% within the hour: the catastrophe rule closes it
        wait_for(lambda: not gateway.positions(), 60, "the closing fill", _log_tail(log))
    finally:
        node.send_signal(signal.SIGTERM)
        code = node.wait(timeout=60)
        gateway.stop()
    assert code == 0, log.read_text()[-3000:]

    journal = DeltaJournal(str(tmp_path / "lake"))
    [session] = journal.sessions()
    messages = list(journal.read(session))

    def of(kind: type) -> list:
        return [m for m in messages if isinstance(m, kind)]

    _assert_behaved(gateway, messages)
    assert of(IbConnected) and of(BrokerConnectionChanged)[-1].state == "connected"
    [strategy] = of(StrategyOpened)
    assert strategy.kind == "iron_condor" and strategy.quantity == 1
    assert [o.purpose for o in of(PlaceOrder)][:2] == ["open", "close"]  # a close that did not fill is retried
    fills = of(OrderFilled)
    assert sum(f.commission_usd for f in fills) == pytest.approx(2 * 4 * 0.65)
    [closed] = of(StrategyClosed)
    assert closed.rule == "catastrophe" and closed.commissions_usd == pytest.approx(5.2)
    results = of(ReconciliationResult)
    assert results and all(r.ok for r in results), [r.mismatches for r in results if not r.ok]
    assert of(NodeStopping)
    # the recorded IB session replays offline (no broker dialled) to the same decisions
    replay = replay_session(journal, session)
    assert not replay.mismatches and replay.inputs > 50  # streams send changes only: few, but every kind
    # the stop wrote the snapshots the next start restores instead of replaying, and they hold what replay builds
    assert "cannot snapshot" not in log.read_text(), _log_tail(log)()
    cuts = [m.through_seq for m in messages if isinstance(m, CoreSnapshot)]
    assert cuts and max(cuts) > max(f.seq for f in fills), f"no snapshot set after the closing fill{_log_tail(log)()}"
    differ = differing_cores(config, not_started=("ib_session",))  # its start would dial the stopped gateway
    assert not differ, differ


@pytest.mark.timeout(180)
def test_a_killed_node_restarts_against_ib_without_reusing_ids_or_booking_a_fill_twice(tmp_path):
    gateway = new_gateway()
    config = _write_config(tmp_path, gateway)
    log = tmp_path / "node.log"
    first = _start(config, log)
    try:
        wait_for(lambda: len(gateway.positions()) == 4, 90, "the condor's fill", _log_tail(log))
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        gateway.faults.next_valid_id = 1  # the gateway restarted too and rolled its ids back
        second = _start(config, log)
        wait_for(lambda: gateway.connections == 2 and _reconciled_in_newest_session(tmp_path / "lake"), 60,
                 "the restarted node rebuilt, synchronised with IB and reconciled", _log_tail(log))
        gateway.set_underlying("SPY", 556.0)
        wait_for(lambda: not gateway.positions(), 60, "the closing fill after the restart", _log_tail(log))
    finally:
        for process in (first, second):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=60)
        gateway.stop()
    assert second.returncode == 0, log.read_text()[-3000:]

    journal = DeltaJournal(str(tmp_path / "lake"))
    everything = [m for session in journal.sessions() for m in journal.read(session)]
    _assert_behaved(gateway, everything)
    placed = collections.Counter(m.client_order_id for m in everything if isinstance(m, PlaceOrder))
    assert max(placed.values()) == 1
    assert [m.rule for m in everything if isinstance(m, StrategyClosed)] == ["catastrophe"]
    results = [m for m in everything if isinstance(m, ReconciliationResult)]
    assert results and all(r.ok for r in results), [r.mismatches for r in results if not r.ok]


@pytest.mark.timeout(120)
def test_a_client_id_ib_refuses_stops_the_node_with_the_do_not_restart_code_and_one_line(tmp_path):
    gateway = new_gateway()
    gateway.occupy_client_id(11)  # TWS, or a second node, is logged in with the node's client id
    config = _write_config(tmp_path, gateway)
    config.write_text(config.read_text().replace("reconnect_initial_s = 0.2", "reconnect_initial_s = 0.2\n"
                                                 "connect_timeout_s = 1.0\nreconnect_max_s = 0.5"))
    log = tmp_path / "node.log"
    node = _start(config, log)
    try:
        code = node.wait(timeout=90)
    finally:
        if node.poll() is None:
            node.kill()
        gateway.stop()
    assert code == 2, log.read_text()[-3000:]
    errors = [line for line in log.read_text().splitlines() if line.startswith("thetanode: error:")]
    assert len(errors) == 1 and "IB refused the client id 3 times" in errors[0]
