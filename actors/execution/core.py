"""Execution core: one combo limit order per approved intent, priced at mid, walked toward natural, cancelled at
the deadline. Never two working orders for one strategy; fills de-duplicated by execution id.

Every order that is not terminal has a timer: while it works, its price step and deadline; once its cancel is
asked, a retry of the cancel every `cancel_retry_s` until the broker confirms an end. A refused cancel (the broker
says it cannot cancel, e.g. the order filled first or is unknown) returns the order to work with the retry armed,
so an order the broker neither works nor reports done can never rest as "accepted" forever.

Trading state: HALTED cancels every working opening order at once and lets nothing but cancels out (no new order, no
price step); REDUCING cancels working opening orders while closing orders go on. A node that is stopping places
nothing new."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from msgspec import UNSET

from actors.execution.config import ExecutionSection
from actors.execution.order_state import (
    TERMINAL,
    TRANSITIONS,
    WORKING,
    IllegalTransition,
    OrderEvent,
    OrderState,
    next_state,
)
from actors.execution.walk import PRICE_TICK, Walk, round_to_tick, walk_for
from actors.market_time import NS_PER_S
from actors.runtime.announcements import Announcements
from actors.runtime.core import ActorCore, Context
from messages import (
    Alert,
    CancelAllOrders,
    CancelOrder,
    CancelRejected,
    CloseStrategy,
    IntentApproved,
    IntentDenied,
    Message,
    ModifyOrder,
    ModifyRefused,
    NodeStopping,
    OpenStrategy,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderPurpose,
    OrderRejected,
    OrderTerminated,
    PlaceOrder,
    RollStrategy,
    TimerFired,
    TimerKey,
    TradingState,
    TradingStateChanged,
)


@dataclass
class WorkingOrder:
    client_order_id: str
    strategy_id: str
    purpose: str
    quantity: int
    mid_price: float
    natural_price: float
    limit_price: float
    step: int = 0
    state: OrderState = OrderState.SUBMITTED
    filled_quantity: int = 0
    filled_value: float = 0.0
    terminated: bool = False
    sent: bool = False
    """Its PlaceOrder went out (execution hears it back once the write-ahead log holds it)."""
    exec_ids: set[str] = field(default_factory=set)

    @property
    def avg_price(self) -> float:
        return round(self.filled_value / self.filled_quantity, 4) if self.filled_quantity else 0.0


def order_number(client_order_id: str) -> int:
    """The counter in a client order id `<strategy>-<O|C><n>` (0 for an id this core did not make)."""
    number = client_order_id.rpartition("-")[2][1:]
    return int(number) if number.isdigit() else 0


PURPOSE_OF = {OpenStrategy: OrderPurpose.OPEN, CloseStrategy: OrderPurpose.CLOSE, RollStrategy: OrderPurpose.ROLL}
OPENING = (OrderPurpose.OPEN, OrderPurpose.ROLL)
"""Orders that open a position (a roll opens its replacement): REDUCING and HALTED cancel them and send none."""


class ExecutionCore(ActorCore):
    name = "execution"
    subscriptions = (
        IntentApproved,
        OrderAccepted,
        OrderRejected,
        ModifyRefused,
        OrderFilled,
        OrderCancelled,
        CancelRejected,
        CancelAllOrders,
        PlaceOrder,
        OrderTerminated,
        TradingStateChanged,
        NodeStopping,
    )

    def __init__(self, params: ExecutionSection) -> None:
        self._params = params
        self._orders: dict[str, WorkingOrder] = {}
        self._working_by_strategy: dict[str, str] = {}
        self._order_count = 0
        self._trading_state = TradingState.ACTIVE
        self._stopping = False
        self._announcements = Announcements(key=lambda ended: ended.client_order_id)

    def on_start(self, ctx: Context) -> None:
        # Orders that were working when a previous run died have lost their timers: their outcome is ambiguous,
        # so cancel them now; fills that still arrive are booked by the state machine as late fills. An order the
        # previous run created but never sent (it died before the write-ahead log synced it) is simply ended.
        self._stopping = False
        for order in sorted(self._orders.values(), key=lambda o: o.client_order_id):
            if order.terminated:
                continue
            if not order.sent:
                order.state = OrderState.REJECTED
                self._terminate(order, ctx)
            elif order.state is OrderState.CANCEL_PENDING:
                self._arm_cancel_retry(order, ctx)
                ctx.publish(CancelOrder(client_order_id=order.client_order_id, reason="restart: cancel not confirmed"))
            else:
                ctx.set_timer(TimerKey.ORDER_DEADLINE.of(order.client_order_id), ctx.now())
        self._announcements.on_start(ctx)

    def handle(self, message: Message, ctx: Context) -> None:
        match message:
            case IntentApproved(intent=intent):
                self._submit(intent, ctx)
            case PlaceOrder():
                self._on_sent(message)
            case TradingStateChanged(state=state):
                self._trading_state = state
                if state != TradingState.ACTIVE:
                    self._cancel_working(f"trading {state}: {message.reason}", ctx, OPENING)
            case NodeStopping():
                self._stopping = True
            case OrderTerminated():
                self._announcements.heard(message)
            case TimerFired(key=key) if key == TimerKey.ANNOUNCE_AGAIN:
                self._announcements.announce_again(ctx)
            case TimerFired(key=key):
                self._on_timer(key, ctx)
            case OrderAccepted():
                self._apply(message.client_order_id, OrderEvent.ACCEPTED, ctx)
            case OrderFilled():
                self._on_fill(message, ctx)
            case OrderRejected():
                self._apply(message.client_order_id, OrderEvent.REJECTED, ctx)
            case ModifyRefused():
                self._on_step_refused(message, ctx)
            case OrderCancelled():
                self._apply(message.client_order_id, OrderEvent.CANCELLED, ctx)
            case CancelRejected():
                self._apply(message.client_order_id, OrderEvent.CANCEL_REJECTED, ctx)
            case CancelAllOrders():
                self._cancel_working(message.reason, ctx)

    def _cancel_working(self, reason: str, ctx: Context, purposes: tuple[str, ...] = tuple(OrderPurpose)) -> None:
        for client_order_id in sorted(self._working_by_strategy.values()):
            order = self._orders[client_order_id]
            if order.state in WORKING and order.purpose in purposes:
                self._request_cancel(order, reason, ctx)

    def _request_cancel(self, order: WorkingOrder, reason: str, ctx: Context) -> None:
        order.state = next_state(order.state, OrderEvent.CANCEL_REQUESTED)
        ctx.cancel_timer(TimerKey.ORDER_STEP.of(order.client_order_id))
        self._arm_cancel_retry(order, ctx)
        ctx.publish(CancelOrder(client_order_id=order.client_order_id, reason=reason))

    def _arm_cancel_retry(self, order: WorkingOrder, ctx: Context) -> None:
        ctx.set_timer(TimerKey.ORDER_DEADLINE.of(order.client_order_id), ctx.now() + int(self._params.cancel_retry_s * NS_PER_S))

    def _on_sent(self, place: PlaceOrder) -> None:
        """A PlaceOrder heard back: it went out. One this core does not know comes from a rebuild whose journal lost
        the intent (the write-ahead log kept the order): adopt it, so its id is never handed out again."""
        order = self._orders.get(place.client_order_id)
        if order is None:
            order = WorkingOrder(client_order_id=place.client_order_id, strategy_id=place.strategy_id,
                                 purpose=place.purpose, quantity=place.quantity, mid_price=place.limit_price,
                                 natural_price=place.limit_price, limit_price=place.limit_price)
            self._orders[place.client_order_id] = order
            self._working_by_strategy[place.strategy_id] = place.client_order_id
        self._order_count = max(self._order_count, order_number(place.client_order_id))
        order.sent = True

    def _apply(self, client_order_id: str, event: OrderEvent, ctx: Context) -> WorkingOrder | None:
        order = self._orders.get(client_order_id)
        if order is None:
            ctx.publish(Alert(level="warning", source=self.name, text=f"{event.value} for unknown order {client_order_id}"))
            return None
        try:
            state = next_state(order.state, event)
        except IllegalTransition as problem:
            ctx.publish(Alert(level="warning", source=self.name, text=f"order {client_order_id}: {problem}"))
            return None
        if event is OrderEvent.CANCEL_REJECTED:
            if order.filled_quantity:
                state = OrderState.PARTIALLY_FILLED
            self._arm_cancel_retry(order, ctx)
        order.state = state
        if state in TERMINAL and not order.terminated:
            self._terminate(order, ctx)
        return order

    def _submit(self, intent: OpenStrategy | CloseStrategy | RollStrategy, ctx: Context) -> None:
        if not (math.isfinite(intent.mid_price) and math.isfinite(intent.natural_price)):
            # never an order at a price nobody can name; the decision asks again on its next evaluation
            reason = f"unusable price: mid {intent.mid_price!r}, natural {intent.natural_price!r}"
            ctx.publish(Alert(level="critical", source=self.name, text=f"intent {intent.strategy_id} refused: {reason}"))
            ctx.publish(IntentDenied(strategy_id=intent.strategy_id, check="execution", reason=reason))
            return
        if intent.strategy_id in self._working_by_strategy:
            working = self._working_by_strategy[intent.strategy_id]
            ctx.publish(
                IntentDenied(strategy_id=intent.strategy_id, check="execution", reason=f"order {working} still working")
            )
            return
        purpose = PURPOSE_OF[type(intent)]
        refusal = self._refusal(purpose)
        if refusal is not None:
            ctx.publish(IntentDenied(strategy_id=intent.strategy_id, check="execution", reason=refusal))
            return
        self._order_count += 1
        client_order_id = f"{intent.strategy_id}-{purpose[0].upper()}{self._order_count}"
        order = WorkingOrder(
            client_order_id=client_order_id,
            strategy_id=intent.strategy_id,
            purpose=purpose,
            quantity=intent.combo_quantity if isinstance(intent, RollStrategy) else intent.quantity,
            mid_price=intent.mid_price,
            natural_price=intent.natural_price,
            limit_price=round_to_tick(intent.mid_price),
        )
        self._orders[client_order_id] = order
        self._working_by_strategy[intent.strategy_id] = client_order_id
        ctx.publish(
            PlaceOrder(
                client_order_id=client_order_id,
                strategy_id=intent.strategy_id,
                purpose=purpose,
                legs=intent.combo_legs if isinstance(intent, RollStrategy) else intent.legs,
                quantity=order.quantity,
                limit_price=order.limit_price,
                stock=getattr(intent, "stock", UNSET),  # only a close of assigned shares sets it
            )
        )
        now, walk = ctx.now(), walk_for(self._params, purpose)
        ctx.set_timer(TimerKey.ORDER_STEP.of(client_order_id), now + int(walk.step_interval_s * NS_PER_S))
        ctx.set_timer(TimerKey.ORDER_DEADLINE.of(client_order_id), now + int(walk.deadline_s * NS_PER_S))

    def _refusal(self, purpose: str) -> str | None:
        if self._stopping:
            return "node stopping: no new orders"
        if self._trading_state == TradingState.HALTED or (self._trading_state == TradingState.REDUCING and purpose in OPENING):
            return f"node is {self._trading_state}: no new {purpose} orders"
        return None

    def _on_timer(self, key: str, ctx: Context) -> None:
        kind, _, client_order_id = key.partition(":")
        kind = TimerKey(kind + ":")  # ORDER_STEP or ORDER_DEADLINE: the only timers execution arms
        order = self._orders.get(client_order_id)
        if order is None or order.terminated:
            return
        walk = walk_for(self._params, order.purpose)
        if kind is TimerKey.ORDER_DEADLINE and order.state is OrderState.CANCEL_PENDING:
            ctx.publish(Alert(level="warning", source=self.name, text=f"cancel of {client_order_id} not confirmed "
                              f"within {self._params.cancel_retry_s:g}s: asking again"))
            self._arm_cancel_retry(order, ctx)
            ctx.publish(CancelOrder(client_order_id=client_order_id, reason="cancel not confirmed"))
        elif order.state not in WORKING:
            return
        elif kind is TimerKey.ORDER_DEADLINE:
            self._request_cancel(order, "deadline reached", ctx)
        elif kind is TimerKey.ORDER_STEP and self._trading_state == TradingState.HALTED:
            # no price step leaves a halted node; the walk resumes where it stopped if trading resumes
            self._arm_step(client_order_id, walk, ctx)
        elif kind is TimerKey.ORDER_STEP and order.step < walk.steps:
            order.step += 1
            new_limit = walk.limit(order.mid_price, order.natural_price, order.step)
            if new_limit != order.limit_price:
                order.limit_price = new_limit
                ctx.publish(ModifyOrder(client_order_id=client_order_id, limit_price=new_limit))
            self._arm_step(client_order_id, walk, ctx)

    def _arm_step(self, client_order_id: str, walk: Walk, ctx: Context) -> None:
        ctx.set_timer(TimerKey.ORDER_STEP.of(client_order_id), ctx.now() + int(walk.step_interval_s * NS_PER_S))

    def _on_step_refused(self, refused: ModifyRefused, ctx: Context) -> None:
        """The broker refused a limit step: the order works at its old limit. The step is taken again one step interval
        on (what IB's 2102, "still being processed", asks for), not skipped: a close must still reach natural."""
        order = self._orders.get(refused.client_order_id)
        superseded = order is not None and abs(order.limit_price - refused.limit_price) >= PRICE_TICK / 2
        if order is None or order.state not in WORKING or superseded:
            return  # ended, being cancelled, or a later step went out since: that one is the broker's to answer
        order.limit_price = refused.working_price
        order.step = max(order.step - 1, 0)
        self._arm_step(order.client_order_id, walk_for(self._params, order.purpose), ctx)

    def _on_fill(self, fill: OrderFilled, ctx: Context) -> None:
        order = self._orders.get(fill.client_order_id)
        if order is None:
            text = f"fill {fill.exec_id} of {fill.quantity} for unknown order {fill.client_order_id}: not ours?"
            ctx.publish(Alert(level="critical", source=self.name, text=text))
            return
        if fill.exec_id in order.exec_ids:
            return
        remaining = order.quantity - order.filled_quantity
        if abs(fill.quantity) > abs(remaining) or fill.quantity * order.quantity <= 0:
            text = f"order {order.client_order_id}: fill of {fill.quantity} exceeds the {remaining} unfilled; booked"
            ctx.publish(Alert(level="critical", source=self.name, text=text))
        order.exec_ids.add(fill.exec_id)
        order.filled_quantity += fill.quantity
        order.filled_value += fill.quantity * fill.price
        late = order.terminated
        event = OrderEvent.FULL_FILL if order.filled_quantity == order.quantity else OrderEvent.PARTIAL_FILL
        if late:
            text = f"late fill {fill.exec_id} of {fill.quantity} on {order.state.value} order {order.client_order_id}"
            ctx.publish(Alert(level="warning", source=self.name, text=text))
            order.state = next_state(order.state, event) if (order.state, event) in TRANSITIONS else order.state
            return
        self._apply(order.client_order_id, event, ctx)

    def _terminate(self, order: WorkingOrder, ctx: Context) -> None:
        order.terminated = True
        self._working_by_strategy.pop(order.strategy_id, None)
        ctx.cancel_timer(TimerKey.ORDER_STEP.of(order.client_order_id))
        ctx.cancel_timer(TimerKey.ORDER_DEADLINE.of(order.client_order_id))
        ended = OrderTerminated(client_order_id=order.client_order_id, strategy_id=order.strategy_id,
                               purpose=order.purpose, status=order.state.value,
                               filled_quantity=order.filled_quantity, avg_price=order.avg_price)
        self._announcements.announce(ended, ctx)
