"""The order path against IB at its worst: the broker core and session in process, the real ib_async over a real
socket, and the test gateway refusing, half-answering and reporting fills the way IB does."""

from __future__ import annotations

import datetime as dt

import pytest

from actors.market_data.chain import listed_expiries, listed_strikes
from messages import (
    Alert,
    BrokerConnectionChanged,
    CancelOrder,
    IbConnected,
    IbDisconnected,
    IbExecution,
    Leg,
    ModifyOrder,
    ModifyRefused,
    OptionContract,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderModified,
    OrderRejected,
    PlaceOrder,
    StopNode,
    UnderlyingQuote,
)
from tests.ib.behaviour import READ_ONLY_TEXT, GatewaySettings, Reject, ib_text
from tests.ib.gateway import TestGateway, shifted_clock
from tests.ib.harness import (
    CLIENT_ID,
    MARKET_TIME,
    InProcessNode,
    booked_units,
    ib_config,
    new_gateway,
    operator_settings,
)
from tests.ports import free_ports
from tests.waiting import wait_for

pytestmark = pytest.mark.timeout(90)
FAST_LINK = {"connect_timeout_s": 1.5, "reconnect_initial_s": 0.1, "reconnect_max_s": 0.3}


@pytest.fixture
def gateway():
    gateway = new_gateway()
    yield gateway
    gateway.stop()


def _condor(start: dt.datetime = MARKET_TIME, spot: float = 580.0) -> tuple[Leg, ...]:
    """An iron condor of listed contracts (IB qualifies them when the order goes out: no chain scan needed)."""
    expiry = listed_expiries(int(start.timestamp() * 1e9), 30, 45)[0]
    strikes = listed_strikes(spot)
    below = [k for k in strikes if k < spot * 0.96]
    above = [k for k in strikes if k > spot * 1.04]
    contract = lambda k, r: OptionContract("SPY", expiry, k, r)  # noqa: E731
    return (Leg(contract(below[-6], "P"), 1), Leg(contract(below[-1], "P"), -1),
            Leg(contract(above[0], "C"), -1), Leg(contract(above[5], "C"), 1))


def _connected(node: InProcessNode) -> None:
    node.probe.wait(BrokerConnectionChanged, lambda m: m.state == "connected")
    node.probe.wait(UnderlyingQuote)


def _place(node: InProcessNode, client_order_id: str = "IC-1-O1", quantity: int = 1, limit: float = -0.05,
           legs: tuple[Leg, ...] | None = None) -> None:
    node.send(PlaceOrder(client_order_id=client_order_id, strategy_id=client_order_id.rsplit("-", 1)[0],
                         purpose="open", legs=legs or _condor(), quantity=quantity, limit_price=limit))


def _critical(node: InProcessNode) -> list[str]:
    return [a.text for a in node.probe.of(Alert) if a.level == "critical"]


# refusals ------------------------------------------------------------------------------------------------------------
def test_a_fresh_gateways_read_only_api_refuses_with_321_and_no_status_and_the_order_ends_rejected():
    gateway = new_gateway(settings=GatewaySettings())  # as installed: Read-Only API on
    try:
        with InProcessNode(ib_config(gateway)) as node:
            _connected(node)
            _place(node)
            rejected = node.probe.wait(OrderRejected)
            assert (rejected.code, rejected.reason) == (321, READ_ONLY_TEXT)
            assert not node.probe.of(OrderAccepted) and not gateway.open_orders()
    finally:
        gateway.stop()


@pytest.mark.parametrize("reject", [Reject(203), Reject(383), Reject(200), Reject(201, status="Cancelled")],
                         ids=["203", "383", "200", "201+Cancelled"])
def test_a_refused_order_ends_rejected_with_ibs_code_and_text(gateway, reject):
    gateway.faults.rejects = [reject]
    with InProcessNode(ib_config(gateway)) as node:
        _connected(node)
        _place(node)
        rejected = node.probe.wait(OrderRejected)
        assert (rejected.code, rejected.reason) == (reject.code, reject.message(0))
        assert not node.probe.of(OrderCancelled)


def test_a_price_off_the_contracts_increment_is_refused_with_110():
    gateway = new_gateway(settings=GatewaySettings(read_only_api=False, bypass_order_precautions=True,
                                                   price_increment=0.05))
    try:
        with InProcessNode(ib_config(gateway)) as node:
            _connected(node)
            _place(node, limit=-0.03)
            rejected = node.probe.wait(OrderRejected)
            assert (rejected.code, rejected.reason) == (110, ib_text(110))
    finally:
        gateway.stop()


def test_order_precaution_warnings_do_not_stop_the_order():
    gateway = new_gateway(settings=GatewaySettings(read_only_api=False))  # precautions not bypassed: 399 first
    try:
        with InProcessNode(ib_config(gateway)) as node:
            _connected(node)
            _place(node)
            node.probe.wait(OrderFilled)
            assert any("IB 399 on order" in a.text for a in node.probe.of(Alert))
            assert not node.probe.of(OrderRejected) and not node.probe.of(OrderCancelled)
    finally:
        gateway.stop()


