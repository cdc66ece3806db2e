"""The IB broker core, fed IB's callbacks as messages: ids, link policy, order fates, restart window (its combo fills:
`test_ib_core_fills.py`)."""

from __future__ import annotations

import datetime as dt

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
    IbConnected,
    IbDisconnected,
    IbError,
    IbOrderNotSent,
    IbOrderSubmitted,
    IbPlaceOrder,
    IbResync,
    ModifyOrder,
    ModifyRefused,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    PlaceOrder,
    StopNode,
)
from tests.unit.ib_core_driver import (
    AFTER_CLOSE,
    CONDOR,
    NOON,
    READ_ONLY,
    SECOND,
    answer_resync,
    connect,
    ib_core_runtime,
    ib_status,
    place,
    seen,
)


# link and ids -------------------------------------------------------------------------------------------------------
def test_orders_are_refused_before_ib_while_the_link_is_down():
    runtime = ib_core_runtime(connected=False)
    assert [m.state for m in seen(runtime, BrokerConnectionChanged)] == ["disconnected"]
    assert place(runtime) is None
    rejected = seen(runtime, OrderRejected)[0]
    assert rejected.code == REJECT_NOT_SENT and "IB link disconnected" in rejected.reason


def test_a_connect_trades_only_once_ib_has_said_which_orders_it_works():
    runtime = ib_core_runtime(connected=False)
    runtime.inject(IbConnected(next_valid_id=100, accounts=("DU123",), server_version=176))
    assert seen(runtime, BrokerConnectionChanged)[-1].state == "degraded"
    assert place(runtime, "O1") is None and "synchronising" in seen(runtime, OrderRejected)[-1].reason
    answer_resync(runtime)
    assert seen(runtime, BrokerConnectionChanged)[-1].state == "connected"
    assert place(runtime, "O2") is not None


def test_order_ids_are_never_reused_even_when_next_valid_id_rolls_back():
    runtime = ib_core_runtime()
    assert place(runtime, "O1", order_id=105).min_order_id == 100
    runtime.inject(IbDisconnected(reason="socket closed"))
    connect(runtime, next_valid_id=3, working=("O1",))
    assert place(runtime, "O2").min_order_id == 106


def test_duplicate_disconnect_events_are_one_outage():
    runtime = ib_core_runtime()
    for _ in range(3):
        runtime.inject(IbDisconnected(reason="socket closed"))
    assert [m.state for m in seen(runtime, BrokerConnectionChanged)] == [
        "disconnected", "degraded", "connected", "disconnected"]
    assert len(seen(runtime, Alert)) == 1


def test_1100_leaves_orders_in_flight_holds_cancels_and_1101_resyncs_and_sends_them():
    runtime = ib_core_runtime()
    place(runtime, "O1", order_id=100)
    runtime.inject(IbError(req_id=-1, code=1100, text="Connectivity between IB and TWS has been lost."))
    assert seen(runtime, BrokerConnectionChanged)[-1].state == "degraded"
    assert place(runtime, "O2") is None and seen(runtime, OrderRejected)[-1].client_order_id == "O2"
    runtime.inject(CancelOrder(client_order_id="O1", reason="deadline"))
    runtime.inject(ModifyOrder(client_order_id="O1", limit_price=-1.1))
    assert not seen(runtime, IbCancelOrder) and len(seen(runtime, IbPlaceOrder)) == 1
    assert not seen(runtime, OrderCancelled)  # outcome unknown: still in flight
    runtime.inject(IbError(req_id=-1, code=1101, text="Connectivity restored - data lost."))
    assert seen(runtime, BrokerConnectionChanged)[-1].state == "connected"
    resync = seen(runtime, IbResync)[-1]
    assert (resync.resubscribe, resync.reason, resync.judge) == (True, "IB 1101", ("O1",))
    assert [c.client_order_id for c in seen(runtime, IbCancelOrder)] == ["O1"]
    runtime.inject(IbError(req_id=-1, code=1102, text="Connectivity restored - data maintained."))
    assert seen(runtime, IbResync)[-1].resubscribe is False


