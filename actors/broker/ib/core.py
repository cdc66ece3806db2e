"""IB broker core: the node's order commands against IB's order protocol, decided from messages alone.

It owns the policy, the session shell owns the socket: order ids are never reused (a floor above every id seen,
re-seeded by nextValidId on every connect and rebuilt from the journal after a restart); orders go out only while
the link is healthy and outside the daily gateway restart; cancels issued while the link is down are held and
sent once it is back; 1100 leaves working orders in flight (outcome unknown) while 1101/1102 trigger a resync;
data-farm notices are data only; combo fills are booked once from IB's executions, whichever order the callbacks
arrive in; IB's rejects (201, or 202 without our cancel) reach execution and so the circuit breaker.
"""

from __future__ import annotations

from dataclasses import dataclass

from actors.broker.ib.fills import BookedFill, ComboFills
from actors.broker.ib.link import (
    CANCEL_FAILED_CODES,
    DUPLICATE_ORDER_ID,
    ORDER_CANCELLED,
    ORDER_REJECTED,
    Notice,
    classify,
    restart_window,
)
from actors.runtime.core import ActorCore, Context
from messages import (
    REJECT_NOT_SENT,
    Alert,
    BrokerConnectionChanged,
    CancelOrder,
    CancelRejected,
    IbCancelOrder,
    IbCommission,
    IbConnected,
    IbDisconnected,
    IbError,
    IbExecution,
    IbOrderNotSent,
    IbOrderStatus,
    IbOrderSubmitted,
    IbPlaceOrder,
    IbResync,
    Legs,
    Message,
    ModifyOrder,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderModified,
    OrderRejected,
    PlaceOrder,
    TimerFired,
)
from messages.config import IbSection

NS_PER_S = 1_000_000_000
RESTART_TIMER = "restart_window"
COMMISSION_TIMER = "commission:"
FILL_CHECK_TIMER = "fill_check:"
WORKING_STATUSES = frozenset({"PreSubmitted", "Submitted"})
CANCELLED_STATUSES = frozenset({"Cancelled", "ApiCancelled"})


@dataclass
class IbOrder:
    client_order_id: str
    legs: Legs
    quantity: int
    limit_price: float
    order_id: int = 0
    submitted: bool = False
    accepted: bool = False
    terminal: bool = False
    filled: int = 0
    ib_filled: float = 0.0
    cancel_requested: bool = False
    cancel_held: bool = False
    ended_by: Message | None = None
    """A terminal verdict waiting for this order's fills to be booked first."""


