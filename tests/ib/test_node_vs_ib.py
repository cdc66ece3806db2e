"""The whole node's cores (decision, risk, execution, positions, IB broker and session) in process against a test
gateway that refuses: the failures the issue reproduced must end in a freed strategy, never a stuck or a doubled
order."""

from __future__ import annotations

import pytest

from actors.node import core_factories
from messages import Alert, IntentDenied, OrderRejected, PlaceOrder
from tests.ib.behaviour import READ_ONLY_TEXT, GatewaySettings, Reject
from tests.ib.harness import MARKET_TIME, InProcessNode, ib_config, new_gateway

pytestmark = pytest.mark.timeout(120)
QUICK_NODE = {
    "ib": {"chain_strike_range_pct": 0.07},
    "entry": {"evaluate_interval_s": 1.0},
    "execution": {"step_interval_s": 1.0, "deadline_s": 6.0, "cancel_retry_s": 2.0},
    "risk": {"breaker_failures": 2},
}


def _whole_node(gateway) -> InProcessNode:  # noqa: ANN001 - a TestGateway
    config = ib_config(gateway, **QUICK_NODE)
    start_ns = int(MARKET_TIME.timestamp() * 1e9)
    return InProcessNode(config, core_factories(config, "test", None, start_ns))


def test_a_read_only_gateway_refuses_every_what_if_so_no_order_goes_out_and_the_breaker_opens():
    gateway = new_gateway(settings=GatewaySettings())  # a fresh IB Gateway: Read-Only API on
    try:
        with _whole_node(gateway) as node:
            node.probe.wait(Alert, lambda a: a.text.startswith("circuit breaker OPEN"), timeout=90)
            # IB refuses the what-if before every opening order as it would refuse the order: no order goes out
            refused = node.probe.of(IntentDenied, lambda d: d.check == "what_if_refused")
            assert len(refused) >= 2 and all(f"IB 321: {READ_ONLY_TEXT}" in d.reason for d in refused)
            assert not node.probe.of(IntentDenied, lambda d: "still working" in d.reason)
            node.runtime.work.wait_idle(timeout=5)
            assert not node.probe.of(PlaceOrder) and not node.probe.of(OrderRejected)
        assert gateway.what_ifs_received and not gateway.orders_received and not gateway.open_orders()
    finally:
        gateway.stop()


def test_modifications_ib_refuses_never_leave_two_live_orders_for_one_symbol():
    gateway = new_gateway()
    gateway.faults.hold_fills = True
    gateway.faults.refuse_modifies = [Reject(201, "Order rejected - reason: modification refused")] * 50
    try:
        with _whole_node(gateway) as node:
            # the first entry walks its limit (every step refused), is cancelled at its deadline, and only then
            # does the next entry go out
            node.probe.wait(PlaceOrder, count=2, timeout=90)
            assert node.probe.of(Alert, lambda a: "refused the modify" in a.text)
            assert not node.probe.of(OrderRejected)
        assert gateway.desk.most_working_per_symbol == 1
    finally:
        gateway.stop()
