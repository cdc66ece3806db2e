"""SIGKILL a real `thetanode run` again and again around its order traffic with the TWS test gateway, and prove from
outside (what the gateway received and executed, what is on disk) that the write-ahead log holds: every order the
gateway ever received is known to the restarted node, no orderRef is sent twice, no execution is lost or booked twice.

The node churns orders: it opens a short-dated condor, which the `dte_exit` rule closes at once, so placeOrder,
price-step modifications, deadline cancels and fills keep coming. The journal commits only every 10 minutes, so any
order the node lost with its process could only be known through the write-ahead log. Kills land the instant the
gateway receives a placeOrder (before the node could even hear back) and at spread delays after it.
"""

from __future__ import annotations

import collections
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from messages import OrderFilled, PlaceOrder, ReconciliationResult
from storage.journal import DeltaJournal
from tests.ib.gateway import TestGateway
from tests.ib.harness import new_gateway, write_node_toml
from tests.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]
KILL_DELAYS_S = (0.0, 0.0, 0.02, 0.05, 0.0, 0.1, 0.2, 0.0, 0.35, 0.5, 0.0, 0.8, 1.2, 0.0, 0.03, 1.6, 0.0, 0.15, 2.2,
                 0.6)
"""After the first placeOrder of each run; 0.0 kills inside the gateway's placeOrder handler."""


def _config(tmp_path: Path, gateway: TestGateway) -> Path:
    return write_node_toml(
        tmp_path, gateway.port,
        ib={"chain_strike_range_pct": 0.03, "positions_settle_s": 0.2, "reconnect_initial_s": 0.2,
            "commission_wait_s": 0.5},
        # the churn is the point: let dte_exit close each condor at once
        entry={"evaluate_interval_s": 0.5, "dte_min": 7, "dte_max": 12, "exit_rules_gate": False},
        exits={"dte_exit": 30}, execution={"step_interval_s": 0.3, "price_steps": 3, "deadline_s": 1.5},
        persistence={"flush_interval_ms": 600000},
        service={"client_id": 21, "shutdown_timeout_s": 15, "heartbeat_interval_s": 0.5})


def _start(config: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "actors.cli", "--log-level", "INFO", "run", "--config",
                             str(config)], cwd=REPO, stdout=log.open("ab"), stderr=subprocess.STDOUT)


@pytest.mark.timeout(420)
def test_kills_around_order_sending_never_lose_or_repeat_an_order_or_a_fill(tmp_path):
    gateway = new_gateway(vix=10.0)  # calm: the short strikes sit close, so a chain scan is small and quick
    config, log = _config(tmp_path, gateway), tmp_path / "node.log"
    tail = lambda: f"; node log tail:\n{log.read_text()[-3000:]}"  # noqa: E731
    node: subprocess.Popen | None = None
    try:
        for run, delay in enumerate(KILL_DELAYS_S):
            gateway.faults.hold_fills = run % 3 == 1  # some runs leave orders resting: modifications and cancels
            arrived = threading.Event()
            seen = len(gateway.orders_received)
            node = _start(config, log)
            victim = node

            def on_place(_request: object, victim: subprocess.Popen = victim, instant: bool = delay == 0.0) -> None:
                if instant:
                    victim.kill()  # the gateway has the order; the node has not heard back, nor committed anything
                arrived.set()

            gateway.on_place = on_place
            wait_for(lambda: arrived.is_set() or node.poll() is not None, 60, f"a placeOrder in run {run}", tail)
            assert node.poll() is None or node.returncode == -signal.SIGKILL, tail()
            if delay:
                arrived.wait(0)
                threading.Event().wait(delay)  # a spread of points after the order went out
                node.kill()
            node.wait(timeout=15)
            gateway.on_place = None
            assert len(gateway.orders_received) > seen
        gateway.faults.hold_fills = False
        connections = gateway.connections
        node = _start(config, log)
        wait_for(lambda: gateway.connections > connections, 60, "the last reconnect", tail)
        wait_for(lambda: _synchronised(tmp_path), 60, "the last node to reconcile", tail)
        node.send_signal(signal.SIGTERM)
        code = node.wait(timeout=60)
    finally:
        if node is not None and node.poll() is None:
            node.kill()
        gateway.stop()
    assert code in (0, 3), tail()

    journal = DeltaJournal(str(tmp_path / "lake"))
    everything = [m for session in journal.sessions() for m in journal.read(session)]
    placed = collections.Counter(m.client_order_id for m in everything if isinstance(m, PlaceOrder))
    refs_to_ids: dict[str, set[int]] = collections.defaultdict(set)
    for request in gateway.orders_received:
        refs_to_ids[request.order_ref].add(request.order_id)
    assert set(refs_to_ids) <= set(placed), f"orders the restarted nodes never knew: {set(refs_to_ids) - set(placed)}"
    assert max(placed.values()) == 1, "a client order id was placed twice"
    assert all(len(ids) == 1 for ids in refs_to_ids.values()), f"an orderRef was sent twice: {refs_to_ids}"
    executed = gateway.filled_units()  # IB's word: combo units each order filled
    fills = [m for m in everything if isinstance(m, OrderFilled)]
    booked: collections.Counter[str] = collections.Counter()
    for fill in fills:
        booked[fill.client_order_id] += abs(fill.quantity)
    assert executed, "no order ever filled: the test exercised nothing"
    assert len({f.exec_id for f in fills}) == len(fills), "a fill was booked twice"
    assert dict(booked) == executed, "an execution was lost or booked twice"
    results = [m for m in everything if isinstance(m, ReconciliationResult)]
    assert results and all(r.ok for r in results), [r.mismatches for r in results if not r.ok]


def _synchronised(tmp_path: Path) -> bool:
    heartbeat = tmp_path / "heartbeat.json"
    return heartbeat.exists() and '"broker": "connected"' in heartbeat.read_text()
