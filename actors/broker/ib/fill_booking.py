"""The IB broker core's fills: IB's executions of the node's orders booked as `OrderFilled`, and an order's end
reported only once every fill before it is booked.

A combo fill is booked from its leg executions whichever order IB's callbacks arrive in (`fills.py`), once their
commission reports are in, or without the missing ones after `ib.commission_wait_s` (with a warning); it is checked
against the BAG execution and against the order status's average price, and a disagreement is a critical alert, never
trusted. An execution IB reports without our order reference is matched to the order by its id; one of no order of
ours is flagged once, however often IB replays the day's executions; a correction is never booked again.

The orders themselves stay the core's: each call is handed the order book, never keeps it.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from actors.broker.ib.config import IbSection
from actors.broker.ib.fills import BookedFill, ComboFills
from actors.broker.ib.orders import IbOrder
from actors.market_time import NS_PER_S
from actors.runtime.core import Context
from messages import Alert, IbExecution, IbOrderStatus, Message, OrderCancelled, OrderFilled, PlaceOrder, TimerKey
from messages.system import AlertLevel

PRICE_EPSILON = 1e-9
AVERAGE_PRICE_TOLERANCE = 0.005

Orders = Mapping[str, IbOrder]


class FillBooking:
    def __init__(self, params: IbSection, source: str) -> None:
        self._params = params
        self._source = source
        self._fills = ComboFills()
        self._foreign_executions: set[str] = set()

    def open(self, place: PlaceOrder) -> None:
        self._fills.open(place.client_order_id, place.legs, place.quantity, place.stock)

    def pending(self, client_order_id: str) -> bool:
        """Executions of the order wait to be booked."""
        return self._fills.pending(client_order_id)

    def on_start(self, orders: Orders, ctx: Context) -> None:
        """Fills a restarted core still waits on commissions for are booked at once: their reports may never come."""
        for order in orders.values():
            if not order.terminal and self._fills.pending(order.client_order_id):
                ctx.set_timer(TimerKey.IB_COMMISSION.of(order.client_order_id), ctx.now())

    # what IB reports ---------------------------------------------------------------------------------------------
    def on_execution(self, execution: IbExecution, client_order_id: str, orders: Orders, ctx: Context) -> None:
        order = orders.get(client_order_id)
        if order is None:
            if execution.exec_id not in self._foreign_executions:  # IB replays it at every connect and sweep
                self._foreign_executions.add(execution.exec_id)
                self._alert(ctx, "critical", f"IB execution {execution.exec_id} of order {execution.order_id} ref "
                            f"{execution.client_order_id!r} is not ours: check the account")
            return
        execution = execution if execution.client_order_id else _with_ref(execution, client_order_id)
        outcome = self._fills.add(execution)
        if outcome == "correction":
            self._alert(ctx, "warning", f"IB corrected execution {execution.exec_id} of {client_order_id}: "
                        f"not re-booked")
        elif outcome == "unexpected":
            self._alert(ctx, "critical", f"IB execution {execution.exec_id} of {client_order_id} ({execution.side} "
                        f"{execution.shares:g} {execution.contract}) is not a leg of the order as sent: not booked; "
                        f"check the account")
        elif outcome == "completed":
            ctx.set_timer(TimerKey.IB_COMMISSION.of(client_order_id),
                          ctx.now() + int(self._params.commission_wait_s * NS_PER_S))
        if outcome in ("new", "completed"):
            mismatch = self._fills.bag_mismatch(client_order_id)
            if mismatch is not None:
                self._alert(ctx, "critical", f"{mismatch}: booked from the legs; check the account")
            self._book_ready(orders, ctx)

    def on_commission(self, exec_id: str, commission_usd: float, orders: Orders, ctx: Context) -> None:
        if self._fills.commission(exec_id, commission_usd):
            self._book_ready(orders, ctx)

    def check_average_price(self, order: IbOrder, status: IbOrderStatus, ctx: Context) -> None:
        units, price = self._fills.filled(order.client_order_id)
        if units <= order.price_checked or abs(status.filled - units) > PRICE_EPSILON or not status.avg_fill_price:
            return
        order.price_checked = units
        if abs(status.avg_fill_price - price) > AVERAGE_PRICE_TOLERANCE:
            self._alert(ctx, "critical", f"IB's average fill price of {order.client_order_id} "
                        f"({status.avg_fill_price:.4f}) differs from its legs' executions ({price:.4f}): booked from "
                        f"the legs; check the account")

    def force(self, client_order_id: str, orders: Orders, ctx: Context) -> None:
        """The order's commission reports did not all come in time: its fills are booked without them."""
        self._book_ready(orders, ctx)
        for exec_id in self._fills.pending_exec_ids(client_order_id):
            fill = self._fills.force(exec_id)
            if fill is not None:
                self._alert(ctx, "warning", f"fill {fill.exec_id} of {client_order_id} booked without commission "
                            f"reports for {', '.join(fill.missing_commissions)}")
                self._book(orders[fill.client_order_id], fill, ctx)

    # booking -----------------------------------------------------------------------------------------------------
    def end(self, order: IbOrder, verdict: Message, ctx: Context) -> None:
        """Report an order's end after every fill that precedes it has been booked."""
        if self._fills.pending(order.client_order_id):
            order.ended_by = verdict
            return
        if isinstance(verdict, OrderCancelled) and verdict.filled_quantity != order.filled:
            verdict = msgspec.structs.replace(verdict, filled_quantity=order.filled)
        order.terminal, order.ended_by = True, None
        ctx.publish(verdict)

    def _book_ready(self, orders: Orders, ctx: Context) -> None:
        for fill in self._fills.ready():
            self._book(orders[fill.client_order_id], fill, ctx)

    def _book(self, order: IbOrder, fill: BookedFill, ctx: Context) -> None:
        order.filled += fill.quantity
        ctx.publish(OrderFilled(client_order_id=fill.client_order_id, exec_id=fill.exec_id, quantity=fill.quantity,
                                price=fill.price, commission_usd=fill.commission_usd))
        if not self._fills.pending(order.client_order_id):
            ctx.cancel_timer(TimerKey.IB_COMMISSION.of(order.client_order_id))
            if order.filled == order.quantity:
                order.terminal = True
            elif order.ended_by is not None:
                self.end(order, order.ended_by, ctx)

    def _alert(self, ctx: Context, level: AlertLevel, text: str) -> None:
        ctx.publish(Alert(level=level, source=self._source, text=text))


def _with_ref(execution: IbExecution, client_order_id: str) -> IbExecution:
    """An execution IB reported without our order reference, matched to the order by its id."""
    return msgspec.structs.replace(execution, client_order_id=client_order_id)