def test_a_cancel_held_through_a_reconnect_waits_for_the_sync_that_brings_ibs_order_id():
    runtime = ib_core_runtime()
    place(runtime, "O1")  # sent, but the process died before IB's id for it was journaled
    runtime.inject(IbDisconnected(reason="restarted"))
    runtime.inject(CancelOrder(client_order_id="O1", reason="restart: cancel not confirmed"))
    runtime.inject(IbConnected(next_valid_id=100, accounts=("DU123",), server_version=176))
    assert not seen(runtime, IbCancelOrder)  # the new connection does not know the order yet
    runtime.inject(ib_status("O1", "Submitted", order_id=57))  # the sync's open orders name it
    answer_resync(runtime, working=("O1",))
    assert [(c.client_order_id, c.order_id) for c in seen(runtime, IbCancelOrder)] == [("O1", 57)]


def test_2110_is_the_link_lost_and_502_504_are_the_link_down():
    runtime = ib_core_runtime()
    runtime.inject(IbError(req_id=-1, code=2110, text="Connectivity between TWS and server is broken."))
    assert seen(runtime, BrokerConnectionChanged)[-1].state == "degraded"
    assert place(runtime, "O1") is None
    runtime.inject(IbError(req_id=-1, code=1102, text="Connectivity restored - data maintained."))
    answer_resync(runtime)
    runtime.inject(IbError(req_id=-1, code=504, text="Not connected"))
    assert seen(runtime, BrokerConnectionChanged)[-1].state == "disconnected"


def test_data_farm_flaps_and_the_connect_burst_are_data_only():
    runtime = ib_core_runtime()
    for code, text in ((2104, "Market data farm connection is OK:usfarm"),
                       (2158, "Sec-def data farm connection is OK:secdefil"),
                       (2103, "Market data farm connection is broken:usfarm"),
                       (2103, "Market data farm connection is broken:usfarm"),
                       (2104, "Market data farm connection is OK:usfarm"),
                       (2105, "HMDS data farm connection is broken:ushmds"),
                       (2106, "HMDS data farm connection is OK:ushmds")):
        runtime.inject(IbError(req_id=-1, code=code, text=text))
    assert seen(runtime, BrokerConnectionChanged)[-1].state == "connected"
    assert [a.level for a in seen(runtime, Alert)] == ["warning", "info", "warning", "info"]
    assert place(runtime) is not None


def test_a_client_id_in_use_is_retried_then_stops_the_node_for_an_operator():
    runtime = ib_core_runtime(connected=False)
    for _ in range(4):
        runtime.inject(IbError(req_id=-1, code=326, text="Unable to connect as the client id is already in use."))
    [stop] = seen(runtime, StopNode)
    assert stop.restart is False and "client id" in stop.reason
    assert [a.level for a in seen(runtime, Alert)] == ["warning", "warning", "critical"]


# an order's fate is IB's word, never an error code alone ----------------------------------------------------------
def test_an_order_refused_by_an_error_alone_ends_rejected_with_ibs_code_once_ib_confirms():
    runtime = ib_core_runtime()
    place(runtime, "O1", order_id=100)
    runtime.inject(IbError(req_id=100, code=321, text=READ_ONLY))
    assert not seen(runtime, OrderRejected)  # an error alone ends nothing...
    assert seen(runtime, IbResync)[-1].judge == ("O1",)  # ...it makes the core ask IB
    answer_resync(runtime)
    assert [(r.code, r.reason) for r in seen(runtime, OrderRejected)] == [(321, READ_ONLY)]


def test_a_refused_modify_leaves_the_order_working_and_says_so():
    runtime = ib_core_runtime()
    place(runtime, "O1", order_id=100)
    runtime.inject(ib_status("O1", "Submitted"))
    runtime.inject(ModifyOrder(client_order_id="O1", limit_price=-1.10))
    runtime.inject(IbError(req_id=100, code=201, text="Order rejected - reason: modification refused"))
    answer_resync(runtime, working=("O1",))
    assert not seen(runtime, OrderRejected) and not seen(runtime, OrderCancelled)
    assert any("refused the modify of O1 to -1.10" in a.text and "still works at -1.20" in a.text
               for a in seen(runtime, Alert))
    runtime.inject(ib_status("O1", "Cancelled"))  # later IB's own word ends it
    assert [c.reason for c in seen(runtime, OrderCancelled)] == ["cancelled by IB"]


