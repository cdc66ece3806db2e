"""What the test gateway keeps of an order: IB's book entry for it, its executions, and the price check a limit
passes (the combo desk, `order_desk.py`, and the stock desk, `stock_desk.py`, share them)."""

from __future__ import annotations

from dataclasses import dataclass

from messages import Leg
from tests.ib import wire

WORKING = ("PreSubmitted", "Submitted", "PendingCancel")
EXEC_ID_PREFIX = 0x0000E0D5
PRICE_EPSILON = 1e-9


@dataclass
class GatewayOrder:
    order_id: int
    client_id: int
    perm_id: int
    request: wire.PlaceOrder
    legs: tuple[Leg, ...]
    """Signed per unit of the structure as bought: a SELL order sells this structure."""
    direction: int
    units: int
    limit: float
    status: str = "PreSubmitted"
    held: bool = False
    """Held PreSubmitted at IB until modified (`Faults.held_at_ib`)."""
    filled: int = 0
    fill_value: float = 0.0
    completed_time: str = ""

    def wire_order(self) -> wire.WireOrder:
        r = self.request
        return wire.WireOrder(order_id=self.order_id, client_id=self.client_id, perm_id=self.perm_id,
                              contract=r.contract, action=r.action, total_quantity=r.total_quantity,
                              order_type=r.order_type, lmt_price=self.limit, tif=r.tif, account=r.account,
                              order_ref=r.order_ref, filled_quantity=float(self.filled))


@dataclass
class Execution:
    order: GatewayOrder
    exec_id: str
    contract: wire.WireContract
    side: str
    shares: float
    price: float
    time: str
    cum_qty: float
    commission: float


def on_increment(price: float, increment: float) -> bool:
    steps = round(price / increment)
    return abs(steps * increment - price) < PRICE_EPSILON
