"""The IB core's record of one order, what an IB error on it means, and how its end is worded from what IB said.

An IB error code on an order id never ends the order by itself: the code may be about a modification or a cancel
while the original order still works, and IB often sends no orderStatus at all for a refused order. The code is
kept as the order's `error`; the order ends only on IB's own orderStatus or on a complete open-orders answer that
does not list it — and then the error gives the verdict its code and text.
"""

from __future__ import annotations

from dataclasses import dataclass

from msgspec import UNSET, UnsetType

from actors.broker.ib.link import CANCEL_FAILED_CODES, ORDER_CANCELLED
from messages import (
    Alert,
    CancelRejected,
    IbError,
    IbPlaceOrder,
    Legs,
    Message,
    ModifyRefused,
    OrderCancelled,
    OrderRejected,
)
from messages.system import AlertLevel

ORDER_INACTIVE = 201
"""`OrderRejected.code` of an order IB reports Inactive without having named an error."""


@dataclass
class OrderError:
    code: int
    text: str

    def __str__(self) -> str:
        return f"IB {self.code}: {self.text}"


@dataclass
class IbOrder:
    client_order_id: str
    legs: Legs
    quantity: int
    limit_price: float
    order_id: int = 0
    submitted: bool = False
    """Handed to IB under `order_id`."""
    accepted: bool = False
    terminal: bool = False
    filled: int = 0
    """Signed combo units booked from executions."""
    ib_filled: float = 0.0
    """Units IB's order status counts as filled (executions should follow)."""
    cancel_requested: bool = False
    """A cancel is in flight."""
    cancel_sent: bool = False
    """A cancel was ever asked for: if IB no longer works the order, it ended as we asked."""
    cancel_held: bool = False
    modify_to: float | None = None
    """A modification in flight: the limit asked for, not yet confirmed by IB."""
    held_limit: float | None = None
    """A modification asked before IB acknowledged the order: sent once it has."""
    price_checked: int = 0
    """Units whose average price has been checked against IB's order status."""
    error: OrderError | None = None
    """IB's last error about the order, not yet confirmed or refuted by IB's own word on it."""
    ended_by: Message | None = None
    """A terminal verdict waiting for this order's fills to be booked first."""
    stock: str | UnsetType = UNSET
    """The symbol of a stock order (`legs` empty, `quantity` and fills in signed shares)."""

    @property
    def done(self) -> bool:
        return self.terminal or self.ended_by is not None

    def awaits_executions(self) -> bool:
        """IB counts more filled units than its executions delivered: the order's end waits for them."""
        return self.ib_filled > abs(self.filled)


def ib_request(order: IbOrder, limit_price: float, min_order_id: int, modify: bool = False) -> IbPlaceOrder:
    """What the session sends IB for the order (a combo or a stock order) at `limit_price`."""
    return IbPlaceOrder(client_order_id=order.client_order_id, legs=order.legs, quantity=order.quantity,
                        limit_price=limit_price, min_order_id=min_order_id, modify=modify, stock=order.stock)


def record_error(order: IbOrder, error: IbError, source: str) -> Message | None:
    """Keep IB's error on the order (while a modify is out, IB's first word stands) and say what it means now. An
    answer to our cancel is about the cancel, not the order: IB could not cancel it (a `CancelRejected`), or says it
    cancelled it (nothing yet: IB's status or open orders tell). Any other error is a warning. Never a verdict on the
    order: the core asks IB what became of it."""
    if order.cancel_requested and error.code in (*CANCEL_FAILED_CODES, ORDER_CANCELLED):
        if error.code not in CANCEL_FAILED_CODES:
            return None
        order.cancel_requested = False
        return CancelRejected(client_order_id=order.client_order_id, reason=f"IB {error.code}: {error.text}")
    if order.error is None or order.modify_to is None:
        order.error = OrderError(error.code, error.text)
    return Alert(level="warning", source=source, text=f"IB {error.code} on order {order.client_order_id}: {error.text}")


def still_working(order: IbOrder, source: str) -> tuple[Message, ...]:
    """IB lists the order as working: its last error was no verdict, and a modification still out with an error
    against it was refused. Returned for it: a warning, and `ModifyRefused` with the limit IB still works at."""
    refused: tuple[Message, ...] = ()
    if order.modify_to is not None and order.error is not None:
        error = order.error
        refused = (Alert(level="warning", source=source, text=f"IB refused the modify of {order.client_order_id} "
                         f"to {order.modify_to:.2f} ({error}): the order still works at {order.limit_price:.2f}"),
                   step_refused(order, order.modify_to, error.code, error.text))
        order.modify_to = None
    order.error = None
    return refused


def step_refused(order: IbOrder, limit_price: float, code: int, reason: str) -> ModifyRefused:
    """A modification to `limit_price` refused or never sent: the order works on at the limit IB last reported."""
    return ModifyRefused(client_order_id=order.client_order_id, limit_price=limit_price,
                         working_price=order.limit_price, code=code, reason=reason)


def ended_as_asked(order: IbOrder) -> bool:
    """Our cancel, not IB's refusal, ended it: it worked at IB, or IB never objected to it."""
    return order.cancel_sent and (order.accepted or order.error is None)


def refused(order: IbOrder) -> Message | None:
    """IB objected to an order that never filled: a reject with IB's code and text."""
    if order.error is None or order.filled:
        return None
    return OrderRejected(client_order_id=order.client_order_id, code=order.error.code, reason=order.error.text)


def not_working(order: IbOrder, context: str) -> Message:
    """The order is not working at IB (a complete open-orders answer does not list it) and IB reported no end."""
    cid, filled = order.client_order_id, order.filled
    if ended_as_asked(order):
        return OrderCancelled(client_order_id=cid, filled_quantity=filled,
                              reason=f"cancelled (no longer working at IB, {context})")
    rejection = refused(order)
    if rejection is not None:
        return rejection
    reason = str(order.error) if order.error is not None else f"not working at IB ({context})"
    return OrderCancelled(client_order_id=cid, filled_quantity=filled, reason=reason)


def inactive(order: IbOrder) -> Message:
    """IB reports the order Inactive: received but not working; the node treats it as refused."""
    if order.filled:
        return OrderCancelled(client_order_id=order.client_order_id, filled_quantity=order.filled,
                              reason=f"inactive at IB{f' ({order.error})' if order.error else ''}")
    return refused(order) or OrderRejected(client_order_id=order.client_order_id, code=ORDER_INACTIVE,
                                           reason="order inactive at IB")


def cancelled_by_ib(order: IbOrder, market_open: bool) -> tuple[Message, tuple[AlertLevel, str] | None]:
    """IB's orderStatus says Cancelled: the verdict, and the alert it deserves, if any."""
    cid, filled = order.client_order_id, order.filled
    confirmed = OrderCancelled(client_order_id=cid, filled_quantity=filled, reason="cancel confirmed")
    if ended_as_asked(order):
        return confirmed, None
    if not market_open:
        # a DAY order still working at the close: IB's system 202, not a refusal (the breaker must not count it)
        return (OrderCancelled(client_order_id=cid, filled_quantity=filled, reason="expired at the close (DAY order)"),
                ("info", f"order {cid} expired at the close with {filled} units filled"))
    rejection = refused(order)
    if rejection is not None:
        return rejection, None
    if order.cancel_sent:
        return confirmed, None
    detail = f" ({order.error})" if order.error is not None else ""
    return (OrderCancelled(client_order_id=cid, filled_quantity=filled, reason=f"cancelled by IB{detail}"),
            ("warning", f"order {cid} cancelled by IB without our cancel{detail}"))
