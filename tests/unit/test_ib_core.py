"""The IB broker core, fed IB's callbacks as messages: ids, link policy, combo fills, rejects, restart window."""

from __future__ import annotations

import datetime as dt
import random

from actors.broker.ib.core import IbBrokerCore
from actors.broker.ib.fills import ComboFills, execution_identity
from actors.broker.ib.link import restart_window
from actors.execution.core import ExecutionCore
from actors.risk.core import RiskCore
from actors.runtime.clock import VirtualClock
from actors.runtime.deterministic import DeterministicRuntime
from messages import (
    REJECT_NOT_SENT,
    Alert,
    BreakerStateChanged,
    BrokerConnectionChanged,
    CancelOrder,
    CancelRejected,
    IbCancelOrder,
    IbCommission,
    IbConnected,
    IbDisconnected,
    IbError,
    IbExecution,
    IbOrderStatus,
    IbOrderSubmitted,
    IbPlaceOrder,
    IbResync,
    Leg,
    ModifyOrder,
    OptionContract,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    PlaceOrder,
)
from messages.config import ExecutionSection, IbSection, RiskSection

NOON = int(dt.datetime(2026, 3, 2, 17, 0, tzinfo=dt.UTC).timestamp() * 1e9)  # 12:00 New York
SECOND = 1_000_000_000
EXPIRY = dt.date(2026, 4, 10)
CONDOR = tuple(Leg(OptionContract("SPY", EXPIRY, k, r), q)
               for k, r, q in ((545.0, "P", 1), (550.0, "P", -1), (610.0, "C", -1), (615.0, "C", 1)))


def _of(runtime: DeterministicRuntime, kind: type) -> list:
    return [m for m in runtime.history if isinstance(m, kind)]


def _runtime(start_ns: int = NOON, connected: bool = True, **ib) -> DeterministicRuntime:
    params = IbSection(**ib)
    runtime = DeterministicRuntime([lambda: IbBrokerCore(params)], VirtualClock(start_ns))
    runtime.start()
    if connected:
        runtime.inject(IbConnected(next_valid_id=100, accounts=("DU123",), server_version=176, open_order_refs=()))
    return runtime


def _place(runtime: DeterministicRuntime, client_order_id: str = "IC-1-O1", quantity: int = 1) -> IbPlaceOrder | None:
    before = len(_of(runtime, IbPlaceOrder))
    runtime.inject(PlaceOrder(client_order_id=client_order_id, strategy_id="IC-1", purpose="open", legs=CONDOR,
                              quantity=quantity, limit_price=-1.20))
    sent = _of(runtime, IbPlaceOrder)
    return sent[-1] if len(sent) > before else None


def _combo_executions(client_order_id: str, order_id: int, units: int, serial: int, price: float = -1.18):
    """What IB sends for one combo fill: an execution per leg (with commissions) and one for the combo."""
    legs = [IbExecution(exec_id=f"0001.{serial:04d}{i}.01.01", client_order_id=client_order_id, order_id=order_id,
                        perm_id=9000 + order_id, contract=leg.contract, side="BOT" if leg.ratio > 0 else "SLD",
                        shares=float(units), price=1.0) for i, leg in enumerate(CONDOR)]
    combo = IbExecution(exec_id=f"0001.{serial:04d}9.01.01", client_order_id=client_order_id, order_id=order_id,
                        perm_id=9000 + order_id, contract=None, side="BOT", shares=float(units), price=price)
    commissions = [IbCommission(exec_id=leg.exec_id, commission_usd=0.65 * units) for leg in legs]
    return legs, combo, commissions


def test_orders_are_refused_before_ib_while_the_link_is_down():
    runtime = _runtime(connected=False)
    assert [m.state for m in _of(runtime, BrokerConnectionChanged)] == ["disconnected"]
    assert _place(runtime) is None
    rejected = _of(runtime, OrderRejected)[0]
    assert rejected.code == REJECT_NOT_SENT and "IB link disconnected" in rejected.reason


def test_order_ids_are_never_reused_even_when_next_valid_id_rolls_back():
    runtime = _runtime()
    assert _place(runtime, "O1").min_order_id == 100
    runtime.inject(IbOrderSubmitted(client_order_id="O1", order_id=105))
    runtime.inject(IbDisconnected(reason="socket closed"))
    runtime.inject(IbConnected(next_valid_id=3, accounts=("DU123",), server_version=176, open_order_refs=("O1",)))
    assert _place(runtime, "O2").min_order_id == 106


