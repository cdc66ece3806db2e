"""The IB adapter (broker core + ib_async session) against the TWS-protocol test gateway, over a real socket."""

from __future__ import annotations

import pytest

from messages import (
    Alert,
    BrokerAccountValues,
    BrokerConnectionChanged,
    BrokerPortfolio,
    BrokerPositionsSnapshot,
    CancelOrder,
    ChainRequest,
    ChainSnapshot,
    Halt,
    IbConnected,
    IbPlaceOrder,
    IndexQuote,
    Leg,
    ModifyOrder,
    OptionQuote,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    PlaceOrder,
    SubscribeQuotes,
    UnderlyingQuote,
)
from tests.ib.harness import CLIENT_ID, InProcessNode, booked_units, ib_config, new_gateway
from tests.ib.pacing import PACING_LIMIT
from tests.waiting import wait_for

pytestmark = pytest.mark.timeout(90)
SMALL_CHAIN = {"chain_strike_range_pct": 0.02}
"""Enough strikes for a condor; pacing makes every quoted contract cost IB two messages."""


@pytest.fixture
def gateway():
    gateway = new_gateway()
    yield gateway
    gateway.stop()


def _connected(node: InProcessNode) -> None:
    node.probe.wait(BrokerConnectionChanged, lambda m: m.state == "connected")
    node.probe.wait(UnderlyingQuote)


def _condor(node: InProcessNode) -> tuple[Leg, ...]:
    node.send(ChainRequest(symbol="SPY", min_dte=30, max_dte=45))
    chain = node.probe.wait(ChainSnapshot, timeout=40)
    puts = sorted((q.contract for q in chain.quotes if q.contract.right == "P"), key=lambda c: c.strike)
    calls = sorted((q.contract for q in chain.quotes if q.contract.right == "C"), key=lambda c: c.strike)
    return (Leg(puts[2], 1), Leg(puts[6], -1), Leg(calls[-7], -1), Leg(calls[-3], 1))


def _place(node: InProcessNode, client_order_id: str, legs: tuple[Leg, ...], quantity: int = 1,
           limit: float = -0.05) -> None:
    node.send(PlaceOrder(client_order_id=client_order_id, strategy_id=client_order_id.rsplit("-", 1)[0],
                         purpose="open", legs=legs, quantity=quantity, limit_price=limit))


def test_connects_with_client_id_and_account_and_streams_underlying_index_and_account(gateway):
    with InProcessNode(ib_config(gateway)) as node:
        connected = node.probe.wait(IbConnected)
        assert connected.accounts == ("DU1234567",) and connected.server_version == 176
        assert gateway.handshake_client_ids == [CLIENT_ID]
        assert node.probe.wait(UnderlyingQuote).symbol == "SPY"
        assert node.probe.wait(IndexQuote).value == 18.0
        assert node.probe.wait(BrokerPositionsSnapshot).complete
        values = {v.key: v.value for v in node.probe.wait(BrokerAccountValues).values}
        assert values["NetLiquidation"] == "100000.00"


def test_chain_by_secdef_and_contract_details_with_model_greeks_within_pacing(gateway):
    with InProcessNode(ib_config(gateway, ib={"chain_strike_range_pct": 0.10})) as node:
        _connected(node)
        node.send(ChainRequest(symbol="SPY", min_dte=30, max_dte=45))
        chain = node.probe.wait(ChainSnapshot, timeout=40)
        # every scanned line is cancelled again, paced: the last cancels may trail the snapshot
        wait_for(lambda: len(gateway.pacing.message_times) > 250, what="the chain scan's cancels")
    assert len(chain.quotes) > 100 and chain.underlying_price == 580.0
    assert {q.contract.expiry.isoformat() for q in chain.quotes} == {"2026-04-10"}  # the expiry nearest 37 DTE
    assert all(522 <= q.contract.strike <= 638 and q.bid < q.ask and 0 < q.iv < 1 for q in chain.quotes)
    assert all(abs(q.delta) <= 1 and q.gamma > 0 and q.vega > 0 for q in chain.quotes)
    # more than 250 requests went out, yet no second ever carried more than IB's 50
    assert len(gateway.pacing.message_times) > 250
    assert gateway.pacing.max_messages_per_second() < PACING_LIMIT and gateway.pacing.violations == 0


