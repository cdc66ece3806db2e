"""Execution core, one behaviour per test: fills booked once by execution id, the price walk, trading states,
cancel retries, restarts and the messages it publishes, field by field."""

from __future__ import annotations

import datetime as dt

import msgspec

from actors.execution.config import ExecutionSection
from actors.execution.core import ExecutionCore, order_number, round_to_tick
from actors.runtime.clock import VirtualClock
from actors.runtime.deterministic import DeterministicRuntime
from messages import (
    Alert,
    CancelAllOrders,
    CancelOrder,
    CancelRejected,
    CloseStrategy,
    IntentApproved,
    IntentDenied,
    Leg,
    ModifyOrder,
    NodeStopping,
    OpenStrategy,
    OptionContract,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OrderTerminated,
    PlaceOrder,
    TradingStateChanged,
)

NOW = int(dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC).timestamp() * 1e9)
SECOND = 1_000_000_000
CONDOR = tuple(Leg(OptionContract("SPY", dt.date(2026, 4, 10), k, r), q)
               for k, r, q in ((545.0, "P", 1), (550.0, "P", -1), (610.0, "C", -1), (615.0, "C", 1)))
PARAMS = ExecutionSection(step_interval_s=30, price_steps=2, deadline_s=120, cancel_retry_s=10)


def _open(quantity: int = 3, strategy_id: str = "IC-1", mid: float = -1.6, natural: float = -1.4) -> OpenStrategy:
    return OpenStrategy(strategy_id=strategy_id, kind="iron_condor", symbol="SPY", legs=CONDOR, quantity=quantity,
                        mid_price=mid, natural_price=natural, max_profit_usd=480, max_loss_usd=1020, reason="t")


def _close(strategy_id: str = "IC-1", quantity: int = -3) -> CloseStrategy:
    return CloseStrategy(strategy_id=strategy_id, symbol="SPY", legs=CONDOR, quantity=quantity, mid_price=-0.8,
                         natural_price=-1.0, rule="take_profit", reason="t")


def _runtime(params: ExecutionSection = PARAMS) -> DeterministicRuntime:
    runtime = DeterministicRuntime([lambda: ExecutionCore(params)], VirtualClock(NOW))
    runtime.start()
    return runtime


def _of(runtime, kind):
    return [m for m in runtime.history if isinstance(m, kind)]


def _placed(runtime, intent=None) -> PlaceOrder:
    runtime.inject(IntentApproved(ts=runtime.clock.now(), intent=intent or _open()))
    return _of(runtime, PlaceOrder)[-1]


def _fill(order_id: str, exec_id: str, quantity: int = 1, price: float = -1.55) -> OrderFilled:
    return OrderFilled(client_order_id=order_id, exec_id=exec_id, quantity=quantity, price=price, commission_usd=2.6)


# fills -------------------------------------------------------------------------------------------------------------
def test_one_fill_delivered_three_times_books_once_on_a_three_lot_order():
    runtime = _runtime()
    placed = _placed(runtime)
    for _ in range(3):
        runtime.inject(_fill(placed.client_order_id, "E1"))
    assert _of(runtime, OrderTerminated) == []  # 1 of 3 filled: still working, not "filled 3"
    runtime.inject(_fill(placed.client_order_id, "E2", 2, -1.52))
    done = _of(runtime, OrderTerminated)
    assert [(d.status, d.filled_quantity, d.avg_price) for d in done] == [("filled", 3, -1.53)]
