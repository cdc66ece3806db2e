"""Driving the IB broker core as IB would: its callbacks as messages, in a deterministic runtime (shared by the
IB core tests: `test_ib_core.py`, `test_ib_core_fills.py`)."""

from __future__ import annotations

import datetime as dt

from actors.broker.ib.config import IbSection
from actors.broker.ib.core import IbBrokerCore
from actors.runtime.clock import VirtualClock
from actors.runtime.deterministic import DeterministicRuntime
from messages import (
    IbCommission,
    IbConnected,
    IbExecution,
    IbOpenOrders,
    IbOrderStatus,
    IbOrderSubmitted,
    IbPlaceOrder,
    IbResync,
    Leg,
    OptionContract,
    PlaceOrder,
)

NOON = int(dt.datetime(2026, 3, 2, 17, 0, tzinfo=dt.UTC).timestamp() * 1e9)  # 12:00 New York
AFTER_CLOSE = int(dt.datetime(2026, 3, 2, 21, 0, 1, tzinfo=dt.UTC).timestamp() * 1e9)  # 16:00:01 New York
SECOND = 1_000_000_000
EXPIRY = dt.date(2026, 4, 10)
CONDOR = tuple(Leg(OptionContract("SPY", EXPIRY, k, r), q)
               for k, r, q in ((545.0, "P", 1), (550.0, "P", -1), (610.0, "C", -1), (615.0, "C", 1)))
LEG_PRICES = (1.00, 1.60, 1.70, 1.12)
"""Σ ratio × price = 1.00 - 1.60 - 1.70 + 1.12 = -1.18: the condor's net credit."""
READ_ONLY = "Error validating request.-'bN' : cause - The API interface is currently in Read-Only mode."


def seen(runtime: DeterministicRuntime, kind: type) -> list:
    """Every message of `kind` the runtime has carried so far."""
    return [m for m in runtime.history if isinstance(m, kind)]


def answer_resync(runtime: DeterministicRuntime, working: tuple[str, ...] = (), complete: bool = True) -> None:
    """IB answers the latest resync: which orders it still works."""
    request = seen(runtime, IbResync)[-1]
    runtime.inject(IbOpenOrders(sync_id=request.sync_id, judged=request.judge, working=working, complete=complete))


def connect(runtime: DeterministicRuntime, next_valid_id: int = 100, working: tuple[str, ...] = ()) -> None:
    runtime.inject(IbConnected(next_valid_id=next_valid_id, accounts=("DU123",), server_version=176))
    answer_resync(runtime, working)


def ib_core_runtime(start_ns: int = NOON, connected: bool = True, **ib) -> DeterministicRuntime:
    params = IbSection(**ib)
    runtime = DeterministicRuntime([lambda: IbBrokerCore(params)], VirtualClock(start_ns))
    runtime.start()
    if connected:
        connect(runtime)
    return runtime


def place(runtime: DeterministicRuntime, client_order_id: str = "IC-1-O1", quantity: int = 1,
           order_id: int | None = None) -> IbPlaceOrder | None:
    before = len(seen(runtime, IbPlaceOrder))
    runtime.inject(PlaceOrder(client_order_id=client_order_id, strategy_id="IC-1", purpose="open", legs=CONDOR,
                              quantity=quantity, limit_price=-1.20))
    sent = seen(runtime, IbPlaceOrder)
    if order_id is not None:
        runtime.inject(IbOrderSubmitted(client_order_id=client_order_id, order_id=order_id))
    return sent[-1] if len(sent) > before else None


def ib_status(client_order_id: str, status: str, filled: float = 0, avg: float = 0.0, limit: float = -1.2,
            order_id: int = 100) -> IbOrderStatus:
    return IbOrderStatus(client_order_id=client_order_id, order_id=order_id, perm_id=9100, status=status,
                         filled=filled, remaining=1 - filled, avg_fill_price=avg, limit_price=limit)


def combo_executions(client_order_id: str, order_id: int, units: int, serial: int, bag_price: float = -1.18,
                      direction: int = 1):
    """What IB sends for one combo fill: an execution per leg (own side, own positive price, a commission report
    each) and one for the BAG at the net price in the order's terms."""
    legs = [IbExecution(exec_id=f"0000e0d5.{serial:08x}.{i + 2:02d}.01", client_order_id=client_order_id,
                        order_id=order_id, perm_id=9000 + order_id, contract=leg.contract,
                        side="BOT" if leg.ratio * direction > 0 else "SLD", shares=float(units), price=price)
            for i, (leg, price) in enumerate(zip(CONDOR, LEG_PRICES))]
    bag = IbExecution(exec_id=f"0000e0d5.{serial:08x}.01.01", client_order_id=client_order_id, order_id=order_id,
                      perm_id=9000 + order_id, contract=None, side="BOT" if direction > 0 else "SLD",
                      shares=float(units), price=bag_price)
    commissions = [IbCommission(exec_id=leg.exec_id, commission_usd=0.65 * units) for leg in legs]
    return legs, bag, commissions
