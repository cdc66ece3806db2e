"""The IB broker core, fed IB's callbacks as messages: ids, link policy, order fates, combo fills, restart window."""

from __future__ import annotations

import datetime as dt
import random

from actors.broker.ib.config import IbSection
from actors.broker.ib.core import IbBrokerCore
from actors.broker.ib.link import restart_window
from actors.execution.config import ExecutionSection
from actors.execution.core import ExecutionCore
from actors.risk.config import RiskSection
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
    IbOpenOrders,
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
    StopNode,
)

NOON = int(dt.datetime(2026, 3, 2, 17, 0, tzinfo=dt.UTC).timestamp() * 1e9)  # 12:00 New York
AFTER_CLOSE = int(dt.datetime(2026, 3, 2, 21, 0, 1, tzinfo=dt.UTC).timestamp() * 1e9)  # 16:00:01 New York
SECOND = 1_000_000_000
EXPIRY = dt.date(2026, 4, 10)
CONDOR = tuple(Leg(OptionContract("SPY", EXPIRY, k, r), q)
               for k, r, q in ((545.0, "P", 1), (550.0, "P", -1), (610.0, "C", -1), (615.0, "C", 1)))
LEG_PRICES = (1.00, 1.60, 1.70, 1.12)
"""Σ ratio × price = 1.00 - 1.60 - 1.70 + 1.12 = -1.18: the condor's net credit."""
READ_ONLY = "Error validating request.-'bN' : cause - The API interface is currently in Read-Only mode."


def _of(runtime: DeterministicRuntime, kind: type) -> list:
    return [m for m in runtime.history if isinstance(m, kind)]


def _answer(runtime: DeterministicRuntime, working: tuple[str, ...] = (), complete: bool = True) -> None:
    """IB answers the latest resync: which orders it still works."""
    request = _of(runtime, IbResync)[-1]
    runtime.inject(IbOpenOrders(sync_id=request.sync_id, judged=request.judge, working=working, complete=complete))


def _connect(runtime: DeterministicRuntime, next_valid_id: int = 100, working: tuple[str, ...] = ()) -> None:
    runtime.inject(IbConnected(next_valid_id=next_valid_id, accounts=("DU123",), server_version=176))
    _answer(runtime, working)


def _runtime(start_ns: int = NOON, connected: bool = True, **ib) -> DeterministicRuntime:
    params = IbSection(**ib)
    runtime = DeterministicRuntime([lambda: IbBrokerCore(params)], VirtualClock(start_ns))
    runtime.start()
    if connected:
        _connect(runtime)
    return runtime


def _place(runtime: DeterministicRuntime, client_order_id: str = "IC-1-O1", quantity: int = 1,
           order_id: int | None = None) -> IbPlaceOrder | None:
    before = len(_of(runtime, IbPlaceOrder))
    runtime.inject(PlaceOrder(client_order_id=client_order_id, strategy_id="IC-1", purpose="open", legs=CONDOR,
                              quantity=quantity, limit_price=-1.20))
    sent = _of(runtime, IbPlaceOrder)
    if order_id is not None:
        runtime.inject(IbOrderSubmitted(client_order_id=client_order_id, order_id=order_id))
    return sent[-1] if len(sent) > before else None


def _status(client_order_id: str, status: str, filled: float = 0, avg: float = 0.0, limit: float = -1.2,
            order_id: int = 100) -> IbOrderStatus:
    return IbOrderStatus(client_order_id=client_order_id, order_id=order_id, perm_id=9100, status=status,
                         filled=filled, remaining=1 - filled, avg_fill_price=avg, limit_price=limit)