def test_a_combo_fill_is_booked_once_whatever_order_ibs_callbacks_arrive_in():
    for seed in range(20):
        runtime = _runtime()
        _place(runtime, "O1", quantity=2)
        legs, combo, commissions = _combo_executions("O1", 100, units=2, serial=1)
        events = [*legs, combo, *commissions]
        random.Random(seed).shuffle(events)
        for event in events + events:  # IB replays the day's executions on reconnect: the second pass is a replay
            runtime.inject(event)
        fills = _of(runtime, OrderFilled)
        assert [(f.exec_id, f.quantity, f.price, f.commission_usd) for f in fills] == [
            (combo.exec_id, 2, -1.18, 5.2)], seed


def test_execution_before_open_order_books_the_fill_and_no_late_acceptance():
    runtime = _runtime()
    _place(runtime, "O1")
    legs, combo, commissions = _combo_executions("O1", 100, units=1, serial=1)
    for event in (combo, *legs, *commissions):
        runtime.inject(event)
    runtime.inject(IbOrderStatus(client_order_id="O1", order_id=100, perm_id=9100, status="Submitted", filled=0,
                                 remaining=1, avg_fill_price=0, limit_price=-1.2))
    assert len(_of(runtime, OrderFilled)) == 1
    assert not _of(runtime, OrderAccepted)


def test_a_missing_commission_report_delays_the_fill_then_books_it_with_a_warning():
    runtime = _runtime(commission_wait_s=2.0)
    _place(runtime, "O1")
    legs, combo, commissions = _combo_executions("O1", 100, units=1, serial=1)
    for event in (*legs, combo, *commissions[:3]):
        runtime.inject(event)
    assert not _of(runtime, OrderFilled)
    runtime.run_until(NOON + 3 * SECOND)
    fill = _of(runtime, OrderFilled)[0]
    assert fill.commission_usd == round(3 * 0.65, 2)
    assert any("without commission reports" in a.text for a in _of(runtime, Alert))


def test_partial_combo_fill_then_cancel_reports_the_filled_units():
    runtime = _runtime()
    _place(runtime, "O1", quantity=3)
    runtime.inject(IbOrderStatus(client_order_id="O1", order_id=100, perm_id=9100, status="Submitted", filled=0,
                                 remaining=3, avg_fill_price=0, limit_price=-1.2))
    legs, combo, commissions = _combo_executions("O1", 100, units=2, serial=1)
    for event in (*legs, combo):
        runtime.inject(event)
    runtime.inject(CancelOrder(client_order_id="O1", reason="deadline"))
    assert _of(runtime, IbCancelOrder)
    runtime.inject(IbError(req_id=100, code=202, text="Order Canceled - reason:"))
    assert not _of(runtime, OrderCancelled)  # the cancel waits for the fill it follows
    for event in commissions:
        runtime.inject(event)
    assert [f.quantity for f in _of(runtime, OrderFilled)] == [2]
    cancelled = _of(runtime, OrderCancelled)
    assert [(c.filled_quantity, c.reason) for c in cancelled] == [(2, "cancel confirmed (IB 202)")]


def test_ib_rejects_reach_the_breaker_but_orders_never_sent_do_not():
    params = IbSection()
    runtime = DeterministicRuntime(
        [lambda: IbBrokerCore(params), lambda: ExecutionCore(ExecutionSection()),
         lambda: RiskCore(RiskSection(breaker_failures=2))],
        VirtualClock(NOON))
    runtime.start()
    for n in range(3):  # link down: refused before IB, three times
        runtime.inject(PlaceOrder(client_order_id=f"D{n}", strategy_id="S", purpose="open", legs=CONDOR, quantity=1,
                                  limit_price=-1.2))
    assert not _of(runtime, BreakerStateChanged)
    runtime.inject(IbConnected(next_valid_id=1, accounts=("DU1",), server_version=176, open_order_refs=()))
    for n in range(2):
        runtime.inject(PlaceOrder(client_order_id=f"R{n}", strategy_id="S", purpose="open", legs=CONDOR, quantity=1,
                                  limit_price=-1.2))
        runtime.inject(IbOrderSubmitted(client_order_id=f"R{n}", order_id=10 + n))
        runtime.inject(IbError(req_id=10 + n, code=201, text="Order rejected - reason: margin"))
    assert [r.code for r in _of(runtime, OrderRejected)][-2:] == [201, 201]
    assert [b.state for b in _of(runtime, BreakerStateChanged)] == ["OPEN"]


