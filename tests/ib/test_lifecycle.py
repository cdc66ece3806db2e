"""A full iron-condor lifecycle through `thetanode run --config node.toml` (a real process, every actor, the IB
adapter over a real socket) against the TWS-protocol test gateway: chain → entry → combo fill → reconciled
positions → market crash → exit by rule → closing fill → flat account → graceful stop."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from messages import (
    BrokerConnectionChanged,
    IbConnected,
    NodeStopping,
    OrderFilled,
    PlaceOrder,
    ReconciliationResult,
    StrategyClosed,
    StrategyOpened,
)
from actors.replay.session import replay_session
from storage.journal import DeltaJournal
from tests.ib.gateway import TestGateway
from tests.waiting import wait_for
from tests.ib.harness import MARKET_TIME, new_gateway

REPO = Path(__file__).resolve().parents[2]


def _log_tail(log: Path):  # noqa: ANN202 - a context callable for wait_for
    return lambda: f"; node log tail:\n{log.read_text()[-3000:]}"


def _write_config(tmp_path: Path, gateway: TestGateway) -> Path:
    config = tmp_path / "node.toml"
    config.write_text(f"""
[node]
broker = "ib"
clock = "shifted"
clock_start = {MARKET_TIME.isoformat().replace("+00:00", "Z")}
lake_uri = "{tmp_path / "lake"}"

[ib]
port = {gateway.port}
chain_strike_range_pct = 0.10
positions_settle_s = 0.3
reconnect_initial_s = 0.2

[entry]
evaluate_interval_s = 2.0

[exits]
evaluation_delay_ms = 300             # judge a crash once every leg is requoted, not on a half-updated set

[execution]
step_interval_s = 1.0
deadline_s = 30.0

[persistence]
flush_interval_ms = 100

[service]
client_id = 11
health_port = 0
heartbeat_file = "{tmp_path / "heartbeat.json"}"
control_dir = "{tmp_path / "control"}"
""")
    return config


def _start(config: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "actors.cli", "--log-level", "INFO", "run", "--config",
                             str(config)], cwd=REPO, stdout=log.open("ab"), stderr=subprocess.STDOUT)


@pytest.mark.timeout(180)
def test_iron_condor_lifecycle_through_thetanode_run_against_the_test_gateway(tmp_path):
    gateway = new_gateway()
    log = tmp_path / "node.log"
    node = _start(_write_config(tmp_path, gateway), log)
    try:
        opened = wait_for(lambda: len(gateway.positions()) == 4 and gateway.positions(), 90, "the condor's fill", _log_tail(log))
        assert sorted(opened.values()) == [-1, -1, 1, 1]
        time.sleep(1.0)  # let the position report settle and reconcile
        gateway.set_underlying("SPY", 556.0)  # -4% within the hour: the catastrophe rule closes it
        wait_for(lambda: not gateway.positions(), 60, "the closing fill", _log_tail(log))
        time.sleep(1.0)
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

    assert of(IbConnected) and of(BrokerConnectionChanged)[-1].state == "connected"
    [strategy] = of(StrategyOpened)
    assert strategy.kind == "iron_condor" and strategy.quantity == 1
    orders = of(PlaceOrder)
    assert [o.purpose for o in orders] == ["open", "close"]
    # each order reached IB under its client order id (modifications of the walk repeat the same reference)
    assert list(dict.fromkeys(o.order_ref for o in gateway.orders_received)) == [o.client_order_id for o in orders]
    fills = of(OrderFilled)
    assert [f.quantity for f in fills] == [1, -1] and all(f.commission_usd == 2.6 for f in fills)
    [closed] = of(StrategyClosed)
    assert closed.rule == "catastrophe" and closed.commissions_usd == 5.2
    results = of(ReconciliationResult)
    assert results and all(r.ok for r in results), [r.mismatches for r in results if not r.ok]
    assert of(NodeStopping)
    # the recorded IB session replays offline (no broker dialled) to the same decisions
    replay = replay_session(journal, session)
    assert not replay.mismatches and replay.inputs > 100


@pytest.mark.timeout(180)
def test_a_killed_node_restarts_against_ib_without_reusing_ids_or_booking_a_fill_twice(tmp_path):
    gateway = new_gateway()
    config = _write_config(tmp_path, gateway)
    log = tmp_path / "node.log"
    first = _start(config, log)
    try:
        wait_for(lambda: len(gateway.positions()) == 4, 90, "the condor's fill", _log_tail(log))
        time.sleep(1.0)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        gateway.faults.next_valid_id = 1  # the gateway restarted too and rolled its ids back
        second = _start(config, log)
        wait_for(lambda: gateway.connections == 2, 30, "the reconnect", _log_tail(log))
        time.sleep(4.0)  # rebuilt from the lake, synchronised with IB (executions replayed), reconciled
        gateway.set_underlying("SPY", 556.0)
        wait_for(lambda: not gateway.positions(), 60, "the closing fill after the restart", _log_tail(log))
        time.sleep(1.0)
    finally:
        for process in (first, second):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=60)
        gateway.stop()
    assert second.returncode == 0, log.read_text()[-3000:]

    journal = DeltaJournal(str(tmp_path / "lake"))
    everything = [m for session in journal.sessions() for m in journal.read(session)]
    fills = [m for m in everything if isinstance(m, OrderFilled)]
    assert sorted(f.quantity for f in fills) == [-1, 1], "the replayed execution was booked again"
    placed = collections.Counter(m.client_order_id for m in everything if isinstance(m, PlaceOrder))
    assert max(placed.values()) == 1
    new_orders = list(dict.fromkeys(o.order_id for o in gateway.orders_received))
    refs = {o.order_ref for o in gateway.orders_received}  # a new entry may follow the close before the stop
    assert new_orders == sorted(new_orders) and len(new_orders) == len(refs), "an order id was reused"
    assert [m.rule for m in everything if isinstance(m, StrategyClosed)] == ["catastrophe"]
    results = [m for m in everything if isinstance(m, ReconciliationResult)]
    assert results and all(r.ok for r in results), [r.mismatches for r in results if not r.ok]
