"""IB broker core: the node's order commands against IB's order protocol, decided from messages alone.

It owns the policy, the session shell owns the socket:
- order ids are never reused (a floor above every id seen, re-seeded by nextValidId on every connect and rebuilt
  from the journal after a restart); orders go out only while the link is healthy, synchronised and outside the
  daily gateway restart; cancels issued while the link is down are held and sent once it is back;
- an order's fate is IB's own word: its orderStatus, or a complete open-orders answer. An error code on an order
  id is recorded and makes the core ask IB (open and completed orders, executions) what became of the order; it
  never ends the order by itself, since IB sends the same codes for a refused modification or cancel while the
  original order keeps working. A connect is "degraded" until IB has answered which orders it works, and an
  answer that timed out ends nothing (`order_sync.py`);
- 1100/2110 leave working orders in flight (outcome unknown) while 1101/1102 trigger a resync; data-farm notices
  are data only; 326 repeated means another program holds the client id: the node stops for an operator;
- combo fills are booked from the leg executions whichever order the callbacks arrive in, cross-checked against
  the BAG execution and the order status's average price; a stock order's (shares an assignment left) from its STK
  executions, one fill each; an order's end waits for its fills (`fill_booking.py`);
- a dividend on the account's shares is published at its ex-date's open (`ex_dividends.py`: IB reports only cash).
"""

from __future__ import annotations

from actors.broker.ib import ex_dividends, what_if
from actors.broker.ib.config import IbSection
from actors.broker.ib.fill_booking import FillBooking
from actors.broker.ib.link import LinkState, Notice
from actors.broker.ib.order_sync import OrderSync
from actors.broker.ib.orders import (
    IbOrder,
    cancelled_by_ib,
    ib_request,
    inactive,
    not_working,
    record_error,
    step_refused,
    still_working,
)
from actors.broker.order_desk import ORDER_COMMANDS, BrokerCore
from actors.market_time import NS_PER_S, market_hours
from actors.runtime.core import Context
from messages import (
    REJECT_NOT_SENT,
    Alert,
    CancelOrder,
    CancelRejected,
    IbCancelOrder,
    IbCommission,
    IbConnected,
    IbDisconnected,
    IbError,
    IbExecution,
    IbOpenOrders,
    IbOrderNotSent,
    IbOrderStatus,
    IbOrderSubmitted,
    IbWhatIfResult,
    Message,
    ModifyOrder,
    OrderAccepted,
    OrderModified,
    OrderRejected,
    PlaceOrder,
    TimerFired,
    TimerKey,
    WhatIfRequested,
)

WORKING_STATUSES = frozenset({"PreSubmitted", "Submitted"})
CANCELLED_STATUSES = frozenset({"Cancelled", "ApiCancelled"})
PRICE_EPSILON = 1e-9


