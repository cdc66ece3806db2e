"""An assignment at IB: the option's position row goes to 0 and the shares arrive in a STK row; the adapter reports
them in the positions snapshot (not as an unknown holding), and it refuses to send a stock order rather than send a
combo without legs."""

from __future__ import annotations

import pytest

from messages import (
    Alert,
    BrokerPositionsSnapshot,
    OrderFilled,
    OrderRejected,
    PlaceOrder,
    StockPosition,
)
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


def test_a_stock_order_is_refused_before_ib(gateway):
    with InProcessNode(ib_config(gateway, ib=SMALL_CHAIN)) as node:
        _connected(node)
        node.send(PlaceOrder(client_order_id="IC-1-C2", strategy_id="IC-1", purpose="close", legs=(), quantity=-100,
                             limit_price=567.95, stock="SPY"))
        rejected = node.probe.wait(OrderRejected)
    assert rejected.code == 0 and "stock order for SPY not supported on the IB path" in rejected.reason
    assert gateway.orders_received == []