def test_ib_cancelling_an_untouched_order_itself_is_a_reject():
    runtime = _runtime()
    _place(runtime, "O1")
    runtime.inject(IbOrderSubmitted(client_order_id="O1", order_id=100))
    runtime.inject(IbError(req_id=100, code=202, text="Order Canceled - reason: price outside limits"))
    assert [(r.code, r.reason) for r in _of(runtime, OrderRejected)] == [(202, "Order Canceled - reason: price outside limits")]


def test_1100_leaves_orders_in_flight_holds_cancels_and_1101_resyncs_and_sends_them():
    runtime = _runtime()
    _place(runtime, "O1")
    runtime.inject(IbOrderSubmitted(client_order_id="O1", order_id=100))
    runtime.inject(IbError(req_id=-1, code=1100, text="Connectivity between IB and TWS has been lost."))
    assert _of(runtime, BrokerConnectionChanged)[-1].state == "degraded"
    assert _place(runtime, "O2") is None and _of(runtime, OrderRejected)[-1].client_order_id == "O2"
    runtime.inject(CancelOrder(client_order_id="O1", reason="deadline"))
    runtime.inject(ModifyOrder(client_order_id="O1", limit_price=-1.1))
    assert not _of(runtime, IbCancelOrder) and len(_of(runtime, IbPlaceOrder)) == 1
    assert not _of(runtime, OrderCancelled)  # outcome unknown: still in flight
    runtime.inject(IbError(req_id=-1, code=1101, text="Connectivity restored - data lost."))
    assert _of(runtime, BrokerConnectionChanged)[-1].state == "connected"
    assert [(r.resubscribe, r.reason) for r in _of(runtime, IbResync)] == [(True, "IB 1101")]
    assert [c.client_order_id for c in _of(runtime, IbCancelOrder)] == ["O1"]
    runtime.inject(IbError(req_id=-1, code=1102, text="Connectivity restored - data maintained."))
    assert _of(runtime, IbResync)[-1].resubscribe is False


def test_data_farm_flaps_are_data_only():
    runtime = _runtime()
    for code, text in ((2103, "Market data farm connection is broken:usfarm"),
                       (2103, "Market data farm connection is broken:usfarm"),
                       (2104, "Market data farm connection is OK:usfarm"),
                       (2105, "HMDS data farm connection is broken:ushmds"),
                       (2106, "HMDS data farm connection is OK:ushmds")):
        runtime.inject(IbError(req_id=-1, code=code, text=text))
    assert [m.state for m in _of(runtime, BrokerConnectionChanged)] == ["disconnected", "connected"]
    assert [a.level for a in _of(runtime, Alert)] == ["warning", "info", "warning", "info"]
    assert _place(runtime) is not None


def test_duplicate_disconnect_events_are_one_outage():
    runtime = _runtime()
    for _ in range(3):
        runtime.inject(IbDisconnected(reason="socket closed"))
    assert [m.state for m in _of(runtime, BrokerConnectionChanged)] == ["disconnected", "connected", "disconnected"]
    assert len(_of(runtime, Alert)) == 1


def test_an_order_ib_does_not_know_after_reconnect_is_ended_and_a_cancel_of_a_done_order_is_refused():
    runtime = _runtime()
    _place(runtime, "O1")
    runtime.inject(IbDisconnected(reason="socket dropped mid-order"))
    runtime.inject(IbConnected(next_valid_id=101, accounts=("DU123",), server_version=176, open_order_refs=()))
    assert [(c.client_order_id, c.reason) for c in _of(runtime, OrderCancelled)] == [
        ("O1", "not working at IB after reconnect")]
    runtime.inject(CancelOrder(client_order_id="O1", reason="deadline"))
    assert _of(runtime, CancelRejected)[0].reason == "order is done"