def test_a_modify_never_sent_is_refused_at_the_limit_ib_works():
    runtime = ib_core_runtime()
    place(runtime, "O1", order_id=100)
    runtime.inject(ib_status("O1", "Submitted"))
    runtime.inject(ModifyOrder(client_order_id="O1", limit_price=-1.15))
    runtime.inject(IbOrderNotSent(client_order_id="O1", modify=True, reason="not in this connection's book"))
    runtime.inject(IbDisconnected(reason="socket closed"))
    runtime.inject(ModifyOrder(client_order_id="O1", limit_price=-1.10))
    assert [(r.limit_price, r.working_price, r.code) for r in seen(runtime, ModifyRefused)] == [
        (-1.15, -1.20, REJECT_NOT_SENT), (-1.10, -1.20, REJECT_NOT_SENT)]
    assert not seen(runtime, OrderRejected) and not seen(runtime, OrderCancelled)


def test_a_modify_before_ib_acknowledged_the_order_waits_for_the_acknowledgement():
    runtime = ib_core_runtime()
    place(runtime, "O1", order_id=100)
    runtime.inject(ModifyOrder(client_order_id="O1", limit_price=-1.15))
    runtime.inject(ModifyOrder(client_order_id="O1", limit_price=-1.10))
    assert [m.modify for m in seen(runtime, IbPlaceOrder)] == [False]
    runtime.inject(ib_status("O1", "Submitted"))
    assert [(m.modify, m.limit_price) for m in seen(runtime, IbPlaceOrder)] == [(False, -1.2), (True, -1.10)]


def test_ibs_refusal_of_an_order_is_its_verdict_not_the_errors_its_pending_modifications_drew():
    runtime = ib_core_runtime()
    place(runtime, "O1", order_id=100)
    runtime.inject(ib_status("O1", "Submitted"))
    runtime.inject(ModifyOrder(client_order_id="O1", limit_price=-1.10))
    runtime.inject(IbError(req_id=100, code=201, text="Order rejected - reason: margin"))
    runtime.inject(IbError(req_id=100, code=103, text="Duplicate order id"))  # answering the modification
    answer_resync(runtime)
    assert [(r.code, r.reason) for r in seen(runtime, OrderRejected)] == [(201, "Order rejected - reason: margin")]


def test_a_cancel_ib_cannot_find_is_refused_then_the_order_ends_as_cancelled():
    runtime = ib_core_runtime()
    place(runtime, "O1", order_id=100)
    runtime.inject(CancelOrder(client_order_id="O1", reason="deadline"))
    runtime.inject(IbError(req_id=100, code=10147, text="OrderId 100 that needs to be cancelled is not found."))
    assert seen(runtime, CancelRejected)[0].reason.startswith("IB 10147")
    answer_resync(runtime)
    [cancelled] = seen(runtime, OrderCancelled)
    assert cancelled.reason.startswith("cancelled (no longer working at IB")
    assert not seen(runtime, OrderRejected)


def test_a_warning_on_a_working_order_changes_nothing():
    runtime = ib_core_runtime()
    place(runtime, "O1", order_id=100)
    runtime.inject(IbError(req_id=100, code=399, text="Order Message: Warning: held until the open"))
    answer_resync(runtime, working=("O1",))
    runtime.inject(ib_status("O1", "Submitted"))
    assert seen(runtime, OrderAccepted) and not seen(runtime, OrderRejected) and not seen(runtime, OrderCancelled)


def test_an_open_orders_answer_that_timed_out_ends_nothing_and_is_asked_again():
    runtime = ib_core_runtime(connect_timeout_s=5.0)
    place(runtime, "O1", order_id=100)
    runtime.inject(IbDisconnected(reason="socket closed"))
    runtime.inject(IbConnected(next_valid_id=101, accounts=("DU123",), server_version=176))
    answer_resync(runtime, complete=False)
    assert not seen(runtime, OrderCancelled) and not seen(runtime, OrderRejected)
    assert seen(runtime, BrokerConnectionChanged)[-1].state == "degraded"
    asked = len(seen(runtime, IbResync))
    runtime.run_until(NOON + 6 * SECOND)
    assert len(seen(runtime, IbResync)) == asked + 1 and seen(runtime, IbResync)[-1].judge == ("O1",)
    answer_resync(runtime, working=("O1",))
    assert seen(runtime, BrokerConnectionChanged)[-1].state == "connected"
    assert not seen(runtime, OrderCancelled)


