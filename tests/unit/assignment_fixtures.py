"""One iron condor on SPY expiring 2026-03-06, the instants around its expiry, and a position sync that opened it:
shared by the settlement tests (`test_assignment.py`, `test_early_assignment.py`)."""

from __future__ import annotations

import datetime as dt

from actors.position_sync.assignment import Holding
from actors.position_sync.core import PositionSyncCore
from actors.runtime.clock import VirtualClock
from actors.runtime.deterministic import DeterministicRuntime
from messages import (
    IntentApproved,
    Leg,
    OpenStrategy,
    OptionContract,
    OrderFilled,
    OrderTerminated,
    PlaceOrder,
    UnderlyingQuote,
)

EXPIRY = dt.date(2026, 3, 6)
SHORT_PUT = OptionContract("SPY", EXPIRY, 569.0, "P")
LONG_PUT = OptionContract("SPY", EXPIRY, 564.0, "P")
SHORT_CALL = OptionContract("SPY", EXPIRY, 590.0, "C")
LONG_CALL = OptionContract("SPY", EXPIRY, 595.0, "C")
CONDOR = (Leg(LONG_PUT, 1), Leg(SHORT_PUT, -1), Leg(SHORT_CALL, -1), Leg(LONG_CALL, 1))
BEFORE_EXPIRY = int(dt.datetime(2026, 3, 5, 15, 0, tzinfo=dt.UTC).timestamp() * 1e9)
AFTER_EXPIRY = int(dt.datetime(2026, 3, 9, 14, 30, tzinfo=dt.UTC).timestamp() * 1e9)
EXPIRY_MIDDAY = int(dt.datetime(2026, 3, 6, 16, 0, tzinfo=dt.UTC).timestamp() * 1e9)


def closing(value: float | None):
    """A closing price of `value` for any symbol and expiry (None: none known)."""
    return lambda symbol, expiry: value


def condor(strategy_id: str = "IC-1", quantity: int = 1) -> Holding:
    return Holding(strategy_id, "SPY", CONDOR, quantity)


def opened_condor(quantity: int = 1, now: int = EXPIRY_MIDDAY) -> DeterministicRuntime:
    runtime = DeterministicRuntime([PositionSyncCore], VirtualClock(now))
    runtime.start()
    runtime.inject(IntentApproved(intent=OpenStrategy(
        strategy_id="IC-1", kind="iron_condor", symbol="SPY", legs=CONDOR, quantity=quantity, mid_price=-1.2,
        natural_price=-1.1, max_profit_usd=120.0 * quantity, max_loss_usd=380.0 * quantity, reason="t")))
    runtime.inject(PlaceOrder(client_order_id="IC-1-O1", strategy_id="IC-1", purpose="open", legs=CONDOR,
                              quantity=quantity, limit_price=-1.2))
    runtime.inject(OrderFilled(client_order_id="IC-1-O1", exec_id="E1", quantity=quantity, price=-1.2,
                               commission_usd=2.6 * quantity))
    runtime.inject(OrderTerminated(client_order_id="IC-1-O1", strategy_id="IC-1", purpose="open", status="filled",
                                   filled_quantity=quantity, avg_price=-1.2))
    runtime.inject(UnderlyingQuote(symbol="SPY", bid=567.95, ask=568.05, last=568.0))  # the expiry's last price
    return runtime


def seen(runtime, kind):
    """Every message of `kind` the runtime has carried so far."""
    return [m for m in runtime.history if isinstance(m, kind)]