# modifications and cancels -------------------------------------------------------------------------------------------
def test_refused_modifications_never_end_the_working_order_nor_leave_two_at_ib(gateway):
    gateway.faults.hold_fills = True
    gateway.faults.refuse_modifies = [Reject(201, "Order rejected - reason: modification refused"), Reject(2102)]
    gateway.faults.held_at_ib = 1  # its status changes between the first modify and IB's refusal of it
    with InProcessNode(ib_config(gateway)) as node:
        _connected(node)
        _place(node, limit=-3.00)
        node.probe.wait(OrderAccepted)
        for n, limit in enumerate((-2.90, -2.80), start=1):
            node.send(ModifyOrder(client_order_id="IC-1-O1", limit_price=limit))
            node.probe.wait(Alert, lambda a: "refused the modify" in a.text, count=n)
            refused = node.probe.wait(ModifyRefused, count=n)
            assert (refused.limit_price, refused.working_price) == (limit, -3.00)
            assert [(ref, status, price) for _, ref, status, price in gateway.open_orders()] == [
                ("IC-1-O1", "Submitted", -3.0)]
        node.send(ModifyOrder(client_order_id="IC-1-O1", limit_price=-2.70))  # IB takes this one
        assert node.probe.wait(OrderModified).limit_price == -2.70
        node.send(CancelOrder(client_order_id="IC-1-O1", reason="deadline"))
        assert node.probe.wait(OrderCancelled).reason == "cancel confirmed"
        assert not node.probe.of(OrderRejected) and not gateway.open_orders()
        assert [m.limit_price for m in node.probe.of(OrderModified)] == [-2.70]  # never a limit IB did not take
        assert [r.code for r in node.probe.of(ModifyRefused)] == [201, 2102]


def test_a_cancel_of_an_order_ib_refused_is_itself_refused_and_the_order_ends_rejected(gateway):
    gateway.faults.rejects = [Reject(203)]
    with InProcessNode(ib_config(gateway)) as node:
        _connected(node)
        _place(node)
        node.send(CancelOrder(client_order_id="IC-1-O1", reason="deadline"))  # IB answers 10147: not found
        rejected = node.probe.wait(OrderRejected)
        assert (rejected.code, rejected.reason) == (203, ib_text(203))
        assert not node.probe.of(OrderCancelled) and not gateway.open_orders()


# fills ---------------------------------------------------------------------------------------------------------------
def _filled_order(gateway, node: InProcessNode, units: int) -> list[OrderFilled]:
    _place(node, quantity=units)
    node.probe.wait(OrderFilled, lambda f: booked_units(node) == units)
    wait_for(lambda: gateway.execution_requests >= 1, 10, "the connect's execution request")
    return node.probe.of(OrderFilled)


def test_a_combo_fill_as_ib_reports_it_is_booked_once_at_the_legs_price(gateway):
    gateway.faults.unset_commissions = 2
    gateway.faults.correct_executions = 1
    with InProcessNode(ib_config(gateway, ib={"executions_sweep_s": 1.0})) as node:
        _connected(node)
        fills = _filled_order(gateway, node, units=2)
        sweeps = gateway.execution_requests
        wait_for(lambda: gateway.execution_requests >= sweeps + 3, 15, "three execution sweeps")
        node.runtime.work.wait_idle(timeout=3)
        fills = node.probe.of(OrderFilled)
        executions = [e.exec_id for e in node.probe.of(IbExecution)]
    assert booked_units(node) == 2 and len({f.exec_id for f in fills}) == len(fills)
    assert sum(f.commission_usd for f in fills) == pytest.approx(4 * 2 * 0.65)  # the unset reports were not used
    assert len(executions) == len(set(executions)), "an execution was published twice in one session"
    bag_prices = [price for exec_id, sec_type, _, price in gateway.executions() if sec_type == "BAG"]
    assert all(f.price == pytest.approx(bag_prices[0], abs=0.005) for f in fills)
    assert any("corrected execution" in a.text for a in node.probe.of(Alert)) and not _critical(node)


def test_a_fill_reported_without_a_bag_execution_is_booked_from_its_legs(gateway):
    gateway.faults.no_bag_execution = True
    with InProcessNode(ib_config(gateway)) as node:
        _connected(node)
        fills = _filled_order(gateway, node, units=1)
    assert booked_units(node) == 1 and all(f.price < 0 for f in fills) and not _critical(node)


def test_a_bag_execution_that_disagrees_with_its_legs_raises_a_critical_alert(gateway):
    gateway.faults.bag_price_offset = 0.10
    with InProcessNode(ib_config(gateway)) as node:
        _connected(node)
        _filled_order(gateway, node, units=1)
        node.probe.wait(Alert, lambda a: a.level == "critical" and "BAG executions" in a.text)