def _combo_executions(client_order_id: str, order_id: int, units: int, serial: int, bag_price: float = -1.18,
                      direction: int = 1):
    """What IB sends for one combo fill: an execution per leg (own side, own positive price, a commission report
    each) and one for the BAG at the net price in the order's terms."""
    legs = [IbExecution(exec_id=f"0000e0d5.{serial:08x}.{i + 2:02d}.01", client_order_id=client_order_id,
                        order_id=order_id, perm_id=9000 + order_id, contract=leg.contract,
                        side="BOT" if leg.ratio * direction > 0 else "SLD", shares=float(units), price=price)
            for i, (leg, price) in enumerate(zip(CONDOR, LEG_PRICES))]
    bag = IbExecution(exec_id=f"0000e0d5.{serial:08x}.01.01", client_order_id=client_order_id, order_id=order_id,
                      perm_id=9000 + order_id, contract=None, side="BOT" if direction > 0 else "SLD",
                      shares=float(units), price=bag_price)
    commissions = [IbCommission(exec_id=leg.exec_id, commission_usd=0.65 * units) for leg in legs]
    return legs, bag, commissions


# link and ids -------------------------------------------------------------------------------------------------------
def test_orders_are_refused_before_ib_while_the_link_is_down():
    runtime = _runtime(connected=False)
    assert [m.state for m in _of(runtime, BrokerConnectionChanged)] == ["disconnected"]
    assert _place(runtime) is None
    rejected = _of(runtime, OrderRejected)[0]
    assert rejected.code == REJECT_NOT_SENT and "IB link disconnected" in rejected.reason


def test_a_connect_trades_only_once_ib_has_said_which_orders_it_works():
    runtime = _runtime(connected=False)
    runtime.inject(IbConnected(next_valid_id=100, accounts=("DU123",), server_version=176))
    assert _of(runtime, BrokerConnectionChanged)[-1].state == "degraded"
    assert _place(runtime, "O1") is None and "synchronising" in _of(runtime, OrderRejected)[-1].reason
    _answer(runtime)
    assert _of(runtime, BrokerConnectionChanged)[-1].state == "connected"
    assert _place(runtime, "O2") is not None


def test_order_ids_are_never_reused_even_when_next_valid_id_rolls_back():
    runtime = _runtime()
    assert _place(runtime, "O1", order_id=105).min_order_id == 100
    runtime.inject(IbDisconnected(reason="socket closed"))
    _connect(runtime, next_valid_id=3, working=("O1",))
    assert _place(runtime, "O2").min_order_id == 106


def test_duplicate_disconnect_events_are_one_outage():
    runtime = _runtime()
    for _ in range(3):
        runtime.inject(IbDisconnected(reason="socket closed"))
    assert [m.state for m in _of(runtime, BrokerConnectionChanged)] == [
        "disconnected", "degraded", "connected", "disconnected"]
    assert len(_of(runtime, Alert)) == 1


def test_1100_leaves_orders_in_flight_holds_cancels_and_1101_resyncs_and_sends_them():
    runtime = _runtime()
    _place(runtime, "O1", order_id=100)
    runtime.inject(IbError(req_id=-1, code=1100, text="Connectivity between IB and TWS has been lost."))
    assert _of(runtime, BrokerConnectionChanged)[-1].state == "degraded"
    assert _place(runtime, "O2") is None and _of(runtime, OrderRejected)[-1].client_order_id == "O2"
    runtime.inject(CancelOrder(client_order_id="O1", reason="deadline"))
    runtime.inject(ModifyOrder(client_order_id="O1", limit_price=-1.1))
    assert not _of(runtime, IbCancelOrder) and len(_of(runtime, IbPlaceOrder)) == 1
    assert not _of(runtime, OrderCancelled)  # outcome unknown: still in flight
    runtime.inject(IbError(req_id=-1, code=1101, text="Connectivity restored - data lost."))
    assert _of(runtime, BrokerConnectionChanged)[-1].state == "connected"
    resync = _of(runtime, IbResync)[-1]
    assert (resync.resubscribe, resync.reason, resync.judge) == (True, "IB 1101", ("O1",))
    assert [c.client_order_id for c in _of(runtime, IbCancelOrder)] == ["O1"]
    runtime.inject(IbError(req_id=-1, code=1102, text="Connectivity restored - data maintained."))
    assert _of(runtime, IbResync)[-1].resubscribe is False