class IbBrokerCore(ActorCore):
    name = "broker"
    subscriptions = (
        PlaceOrder,
        ModifyOrder,
        CancelOrder,
        TimerFired,
        IbConnected,
        IbDisconnected,
        IbError,
        IbOrderSubmitted,
        IbOrderNotSent,
        IbOrderStatus,
        IbExecution,
        IbCommission,
    )

    def __init__(self, params: IbSection) -> None:
        self._params = params
        self._orders: dict[str, IbOrder] = {}
        self._by_order_id: dict[int, str] = {}
        self._order_id_floor = 1
        self._fills = ComboFills()
        self._link = "disconnected"
        self._in_restart_window = False
        self._published_state = ""
        self._broken_farms: set[str] = set()
        self._foreign_executions: set[str] = set()

    # lifecycle -------------------------------------------------------------------------------------------------
    def on_start(self, ctx: Context) -> None:
        # A (re)started core runs in a new process or actor: the link starts down whatever the journal said.
        self._link = "disconnected"
        self._published_state = ""
        self._arm_restart_window(ctx)
        self._publish_state("connecting to IB", ctx)
        for order in self._orders.values():
            if not order.terminal and self._fills.pending(order.client_order_id):
                ctx.set_timer(COMMISSION_TIMER + order.client_order_id, ctx.now())

    def handle(self, message: Message, ctx: Context) -> None:
        match message:
            case PlaceOrder():
                self._on_place(message, ctx)
            case ModifyOrder():
                self._on_modify(message, ctx)
            case CancelOrder():
                self._on_cancel(message, ctx)
            case IbConnected():
                self._on_connected(message, ctx)
            case IbDisconnected():
                if self._link != "disconnected":
                    self._link = "disconnected"
                    ctx.publish(Alert(level="warning", source=self.name,
                                      text=f"IB link lost ({message.reason}): reconnecting; no new orders"))
                self._publish_state(message.reason, ctx)
            case IbError():
                self._on_error(message, ctx)
            case IbOrderSubmitted():
                order = self._orders.get(message.client_order_id)
                self._note_order_id(message.order_id)
                if order is not None:
                    order.order_id, order.submitted = message.order_id, True
                    self._by_order_id[message.order_id] = order.client_order_id
            case IbOrderNotSent():
                order = self._orders.get(message.client_order_id)
                if order is not None and not order.terminal:
                    self._end(order, OrderRejected(client_order_id=order.client_order_id, code=REJECT_NOT_SENT,
                                                   reason=f"not sent to IB: {message.reason}"), ctx)
            case IbOrderStatus():
                self._on_status(message, ctx)
            case IbExecution():
                self._on_execution(message, ctx)
            case IbCommission():
                self._fills.commission(message.exec_id, message.commission_usd)
                self._book_ready(ctx)
            case TimerFired(key=key) if key == RESTART_TIMER:
                self._arm_restart_window(ctx)
                self._publish_state("daily gateway restart window", ctx)
            case TimerFired(key=key) if key.startswith(COMMISSION_TIMER):
                self._force_fills(key.removeprefix(COMMISSION_TIMER), ctx)
            case TimerFired(key=key) if key.startswith(FILL_CHECK_TIMER):
                self._check_fills(self._orders[key.removeprefix(FILL_CHECK_TIMER)], ctx)

    # link state --------------------------------------------------------------------------------------------------
    def _state(self) -> str:
        if self._link == "connected" and self._in_restart_window:
            return "degraded"
        return self._link

    def _publish_state(self, reason: str, ctx: Context) -> None:
        state = self._state()
        if state == self._published_state:
            return
        self._published_state = state
        if state == "degraded" and self._in_restart_window and self._link == "connected":
            reason = "daily gateway restart window: no new orders"
        ctx.publish(BrokerConnectionChanged(state=state, reason=reason))

    def _arm_restart_window(self, ctx: Context) -> None:
        restart = self._params.restart_time()
        if restart is None:
            return
        self._in_restart_window, change_ns = restart_window(
            ctx.now(), restart, self._params.restart_pause_before_min, self._params.restart_pause_after_min)
        ctx.set_timer(RESTART_TIMER, change_ns)

    def _on_connected(self, connected: IbConnected, ctx: Context) -> None:
        self._note_order_id(connected.next_valid_id - 1)
        self._link = "connected"
        self._publish_state(f"connected (server version {connected.server_version}, "
                            f"accounts {', '.join(connected.accounts)})", ctx)
        still_working = set(connected.open_order_refs)
        for order in list(self._orders.values()):
            if order.terminal or order.client_order_id in still_working or order.ended_by is not None:
                continue
            if self._fills.pending(order.client_order_id):
                continue  # its fills are being booked; a terminal status follows from the executions
            # IB does not work it and never reported it done: it never arrived, or died with the old session.
            self._end(order, OrderCancelled(client_order_id=order.client_order_id, filled_quantity=order.filled,
                                            reason="not working at IB after reconnect"), ctx)
        self._send_held_cancels(ctx)

    def _send_held_cancels(self, ctx: Context) -> None:
        for order in self._orders.values():
            if order.cancel_held and not order.terminal:
                order.cancel_held = False
                ctx.publish(IbCancelOrder(client_order_id=order.client_order_id, order_id=order.order_id))

    def _on_error(self, error: IbError, ctx: Context) -> None:
        client_order_id = self._by_order_id.get(error.req_id)
        if client_order_id is not None:
            self._on_order_error(self._orders[client_order_id], error, ctx)
            return
        notice = classify(error.code)
        match notice:
            case Notice.LINK_LOST:
                if self._link == "connected":
                    self._link = "degraded"
                    ctx.publish(Alert(level="critical", source=self.name,
                                      text=f"IB 1100 {error.text}: working orders' outcomes unknown; no new orders"))
                self._publish_state(f"1100 {error.text}", ctx)
            case Notice.RESTORED_DATA_LOST | Notice.RESTORED_DATA_KEPT:
                resubscribe = notice is Notice.RESTORED_DATA_LOST
                self._link = "connected"
                ctx.publish(Alert(level="warning", source=self.name,
                                  text=f"IB {error.code} {error.text}: reconciling"
                                       f"{' and resubscribing market data' if resubscribe else ''}"))
                self._publish_state(f"{error.code} {error.text}", ctx)
                ctx.publish(IbResync(reason=f"IB {error.code}", resubscribe=resubscribe))
                self._send_held_cancels(ctx)
            case Notice.FARM_BROKEN:
                if error.text not in self._broken_farms:
                    self._broken_farms.add(error.text)
                    ctx.publish(Alert(level="warning", source=self.name,
                                      text=f"IB data farm {error.code} {error.text}: market data only, orders unaffected"))
            case Notice.FARM_OK:
                farm = error.text.rsplit(":", 1)[-1]
                broken = {text for text in self._broken_farms if text.rsplit(":", 1)[-1] == farm}
                if broken:
                    self._broken_farms -= broken
                    ctx.publish(Alert(level="info", source=self.name, text=f"IB data farm {error.code} {error.text}"))
            case Notice.PACING:
                ctx.publish(Alert(level="critical", source=self.name, text=f"IB pacing violation 100: {error.text}"))
            case Notice.COMPETING_SESSION:
                ctx.publish(Alert(level="warning", source=self.name, text=f"IB 10197 {error.text}"))
            case Notice.INFORMATIONAL | Notice.MARKET_DATA:
                pass  # market data: the IB session alerts once per contract, not once per request
            case Notice.OTHER:
                ctx.publish(Alert(level="warning", source=self.name,
                                  text=f"IB error {error.code} (request {error.req_id}): {error.text}"))

    def _on_order_error(self, order: IbOrder, error: IbError, ctx: Context) -> None:
        if error.code in CANCEL_FAILED_CODES and order.cancel_requested and not order.terminal:
            order.cancel_requested = False
            ctx.publish(CancelRejected(client_order_id=order.client_order_id, reason=f"IB {error.code}: {error.text}"))
            return
        if order.terminal or order.ended_by is not None:
            return
        if error.code == ORDER_CANCELLED and order.cancel_requested:
            verdict: Message = OrderCancelled(client_order_id=order.client_order_id, filled_quantity=order.filled,
                                              reason="cancel confirmed (IB 202)")
        elif error.code in (ORDER_REJECTED, ORDER_CANCELLED, DUPLICATE_ORDER_ID) and order.filled == 0:
            verdict = OrderRejected(client_order_id=order.client_order_id, code=error.code, reason=error.text)
        elif error.code in (ORDER_REJECTED, ORDER_CANCELLED):
            ctx.publish(Alert(level="warning", source=self.name, text=f"IB {error.code} on partly filled order "
                              f"{order.client_order_id} ({order.filled} of {order.quantity}): {error.text}"))
            verdict = OrderCancelled(client_order_id=order.client_order_id, filled_quantity=order.filled,
                                     reason=f"IB {error.code}: {error.text}")
        else:
            ctx.publish(Alert(level="warning", source=self.name,
                              text=f"IB {error.code} on order {order.client_order_id}: {error.text}"))
            return
        self._end(order, verdict, ctx)

    # orders ------------------------------------------------------------------------------------------------------
    def _refusal(self) -> str | None:
        if self._params.readonly:
            return "the IB connection is read-only"
        if self._link != "connected":
            return f"IB link {self._link}"
        if self._in_restart_window:
            return "daily gateway restart window"
        return None

    def _on_place(self, place: PlaceOrder, ctx: Context) -> None:
        if place.client_order_id in self._orders:
            ctx.publish(OrderRejected(client_order_id=place.client_order_id, code=REJECT_NOT_SENT,
                                      reason=f"duplicate client order id {place.client_order_id}"))
            return
        order = IbOrder(place.client_order_id, place.legs, place.quantity, place.limit_price)
        self._orders[place.client_order_id] = order
        refusal = self._refusal()
        if refusal is not None:
            self._end(order, OrderRejected(client_order_id=place.client_order_id, code=REJECT_NOT_SENT,
                                           reason=f"not sent: {refusal}"), ctx)
            return
        ctx.publish(IbPlaceOrder(client_order_id=place.client_order_id, legs=place.legs, quantity=place.quantity,
                                 limit_price=place.limit_price, min_order_id=self._order_id_floor))

    def _on_modify(self, modify: ModifyOrder, ctx: Context) -> None:
        order = self._orders.get(modify.client_order_id)
        if order is None or order.terminal or order.cancel_requested:
            return
        if self._state() != "connected" or not order.submitted:
            ctx.publish(Alert(level="warning", source=self.name, text=f"modify of {modify.client_order_id} to "
                              f"{modify.limit_price:.2f} not sent: IB link {self._state()}"))
            return
        order.limit_price = modify.limit_price
        ctx.publish(IbPlaceOrder(client_order_id=order.client_order_id, legs=order.legs, quantity=order.quantity,
                                 limit_price=modify.limit_price, min_order_id=self._order_id_floor, modify=True))

    def _on_cancel(self, cancel: CancelOrder, ctx: Context) -> None:
        order = self._orders.get(cancel.client_order_id)
        if order is None or order.terminal:
            reason = "unknown order" if order is None else "order is done"
            ctx.publish(CancelRejected(client_order_id=cancel.client_order_id, reason=reason))
            return
        order.cancel_requested = True
        if self._link == "connected":
            ctx.publish(IbCancelOrder(client_order_id=cancel.client_order_id, order_id=order.order_id))
        else:
            order.cancel_held = True  # sent as soon as the link is back: a cancel is never lost

    def _on_status(self, status: IbOrderStatus, ctx: Context) -> None:
        self._note_order_id(status.order_id)
        order = self._orders.get(status.client_order_id)
        if order is None:
            return  # an order of another client id or of TWS itself: not ours to book
        if status.order_id > 0:  # a completed order IB replays at connect carries no order id
            order.order_id = status.order_id
            self._by_order_id[status.order_id] = order.client_order_id
        order.submitted = True
        if status.filled > order.ib_filled:
            order.ib_filled = status.filled
            if order.ib_filled > abs(order.filled):  # its executions should follow within the grace period
                ctx.set_timer(FILL_CHECK_TIMER + order.client_order_id,
                              ctx.now() + int(2 * self._params.commission_wait_s * NS_PER_S))
        if order.terminal or order.ended_by is not None:
            return
        if status.status in WORKING_STATUSES:
            if not order.accepted and order.filled == 0:
                order.accepted = True
                ctx.publish(OrderAccepted(client_order_id=order.client_order_id, broker_order_id=status.order_id))
            if status.limit_price and abs(status.limit_price - order.limit_price) > 1e-9:
                order.limit_price = status.limit_price
                ctx.publish(OrderModified(client_order_id=order.client_order_id, limit_price=status.limit_price))
        elif status.status in CANCELLED_STATUSES:
            reason = "cancel confirmed" if order.cancel_requested else "cancelled by IB"
            if not order.cancel_requested:
                ctx.publish(Alert(level="warning", source=self.name,
                                  text=f"order {order.client_order_id} {status.status} by IB without our cancel"))
            self._end(order, OrderCancelled(client_order_id=order.client_order_id, filled_quantity=order.filled,
                                            reason=reason), ctx)
        elif status.status == "Inactive" and order.filled == 0:
            self._end(order, OrderRejected(client_order_id=order.client_order_id, code=ORDER_REJECTED,
                                           reason="order inactive at IB"), ctx)

    def _on_execution(self, execution: IbExecution, ctx: Context) -> None:
        self._note_order_id(execution.order_id)
        client_order_id = execution.client_order_id or self._by_order_id.get(execution.order_id, "")
        order = self._orders.get(client_order_id)
        if order is None:
            if execution.exec_id not in self._foreign_executions:  # IB replays it at every connect and sweep
                self._foreign_executions.add(execution.exec_id)
                ctx.publish(Alert(level="critical", source=self.name, text=f"IB execution {execution.exec_id} of "
                                  f"order {execution.order_id} ref {execution.client_order_id!r} is not ours: check the "
                                  f"account"))
            return
        outcome = self._fills.add(execution, order.legs)
        if outcome == "correction":
            ctx.publish(Alert(level="warning", source=self.name,
                              text=f"IB corrected execution {execution.exec_id} of {client_order_id}: not re-booked"))
        if outcome != "new":
            return
        if execution.contract is None:
            ctx.set_timer(COMMISSION_TIMER + client_order_id, ctx.now() + int(self._params.commission_wait_s * NS_PER_S))
        self._book_ready(ctx)

    def _book_ready(self, ctx: Context) -> None:
        for fill in self._fills.ready():
            self._book(fill, ctx)

    def _force_fills(self, client_order_id: str, ctx: Context) -> None:
        self._book_ready(ctx)
        for exec_id in self._fills.pending_exec_ids(client_order_id):
            fill = self._fills.force(exec_id)
            if fill is not None:
                ctx.publish(Alert(level="warning", source=self.name, text=f"fill {fill.exec_id} of {client_order_id} "
                                  f"booked without commission reports for {', '.join(fill.missing_commissions)}"))
                self._book(fill, ctx)

    def _check_fills(self, order: IbOrder, ctx: Context) -> None:
        """IB's order status counts more filled units than its executions delivered: ask for them again."""
        if order.ib_filled <= abs(order.filled) or self._fills.pending(order.client_order_id):
            return
        ctx.publish(Alert(level="critical", source=self.name, text=f"IB reports {order.ib_filled:g} units of "
                          f"{order.client_order_id} filled but executions delivered {abs(order.filled)}: resyncing"))
        ctx.publish(IbResync(reason=f"missing executions of {order.client_order_id}", resubscribe=False))

    def _book(self, fill: BookedFill, ctx: Context) -> None:
        order = self._orders[fill.client_order_id]
        order.filled += fill.quantity
        ctx.publish(OrderFilled(client_order_id=fill.client_order_id, exec_id=fill.exec_id, quantity=fill.quantity,
                                price=fill.price, commission_usd=fill.commission_usd))
        if not self._fills.pending(order.client_order_id):
            ctx.cancel_timer(COMMISSION_TIMER + order.client_order_id)
            if order.filled == order.quantity:
                order.terminal = True
            elif order.ended_by is not None:
                self._end(order, order.ended_by, ctx)

    def _end(self, order: IbOrder, verdict: Message, ctx: Context) -> None:
        """Report an order's end after every fill that precedes it has been booked."""
        if self._fills.pending(order.client_order_id):
            order.ended_by = verdict
            return
        if isinstance(verdict, OrderCancelled) and verdict.filled_quantity != order.filled:
            verdict = OrderCancelled(client_order_id=order.client_order_id, filled_quantity=order.filled,
                                     reason=verdict.reason)
        order.terminal, order.ended_by = True, None
        ctx.publish(verdict)

    def _note_order_id(self, order_id: int) -> None:
        self._order_id_floor = max(self._order_id_floor, order_id + 1)
