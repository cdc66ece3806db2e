"""Combo fills from IB's executions: booked from the legs, cross-checked against the BAG. Pure bookkeeping.

IB reports a fill of a combo (BAG) order as one execution per leg — the leg's own contract, side and (positive)
price; a leg of several contracts sometimes in several executions — and usually one execution for the BAG itself
at the net price in the order's own terms. The legs are what the account holds, so the booking comes from them: a
unit of the structure is filled once every leg has executed its ratio, and units are booked at the net price
Σ ratio × leg price (each leg signed as in the structure as bought, the node's price convention). A booking waits
for the commission reports of the leg executions it covers (IB sends them separately, in any order, sometimes
first with its unset value); the caller forces it without the missing ones after a grace period. The BAG
execution never books anything: it and the order status's average price are cross-checked against the legs, so a
fill is booked even when IB sends no BAG execution, and a disagreement is reported instead of trusted.

A stock order (shares an assignment left) has no legs: each of its STK executions is one fill of signed shares at
its own price per share, booked once its commission report arrived, like a leg.

Executions are unique by id, so the day's executions IB replays on every reconnect are recognised and never booked
twice; a correction (the same id but for the field after the last period) is not booked again either.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

from msgspec import UNSET, UnsetType

from messages import IbExecution, Legs, OptionContract

SHARE_EPSILON = 1e-9
PRICE_TOLERANCE = 0.005
"""Per unit of the structure: leg prices are in cents, so any larger gap is a real disagreement."""
UNSET_COMMISSION = 1e300
"""IB's unset double (1.7976931348623157e308) in a commission report means "not known yet"."""

Outcome = Literal["new", "completed", "duplicate", "correction", "unexpected"]


def execution_identity(exec_id: str) -> str:
    """IB marks a correction by changing only the digits after the final period of the execution id."""
    base, dot, _ = exec_id.rpartition(".")
    return base if dot and base else exec_id


def usable_commission(usd: float) -> bool:
    return math.isfinite(usd) and abs(usd) < UNSET_COMMISSION


@dataclass
class _LegExecution:
    exec_id: str
    shares: float
    price: float
    unclaimed: float


@dataclass
class _PendingFill:
    client_order_id: str
    exec_id: str
    quantity: int
    price: float
    claims: list[tuple[str, float]]
    """(leg execution id, fraction of that execution's shares) covered by this fill."""


@dataclass
class _OrderExecutions:
    legs: Legs
    direction: int
    """+1: the order buys the structure as its legs define it; -1: it sells it."""
    queues: dict[OptionContract, deque[_LegExecution]] = field(default_factory=dict)
    units: int = 0
    value: float = 0.0
    """Completed units and Σ units × net price: what the legs say was filled."""
    bag_units: float = 0.0
    bag_value: float = 0.0
    """What IB's BAG executions say was filled."""
    mismatch_reported: bool = False
    stock: str | UnsetType = UNSET
    """The symbol of a stock order: no legs, shares instead of units."""


@dataclass
class BookedFill:
    """A combo fill ready to be reported: signed combo units at the net price, with the commissions known."""

    client_order_id: str
    exec_id: str
    quantity: int
    price: float
    commission_usd: float
    missing_commissions: tuple[str, ...] = ()