def test_a_cancel_held_through_a_reconnect_waits_for_the_sync_that_brings_ibs_order_id():
    runtime = _runtime()
    _place(runtime, "O1")  # sent, but the process died before IB's id for it was journaled
    runtime.inject(IbDisconnected(reason="restarted"))
    runtime.inject(CancelOrder(client_order_id="O1", reason="restart: cancel not confirmed"))
    runtime.inject(IbConnected(next_valid_id=100, accounts=("DU123",), server_version=176))
    assert not _of(runtime, IbCancelOrder)  # the new connection does not know the order yet
    runtime.inject(_status("O1", "Submitted", order_id=57))  # the sync's open orders name it
    _answer(runtime, working=("O1",))
    assert [(c.client_order_id, c.order_id) for c in _of(runtime, IbCancelOrder)] == [("O1", 57)]


def test_2110_is_the_link_lost_and_502_504_are_the_link_down():
    runtime = _runtime()
    runtime.inject(IbError(req_id=-1, code=2110, text="Connectivity between TWS and server is broken."))
    assert _of(runtime, BrokerConnectionChanged)[-1].state == "degraded"
    assert _place(runtime, "O1") is None
    runtime.inject(IbError(req_id=-1, code=1102, text="Connectivity restored - data maintained."))
    _answer(runtime)
    runtime.inject(IbError(req_id=-1, code=504, text="Not connected"))
    assert _of(runtime, BrokerConnectionChanged)[-1].state == "disconnected"


def test_data_farm_flaps_and_the_connect_burst_are_data_only():
    runtime = _runtime()
    for code, text in ((2104, "Market data farm connection is OK:usfarm"),
                       (2158, "Sec-def data farm connection is OK:secdefil"),
                       (2103, "Market data farm connection is broken:usfarm"),
                       (2103, "Market data farm connection is broken:usfarm"),
                       (2104, "Market data farm connection is OK:usfarm"),
                       (2105, "HMDS data farm connection is broken:ushmds"),
                       (2106, "HMDS data farm connection is OK:ushmds")):
        runtime.inject(IbError(req_id=-1, code=code, text=text))
    assert _of(runtime, BrokerConnectionChanged)[-1].state == "connected"
    assert [a.level for a in _of(runtime, Alert)] == ["warning", "info", "warning", "info"]
    assert _place(runtime) is not None


def test_a_client_id_in_use_is_retried_then_stops_the_node_for_an_operator():
    runtime = _runtime(connected=False)
    for _ in range(4):
        runtime.inject(IbError(req_id=-1, code=326, text="Unable to connect as the client id is already in use."))
    [stop] = _of(runtime, StopNode)
    assert stop.restart is False and "client id" in stop.reason
    assert [a.level for a in _of(runtime, Alert)] == ["warning", "warning", "critical"]


# an order's fate is IB's word, never an error code alone ----------------------------------------------------------
def test_an_order_refused_by_an_error_alone_ends_rejected_with_ibs_code_once_ib_confirms():
    runtime = _runtime()
    _place(runtime, "O1", order_id=100)
    runtime.inject(IbError(req_id=100, code=321, text=READ_ONLY))
    assert not _of(runtime, OrderRejected)  # an error alone ends nothing...
    assert _of(runtime, IbResync)[-1].judge == ("O1",)  # ...it makes the core ask IB
    _answer(runtime)
    assert [(r.code, r.reason) for r in _of(runtime, OrderRejected)] == [(321, READ_ONLY)]


def test_a_refused_modify_leaves_the_order_working_and_says_so():
    runtime = _runtime()
    _place(runtime, "O1", order_id=100)
    runtime.inject(_status("O1", "Submitted"))
    runtime.inject(ModifyOrder(client_order_id="O1", limit_price=-1.10))
    runtime.inject(IbError(req_id=100, code=201, text="Order rejected - reason: modification refused"))
    _answer(runtime, working=("O1",))
    assert not _of(runtime, OrderRejected) and not _of(runtime, OrderCancelled)
    assert any("refused the modify of O1 to -1.10" in a.text and "still works at -1.20" in a.text
               for a in _of(runtime, Alert))
    runtime.inject(_status("O1", "Cancelled"))  # later IB's own word ends it
    assert [c.reason for c in _of(runtime, OrderCancelled)] == ["cancelled by IB"]