def test_no_order_goes_out_around_the_daily_gateway_restart():
    before = int(dt.datetime(2026, 3, 3, 4, 42, tzinfo=dt.UTC).timestamp() * 1e9)  # 23:42 New York
    runtime = _runtime(start_ns=before, daily_restart="23:45")
    assert _of(runtime, BrokerConnectionChanged)[-1].state == "degraded"
    assert _place(runtime) is None
    assert "restart window" in _of(runtime, OrderRejected)[0].reason
    runtime.run_until(before + 14 * 60 * SECOND)  # window ends 23:55
    assert _of(runtime, BrokerConnectionChanged)[-1].state == "connected"
    assert _place(runtime, "O2") is not None


def test_restart_window_arithmetic_across_midnight():
    at = int(dt.datetime(2026, 3, 3, 5, 2, tzinfo=dt.UTC).timestamp() * 1e9)  # 00:02 New York
    inside, until = restart_window(at, dt.time(23, 55), 5, 10)
    assert inside and until == int(dt.datetime(2026, 3, 3, 5, 5, tzinfo=dt.UTC).timestamp() * 1e9)
    inside, until = restart_window(NOON, dt.time(23, 45), 5, 10)
    assert not inside and until == int(dt.datetime(2026, 3, 3, 4, 40, tzinfo=dt.UTC).timestamp() * 1e9)


def test_execution_corrections_are_recognised():
    assert execution_identity("0001.00019.01.02") == execution_identity("0001.00019.01.01")
    assert execution_identity("SIM-1-2") == "SIM-1-2"
    fills = ComboFills()
    _, combo, _ = _combo_executions("O1", 1, units=1, serial=1)
    assert fills.add(combo, CONDOR) == "new"
    corrected = IbExecution(**{**{f: getattr(combo, f) for f in combo.__struct_fields__}, "exec_id": "0001.00019.01.02"})
    assert fills.add(corrected, CONDOR) == "correction"


def test_a_replayed_completed_order_keeps_its_id_and_a_foreign_execution_is_flagged_once():
    runtime = _runtime()
    _place(runtime, "O1")
    runtime.inject(IbOrderSubmitted(client_order_id="O1", order_id=100))
    runtime.inject(IbOrderStatus(client_order_id="O1", order_id=0, perm_id=9100, status="Filled", filled=1,
                                 remaining=0, avg_fill_price=-1.2, limit_price=-1.2))
    runtime.inject(CancelOrder(client_order_id="O1", reason="deadline"))
    assert _of(runtime, IbCancelOrder)[0].order_id == 100
    _, combo, _ = _combo_executions("MANUAL", 0, units=1, serial=7)
    for _ in range(3):  # replayed at every connect and sweep
        runtime.inject(combo)
    assert len([a for a in _of(runtime, Alert) if "is not ours" in a.text]) == 1


def test_a_fill_ib_reports_without_its_executions_raises_an_alert_and_a_resync():
    runtime = _runtime(commission_wait_s=1.0)
    _place(runtime, "O1", quantity=2)
    runtime.inject(IbOrderStatus(client_order_id="O1", order_id=100, perm_id=9100, status="Filled", filled=2,
                                 remaining=0, avg_fill_price=-1.2, limit_price=-1.2))
    runtime.run_until(NOON + 3 * SECOND)
    assert any("IB reports 2 units of O1 filled but executions delivered 0" in a.text for a in _of(runtime, Alert))
    assert _of(runtime, IbResync)[0].reason == "missing executions of O1"
    legs, combo, commissions = _combo_executions("O1", 100, units=2, serial=1)  # the resync brings them
    for event in (*legs, combo, *commissions):
        runtime.inject(event)
    assert [f.quantity for f in _of(runtime, OrderFilled)] == [2]


def test_executions_arriving_with_their_status_raise_no_alarm():
    runtime = _runtime(commission_wait_s=1.0)
    _place(runtime, "O1")
    legs, combo, commissions = _combo_executions("O1", 100, units=1, serial=1)
    runtime.inject(IbOrderStatus(client_order_id="O1", order_id=100, perm_id=9100, status="Filled", filled=1,
                                 remaining=0, avg_fill_price=-1.2, limit_price=-1.2))
    for event in (*legs, combo, *commissions):
        runtime.inject(event)
    runtime.run_until(NOON + 3 * SECOND)
    assert not _of(runtime, IbResync) and not _of(runtime, Alert)
