"""Execution core, one behaviour per test: fills booked once by execution id, the price walk, trading states,
cancel retries, restarts and the messages it publishes, field by field."""

from __future__ import annotations

import datetime as dt

import msgspec

from actors.execution.config import ExecutionSection
from actors.execution.core import ExecutionCore, order_number, round_to_tick
from actors.runtime.clock import VirtualClock
from actors.runtime.deterministic import DeterministicRuntime
from messages import (
    ActorFailed,
    Alert,
    CancelAllOrders,
    CancelOrder,
    CancelRejected,
    CloseStrategy,
    IntentApproved,
    IntentDenied,
    Leg,
    ModifyOrder,
    NodeStopping,
    OpenStrategy,
    OptionContract,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OrderTerminated,
    PlaceOrder,
    TradingStateChanged,
)

NOW = int(dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC).timestamp() * 1e9)
SECOND = 1_000_000_000
CONDOR = tuple(Leg(OptionContract("SPY", dt.date(2026, 4, 10), k, r), q)
               for k, r, q in ((545.0, "P", 1), (550.0, "P", -1), (610.0, "C", -1), (615.0, "C", 1)))
PARAMS = ExecutionSection(step_interval_s=30, price_steps=2, deadline_s=120, cancel_retry_s=10)


def _open(quantity: int = 3, strategy_id: str = "IC-1", mid: float = -1.6, natural: float = -1.4) -> OpenStrategy:
    return OpenStrategy(strategy_id=strategy_id, kind="iron_condor", symbol="SPY", legs=CONDOR, quantity=quantity,
                        mid_price=mid, natural_price=natural, max_profit_usd=480, max_loss_usd=1020, reason="t")


def _close(strategy_id: str = "IC-1", quantity: int = -3) -> CloseStrategy:
    return CloseStrategy(strategy_id=strategy_id, symbol="SPY", legs=CONDOR, quantity=quantity, mid_price=-0.8,
                         natural_price=-1.0, rule="take_profit", reason="t")


def _runtime(params: ExecutionSection = PARAMS) -> DeterministicRuntime:
    runtime = DeterministicRuntime([lambda: ExecutionCore(params)], VirtualClock(NOW))
    runtime.start()
    return runtime


def _of(runtime, kind):
    return [m for m in runtime.history if isinstance(m, kind)]


def _placed(runtime, intent=None) -> PlaceOrder:
    runtime.inject(IntentApproved(ts=runtime.clock.now(), intent=intent or _open()))
    return _of(runtime, PlaceOrder)[-1]


def _fill(order_id: str, exec_id: str, quantity: int = 1, price: float = -1.55) -> OrderFilled:
    return OrderFilled(client_order_id=order_id, exec_id=exec_id, quantity=quantity, price=price, commission_usd=2.6)


# fills -------------------------------------------------------------------------------------------------------------
def test_one_fill_delivered_three_times_books_once_on_a_three_lot_order():
    runtime = _runtime()
    placed = _placed(runtime)
    for _ in range(3):
        runtime.inject(_fill(placed.client_order_id, "E1"))
    assert _of(runtime, OrderTerminated) == []  # 1 of 3 filled: still working, not "filled 3"
    runtime.inject(_fill(placed.client_order_id, "E2", 2, -1.52))
    done = _of(runtime, OrderTerminated)
    assert [(d.status, d.filled_quantity, d.avg_price) for d in done] == [("filled", 3, -1.53)]


OUTPUT = (PlaceOrder, ModifyOrder, CancelOrder, IntentDenied, Alert, OrderTerminated)


def _said(runtime, since: int = 0) -> list[tuple[float, object]]:
    """(seconds after NOW, message without its stamps) for all the core published; it never failed on the way."""
    assert not [m for m in runtime.history if isinstance(m, ActorFailed)]
    return [((m.ts - NOW) / SECOND, msgspec.structs.replace(m, ts=0, seq=0, origin=""))
            for m in runtime.history[since:] if isinstance(m, OUTPUT) and m.origin == "execution"]


def _place(order_id: str, price: float, quantity: int = 3, purpose: str = "open") -> PlaceOrder:
    return PlaceOrder(client_order_id=order_id, strategy_id=order_id.rpartition("-")[0], purpose=purpose, legs=CONDOR,
                      quantity=quantity, limit_price=price)


def _ended(order_id: str, status: str, filled: int = 0, avg: float = 0.0, purpose: str = "open") -> OrderTerminated:
    return OrderTerminated(client_order_id=order_id, strategy_id=order_id.rpartition("-")[0], purpose=purpose,
                           status=status, filled_quantity=filled, avg_price=avg)


