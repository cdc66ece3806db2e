"""The whole node against the test gateway when IB assigns a short put early (`exits.assignment_policy = "flatten"`):
position sync recognises the settlement from IB's positions (the option row at 0, a STK row), the decision closes the
other legs and then sells the shares with a stock order at IB, and the strategy ends flat with the shares' P&L booked
against it — no halt, no fill booked twice, never two working orders for the strategy; and a node killed the instant
IB receives the stock order knows it after its restart (write-ahead)."""

from __future__ import annotations

import collections
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from actors.node import core_factories
from messages import (
    AssignedStockClosed,
    BrokerPositionsSnapshot,
    OrderFilled,
    PlaceOrder,
    ReconciliationResult,
    StrategyClosed,
    StrategyOpened,
    StrategySettled,
)
from storage.journal import DeltaJournal
from tests.ib.gateway import TestGateway
from tests.ib.harness import MARKET_TIME, InProcessNode, ib_config, new_gateway, write_node_toml
from tests.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.timeout(180)
ONE_CONDOR = {
    "ib": {"chain_strike_range_pct": 0.07},
    "entry": {"evaluate_interval_s": 1.0, "vix_max": 19.0},
    "execution": {"step_interval_s": 1.0, "deadline_s": 20.0},
    "risk": {"max_positions_per_symbol": 1},
}


@pytest.mark.parametrize(("condors", "assigned"), [(1, 1), (2, 1)], ids=["whole", "one-of-two"])
def test_an_early_assigned_short_put_is_flattened_at_ib_and_the_strategy_ends_flat(condors: int, assigned: int):
    """`one-of-two`: OCC assigns one of the two short puts: what is left (+2/-1 puts, -2/+2 calls) closes as one ratio
    combo at IB, the 100 shares are sold, no reconciliation ever fails."""
    gateway = new_gateway()
    try:
        config = ib_config(gateway, **{**ONE_CONDOR, "entry": {**ONE_CONDOR["entry"], "quantity": condors},
                                       "risk": {**ONE_CONDOR["risk"], "max_daily_loss_usd": 10_000.0}})
        start_ns = int(MARKET_TIME.timestamp() * 1e9)
        with InProcessNode(config, core_factories(config, "test", None, start_ns)) as node:
            opened = node.probe.wait(StrategyOpened, timeout=90)
            wait_for(lambda: len(gateway.positions()) == 4, 60, "the condor's fill at IB")
            gateway.set_vix(20.0)  # above entry.vix_max: no second condor once this one is gone; no exit rule fires
            short_put = next(leg.contract for leg in opened.legs if leg.ratio < 0 and leg.contract.right == "P")
            gateway.settle(short_put, exercised=True, contracts=assigned)  # early: 100 SPY a contract, overnight
            settled = node.probe.wait(StrategySettled, timeout=30)
            closed = node.probe.wait(StrategyClosed, timeout=90)  # its legs: the shares follow
            closed_stock = node.probe.wait(AssignedStockClosed, timeout=90)
            wait_for(lambda: not gateway.positions() and gateway.stock_position("SPY")[0] == 0, 30, "a flat account")
            node.probe.wait(BrokerPositionsSnapshot, lambda m: not m.positions and not m.stock_positions)
            node.probe.wait(ReconciliationResult, lambda r: r.ok and r.ts > closed_stock.ts)
            node.runtime.work.wait_idle(timeout=5)
            everything = list(node.probe.messages)
    finally:
        gateway.stop()

    placed = [m for m in everything if isinstance(m, PlaceOrder)]
    stock_orders = [p for p in placed if p.stock == "SPY"]
    assert [(p.quantity, p.legs) for p in stock_orders] == [(-100 * assigned, ())], "the shares sold once, by one order"
    stock_fills = [m for m in everything if isinstance(m, OrderFilled) and m.client_order_id ==
                   stock_orders[0].client_order_id]
    fills = [m for m in everything if isinstance(m, OrderFilled)]
    assert len({f.exec_id for f in fills}) == len(fills), "a fill was booked twice"
    assert gateway.desk.most_working_per_strategy == 1, "IB worked two orders of the strategy at once"
    assert [(leg.contract, leg.outcome, leg.shares) for leg in settled.settled] == [
        (short_put, "assigned", 100 * assigned)]
    closes = [p for p in placed if p.purpose == "close" and p.legs]
    closing = {leg.contract: -leg.ratio * condors - (assigned if leg.contract == short_put else 0) for leg in opened.legs}
    assert [{leg.contract: leg.ratio * p.quantity for leg in p.legs} for p in closes] == [
        {contract: quantity for contract, quantity in closing.items() if quantity}], "what was left, closed at once"
    # the shares' P&L: sold at IB's bid against the strike they were delivered at, less IB's $1 stock commission
    [sold] = stock_fills
    assert (closed_stock.closed_quantity, closed_stock.remaining_quantity, closed_stock.exit_price) == (
        -100 * assigned, 0, sold.price)
    assert sold.price == gateway.stock_quote("SPY").bid and sold.commission_usd == 1.0
    assert closed_stock.realized_pnl_usd == pytest.approx(
        round((sold.price - short_put.strike) * 100 * assigned - 1.0, 2))
    assert closed.strategy_id == opened.strategy_id == closed_stock.strategy_id
    results = [m for m in everything if isinstance(m, ReconciliationResult)]
    assert all(r.ok for r in results), [r.mismatches for r in results if not r.ok]