def test_an_order_ib_does_not_know_after_reconnect_is_ended_and_a_cancel_of_a_done_order_is_refused():
    runtime = ib_core_runtime()
    place(runtime, "O1")
    runtime.inject(IbDisconnected(reason="socket dropped mid-order"))
    connect(runtime, next_valid_id=101)
    assert [(c.client_order_id, c.reason) for c in seen(runtime, OrderCancelled)] == [
        ("O1", "not working at IB (after reconnect)")]
    runtime.inject(CancelOrder(client_order_id="O1", reason="deadline"))
    assert seen(runtime, CancelRejected)[0].reason == "order is done"


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
    assert not seen(runtime, BreakerStateChanged)
    connect(runtime, next_valid_id=1)
    for n in range(2):
        runtime.inject(PlaceOrder(client_order_id=f"R{n}", strategy_id="S", purpose="open", legs=CONDOR, quantity=1,
                                  limit_price=-1.2))
        runtime.inject(IbOrderSubmitted(client_order_id=f"R{n}", order_id=10 + n))
        runtime.inject(IbError(req_id=10 + n, code=201, text="Order rejected - reason: margin"))
        answer_resync(runtime)
    assert [r.code for r in seen(runtime, OrderRejected)][-2:] == [201, 201]
    assert [b.state for b in seen(runtime, BreakerStateChanged)] == ["OPEN"]


def test_a_day_order_expiring_at_the_close_is_cancelled_not_a_reject():
    runtime = ib_core_runtime()
    place(runtime, "O1", order_id=100)
    runtime.inject(ib_status("O1", "Submitted"))
    runtime.run_until(AFTER_CLOSE)
    runtime.inject(IbError(req_id=100, code=202, text="Order Canceled - reason:"))
    runtime.inject(ib_status("O1", "Cancelled"))
    assert [c.reason for c in seen(runtime, OrderCancelled)] == ["expired at the close (DAY order)"]
    assert not seen(runtime, OrderRejected)


def test_an_inactive_order_is_rejected_and_cancelled_at_ib():
    runtime = ib_core_runtime()
    place(runtime, "O1", order_id=100)
    runtime.inject(ib_status("O1", "Inactive"))
    assert [r.reason for r in seen(runtime, OrderRejected)] == ["order inactive at IB"]
    assert [c.order_id for c in seen(runtime, IbCancelOrder)] == [100]


# daily restart -----------------------------------------------------------------------------------------------------
def test_no_order_goes_out_around_the_daily_gateway_restart():
    before = int(dt.datetime(2026, 3, 3, 4, 42, tzinfo=dt.UTC).timestamp() * 1e9)  # 23:42 New York
    runtime = ib_core_runtime(start_ns=before, daily_restart="23:45")
    assert seen(runtime, BrokerConnectionChanged)[-1].state == "degraded"
    assert place(runtime) is None
    assert "restart window" in seen(runtime, OrderRejected)[0].reason
    runtime.run_until(before + 14 * 60 * SECOND)  # window ends 23:55
    assert seen(runtime, BrokerConnectionChanged)[-1].state == "connected"
    assert place(runtime, "O2") is not None


def test_restart_window_arithmetic_across_midnight():
    at = int(dt.datetime(2026, 3, 3, 5, 2, tzinfo=dt.UTC).timestamp() * 1e9)  # 00:02 New York
    inside, until = restart_window(at, dt.time(23, 55), 5, 10)
    assert inside and until == int(dt.datetime(2026, 3, 3, 5, 5, tzinfo=dt.UTC).timestamp() * 1e9)
    inside, until = restart_window(NOON, dt.time(23, 45), 5, 10)
    assert not inside and until == int(dt.datetime(2026, 3, 3, 4, 40, tzinfo=dt.UTC).timestamp() * 1e9)