def _warning(text: str, level: str = "warning") -> Alert:
    return Alert(level=level, source="execution", text=text)


# the walk, the deadline and the cancel retry -----------------------------------------------------------------------
def test_the_walk_steps_from_mid_to_natural_cancels_at_the_deadline_and_asks_again_until_confirmed():
    runtime = _runtime()
    placed = _placed(runtime)
    runtime.inject(OrderAccepted(client_order_id=placed.client_order_id, broker_order_id=7))
    runtime.run_until(NOW + 135 * SECOND)
    runtime.inject(OrderCancelled(client_order_id=placed.client_order_id, filled_quantity=0, reason="done"))
    runtime.run_until(NOW + 400 * SECOND)
    assert _said(runtime) == [
        (0, _place("IC-1-O1", -1.6)),
        (30, ModifyOrder(client_order_id="IC-1-O1", limit_price=-1.5)),
        (60, ModifyOrder(client_order_id="IC-1-O1", limit_price=-1.4)),
        (120, CancelOrder(client_order_id="IC-1-O1", reason="deadline reached")),
        (130, _warning("cancel of IC-1-O1 not confirmed within 10s: asking again")),
        (130, CancelOrder(client_order_id="IC-1-O1", reason="cancel not confirmed")),
        (135, _ended("IC-1-O1", "cancelled")),
    ]


def test_a_step_that_rounds_to_the_same_tick_sends_no_modify_and_prices_are_rounded_to_cents():
    runtime = _runtime(ExecutionSection(step_interval_s=30, price_steps=4, deadline_s=1000))
    _placed(runtime, _open(mid=-1.604, natural=-1.584))
    runtime.run_until(NOW + 200 * SECOND)
    assert _said(runtime) == [
        (0, _place("IC-1-O1", -1.6)),
        (60, ModifyOrder(client_order_id="IC-1-O1", limit_price=-1.59)),
        (120, ModifyOrder(client_order_id="IC-1-O1", limit_price=-1.58)),
    ]
    assert (round_to_tick(-1.235), round_to_tick(2.0049), round_to_tick(-0.004)) == (-1.24, 2.0, 0.0)


def test_a_refused_cancel_returns_a_partly_filled_order_to_work_and_cancels_it_again_after_the_retry():
    runtime = _runtime()
    placed = _placed(runtime)
    runtime.inject(_fill(placed.client_order_id, "E1"))
    runtime.run_until(NOW + 121 * SECOND)
    runtime.inject(CancelRejected(client_order_id=placed.client_order_id, reason="busy"))
    core = runtime.core("execution")
    assert core._orders[placed.client_order_id].state == "partially_filled"
    runtime.run_until(NOW + 135 * SECOND)
    cancels = [(t, m.reason) for t, m in _said(runtime) if isinstance(m, CancelOrder)]
    assert cancels == [(120, "deadline reached"), (131, "deadline reached")]


# trading states and stopping ---------------------------------------------------------------------------------------
def test_halted_cancels_opens_keeps_closes_working_without_steps_and_refuses_every_new_order():
    runtime = _runtime()
    _placed(runtime)
    _placed(runtime, _close("IC-9"))
    runtime.inject(TradingStateChanged(state="HALTED", reason="operator"))
    runtime.inject(IntentApproved(intent=_close("IC-8")))
    runtime.inject(IntentApproved(intent=_open(strategy_id="IC-7")))
    runtime.run_until(NOW + 59 * SECOND)
    runtime.inject(TradingStateChanged(state="ACTIVE", reason="resumed"))
    runtime.run_until(NOW + 61 * SECOND)
    assert _said(runtime) == [
        (0, _place("IC-1-O1", -1.6)),
        (0, _place("IC-9-C2", -0.8, -3, "close")),
        (0, CancelOrder(client_order_id="IC-1-O1", reason="trading HALTED: operator")),
        (0, IntentDenied(strategy_id="IC-8", check="execution", reason="node is HALTED: no new close orders")),
        (0, IntentDenied(strategy_id="IC-7", check="execution", reason="node is HALTED: no new open orders")),
        (10, _warning("cancel of IC-1-O1 not confirmed within 10s: asking again")),
        (10, CancelOrder(client_order_id="IC-1-O1", reason="cancel not confirmed")),
        (20, _warning("cancel of IC-1-O1 not confirmed within 10s: asking again")),
        (20, CancelOrder(client_order_id="IC-1-O1", reason="cancel not confirmed")),
        (30, _warning("cancel of IC-1-O1 not confirmed within 10s: asking again")),
        (30, CancelOrder(client_order_id="IC-1-O1", reason="cancel not confirmed")),
        (40, _warning("cancel of IC-1-O1 not confirmed within 10s: asking again")),
        (40, CancelOrder(client_order_id="IC-1-O1", reason="cancel not confirmed")),
        (50, _warning("cancel of IC-1-O1 not confirmed within 10s: asking again")),
        (50, CancelOrder(client_order_id="IC-1-O1", reason="cancel not confirmed")),
        (60, ModifyOrder(client_order_id="IC-9-C2", limit_price=-0.9)),  # the walk resumes where it stopped
        (60, _warning("cancel of IC-1-O1 not confirmed within 10s: asking again")),
        (60, CancelOrder(client_order_id="IC-1-O1", reason="cancel not confirmed")),
    ]