def test_executions_are_answered_only_for_the_current_trading_day(gateway):
    with InProcessNode(ib_config(gateway)) as node:
        _connected(node)
        _filled_order(gateway, node, units=1)
    gateway.nightly_reset()
    with InProcessNode(ib_config(gateway, ib={"executions_sweep_s": 1.0})) as restarted:
        _connected(restarted)
        requests = gateway.execution_requests
        wait_for(lambda: gateway.execution_requests >= requests + 2, 15, "two execution sweeps")
        assert not restarted.probe.of(IbExecution) and not _critical(restarted)


# connection ----------------------------------------------------------------------------------------------------------
def test_an_order_sync_that_times_out_at_reconnect_ends_nothing(gateway):
    gateway.faults.hold_fills = True
    with InProcessNode(ib_config(gateway, ib=FAST_LINK)) as node:
        _connected(node)
        _place(node)  # a marketable limit, held unfilled until the test releases it
        node.probe.wait(OrderAccepted)
        gateway.faults.slow_syncs, gateway.faults.sync_delay_s = 1, 2.5
        gateway.drop_connections()
        node.probe.wait(IbConnected, count=2)
        node.probe.wait(Alert, lambda a: "did not finish listing its open orders" in a.text)
        node.probe.wait(BrokerConnectionChanged, lambda m: m.state == "connected", count=2)
        assert not node.probe.of(OrderCancelled) and not node.probe.of(OrderRejected)
        assert [ref for _, ref, _, _ in gateway.open_orders()] == ["IC-1-O1"]
        gateway.faults.hold_fills = False
        gateway.set_underlying("SPY", 580.0)
        node.probe.wait(OrderFilled)
        node.runtime.work.wait_idle(timeout=3)
    assert booked_units(node) == 1


def test_a_client_id_in_use_is_a_critical_alert_and_a_stop_for_an_operator(gateway):
    gateway.occupy_client_id(CLIENT_ID)
    with InProcessNode(ib_config(gateway, ib=FAST_LINK)) as node:
        stop = node.probe.wait(StopNode, timeout=45)
        assert stop.restart is False and "client id" in stop.reason
        assert any("IB refused the client id" in text for text in _critical(node))
        assert not node.probe.of(IbConnected)


def test_a_day_order_working_at_the_close_expires_without_counting_as_a_reject():
    near_close = dt.datetime(2026, 3, 2, 20, 59, 52, tzinfo=dt.UTC)  # 15:59:52 New York
    gateway = new_gateway(start=near_close)
    gateway.faults.hold_fills = True
    try:
        with InProcessNode(ib_config(gateway), start=near_close) as node:
            node.probe.wait(BrokerConnectionChanged, lambda m: m.state == "connected")
            _place(node, legs=_condor(near_close), limit=-3.00)
            node.probe.wait(OrderAccepted)
            cancelled = node.probe.wait(OrderCancelled, timeout=30)
            assert cancelled.reason == "expired at the close (DAY order)"
            assert not node.probe.of(OrderRejected)
    finally:
        gateway.stop()


def test_504_reconnects_and_2110_holds_new_orders_until_ib_is_back(gateway):
    with InProcessNode(ib_config(gateway, ib=FAST_LINK)) as node:
        _connected(node)
        gateway.send_error(504, "Not connected")
        node.probe.wait(IbConnected, count=2)
        node.probe.wait(BrokerConnectionChanged, lambda m: m.state == "connected", count=2)
        gateway.send_error(2110, "Connectivity between Trader Workstation and server is broken. It will be restored "
                                 "automatically.")
        node.probe.wait(BrokerConnectionChanged, lambda m: m.state == "degraded" and m.reason.startswith("2110"))
        _place(node, "IC-1-O1")
        assert node.probe.wait(OrderRejected).code == 0 and not gateway.orders_received  # never sent
        gateway.send_error(1102, "Connectivity between IB and Trader Workstation has been restored - data maintained.")
        node.probe.wait(BrokerConnectionChanged, lambda m: m.state == "connected", count=3)
        _place(node, "IC-2-O2")
        node.probe.wait(OrderFilled)


def test_a_gateway_not_listening_yet_is_retried_until_it_is():
    """ib_async's 502: the API port refuses the connection (gateway not started, API disabled)."""
    [port] = free_ports()  # nothing listens on it
    gateway = TestGateway(shifted_clock(MARKET_TIME), settings=operator_settings())
    gateway.port = port
    try:
        with InProcessNode(ib_config(gateway, ib=FAST_LINK)) as node:
            refused = node.probe.wait(IbDisconnected, lambda m: "ConnectionRefusedError" in m.reason)
            assert "connect to 127.0.0.1" in refused.reason
            gateway.start(port)
            _connected(node)
    finally:
        gateway.stop()