class ComboFills:
    def __init__(self) -> None:
        self._seen: set[str] = set()
        self._orders: dict[str, _OrderExecutions] = {}
        self._commission: dict[str, float] = {}
        self._pending: dict[str, _PendingFill] = {}

    def open(self, client_order_id: str, legs: Legs, quantity: int, stock: str | UnsetType = UNSET) -> None:
        """An order whose executions may follow: its legs (as bought) and direction, or the symbol of a stock order."""
        self._orders[client_order_id] = _OrderExecutions(legs, 1 if quantity > 0 else -1,
                                                         {leg.contract: deque() for leg in legs}, stock=stock)

    def add(self, execution: IbExecution) -> Outcome:
        """Record one execution of an opened order: "completed" when it completes units of the structure, "new"
        otherwise, "unexpected" for a leg the order does not have or a side it never trades."""
        identity = execution_identity(execution.exec_id)
        if execution.exec_id in self._seen:
            return "duplicate"
        if identity in self._seen:
            self._seen.add(execution.exec_id)
            return "correction"
        self._seen |= {execution.exec_id, identity}
        order = self._orders[execution.client_order_id]
        if order.stock is not UNSET or execution.stock is not UNSET:
            return self._add_stock(order, execution)
        if execution.contract is None:
            order.bag_units += execution.shares
            order.bag_value += execution.shares * execution.price
            return "new"
        leg = next((leg for leg in order.legs if leg.contract == execution.contract), None)
        expected_side = "BOT" if leg is not None and leg.ratio * order.direction > 0 else "SLD"
        if leg is None or execution.side != expected_side:
            return "unexpected"
        order.queues[execution.contract].append(
            _LegExecution(execution.exec_id, execution.shares, execution.price, execution.shares))
        return "completed" if self._complete_units(execution.client_order_id, order, execution.exec_id) else "new"

    def commission(self, exec_id: str, usd: float) -> bool:
        """Record a commission report; False when it carries no usable value (IB's unset marker)."""
        if not usable_commission(usd):
            return False
        self._commission[exec_id] = usd
        return True

    def pending(self, client_order_id: str) -> bool:
        return bool(self.pending_exec_ids(client_order_id))

    def pending_exec_ids(self, client_order_id: str) -> list[str]:
        return [exec_id for exec_id, fill in self._pending.items() if fill.client_order_id == client_order_id]

    def ready(self) -> list[BookedFill]:
        """Every pending fill whose leg executions all reported their commissions, in completion order."""
        done = [exec_id for exec_id, fill in self._pending.items()
                if all(leg in self._commission for leg, _ in fill.claims)]
        return [self._book(exec_id) for exec_id in done]

    def force(self, exec_id: str) -> BookedFill | None:
        """Book a pending fill now, with whatever commissions arrived (the grace period is over)."""
        return self._book(exec_id) if exec_id in self._pending else None

    def filled(self, client_order_id: str) -> tuple[int, float]:
        """Units the legs completed and their average net price."""
        order = self._orders.get(client_order_id)
        if order is None or not order.units:
            return 0, 0.0
        return order.units, order.value / order.units

    def bag_mismatch(self, client_order_id: str) -> str | None:
        """Once per order: how IB's BAG executions disagree with the legs, when they cover the same units."""
        order = self._orders[client_order_id]
        if order.mismatch_reported or not order.units or abs(order.bag_units - order.units) > SHARE_EPSILON:
            return None
        legs_price, bag_price = order.value / order.units, order.bag_value / order.bag_units
        if abs(legs_price - bag_price) <= PRICE_TOLERANCE:
            return None
        order.mismatch_reported = True
        return (f"the BAG executions of {client_order_id} report {order.bag_units:g} units at {bag_price:.4f} but "
                f"its legs executed at {legs_price:.4f}")

    # internals ---------------------------------------------------------------------------------------------------
    def _add_stock(self, order: _OrderExecutions, execution: IbExecution) -> Outcome:
        """A stock order's execution is a fill of its own: signed shares at the execution's price."""
        if execution.stock != order.stock or execution.side != ("BOT" if order.direction > 0 else "SLD"):
            return "unexpected"
        shares = round(execution.shares)
        order.units += shares
        order.value += shares * execution.price
        self._pending[execution.exec_id] = _PendingFill(execution.client_order_id, execution.exec_id,
                                                        shares * order.direction, execution.price,
                                                        [(execution.exec_id, 1.0)])
        return "completed"

    def _complete_units(self, client_order_id: str, order: _OrderExecutions, exec_id: str) -> bool:
        available = min(sum(e.unclaimed for e in order.queues[leg.contract]) / abs(leg.ratio) for leg in order.legs)
        units = math.floor(available + SHARE_EPSILON)
        if units < 1:
            return False
        claims: list[tuple[str, float]] = []
        price = 0.0
        for leg in order.legs:
            need, value, queue = units * abs(leg.ratio), 0.0, order.queues[leg.contract]
            while need > SHARE_EPSILON:
                head = queue[0]
                taken = min(need, head.unclaimed)
                head.unclaimed -= taken
                need -= taken
                value += taken * head.price
                claims.append((head.exec_id, taken / head.shares))
                if head.unclaimed <= SHARE_EPSILON:
                    queue.popleft()
            price += leg.ratio * value / (units * abs(leg.ratio))
        price = round(price, 4)
        order.units += units
        order.value += units * price
        self._pending[exec_id] = _PendingFill(client_order_id, exec_id, units * order.direction, price, claims)
        return True

    def _book(self, exec_id: str) -> BookedFill:
        fill = self._pending.pop(exec_id)
        known = [(leg, fraction) for leg, fraction in fill.claims if leg in self._commission]
        missing = tuple(dict.fromkeys(leg for leg, _ in fill.claims if leg not in self._commission))
        return BookedFill(
            client_order_id=fill.client_order_id,
            exec_id=fill.exec_id,
            quantity=fill.quantity,
            price=fill.price,
            commission_usd=round(sum(self._commission[leg] * fraction for leg, fraction in known), 2),
            missing_commissions=missing,
        )