def test_reducing_cancels_and_refuses_opens_only_and_a_stopping_node_places_nothing():
    runtime = _runtime()
    _placed(runtime)
    runtime.inject(TradingStateChanged(state="REDUCING", reason="loss"))
    runtime.inject(IntentApproved(intent=_open(strategy_id="IC-7")))
    _placed(runtime, _close("IC-9"))
    runtime.inject(NodeStopping(reason="SIGTERM"))
    runtime.inject(IntentApproved(intent=_close("IC-8")))
    assert [m for _, m in _said(runtime)] == [
        _place("IC-1-O1", -1.6),
        CancelOrder(client_order_id="IC-1-O1", reason="trading REDUCING: loss"),
        IntentDenied(strategy_id="IC-7", check="execution", reason="node is REDUCING: no new open orders"),
        _place("IC-9-C2", -0.8, -3, "close"),
        IntentDenied(strategy_id="IC-8", check="execution", reason="node stopping: no new orders"),
    ]


def test_cancel_all_cancels_every_working_order_of_every_purpose():
    runtime = _runtime()
    _placed(runtime)
    _placed(runtime, _close("IC-9"))
    runtime.inject(CancelAllOrders(reason="shutdown"))
    assert [m for _, m in _said(runtime) if isinstance(m, CancelOrder)] == [
        CancelOrder(client_order_id="IC-1-O1", reason="shutdown"),
        CancelOrder(client_order_id="IC-9-C2", reason="shutdown")]


# refusals and surprises --------------------------------------------------------------------------------------------
def test_a_second_intent_for_a_working_strategy_and_an_unpriceable_intent_are_refused_with_reasons():
    runtime = _runtime()
    _placed(runtime)
    runtime.inject(IntentApproved(intent=_open()))
    runtime.inject(IntentApproved(intent=_open(strategy_id="IC-2", natural=float("nan"))))
    assert [m for _, m in _said(runtime)][1:] == [
        IntentDenied(strategy_id="IC-1", check="execution", reason="order IC-1-O1 still working"),
        _warning("intent IC-2 refused: unusable price: mid -1.6, natural nan", "critical"),
        IntentDenied(strategy_id="IC-2", check="execution", reason="unusable price: mid -1.6, natural nan"),
    ]


def test_unknown_orders_illegal_events_overfills_and_late_fills_are_reported():
    runtime = _runtime()
    placed = _placed(runtime, _open(quantity=2))
    runtime.inject(OrderAccepted(client_order_id="NOPE", broker_order_id=1))
    runtime.inject(_fill("NOPE", "E0"))
    runtime.inject(_fill(placed.client_order_id, "E1", 3))
    second = _placed(runtime, _open(quantity=2, strategy_id="IC-2"))
    runtime.inject(OrderCancelled(client_order_id=second.client_order_id, filled_quantity=0, reason="x"))
    runtime.inject(OrderAccepted(client_order_id=second.client_order_id, broker_order_id=1))
    runtime.inject(_fill(second.client_order_id, "E2", 2, -1.5))
    assert [m for _, m in _said(runtime)] == [
        _place("IC-1-O1", -1.6, 2),
        _warning("accepted for unknown order NOPE"),
        _warning("fill E0 of 1 for unknown order NOPE: not ours?", "critical"),
        _warning("order IC-1-O1: fill of 3 exceeds the 2 unfilled; booked", "critical"),
        _place("IC-2-O2", -1.6, 2),
        _ended("IC-2-O2", "cancelled"),
        _warning("order IC-2-O2: accepted is not possible in state cancelled"),
        _warning("late fill E2 of 2 on cancelled order IC-2-O2"),
    ]
    assert runtime.core("execution")._orders["IC-2-O2"].state == "filled"


