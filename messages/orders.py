"""Orders: commands to the broker and the broker's answers.

Prices are signed net prices per unit of the structure, as `sum(leg.ratio * leg_price)`: an iron condor opened for
a 1.20 credit has price -1.20. Quantities are signed units of the structure: +1 buys it, -1 sells it. Cash flow of a
fill is therefore `-quantity * price * 100`, one formula for credit and debit trades alike.
"""

from __future__ import annotations

from msgspec import UNSET, UnsetType

from messages.base import Command, Event, Legs
from messages.enums import OrderOutcome, OrderPurpose


class PlaceOrder(Command, frozen=True, kw_only=True):
    """One combo (BAG) limit order for a whole strategy; `client_order_id` travels in the broker's order reference."""

    client_order_id: str
    strategy_id: str
    purpose: OrderPurpose
    legs: Legs
    quantity: int
    limit_price: float
    stock: str | UnsetType = UNSET
    """Set for a stock order (shares an assignment left): `quantity` signed shares of this symbol at `limit_price`
    per share, `legs` empty. Unset (and not encoded) for every option order."""


class ModifyOrder(Command, frozen=True, kw_only=True):
    client_order_id: str
    limit_price: float


class CancelOrder(Command, frozen=True, kw_only=True):
    client_order_id: str
    reason: str


class OrderAccepted(Event, frozen=True, kw_only=True):
    client_order_id: str
    broker_order_id: int


REJECT_NOT_SENT = 0
"""`OrderRejected.code` of an order that never reached the broker (link down, restart window): not a broker
failure, so the circuit breaker does not count it."""


class OrderRejected(Event, frozen=True, kw_only=True):
    """The broker refused the order (`code` is the broker's, e.g. IB 201), or it was never sent (`REJECT_NOT_SENT`)."""

    client_order_id: str
    code: int
    reason: str


class OrderModified(Event, frozen=True, kw_only=True):
    client_order_id: str
    limit_price: float


class ModifyRefused(Event, frozen=True, kw_only=True):
    """The broker refused a limit step (IB 201 "modification refused", 2102 "still being processed", or it was never
    sent: `REJECT_NOT_SENT`): the order keeps working, at `working_price`. Not an order's end."""

    client_order_id: str
    limit_price: float
    """The limit asked for, and refused."""
    working_price: float
    """The limit the order still works at, as the broker last reported it."""
    code: int
    reason: str


class OrderFilled(Event, frozen=True, kw_only=True):
    """An execution of `quantity` structure units at net `price`; unique by `exec_id` (re-deliveries are dropped)."""

    client_order_id: str
    exec_id: str
    quantity: int
    price: float
    commission_usd: float


class OrderCancelled(Event, frozen=True, kw_only=True):
    client_order_id: str
    filled_quantity: int
    reason: str


class CancelRejected(Event, frozen=True, kw_only=True):
    """A cancel that failed, e.g. because the order filled first."""

    client_order_id: str
    reason: str


class OrderTerminated(Event, frozen=True, kw_only=True):
    """Execution's verdict that an order is done (filled, cancelled or rejected) with what it filled in total."""

    client_order_id: str
    strategy_id: str
    purpose: OrderPurpose
    status: OrderOutcome
    filled_quantity: int
    avg_price: float


class CancelAllOrders(Command, frozen=True, kw_only=True):
    """Cancel every working order (graceful shutdown with `service.cancel_working_orders_on_stop`)."""

    reason: str
