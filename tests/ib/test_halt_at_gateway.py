"""The kill switch through the TWS test gateway: with an opening order mid-walk at IB, HALTED (or REDUCING) cancels it
at once and nothing but that cancel reaches the gateway afterwards — no price step, no modification, no new order."""

from __future__ import annotations

import pytest

from actors.node import core_factories
from messages import Halt, ModifyOrder, PlaceOrder, TimerFired, TradingStateChanged
from messages.risk import RiskStateRestored
from tests.ib.harness import InProcessNode, ib_config, new_gateway
from tests.waiting import wait_for

STATE_CHANGES = {
    "HALTED": Halt(reason="operator kill switch"),
    "REDUCING": RiskStateRestored(trading_state="REDUCING", trading_reason="daily loss limit", breaker_state="CLOSED",
                                  breaker_since_ns=0, failures_ns=(), half_open_successes=0),
}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("state", sorted(STATE_CHANGES))
def test_a_state_change_cancels_the_working_opening_order_and_sends_nothing_else(state):
    gateway = new_gateway(vix=10.0)
    gateway.faults.hold_fills = True  # the opening order rests at IB while its limit walks
    config = ib_config(gateway, entry={"evaluate_interval_s": 0.5, "dte_min": 7, "dte_max": 12,
                                             "exit_rules_gate": False},  # short-dated: inside dte_exit
                       ib={"chain_strike_range_pct": 0.03},
                       execution={"step_interval_s": 0.3, "price_steps": 20, "deadline_s": 60.0})
    node = InProcessNode(config, core_factories(config, "halt-test", None, 0))
    try:
        with node:
            def walked() -> bool:  # placed, then modified at least once under the same order id
                ids = [order.order_id for order in gateway.orders_received]
                return len(ids) >= 2 and ids[0] == ids[1]

            wait_for(walked, 60, "an opening order walking at the gateway")
            order_id = gateway.orders_received[0].order_id
            node.send(STATE_CHANGES[state])
            changed = node.probe.wait(TradingStateChanged, lambda m: m.state == state)
            wait_for(lambda: order_id in gateway.cancels_received, 15, "the cancel at the gateway")
            sent = len(gateway.orders_received)
            # three more entry evaluations and any step timer due: time enough for anything that would go out
            evaluations = len(node.probe.of(TimerFired, lambda m: m.key == "evaluate"))
            node.probe.wait(TimerFired, lambda m: m.key == "evaluate", count=evaluations + 3)
            assert len(gateway.orders_received) == sent, "an order or modification reached IB after the change"
            after = [m for m in node.probe.of((PlaceOrder, ModifyOrder)) if m.seq > changed.seq]
            assert after == [], after
    finally:
        gateway.stop()