def test_combo_order_is_accepted_filled_with_leg_commissions_and_reported_in_positions_and_portfolio(gateway):
    with InProcessNode(ib_config(gateway, ib=SMALL_CHAIN)) as node:
        _connected(node)
        legs = _condor(node)
        _place(node, "IC-1-O1", legs, quantity=2)
        accepted = node.probe.wait(OrderAccepted)
        node.probe.wait(OrderFilled, lambda f: booked_units(node) == 2)
        positions = node.probe.wait(BrokerPositionsSnapshot, lambda m: len(m.positions) == 4)
        portfolio = node.probe.wait(BrokerPortfolio, lambda m: len(m.items) == 4)
        fills = node.probe.of(OrderFilled)
    placed = gateway.orders_received[0]
    assert placed.contract.sec_type == "BAG" and placed.order_ref == "IC-1-O1" and placed.action == "BUY"
    assert [(leg.ratio, leg.action) for leg in placed.contract.combo_legs] == [
        (1, "BUY"), (1, "SELL"), (1, "SELL"), (1, "BUY")]
    assert placed.total_quantity == 2 and placed.lmt_price == -0.05
    assert accepted.broker_order_id == placed.order_id
    # IB splits each 2-contract leg in two executions: the units are booked as the legs complete them
    assert sum(f.commission_usd for f in fills) == pytest.approx(4 * 2 * 0.65) and all(f.price < 0 for f in fills)
    assert {(p.contract, p.quantity) for p in positions.positions} == {(leg.contract, 2 * leg.ratio) for leg in legs}
    assert {i.contract for i in portfolio.items} == {leg.contract for leg in legs}


def test_modify_and_cancel_reach_ib_under_the_same_order_id(gateway):
    gateway.faults.hold_fills = True
    with InProcessNode(ib_config(gateway, ib=SMALL_CHAIN)) as node:
        _connected(node)
        _place(node, "IC-1-O1", _condor(node), limit=-3.00)
        node.probe.wait(OrderAccepted)
        node.send(ModifyOrder(client_order_id="IC-1-O1", limit_price=-2.50))
        node.probe.wait(IbPlaceOrder, lambda m: m.modify)
        node.send(CancelOrder(client_order_id="IC-1-O1", reason="deadline"))
        cancelled = node.probe.wait(OrderCancelled)
    first, modified = gateway.orders_received
    assert modified.order_id == first.order_id and modified.lmt_price == -2.5
    assert gateway.cancels_received == [first.order_id]
    assert (cancelled.filled_quantity, cancelled.reason) == (0, "cancel confirmed")


def test_partial_combo_fill_then_cancel_books_whole_units(gateway):
    gateway.faults.partial_units = 2
    with InProcessNode(ib_config(gateway, ib=SMALL_CHAIN)) as node:
        _connected(node)
        legs = _condor(node)
        _place(node, "IC-1-O1", legs, quantity=3)
        node.probe.wait(OrderFilled, lambda f: booked_units(node) == 2)
        node.send(CancelOrder(client_order_id="IC-1-O1", reason="deadline"))
        cancelled = node.probe.wait(OrderCancelled)
        positions = node.probe.wait(BrokerPositionsSnapshot, lambda m: len(m.positions) == 4)
    assert booked_units(node) == 2 and cancelled.filled_quantity == 2
    assert {p.quantity for p in positions.positions} == {2, -2}


def test_executions_before_the_order_is_acknowledged_are_booked_once(gateway):
    gateway.faults.ack_delay_s = 1.0
    with InProcessNode(ib_config(gateway, ib=SMALL_CHAIN)) as node:
        _connected(node)
        _place(node, "IC-1-O1", _condor(node))
        node.probe.wait(OrderFilled)
        assert not node.probe.of(OrderAccepted)
        node.probe.wait(BrokerPositionsSnapshot, lambda m: len(m.positions) == 4)
        node.runtime.work.wait_idle(timeout=3)
        assert len(node.probe.of(OrderFilled)) == 1 and not node.probe.of(OrderAccepted)


def test_socket_dropped_after_the_fill_reconnects_and_books_the_replayed_execution_once(gateway):
    gateway.faults.drop_socket = "after_fill"
    with InProcessNode(ib_config(gateway, ib=SMALL_CHAIN)) as node:
        _connected(node)
        _place(node, "IC-1-O1", _condor(node))
        node.probe.wait(BrokerConnectionChanged, lambda m: m.state == "disconnected", count=2)
        node.probe.wait(IbConnected, count=2)
        fill = node.probe.wait(OrderFilled)
        node.probe.wait(BrokerPositionsSnapshot, lambda m: len(m.positions) == 4)
        node.runtime.work.wait_idle(timeout=3)
        assert [f.exec_id for f in node.probe.of(OrderFilled)] == [fill.exec_id]
        assert fill.commission_usd == 4 * 0.65
    assert gateway.connections == 2


def test_socket_dropped_as_the_order_arrives_ends_the_order_after_reconnect(gateway):
    gateway.faults.drop_socket = "on_order"
    with InProcessNode(ib_config(gateway, ib=SMALL_CHAIN)) as node:
        _connected(node)
        _place(node, "IC-1-O1", _condor(node))
        cancelled = node.probe.wait(OrderCancelled)
        assert (cancelled.filled_quantity, cancelled.reason) == (0, "not working at IB (after reconnect)")
        assert not node.probe.of(OrderFilled)