def test_a_modify_before_ib_acknowledged_the_order_waits_for_the_acknowledgement():
    runtime = _runtime()
    _place(runtime, "O1", order_id=100)
    runtime.inject(ModifyOrder(client_order_id="O1", limit_price=-1.15))
    runtime.inject(ModifyOrder(client_order_id="O1", limit_price=-1.10))
    assert [m.modify for m in _of(runtime, IbPlaceOrder)] == [False]
    runtime.inject(_status("O1", "Submitted"))
    assert [(m.modify, m.limit_price) for m in _of(runtime, IbPlaceOrder)] == [(False, -1.2), (True, -1.10)]


def test_ibs_refusal_of_an_order_is_its_verdict_not_the_errors_its_pending_modifications_drew():
    runtime = _runtime()
    _place(runtime, "O1", order_id=100)
    runtime.inject(_status("O1", "Submitted"))
    runtime.inject(ModifyOrder(client_order_id="O1", limit_price=-1.10))
    runtime.inject(IbError(req_id=100, code=201, text="Order rejected - reason: margin"))
    runtime.inject(IbError(req_id=100, code=103, text="Duplicate order id"))  # answering the modification
    _answer(runtime)
    assert [(r.code, r.reason) for r in _of(runtime, OrderRejected)] == [(201, "Order rejected - reason: margin")]


def test_a_cancel_ib_cannot_find_is_refused_then_the_order_ends_as_cancelled():
    runtime = _runtime()
    _place(runtime, "O1", order_id=100)
    runtime.inject(CancelOrder(client_order_id="O1", reason="deadline"))
    runtime.inject(IbError(req_id=100, code=10147, text="OrderId 100 that needs to be cancelled is not found."))
    assert _of(runtime, CancelRejected)[0].reason.startswith("IB 10147")
    _answer(runtime)
    [cancelled] = _of(runtime, OrderCancelled)
    assert cancelled.reason.startswith("cancelled (no longer working at IB")
    assert not _of(runtime, OrderRejected)


def test_a_warning_on_a_working_order_changes_nothing():
    runtime = _runtime()
    _place(runtime, "O1", order_id=100)
    runtime.inject(IbError(req_id=100, code=399, text="Order Message: Warning: held until the open"))
    _answer(runtime, working=("O1",))
    runtime.inject(_status("O1", "Submitted"))
    assert _of(runtime, OrderAccepted) and not _of(runtime, OrderRejected) and not _of(runtime, OrderCancelled)


def test_an_open_orders_answer_that_timed_out_ends_nothing_and_is_asked_again():
    runtime = _runtime(connect_timeout_s=5.0)
    _place(runtime, "O1", order_id=100)
    runtime.inject(IbDisconnected(reason="socket closed"))
    runtime.inject(IbConnected(next_valid_id=101, accounts=("DU123",), server_version=176))
    _answer(runtime, complete=False)
    assert not _of(runtime, OrderCancelled) and not _of(runtime, OrderRejected)
    assert _of(runtime, BrokerConnectionChanged)[-1].state == "degraded"
    asked = len(_of(runtime, IbResync))
    runtime.run_until(NOON + 6 * SECOND)
    assert len(_of(runtime, IbResync)) == asked + 1 and _of(runtime, IbResync)[-1].judge == ("O1",)
    _answer(runtime, working=("O1",))
    assert _of(runtime, BrokerConnectionChanged)[-1].state == "connected"
    assert not _of(runtime, OrderCancelled)


def test_an_order_ib_does_not_know_after_reconnect_is_ended_and_a_cancel_of_a_done_order_is_refused():
    runtime = _runtime()
    _place(runtime, "O1")
    runtime.inject(IbDisconnected(reason="socket dropped mid-order"))
    _connect(runtime, next_valid_id=101)
    assert [(c.client_order_id, c.reason) for c in _of(runtime, OrderCancelled)] == [
        ("O1", "not working at IB (after reconnect)")]
    runtime.inject(CancelOrder(client_order_id="O1", reason="deadline"))
    assert _of(runtime, CancelRejected)[0].reason == "order is done"