def test_a_fill_on_the_wrong_side_is_reported_and_the_order_is_rejected_only_where_the_table_allows():
    runtime = _runtime()
    placed = _placed(runtime)
    runtime.inject(_fill(placed.client_order_id, "E1", -1))
    runtime.inject(OrderRejected(client_order_id=placed.client_order_id, code=201, reason="margin"))
    other = _placed(runtime, _open(strategy_id="IC-2"))
    runtime.inject(OrderRejected(client_order_id=other.client_order_id, code=201, reason="margin"))
    assert [m for _, m in _said(runtime)][1:] == [
        _warning("order IC-1-O1: fill of -1 exceeds the 3 unfilled; booked", "critical"),
        _warning("order IC-1-O1: rejected is not possible in state partially_filled"),
        _place("IC-2-O2", -1.6),
        _ended("IC-2-O2", "rejected"),
    ]


# restarts ----------------------------------------------------------------------------------------------------------
def test_a_restart_ends_unsent_orders_resends_unconfirmed_cancels_and_cancels_what_worked():
    runtime = _runtime()
    for strategy_id in ("B", "C"):
        runtime.inject(IntentApproved(intent=_open(strategy_id=strategy_id)))
    runtime.inject(CancelAllOrders(reason="test"))  # both cancel pending
    runtime.inject(CancelRejected(client_order_id="C-O2", reason="busy"))  # C works again
    runtime.inject(IntentApproved(intent=_open(strategy_id="A")))
    runtime.inject(IntentApproved(intent=_open(strategy_id="0")))  # ended: sorts first, skipped, the rest go on
    runtime.inject(OrderCancelled(client_order_id="0-O4", filled_quantity=0, reason="x"))
    # the runtime hands every PlaceOrder straight back; a rebuild whose write-ahead log lost A's never hears it
    runtime.core("execution")._orders["A-O3"].sent = False
    since = len(runtime.history)
    runtime.start()  # the cores as a restarted node starts them, with the state they had
    runtime.run_until(NOW + 1)
    assert [m for _, m in _said(runtime, since)] == [
        _ended("A-O3", "rejected"),
        CancelOrder(client_order_id="B-O1", reason="restart: cancel not confirmed"),
        CancelOrder(client_order_id="C-O2", reason="deadline reached"),
    ]


def test_an_order_the_journal_lost_is_adopted_and_its_number_never_handed_out_again():
    runtime = _runtime()
    runtime.inject(_place("IC-5-O7", -1.2, 1))
    placed = _placed(runtime, _open(strategy_id="IC-6"))
    runtime.inject(IntentApproved(intent=_open(strategy_id="IC-5")))
    assert placed.client_order_id == "IC-6-O8"
    assert _of(runtime, IntentDenied)[-1].reason == "order IC-5-O7 still working"
    runtime.inject(_fill("IC-5-O7", "E1", 1, -1.25))  # the adopted order is booked like any other
    assert _of(runtime, OrderTerminated)[-1] == msgspec.structs.replace(
        _ended("IC-5-O7", "filled", 1, -1.25), ts=NOW, seq=_of(runtime, OrderTerminated)[-1].seq, origin="execution")
    assert (order_number("IC-5-O7"), order_number("IC-5-C12"), order_number("manual"), order_number("X-Oabc")) == (
        7, 12, 0, 0)


def test_overfills_are_judged_against_what_is_left_and_zero_fills_are_reported():
    runtime = _runtime()
    placed = _placed(runtime)
    runtime.inject(_fill(placed.client_order_id, "E1", 2))
    runtime.inject(_fill(placed.client_order_id, "E2", 2))  # one was left
    one_lot = _placed(runtime, _open(quantity=1, strategy_id="IC-2"))
    runtime.inject(_fill(one_lot.client_order_id, "E3", 0))
    runtime.inject(_fill(one_lot.client_order_id, "E4", 1))  # exactly what is left: no alert
    assert [m.text for _, m in _said(runtime) if isinstance(m, Alert)] == [
        "order IC-1-O1: fill of 2 exceeds the 1 unfilled; booked",
        "order IC-2-O2: fill of 0 exceeds the 1 unfilled; booked"]


def test_a_fill_after_a_rejection_is_reported_and_the_strategy_can_trade_again():
    runtime = _runtime()
    placed = _placed(runtime)
    runtime.inject(OrderRejected(client_order_id=placed.client_order_id, code=201, reason="margin"))
    runtime.inject(_fill(placed.client_order_id, "E1", 1))
    again = _placed(runtime)
    assert again.client_order_id == "IC-1-O2"
    assert [m.text for _, m in _said(runtime) if isinstance(m, Alert)] == [
        "late fill E1 of 1 on rejected order IC-1-O1"]


def test_trading_turning_active_again_cancels_nothing():
    runtime = _runtime()
    _placed(runtime)
    runtime.inject(TradingStateChanged(state="ACTIVE", reason="resumed"))
    assert [m for _, m in _said(runtime) if isinstance(m, CancelOrder)] == []