def test_next_valid_id_rollback_never_reuses_an_order_id(gateway):
    with InProcessNode(ib_config(gateway, ib=SMALL_CHAIN)) as node:
        _connected(node)
        legs = _condor(node)
        _place(node, "IC-1-O1", legs)
        node.probe.wait(OrderFilled)
        gateway.faults.next_valid_id = 1  # the gateway restarted and forgot
        gateway.drop_connections()
        node.probe.wait(IbConnected, count=2)
        node.probe.wait(BrokerConnectionChanged, lambda m: m.state == "connected", count=2)
        _place(node, "IC-2-O2", legs)
        node.probe.wait(OrderFilled, count=2)
    ids = [o.order_id for o in gateway.orders_received]
    assert len(ids) == 2 and ids[1] > ids[0]
    assert not node.probe.of(OrderRejected)


def test_farm_flaps_are_data_only_and_1100_1101_pause_then_resubscribe(gateway):
    with InProcessNode(ib_config(gateway, ib=SMALL_CHAIN)) as node:
        _connected(node)
        node.send(SubscribeQuotes(contracts=tuple(leg.contract for leg in _condor(node))))
        node.probe.wait(OptionQuote)
        gateway.flap_farms()
        node.probe.wait(Alert, lambda a: "farm" in a.text, count=4)
        assert [m.state for m in node.probe.of(BrokerConnectionChanged)] == ["disconnected", "degraded", "connected"]
        gateway.send_error(1100, "Connectivity between IB and Trader Workstation has been lost.")
        node.probe.wait(BrokerConnectionChanged, lambda m: m.state == "degraded", count=2)  # the first: the sync
        _place(node, "IC-1-O1", (Leg(node.probe.of(OptionQuote)[0].contract, 1),))
        assert node.probe.wait(OrderRejected).code == 0 and not gateway.orders_received  # never sent
        quotes_before = len(node.probe.of(OptionQuote))
        gateway.send_error(1101, "Connectivity between IB and Trader Workstation has been restored - data lost.")
        node.probe.wait(BrokerConnectionChanged, lambda m: m.state == "connected", count=2)
        node.probe.wait(OptionQuote, count=quotes_before + 4)  # legs streamed again after the resubscribe


def test_a_live_account_on_a_paper_config_is_refused_and_halts(gateway):
    gateway.account = "U7654321"
    with InProcessNode(ib_config(gateway)) as node:
        alert = node.probe.wait(Alert, lambda a: a.level == "critical")
        assert "U7654321 is not a paper account" in alert.text
        assert node.probe.wait(Halt).reason.startswith("IB login refused")
        assert not node.probe.of(IbConnected)


def test_read_only_mode_refuses_orders_before_ib(gateway):
    with InProcessNode(ib_config(gateway, ib={"readonly": True, **SMALL_CHAIN})) as node:
        _connected(node)
        contract = _chain_contract(node)
        _place(node, "IC-1-O1", (Leg(contract, 1),))
        rejected = node.probe.wait(OrderRejected)
        assert (rejected.code, rejected.reason) == (0, "not sent: the IB connection is read-only")
    assert not gateway.orders_received


def test_market_data_stays_within_the_line_limit(gateway):
    with InProcessNode(ib_config(gateway, ib={"market_data_lines": 10, **SMALL_CHAIN})) as node:
        _connected(node)
        node.send(ChainRequest(symbol="SPY", min_dte=30, max_dte=45))
        chain = node.probe.wait(ChainSnapshot, timeout=40)
        node.send(SubscribeQuotes(contracts=tuple(q.contract for q in chain.quotes[:12])))
        alert = node.probe.wait(Alert, lambda a: "lines exhausted" in a.text)
        node.probe.wait(OptionQuote, lambda q: q.contract == chain.quotes[7].contract)
    assert len(chain.quotes) > 20  # scanned in batches that fit the free lines
    assert gateway.most_streams == 10 and "(10)" in alert.text


def _chain_contract(node: InProcessNode):
    node.send(ChainRequest(symbol="SPY", min_dte=30, max_dte=45))
    return node.probe.wait(ChainSnapshot, timeout=40).quotes[0].contract


def test_an_account_the_login_does_not_manage_is_refused(gateway):
    with InProcessNode(ib_config(gateway, ib={"account": "DU9999999"})) as node:
        alert = node.probe.wait(Alert, lambda a: a.level == "critical")
        assert "ib.account DU9999999 is not managed by this login (DU1234567)" in alert.text
        assert node.probe.wait(BrokerConnectionChanged).state == "disconnected"
        assert not node.probe.of(IbConnected)