def test_ib_rejects_reach_the_breaker_but_orders_never_sent_and_day_expiries_do_not():
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
    _connect(runtime, next_valid_id=1)
    for n in range(2):
        runtime.inject(PlaceOrder(client_order_id=f"R{n}", strategy_id="S", purpose="open", legs=CONDOR, quantity=1,
                                  limit_price=-1.2))
        runtime.inject(IbOrderSubmitted(client_order_id=f"R{n}", order_id=10 + n))
        runtime.inject(IbError(req_id=10 + n, code=201, text="Order rejected - reason: margin"))
        _answer(runtime)
    assert [r.code for r in _of(runtime, OrderRejected)][-2:] == [201, 201]
    assert [b.state for b in _of(runtime, BreakerStateChanged)] == ["OPEN"]


def test_a_day_order_expiring_at_the_close_is_cancelled_not_a_reject():
    runtime = _runtime()
    _place(runtime, "O1", order_id=100)
    runtime.inject(_status("O1", "Submitted"))
    runtime.run_until(AFTER_CLOSE)
    runtime.inject(IbError(req_id=100, code=202, text="Order Canceled - reason:"))
    runtime.inject(_status("O1", "Cancelled"))
    assert [c.reason for c in _of(runtime, OrderCancelled)] == ["expired at the close (DAY order)"]
    assert not _of(runtime, OrderRejected)


def test_an_inactive_order_is_rejected_and_cancelled_at_ib():
    runtime = _runtime()
    _place(runtime, "O1", order_id=100)
    runtime.inject(_status("O1", "Inactive"))
    assert [r.reason for r in _of(runtime, OrderRejected)] == ["order inactive at IB"]
    assert [c.order_id for c in _of(runtime, IbCancelOrder)] == [100]


# combo fills -------------------------------------------------------------------------------------------------------
def test_a_combo_fill_is_booked_once_from_its_legs_whatever_order_ibs_callbacks_arrive_in():
    for seed in range(20):
        runtime = _runtime()
        _place(runtime, "O1", quantity=2)
        legs, bag, commissions = _combo_executions("O1", 100, units=2, serial=1)
        events = [*legs, bag, *commissions]
        random.Random(seed).shuffle(events)
        for event in events + events:  # IB replays the day's executions on reconnect: the second pass is a replay
            runtime.inject(event)
        fills = _of(runtime, OrderFilled)
        assert [(f.quantity, f.price, f.commission_usd) for f in fills] == [(2, -1.18, 5.2)], seed
        assert not [a for a in _of(runtime, Alert) if a.level == "critical"], seed
        assert not [a for a in _of(runtime, Alert) if "corrected" in a.text], seed  # a replay is no correction


def test_a_fill_without_a_bag_execution_is_booked_from_its_legs():
    runtime = _runtime()
    _place(runtime, "O1")
    legs, _, commissions = _combo_executions("O1", 100, units=1, serial=1)
    for event in (*legs, *commissions):
        runtime.inject(event)
    assert [(f.quantity, f.price, f.commission_usd) for f in _of(runtime, OrderFilled)] == [(1, -1.18, 2.6)]


def test_a_closing_sale_of_the_structure_books_negative_units_at_the_structures_price():
    runtime = _runtime()
    runtime.inject(PlaceOrder(client_order_id="C1", strategy_id="IC-1", purpose="close", legs=CONDOR, quantity=-1,
                              limit_price=-0.60))
    legs, bag, commissions = _combo_executions("C1", 100, units=1, serial=2, direction=-1)
    for event in (*legs, bag, *commissions):
        runtime.inject(event)
    assert [(f.quantity, f.price) for f in _of(runtime, OrderFilled)] == [(-1, -1.18)]


def test_legs_split_over_several_executions_complete_units_as_they_arrive():
    runtime = _runtime()
    _place(runtime, "O1", quantity=3)
    legs, _, _ = _combo_executions("O1", 100, units=3, serial=1)
    parts = []
    for leg in legs:  # each leg fills 1 then 2 contracts
        for n, shares in ((1, 1.0), (2, 2.0)):
            part = IbExecution(**{**{f: getattr(leg, f) for f in leg.__struct_fields__},
                                  "exec_id": f"{leg.exec_id[:-5]}{n}{leg.exec_id[-4:]}", "shares": shares})
            parts.append(part)
    for part in sorted(parts, key=lambda p: p.shares):  # first every leg's single contract, then the pairs
        runtime.inject(part)
        runtime.inject(IbCommission(exec_id=part.exec_id, commission_usd=0.65 * part.shares))
    assert [f.quantity for f in _of(runtime, OrderFilled)] == [1, 2]
    assert all(f.price == -1.18 for f in _of(runtime, OrderFilled))


