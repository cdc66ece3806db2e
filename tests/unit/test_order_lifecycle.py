"""Order state machine, partial and late fills, the simulated exchange's fill model, and reconciliation."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest

from actors.broker.sim.config import SimSection
from actors.broker.sim.core import SimBrokerCore
from actors.broker.sim.scripted import ScriptedQuoteSource
from actors.execution.config import ExecutionSection
from actors.execution.core import ExecutionCore
from actors.execution.order_state import TRANSITIONS, IllegalTransition, OrderEvent, OrderState, next_state
from actors.position_sync.core import PositionSyncCore
from actors.runtime.clock import VirtualClock
from actors.runtime.deterministic import DeterministicRuntime
from messages import (
    Alert,
    BrokerPosition,
    BrokerPositionsSnapshot,
    Halt,
    IntentApproved,
    Leg,
    ModifyOrder,
    ModifyRefused,
    OpenStrategy,
    OptionContract,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderModified,
    OrderRejected,
    OrderTerminated,
    PlaceOrder,
    RawQuote,
    ReconciliationResult,
    StrategyOpened,
    UnderlyingQuote,
)

NOW = int(dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC).timestamp() * 1e9)
SECOND = 1_000_000_000
CONDOR = tuple(Leg(OptionContract("SPY", dt.date(2026, 4, 10), k, r), q)
               for k, r, q in ((545.0, "P", 1), (550.0, "P", -1), (610.0, "C", -1), (615.0, "C", 1)))


def _of(runtime, kind):
    return [m for m in runtime.history if isinstance(m, kind)]


def test_transition_table_covers_the_broker_realities():
    assert next_state(OrderState.SUBMITTED, OrderEvent.FULL_FILL) is OrderState.FILLED  # fill before the ack
    assert next_state(OrderState.CANCEL_PENDING, OrderEvent.CANCEL_REJECTED) is OrderState.ACCEPTED
    assert next_state(OrderState.CANCELLED, OrderEvent.FULL_FILL) is OrderState.FILLED  # late fill
    with pytest.raises(IllegalTransition, match="accepted is not possible in state filled"):
        next_state(OrderState.FILLED, OrderEvent.ACCEPTED)
    assert all(state is not OrderState.REJECTED for (state, _) in TRANSITIONS)


def _intent(quantity: int = 3) -> OpenStrategy:
    return OpenStrategy(strategy_id="IC-1", kind="iron_condor", symbol="SPY", legs=CONDOR, quantity=quantity,
                        mid_price=-1.6, natural_price=-1.4, max_profit_usd=480, max_loss_usd=1020, reason="t")


def _lifecycle() -> DeterministicRuntime:
    params = ExecutionSection(step_interval_s=30, price_steps=2, deadline_s=120)
    runtime = DeterministicRuntime([lambda: ExecutionCore(params), PositionSyncCore], VirtualClock(NOW))
    runtime.start()
    runtime.inject(IntentApproved(intent=_intent()))
    return runtime


def test_partial_fill_then_cancel_opens_a_smaller_balanced_position():
    runtime = _lifecycle()
    order = _of(runtime, PlaceOrder)[0]
    runtime.inject(OrderAccepted(client_order_id=order.client_order_id, broker_order_id=1))
    runtime.inject(OrderFilled(client_order_id=order.client_order_id, exec_id="E1", quantity=2, price=-1.55,
                               commission_usd=5.2))
    runtime.run_until(NOW + 121 * SECOND)
    runtime.inject(OrderCancelled(client_order_id=order.client_order_id, filled_quantity=2, reason="deadline"))
    done = _of(runtime, OrderTerminated)[0]
    assert (done.status, done.filled_quantity, done.avg_price) == ("cancelled", 2, -1.55)
    opened = _of(runtime, StrategyOpened)[0]
    assert opened.quantity == 2 and opened.legs == CONDOR  # whole combo units: every leg in ratio


def test_late_fill_after_cancel_is_booked_and_opens_the_strategy():
    runtime = _lifecycle()
    order = _of(runtime, PlaceOrder)[0]
    runtime.run_until(NOW + 121 * SECOND)
    runtime.inject(OrderCancelled(client_order_id=order.client_order_id, filled_quantity=0, reason="deadline"))
    assert not _of(runtime, StrategyOpened)
    runtime.inject(OrderFilled(client_order_id=order.client_order_id, exec_id="LATE", quantity=3, price=-1.45,
                               commission_usd=7.8))
    assert _of(runtime, StrategyOpened)[0].quantity == 3
    assert any("late fill" in a.text for a in _of(runtime, Alert))


def test_illegal_broker_event_is_reported_not_applied():
    runtime = _lifecycle()
    order = _of(runtime, PlaceOrder)[0]
    runtime.inject(OrderRejected(client_order_id=order.client_order_id, code=201, reason="no"))
    runtime.inject(OrderAccepted(client_order_id=order.client_order_id, broker_order_id=1))
    assert [t.status for t in _of(runtime, OrderTerminated)] == ["rejected"]
    assert any("not possible in state rejected" in a.text for a in _of(runtime, Alert))


def _broker(**sim) -> DeterministicRuntime:
    params = SimSection(market="scripted", **sim)
    runtime = DeterministicRuntime([lambda: SimBrokerCore(ScriptedQuoteSource(params), params, ("SPY",))],
                                   VirtualClock(NOW))
    runtime.start()
    runtime.inject(RawQuote(ts=NOW, quote=UnderlyingQuote(ts=NOW, symbol="SPY", bid=579.95, ask=580.05, last=580.0)))
    return runtime


def _place(runtime, n: int, quantity: int = 3) -> None:
    runtime.inject(PlaceOrder(client_order_id=f"O{n}", strategy_id=f"S{n}", purpose="open", legs=CONDOR,
                              quantity=quantity, limit_price=-1.30))


def test_sim_partial_fills_are_seeded_and_reported_in_positions():
    def fills(seed: int) -> list[int]:
        runtime = _broker(seed=seed, partial_fill_probability=1.0)
        _place(runtime, 1, quantity=5)
        return [f.quantity for f in _of(runtime, OrderFilled)]

    assert fills(3) == fills(3) and len(fills(3)) == 1 and fills(3)[0] < 5
    runtime = _broker(partial_fill_probability=0.0)
    _place(runtime, 1)
    snapshot = _of(runtime, BrokerPositionsSnapshot)[-1]
    assert {(p.contract.strike, p.quantity) for p in snapshot.positions} == {(545.0, 3), (550.0, -3), (610.0, -3),
                                                                            (615.0, 3)}


def test_sim_rejects_and_latency():
    runtime = _broker(reject_probability=1.0)
    _place(runtime, 1)
    assert _of(runtime, OrderRejected)[0].reason == "simulated exchange reject"
    runtime = _broker(latency_ms=250)
    _place(runtime, 2)
    assert not _of(runtime, OrderAccepted)
    runtime.run_until(NOW + SECOND)
    assert _of(runtime, OrderAccepted)[0].ts == NOW + 250_000_000 and _of(runtime, OrderFilled)


def _walking(**sim) -> DeterministicRuntime:
    """Execution walks an order the market never fills (a credit of 8-9 for a condor worth about 1) at the simulated
    exchange, through two steps 30 s apart, to its deadline at 120 s."""
    params = SimSection(market="scripted", **sim)
    execution = ExecutionSection(step_interval_s=30, price_steps=2, deadline_s=120)
    runtime = DeterministicRuntime([lambda: ExecutionCore(execution),
                                    lambda: SimBrokerCore(ScriptedQuoteSource(params), params, ("SPY",))],
                                   VirtualClock(NOW))
    runtime.start()
    runtime.inject(RawQuote(ts=NOW, quote=UnderlyingQuote(ts=NOW, symbol="SPY", bid=579.95, ask=580.05, last=580.0)))
    runtime.inject(IntentApproved(intent=msgspec.structs.replace(_intent(), mid_price=-9.0, natural_price=-8.0)))
    runtime.run_until(NOW + 150 * SECOND)
    return runtime


def test_a_refused_limit_step_is_taken_again_not_skipped():
    refusing = _walking(modify_refuse_probability=1.0)
    steps = [m.limit_price for m in _of(refusing, ModifyOrder)]
    assert len(steps) >= 2 and set(steps) == {-8.5}  # the first step, asked again each interval: never skipped
    assert [r.working_price for r in _of(refusing, ModifyRefused)] == [-9.0] * len(steps)
    assert not _of(refusing, OrderModified) and not _of(refusing, OrderFilled)
    assert [t.status for t in _of(refusing, OrderTerminated)] == ["cancelled"]  # the deadline still ends it
    taking = _walking()
    assert [m.limit_price for m in _of(taking, OrderModified)] == [-8.5, -8.0]


def test_a_refused_last_step_is_asked_again_and_a_superseded_refusal_changes_nothing():
    runtime = _lifecycle()  # mid -1.6, natural -1.4: steps to -1.5 at 30 s and -1.4 at 60 s
    order = _of(runtime, PlaceOrder)[0]
    runtime.inject(OrderAccepted(client_order_id=order.client_order_id, broker_order_id=1))
    runtime.run_until(NOW + 61 * SECOND)
    assert [m.limit_price for m in _of(runtime, ModifyOrder)] == [-1.5, -1.4]
    runtime.inject(ModifyRefused(client_order_id=order.client_order_id, limit_price=-1.5, working_price=-1.6,
                                 code=2102, reason="still being processed"))  # the -1.4 step went out since
    runtime.run_until(NOW + 89 * SECOND)
    assert [m.limit_price for m in _of(runtime, ModifyOrder)] == [-1.5, -1.4]
    runtime.inject(ModifyRefused(client_order_id=order.client_order_id, limit_price=-1.4, working_price=-1.5,
                                 code=201, reason="modification refused"))
    runtime.run_until(NOW + 119 * SECOND)  # one step interval later, before the deadline
    assert [m.limit_price for m in _of(runtime, ModifyOrder)] == [-1.5, -1.4, -1.4]


def test_reconciliation_mismatch_halts_with_a_critical_alert():
    runtime = DeterministicRuntime([PositionSyncCore], VirtualClock(NOW))
    runtime.start()
    naked = BrokerPosition(contract=CONDOR[1].contract, quantity=-1, avg_cost=3.0)
    runtime.inject(BrokerPositionsSnapshot(positions=(naked,), complete=True))
    result = _of(runtime, ReconciliationResult)[0]
    assert not result.ok and "naked short" in result.mismatches[0]
    assert _of(runtime, Halt) and any(a.level == "critical" for a in _of(runtime, Alert))
    runtime.inject(BrokerPositionsSnapshot(positions=(), complete=True))
    assert _of(runtime, ReconciliationResult)[-1].ok


def test_fill_for_an_unknown_order_is_a_critical_alert():
    runtime = _lifecycle()
    runtime.inject(OrderFilled(client_order_id="NOT-OURS", exec_id="X1", quantity=1, price=-1.0, commission_usd=1.0))
    assert any(a.level == "critical" and "unknown order NOT-OURS" in a.text for a in _of(runtime, Alert))


def test_restart_resends_a_cancel_that_was_never_confirmed():
    from actors.runtime.core import MutedContext
    from messages import CancelOrder

    params = ExecutionSection(step_interval_s=30, price_steps=2, deadline_s=120)
    runtime = _lifecycle()
    runtime.run_until(NOW + 121 * SECOND)  # deadline: cancel sent, never confirmed
    rebuilt = ExecutionCore(params)
    muted = MutedContext(NOW)
    for message in runtime.history:
        if "execution" in runtime.routes.subscribers(message):
            rebuilt.handle(message, muted)
    fresh = DeterministicRuntime([lambda: rebuilt], VirtualClock(NOW + 200 * SECOND))
    fresh.start()
    assert [c.reason for c in _of(fresh, CancelOrder)] == ["restart: cancel not confirmed"]


def test_a_refused_cancel_returns_the_order_to_work_with_a_timer_that_cancels_it_again():
    from messages import CancelOrder, CancelRejected

    runtime = _lifecycle()  # deadline 120 s, cancel_retry_s 10 s
    order = _of(runtime, PlaceOrder)[0]
    runtime.inject(OrderAccepted(client_order_id=order.client_order_id, broker_order_id=1))
    runtime.run_until(NOW + 121 * SECOND)
    assert len(_of(runtime, CancelOrder)) == 1
    runtime.inject(CancelRejected(client_order_id=order.client_order_id, reason="IB 10147: not found"))
    runtime.run_until(NOW + 132 * SECOND)  # no order rests accepted without a timer: the cancel is asked again
    assert len(_of(runtime, CancelOrder)) == 2
    runtime.inject(OrderRejected(client_order_id=order.client_order_id, code=203, reason="not allowed"))
    assert _of(runtime, OrderTerminated)[0].status == "rejected"
    runtime.run_until(NOW + 200 * SECOND)
    assert len(_of(runtime, CancelOrder)) == 2  # a terminated order arms nothing


def test_an_unanswered_cancel_is_asked_again_with_a_warning():
    from messages import CancelOrder

    runtime = _lifecycle()
    order = _of(runtime, PlaceOrder)[0]
    runtime.run_until(NOW + 121 * SECOND)
    runtime.run_until(NOW + 142 * SECOND)
    assert len(_of(runtime, CancelOrder)) == 3
    assert any("not confirmed within 10s" in a.text for a in _of(runtime, Alert))
    runtime.inject(OrderCancelled(client_order_id=order.client_order_id, filled_quantity=0, reason="cancel confirmed"))
    runtime.run_until(NOW + 200 * SECOND)
    assert len(_of(runtime, CancelOrder)) == 3