class IbBrokerCore(BrokerCore):
    name = "broker"
    subscriptions = (
        *ORDER_COMMANDS,
        TimerFired,
        IbConnected,
        IbDisconnected,
        IbError,
        IbOrderSubmitted,
        IbOrderNotSent,
        IbOrderStatus,
        IbOpenOrders,
        IbExecution,
        IbCommission,
        WhatIfRequested,
        IbWhatIfResult,
        *ex_dividends.SUBSCRIPTIONS,
    )

    def __init__(self, params: IbSection) -> None:
        self._params = params
        self._orders: dict[str, IbOrder] = {}
        self._by_order_id: dict[int, str] = {}
        self._order_id_floor = 1
        self._booking = FillBooking(params, self.name)
        self._link = LinkState(params, self.name)
        self._sync = OrderSync(params, self.name)
        self._ex_dividends = ex_dividends.ExDividends()  # the account's shares over an ex-date

    # lifecycle -------------------------------------------------------------------------------------------------
    def on_start(self, ctx: Context) -> None:
        self._link.start(ctx)
        self._ex_dividends.on_start(ctx)
        self._sync.restart()
        self._booking.on_start(self._orders, ctx)

    def handle(self, message: Message, ctx: Context) -> None:
        if self.handle_order_command(message, ctx) or self._ex_dividends.handle(message, ctx, self.name):
            return
        match message:
            case IbConnected():
                self._on_connected(message, ctx)
            case IbDisconnected():
                self._link.down("disconnected", message.reason, ctx)
            case IbError():
                self._on_error(message, ctx)
            case IbOrderSubmitted():
                self._note_order_id(message.order_id)
                order = self._orders.get(message.client_order_id)
                if order is not None:
                    order.order_id, order.submitted = message.order_id, True
                    self._by_order_id[message.order_id] = order.client_order_id
            case IbOrderNotSent():
                self._on_not_sent(message, ctx)
            case IbOrderStatus():
                self._on_status(message, ctx)
            case IbOpenOrders():
                self._on_open_orders(message, ctx)
            case IbExecution():
                self._on_execution(message, ctx)
            case WhatIfRequested():
                ctx.publish(what_if.ask(message, self._link.refusal(), self._order_id_floor))
            case IbWhatIfResult():
                self._note_order_id(message.order_id)
                ctx.publish(what_if.answered(message))
            case IbCommission():
                self._booking.on_commission(message.exec_id, message.commission_usd, self._orders, ctx)
            case TimerFired(key=key) if key == TimerKey.IB_RESTART_WINDOW:
                self._link.arm_restart_window(ctx)
                self._link.publish("daily gateway restart window", ctx)
            case TimerFired(key=key) if key == TimerKey.IB_ORDER_SYNC:
                if self._link.link == "connected" and self._sync.idle:
                    self._sync.ask("asking again which orders IB works", ctx)
            case TimerFired(key=key) if TimerKey.IB_COMMISSION.owns(key):
                self._booking.force(key.removeprefix(TimerKey.IB_COMMISSION), self._orders, ctx)
            case TimerFired(key=key) if TimerKey.IB_FILL_CHECK.owns(key):
                self._check_fills(self._orders[key.removeprefix(TimerKey.IB_FILL_CHECK)], ctx)

    # link ------------------------------------------------------------------------------------------------------
    def _on_connected(self, connected: IbConnected, ctx: Context) -> None:
        self._note_order_id(connected.next_valid_id - 1)
        self._link.up(connected, ctx)
        # until IB's word on every order comes, no new orders; held cancels wait for it too: it brings the ids of
        # the orders this new connection did not place, and a cancel needs IB's id
        self._judge_all("connected", ctx)

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
        notice = self._link.on_notice(error, ctx)
        if notice in (Notice.RESTORED_DATA_LOST, Notice.RESTORED_DATA_KEPT):
            self._judge_all(f"IB {error.code}", ctx, resubscribe=notice is Notice.RESTORED_DATA_LOST)
            self._send_held_cancels(ctx)

    def _on_order_error(self, order: IbOrder, error: IbError, ctx: Context) -> None:
        if order.done:
            return
        said = record_error(order, error, self.name)
        if said is not None:
            ctx.publish(said)
        self._judge(order, f"IB {error.code} on {order.client_order_id}", ctx)

    # asking IB what became of orders --------------------------------------------------------------------------
    def _judge(self, order: IbOrder, reason: str, ctx: Context) -> None:
        self._sync.judge((order.client_order_id,))
        if self._sync.idle and self._link.link != "disconnected":
            self._sync.ask(reason, ctx)

    def _judge_all(self, reason: str, ctx: Context, resubscribe: bool = False) -> None:
        """IB's word on every order the node thinks may still work."""
        self._sync.judge(o.client_order_id for o in self._orders.values() if not o.done)
        self._sync.ask(reason, ctx, resubscribe=resubscribe)

    def _on_open_orders(self, answer: IbOpenOrders, ctx: Context) -> None:
        judged = self._sync.answered(answer, ctx)
        if judged is None:
            return
        context = "after reconnect" if not self._link.synced else "IB's open orders"
        working = set(answer.working)
        for client_order_id in judged:
            order = self._orders.get(client_order_id)
            if order is None or order.done:
                continue
            if client_order_id in working:
                for refused in still_working(order, self.name):
                    ctx.publish(refused)
            elif not (self._booking.pending(client_order_id) or order.awaits_executions()):
                order.modify_to = None
                self._booking.end(order, not_working(order, context), ctx)
        if not self._link.synced:
            self._link.synchronised(ctx)
            self._send_held_cancels(ctx)
        if self._sync.waiting:
            self._sync.ask("more orders to judge", ctx)

    # orders ------------------------------------------------------------------------------------------------------
    def known_order_ids(self) -> dict[str, IbOrder]:
        return self._orders

    def refuse(self, order: PlaceOrder, problem: str, ctx: Context) -> None:
        ctx.publish(OrderRejected(client_order_id=order.client_order_id, code=REJECT_NOT_SENT, reason=problem))

    def place(self, place: PlaceOrder, ctx: Context) -> None:
        order = IbOrder(place.client_order_id, place.legs, place.quantity, place.limit_price, stock=place.stock)
        self._orders[place.client_order_id] = order
        self._booking.open(place)
        refusal = self._link.refusal()
        if refusal is not None:
            self._booking.end(order, OrderRejected(client_order_id=place.client_order_id, code=REJECT_NOT_SENT,
                                                   reason=f"not sent: {refusal}"), ctx)
            return
        ctx.publish(ib_request(order, place.limit_price, self._order_id_floor))

    def modify(self, modify: ModifyOrder, ctx: Context) -> None:
        order = self._orders.get(modify.client_order_id)
        if order is None or order.done or order.cancel_requested:
            return
        if self._link.state() != "connected":
            why = f"not sent: IB link {self._link.state()}"
            ctx.publish(Alert(level="warning", source=self.name, text=f"modify of {modify.client_order_id} to "
                              f"{modify.limit_price:.2f} {why}"))
            ctx.publish(step_refused(order, modify.limit_price, REJECT_NOT_SENT, why))
            return
        if not order.accepted:  # IB has not taken the order yet: a modification now is refused or races it
            order.held_limit = modify.limit_price
            return
        self._send_modify(order, modify.limit_price, ctx)

    def _send_modify(self, order: IbOrder, limit_price: float, ctx: Context) -> None:
        order.modify_to, order.held_limit = limit_price, None
        ctx.publish(ib_request(order, limit_price, self._order_id_floor, modify=True))

    def cancel(self, cancel: CancelOrder, ctx: Context) -> None:
        order = self._orders.get(cancel.client_order_id)
        if order is None or order.terminal:
            reason = "unknown order" if order is None else "order is done"
            ctx.publish(CancelRejected(client_order_id=cancel.client_order_id, reason=reason))
            return
        order.cancel_requested = order.cancel_sent = True
        if self._link.link == "connected":
            ctx.publish(IbCancelOrder(client_order_id=cancel.client_order_id, order_id=order.order_id))
        else:
            order.cancel_held = True  # sent as soon as the link is back: a cancel is never lost

    def _on_not_sent(self, message: IbOrderNotSent, ctx: Context) -> None:
        order = self._orders.get(message.client_order_id)
        if order is None or order.done:
            return
        if message.modify:
            ctx.publish(Alert(level="warning", source=self.name, text=f"modify of {order.client_order_id} not sent "
                              f"to IB: {message.reason}; it works at {order.limit_price:.2f}"))
            if order.modify_to is not None:
                ctx.publish(step_refused(order, order.modify_to, REJECT_NOT_SENT, f"not sent to IB: {message.reason}"))
            order.modify_to = None
            return
        self._booking.end(order, OrderRejected(client_order_id=order.client_order_id, code=REJECT_NOT_SENT,
                                               reason=f"not sent to IB: {message.reason}"), ctx)

    def _on_status(self, status: IbOrderStatus, ctx: Context) -> None:
        self._note_order_id(status.order_id)
        order = self._orders.get(status.client_order_id)
        if order is None:
            return  # an order of another client id or of TWS itself: not ours to book
        if status.order_id > 0:  # a completed order IB replays carries no order id
            order.order_id = status.order_id
            self._by_order_id[status.order_id] = order.client_order_id
        order.submitted = True
        ib_filled = abs(order.quantity) if status.status == "Filled" else status.filled
        if ib_filled > order.ib_filled:
            order.ib_filled = ib_filled
            if order.awaits_executions():  # its executions should follow within the grace period
                ctx.set_timer(TimerKey.IB_FILL_CHECK.of(order.client_order_id),
                              ctx.now() + int(2 * self._params.commission_wait_s * NS_PER_S))
        self._booking.check_average_price(order, status, ctx)
        if order.done:
            return
        if status.status in WORKING_STATUSES:
            if not order.accepted:
                order.accepted = True
                if order.filled == 0:
                    ctx.publish(OrderAccepted(client_order_id=order.client_order_id, broker_order_id=status.order_id))
            if status.limit_price and abs(status.limit_price - order.limit_price) > PRICE_EPSILON:
                order.limit_price = status.limit_price
                ctx.publish(OrderModified(client_order_id=order.client_order_id, limit_price=status.limit_price))
            if order.modify_to is not None and abs(status.limit_price - order.modify_to) <= PRICE_EPSILON:
                order.modify_to, order.error = None, None
            if order.held_limit is not None and self._link.state() == "connected":
                self._send_modify(order, order.held_limit, ctx)
        elif status.status in CANCELLED_STATUSES:
            verdict, alert = cancelled_by_ib(order, market_hours().is_open(ctx.now()))
            if alert is not None:
                ctx.publish(Alert(level=alert[0], source=self.name, text=alert[1]))
            self._booking.end(order, verdict, ctx)
        elif status.status == "Inactive":
            # received but not working; cancel it at IB too, so it can never come back to life unwatched
            ctx.publish(IbCancelOrder(client_order_id=order.client_order_id, order_id=order.order_id))
            self._booking.end(order, inactive(order), ctx)

    # fills -------------------------------------------------------------------------------------------------------
    def _on_execution(self, execution: IbExecution, ctx: Context) -> None:
        self._note_order_id(execution.order_id)
        client_order_id = execution.client_order_id or self._by_order_id.get(execution.order_id, "")
        self._booking.on_execution(execution, client_order_id, self._orders, ctx)

    def _check_fills(self, order: IbOrder, ctx: Context) -> None:
        """IB's order status counts more filled units than its executions delivered: ask for them again."""
        if not order.awaits_executions() or self._booking.pending(order.client_order_id):
            return
        ctx.publish(Alert(level="critical", source=self.name, text=f"IB reports {order.ib_filled:g} units of "
                          f"{order.client_order_id} filled but executions delivered {abs(order.filled)}: resyncing"))
        self._sync.ask(f"missing executions of {order.client_order_id}", ctx)

    def _note_order_id(self, order_id: int) -> None:
        self._order_id_floor = max(self._order_id_floor, order_id + 1)