def test_a_bag_execution_that_disagrees_with_the_legs_raises_a_critical_alert_and_the_legs_win():
    runtime = _runtime()
    _place(runtime, "O1")
    legs, bag, commissions = _combo_executions("O1", 100, units=1, serial=1, bag_price=1.18)  # sign inverted
    for event in (bag, *legs, *commissions):
        runtime.inject(event)
    assert [f.price for f in _of(runtime, OrderFilled)] == [-1.18]
    assert any(a.level == "critical" and "BAG executions of O1 report 1 units at 1.1800" in a.text
               for a in _of(runtime, Alert))


def test_an_average_fill_price_that_disagrees_with_the_legs_raises_a_critical_alert():
    runtime = _runtime()
    _place(runtime, "O1", order_id=100)
    legs, _, commissions = _combo_executions("O1", 100, units=1, serial=1)
    for event in (*legs, *commissions):
        runtime.inject(event)
    runtime.inject(_status("O1", "Filled", filled=1, avg=-1.30))
    runtime.inject(_status("O1", "Filled", filled=1, avg=-1.30))  # IB repeats its status: one alert per fill
    [alert] = [a for a in _of(runtime, Alert) if "average fill price" in a.text]
    assert alert.level == "critical" and "(-1.3000) differs from its legs' executions (-1.1800)" in alert.text
    assert [f.price for f in _of(runtime, OrderFilled)] == [-1.18]


def test_an_average_fill_price_that_agrees_raises_nothing():
    runtime = _runtime()
    _place(runtime, "O1", order_id=100)
    legs, _, commissions = _combo_executions("O1", 100, units=1, serial=1)
    for event in (*legs, *commissions):
        runtime.inject(event)
    runtime.inject(_status("O1", "Filled", filled=1, avg=-1.18))
    assert not _of(runtime, Alert)


def test_an_execution_of_a_leg_the_order_does_not_have_is_not_booked():
    runtime = _runtime()
    _place(runtime, "O1")
    stranger = IbExecution(exec_id="0000e0d5.00000009.02.01", client_order_id="O1", order_id=100, perm_id=9100,
                           contract=OptionContract("SPY", EXPIRY, 500.0, "P"), side="BOT", shares=1.0, price=0.5)
    runtime.inject(stranger)
    assert not _of(runtime, OrderFilled)
    assert any(a.level == "critical" and "not a leg of the order" in a.text for a in _of(runtime, Alert))


def test_ibs_unset_commission_is_missing_and_the_real_report_books_the_fill():
    runtime = _runtime()
    _place(runtime, "O1")
    legs, bag, commissions = _combo_executions("O1", 100, units=1, serial=1)
    for event in (*legs, bag, *commissions[:3]):
        runtime.inject(event)
    runtime.inject(IbCommission(exec_id=legs[3].exec_id, commission_usd=1.7976931348623157e308))
    assert not _of(runtime, OrderFilled)
    runtime.inject(commissions[3])
    assert [f.commission_usd for f in _of(runtime, OrderFilled)] == [2.6]


def test_execution_corrections_are_recognised_and_not_booked_again():
    runtime = _runtime()
    _place(runtime, "O1")
    legs, bag, commissions = _combo_executions("O1", 100, units=1, serial=1)
    for event in (*legs, bag, *commissions):
        runtime.inject(event)
    corrected = IbExecution(**{**{f: getattr(legs[0], f) for f in legs[0].__struct_fields__},
                               "exec_id": legs[0].exec_id[:-2] + "02"})
    runtime.inject(corrected)
    assert len(_of(runtime, OrderFilled)) == 1
    assert any("corrected execution" in a.text for a in _of(runtime, Alert))


