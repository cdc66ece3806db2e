"""An assignment at IB: the option's position row goes to 0 and the shares arrive in a STK row; the adapter reports
them in the positions snapshot (not as an unknown holding); the shares are sold with a stock order at IB."""

from __future__ import annotations

import pytest
from msgspec import UNSET

from messages import (
    Alert,
    BrokerPositionsSnapshot,
    ModifyOrder,
    OrderAccepted,
    OrderFilled,
    PlaceOrder,
    StockPosition,
)
from tests.ib import wire
from tests.ib.harness import InProcessNode, booked_units, ib_config, new_gateway
from tests.ib.test_adapter import SMALL_CHAIN, _condor, _connected, _place

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def gateway():
    gateway = new_gateway()
    yield gateway
    gateway.stop()


def test_assigned_short_put_arrives_as_shares_in_the_positions_snapshot(gateway):
    with InProcessNode(ib_config(gateway, ib=SMALL_CHAIN)) as node:
        _connected(node)
        legs = _condor(node)
        _place(node, "IC-1-O1", legs, quantity=2)
        node.probe.wait(OrderFilled, lambda f: booked_units(node) == 2)
        node.probe.wait(BrokerPositionsSnapshot, lambda m: len(m.positions) == 4)
        short_put = legs[1].contract
        gateway.settle(short_put, exercised=True)
        snapshot = node.probe.wait(BrokerPositionsSnapshot, lambda m: len(m.positions) == 3)
        alerts = node.probe.of(Alert)
    assert snapshot.complete and short_put not in {p.contract for p in snapshot.positions}
    assert snapshot.stock == (StockPosition(symbol="SPY", quantity=200, avg_cost=short_put.strike),)
    assert not any("holds STK" in a.text for a in alerts)  # shares are positions now, not an unknown holding


def test_a_stock_order_sells_assigned_shares_at_ib(gateway):
    """The shares an assignment left go out as an IB stock order (STK, SMART, USD, limit, our order reference); its
    single STK execution is booked as one fill of signed shares at the price per share with IB's stock commission."""
    with InProcessNode(ib_config(gateway, ib=SMALL_CHAIN)) as node:
        _connected(node)
        legs = _condor(node)
        _place(node, "IC-1-O1", legs, quantity=2)
        node.probe.wait(OrderFilled, lambda f: booked_units(node) == 2)
        gateway.settle(legs[1].contract, exercised=True)
        node.probe.wait(BrokerPositionsSnapshot, lambda m: m.stock is not UNSET)
        bid = gateway.stock_quote("SPY").bid
        node.send(PlaceOrder(client_order_id="IC-1-C2", strategy_id="IC-1", purpose="close", legs=(), quantity=-200,
                             limit_price=bid, stock="SPY"))
        fill = node.probe.wait(OrderFilled, lambda f: f.client_order_id == "IC-1-C2")
        flat = node.probe.wait(BrokerPositionsSnapshot, lambda m: m.stock is UNSET and len(m.positions) == 3)
        fills = node.probe.of(OrderFilled, lambda f: f.client_order_id == "IC-1-C2")
    sent = gateway.orders_received[-1]
    assert (sent.contract.sec_type, sent.contract.symbol, sent.contract.exchange, sent.contract.currency) == (
        "STK", "SPY", "SMART", "USD")
    assert (sent.action, sent.total_quantity, sent.order_type, sent.lmt_price, sent.order_ref) == (
        "SELL", 200, "LMT", bid, "IC-1-C2")
    assert fills == [fill] and (fill.quantity, fill.price, fill.commission_usd) == (-200, bid, 1.0)
    assert flat.complete and gateway.executions()[-1][1:] == ("STK", 200, bid)


@pytest.mark.parametrize("change, code", [
    ({}, None),
    ({"contract": wire.WireContract(symbol="SPYX", sec_type="STK", exchange="SMART", currency="USD")}, 200),
    ({"contract": wire.WireContract(symbol="SPY", sec_type="STK", exchange="SMART", currency="EUR")}, 200),
    ({"total_quantity": 0}, 434),
    ({"lmt_price": None}, 107),
    ({"lmt_price": 567.955}, 110),
])
def test_the_gateway_checks_a_stock_order_as_ib_does(gateway, change, code):
    request = wire.PlaceOrder(**{**dict(
        order_id=1, contract=wire.WireContract(symbol="SPY", sec_type="STK", exchange="SMART", currency="USD"),
        action="SELL", total_quantity=100, order_type="LMT", lmt_price=567.95, aux_price=None, tif="DAY", oca_group="",
        account="", open_close="", origin=0, order_ref="X-C1", transmit=True, parent_id=0, outside_rth=False,
        combo_leg_prices=[]), **change})
    reject = gateway.desk.validate(request)
    assert (reject and reject.code) == code


def test_a_stock_order_fills_only_at_the_touch(gateway):
    """A sell limit above the bid rests; brought down to the bid it fills there, as IB does with no hidden size."""
    gateway.set_underlying("SPY", 570.0)
    with InProcessNode(ib_config(gateway, ib=SMALL_CHAIN)) as node:
        _connected(node)
        node.send(PlaceOrder(client_order_id="IC-1-C1", strategy_id="IC-1", purpose="close", legs=(), quantity=-100,
                             limit_price=570.0, stock="SPY"))
        node.probe.wait(OrderAccepted, lambda m: m.client_order_id == "IC-1-C1")
        assert gateway.executions() == [] and gateway.open_orders()[0][1:3] == ("IC-1-C1", "Submitted")
        node.send(ModifyOrder(client_order_id="IC-1-C1", limit_price=569.99))
        fill = node.probe.wait(OrderFilled, lambda f: f.client_order_id == "IC-1-C1")
    assert (fill.quantity, fill.price, fill.commission_usd) == (-100, 569.99, 1.0)
    assert gateway.open_orders() == [] and gateway.stock_position("SPY") == (-100, 569.99)
