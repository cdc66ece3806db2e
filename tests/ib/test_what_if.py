"""Before an opening order on IB, risk asks IB's what-if for the exact combo and weighs IB's margin: the IB broker
core, the session (ib_async over a real socket), risk and execution against the test gateway. What IB received is
read at the gateway: what-if orders, and real orders only once the what-if passed."""

from __future__ import annotations

import pytest

from actors.broker.ib.core import IbBrokerCore
from actors.broker.ib.session import IbSessionCore
from actors.execution.core import ExecutionCore
from actors.market_data.chain import listed_expiries, listed_strikes
from actors.risk.core import RiskCore
from messages import (
    Alert,
    BrokerAccountValues,
    BrokerConnectionChanged,
    IntentApproved,
    IntentDenied,
    Leg,
    OpenStrategy,
    OptionContract,
    PlaceOrder,
    WhatIfAnswered,
)
from tests.ib.behaviour import Reject
from tests.ib.gateway import TestGateway
from tests.ib.harness import InProcessNode, ib_config, new_gateway
from tests.waiting import wait_for

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def gateway():
    gateway = new_gateway()
    yield gateway
    gateway.stop()


def _node(gateway: TestGateway, **risk: object) -> InProcessNode:
    config = ib_config(gateway, risk=risk)
    return InProcessNode(config, [lambda: IbBrokerCore(config.ib),
                                  lambda: IbSessionCore(config.ib, config.service.client_id, config.entry.symbols,
                                                        config.market_data),
                                  lambda: RiskCore(config.risk, what_if=True),
                                  lambda: ExecutionCore(config.execution)])


def _ready(node: InProcessNode) -> None:
    """Synchronised with IB (orders may go out) and the account's values known."""
    node.probe.wait(BrokerConnectionChanged, lambda m: m.state == "connected")
    node.probe.wait(BrokerAccountValues)


def _put_spread(gateway: TestGateway, strategy_id: str = "PS-1") -> OpenStrategy:
    """A one-lot SPY put credit spread, 5 wide, priced from the gateway's own quotes."""
    expiry = listed_expiries(gateway.clock(), 30, 45)[0]
    strikes = [s for s in listed_strikes(580.0) if s <= 550.0]
    short, long = (OptionContract(symbol="SPY", expiry=expiry, strike=s, right="P") for s in (strikes[-1],
                                                                                             strikes[-1] - 5))
    legs = (Leg(long, 1), Leg(short, -1))
    quotes = gateway.option_quotes([long, short])
    mid = sum(leg.ratio * (quotes[leg.contract].bid + quotes[leg.contract].ask) / 2 for leg in legs)
    natural = sum(leg.ratio * (quotes[leg.contract].ask if leg.ratio > 0 else quotes[leg.contract].bid) for leg in legs)
    return OpenStrategy(strategy_id=strategy_id, kind="put_credit_spread", symbol="SPY", legs=legs, quantity=1,
                        mid_price=round(mid, 2), natural_price=round(natural, 2), max_profit_usd=-mid * 100,
                        max_loss_usd=500 + mid * 100, reason="test", leg_quotes=tuple(quotes.values()))


def _what_if_legs(gateway: TestGateway) -> list[tuple[OptionContract, int]]:
    (received,) = gateway.what_ifs_received
    assert received.what_if and received.contract.sec_type == "BAG" and received.total_quantity == 1
    return [(gateway.contracts.option_by_con_id[leg.con_id], leg.ratio if leg.action == "BUY" else -leg.ratio)
            for leg in received.contract.combo_legs]


def test_a_what_if_whose_margin_is_too_high_denies_the_open_and_no_order_reaches_ib(gateway):
    gateway.faults.house_margin_usd = 60_000.0  # IB's house margin: the account's own report shows none of it yet
    with _node(gateway) as node:
        _ready(node)
        intent = _put_spread(gateway)
        node.send(intent)
        denied = node.probe.wait(IntentDenied)
        answer = node.probe.of(WhatIfAnswered)[0]
    assert denied.check == "margin_utilisation" and "IB's what-if" in denied.reason, denied
    assert answer.init_margin_after_usd == 60_500.0 and answer.init_margin_change_usd == 60_500.0
    assert _what_if_legs(gateway) == [(leg.contract, leg.ratio) for leg in intent.legs]  # the exact combo
    assert not gateway.orders_received and not gateway.open_orders() and not node.probe.of(PlaceOrder)
    assert not node.probe.of(IntentApproved)


def test_a_what_if_within_the_limits_approves_and_the_same_combo_is_then_ordered(gateway):
    with _node(gateway) as node:
        _ready(node)
        intent = _put_spread(gateway)
        node.send(intent)
        node.probe.wait(IntentApproved)
        order = wait_for(lambda: gateway.orders_received and gateway.orders_received[0], 30, "the order at IB")
        answer = node.probe.of(WhatIfAnswered)[0]
    assert not node.probe.of(IntentDenied)
    assert answer.init_margin_after_usd == 500.0 and answer.error == ""
    what_if = gateway.what_ifs_received[0]
    assert not order.what_if and order.order_id > what_if.order_id  # the what-if used up its id
    assert [(c.con_id, c.ratio, c.action) for c in order.contract.combo_legs] == [
        (c.con_id, c.ratio, c.action) for c in what_if.contract.combo_legs]


@pytest.mark.parametrize("fault, check", [("refused", "what_if_refused"), ("silent", "what_if_timeout")])
def test_a_what_if_ib_refuses_or_never_answers_denies_fail_closed_with_an_alert(gateway, fault, check):
    if fault == "refused":
        gateway.faults.what_if_rejects.append(Reject(201))
    else:
        gateway.faults.what_if_silent = 1
    with _node(gateway, what_if_timeout_s=1.0) as node:
        _ready(node)
        node.send(_put_spread(gateway))
        denied = node.probe.wait(IntentDenied)
        alert = node.probe.wait(Alert, lambda a: a.source == "risk")
    assert denied.check == check, denied
    assert "fail closed" in alert.text and denied.reason in alert.text
    assert gateway.what_ifs_received and not gateway.orders_received and not node.probe.of(PlaceOrder)