def test_execution_before_open_order_books_the_fill_and_no_late_acceptance():
    runtime = _runtime()
    _place(runtime, "O1")
    legs, bag, commissions = _combo_executions("O1", 100, units=1, serial=1)
    for event in (bag, *legs, *commissions):
        runtime.inject(event)
    runtime.inject(_status("O1", "Submitted"))
    assert len(_of(runtime, OrderFilled)) == 1
    assert not _of(runtime, OrderAccepted)


def test_a_missing_commission_report_delays_the_fill_then_books_it_with_a_warning():
    runtime = _runtime(commission_wait_s=2.0)
    _place(runtime, "O1")
    legs, bag, commissions = _combo_executions("O1", 100, units=1, serial=1)
    for event in (*legs, bag, *commissions[:3]):
        runtime.inject(event)
    assert not _of(runtime, OrderFilled)
    runtime.run_until(NOON + 3 * SECOND)
    fill = _of(runtime, OrderFilled)[0]
    assert fill.commission_usd == round(3 * 0.65, 2)
    assert any("without commission reports" in a.text for a in _of(runtime, Alert))


def test_partial_combo_fill_then_cancel_reports_the_filled_units():
    runtime = _runtime()
    _place(runtime, "O1", quantity=3, order_id=100)
    runtime.inject(_status("O1", "Submitted"))
    legs, bag, commissions = _combo_executions("O1", 100, units=2, serial=1)
    for event in (*legs, bag):
        runtime.inject(event)
    runtime.inject(CancelOrder(client_order_id="O1", reason="deadline"))
    assert _of(runtime, IbCancelOrder)
    runtime.inject(IbError(req_id=100, code=202, text="Order Canceled - reason:"))
    runtime.inject(_status("O1", "Cancelled", filled=2))
    assert not _of(runtime, OrderCancelled)  # the cancel waits for the fill it follows
    for event in commissions:
        runtime.inject(event)
    assert [f.quantity for f in _of(runtime, OrderFilled)] == [2]
    assert [(c.filled_quantity, c.reason) for c in _of(runtime, OrderCancelled)] == [(2, "cancel confirmed")]


def test_a_replayed_completed_order_keeps_its_id_and_a_foreign_execution_is_flagged_once():
    runtime = _runtime()
    _place(runtime, "O1", order_id=100)
    runtime.inject(_status("O1", "Filled", filled=1, avg=-1.2, order_id=0))
    runtime.inject(CancelOrder(client_order_id="O1", reason="deadline"))
    assert _of(runtime, IbCancelOrder)[0].order_id == 100
    _, bag, _ = _combo_executions("MANUAL", 0, units=1, serial=7)
    for _ in range(3):  # replayed at every connect and sweep
        runtime.inject(bag)
    assert len([a for a in _of(runtime, Alert) if "is not ours" in a.text]) == 1


def test_a_fill_ib_reports_without_its_executions_raises_an_alert_and_a_resync():
    runtime = _runtime(commission_wait_s=1.0)
    _place(runtime, "O1", quantity=2)
    runtime.inject(_status("O1", "Filled", filled=2, avg=-1.2))
    runtime.run_until(NOON + 3 * SECOND)
    assert any("IB reports 2 units of O1 filled but executions delivered 0" in a.text for a in _of(runtime, Alert))
    assert _of(runtime, IbResync)[-1].reason == "missing executions of O1"
    legs, bag, commissions = _combo_executions("O1", 100, units=2, serial=1)  # the resync brings them
    for event in (*legs, bag, *commissions):
        runtime.inject(event)
    assert [f.quantity for f in _of(runtime, OrderFilled)] == [2]


def test_executions_arriving_with_their_status_raise_no_alarm():
    runtime = _runtime(commission_wait_s=1.0)
    _place(runtime, "O1")
    legs, bag, commissions = _combo_executions("O1", 100, units=1, serial=1)
    runtime.inject(_status("O1", "Filled", filled=1, avg=-1.18))
    for event in (*legs, bag, *commissions):
        runtime.inject(event)
    resyncs = len(_of(runtime, IbResync))
    runtime.run_until(NOON + 3 * SECOND)
    assert len(_of(runtime, IbResync)) == resyncs and not _of(runtime, Alert)


# daily restart -----------------------------------------------------------------------------------------------------
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