def _config(tmp_path: Path, gateway: TestGateway) -> Path:
    return write_node_toml(
        tmp_path, gateway.port,
        ib={"chain_strike_range_pct": 0.07, "positions_settle_s": 0.3, "reconnect_initial_s": 0.2},
        entry={"evaluate_interval_s": 1.0, "vix_max": 19.0}, risk={"max_positions_per_symbol": 1},
        execution={"step_interval_s": 1.0, "deadline_s": 20.0}, persistence={"flush_interval_ms": 600000},
        service={"client_id": 12})


def test_a_node_killed_as_ib_receives_its_stock_order_knows_the_order_after_restart_and_books_it_once(tmp_path):
    """The stock order is written ahead like any order: killed the instant the gateway holds it (the node heard
    nothing back and committed nothing), the restarted node finds it by its orderRef, never sends the shares' order
    twice, and books the shares' sale once."""
    gateway = new_gateway()
    config, log = _config(tmp_path, gateway), tmp_path / "node.log"
    tail = lambda: f"; node log tail:\n{log.read_text()[-3000:]}"  # noqa: E731
    killed = threading.Event()
    first = second = None
    try:
        first = _start(config, log)
        wait_for(lambda: len(gateway.positions()) == 4, 90, "the condor's fill at IB", tail)
        gateway.set_vix(20.0)
        victim = first

        def kill_on_stock_order(request: object) -> None:
            if request.contract.sec_type == "STK" and not killed.is_set():  # type: ignore[attr-defined]
                victim.kill()
                killed.set()

        gateway.on_place = kill_on_stock_order
        short_put = next(c for c, q in gateway.positions().items() if q < 0 and c.right == "P")
        gateway.settle(short_put, exercised=True)
        wait_for(killed.is_set, 90, "the stock order at IB", tail)
        first.wait(timeout=15)
        gateway.on_place = None
        second = _start(config, log)
        wait_for(lambda: not gateway.positions() and gateway.stock_position("SPY")[0] == 0, 120,
                 "a flat account after the restart", tail)
        second.send_signal(signal.SIGTERM)
        code = second.wait(timeout=60)
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)  # its journal committed: what it did stays readable
                process.wait(timeout=60)
        gateway.stop()
    assert code in (0, 3), tail()

    journal = DeltaJournal(str(tmp_path / "lake"))
    everything = [m for session in journal.sessions() for m in journal.read(session)]
    placed = collections.Counter(m.client_order_id for m in everything if isinstance(m, PlaceOrder))
    stock_refs = {r.order_ref for r in gateway.orders_received if r.contract.sec_type == "STK"}
    assert stock_refs and stock_refs <= set(placed), "a stock order the restarted node never knew"
    assert max(placed.values()) == 1, "a client order id was placed twice"
    fills = [m for m in everything if isinstance(m, OrderFilled)]
    assert len({f.exec_id for f in fills}) == len(fills), "a fill was booked twice"
    shares_sold = [m for m in everything if isinstance(m, AssignedStockClosed)]
    assert sum(m.closed_quantity for m in shares_sold) == -100 and shares_sold[-1].remaining_quantity == 0
    assert gateway.desk.most_working_per_strategy == 1
    results = [m for m in everything if isinstance(m, ReconciliationResult)]
    assert results and all(r.ok for r in results), [r.mismatches for r in results if not r.ok]


def _start(config: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "actors.cli", "--log-level", "INFO", "run", "--config",
                             str(config)], cwd=REPO, stdout=log.open("ab"), stderr=subprocess.STDOUT)
