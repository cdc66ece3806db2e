"""A roll reaches IB as one BAG order: the held spread's legs closed and the new spread's legs opened in the same
combo (each leg with its own BUY/SELL action, openClose 0 as IB requires of a retail account), filled as one, and
booked by the node as the old strategy closed and its replacement opened. The IB broker core and session (ib_async
over a real socket), risk (with IB's what-if on the replacement), execution and position tracking run in process
against the test gateway; what IB received and what the account holds are read at the gateway."""

from __future__ import annotations

import datetime as dt

import pytest

from actors.broker.ib.core import IbBrokerCore
from actors.broker.ib.session import IbSessionCore
from actors.execution.core import ExecutionCore
from actors.market_data.chain import listed_expiries, listed_strikes
from actors.position_sync.core import PositionSyncCore
from actors.risk.core import RiskCore
from messages import (
    BrokerAccountValues,
    BrokerConnectionChanged,
    CloseStrategy,
    IntentDenied,
    Leg,
    OpenStrategy,
    OptionContract,
    OrderTerminated,
    ReconciliationResult,
    RollStrategy,
    StrategyClosed,
    StrategyOpened,
    StrategyRolled,
)
from tests.ib import wire
from tests.ib.gateway import TestGateway
from tests.ib.harness import InProcessNode, ib_config, new_gateway
from tests.waiting import wait_for

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def gateway():
    gateway = new_gateway()
    yield gateway
    gateway.stop()


def _node(gateway: TestGateway) -> InProcessNode:
    config = ib_config(gateway, execution={"step_interval_s": 0.3, "roll_step_interval_s": 0.3,
                                           "roll_max_concession": 2.0, "deadline_s": 20.0, "roll_deadline_s": 20.0})
    return InProcessNode(config, [lambda: IbBrokerCore(config.ib),
                                  lambda: IbSessionCore(config.ib, config.service.client_id, config.entry.symbols,
                                                        config.market_data),
                                  lambda: RiskCore(config.risk, what_if=True),
                                  lambda: ExecutionCore(config.execution),
                                  PositionSyncCore])


def _put_spread(gateway: TestGateway, expiry: dt.date, strategy_id: str) -> OpenStrategy:
    """A one-lot SPY put credit spread, 5 wide, priced from the gateway's own quotes."""
    strikes = [s for s in listed_strikes(580.0) if s <= 550.0]
    short, long = (OptionContract(symbol="SPY", expiry=expiry, strike=s, right="P") for s in (strikes[-1],
                                                                                             strikes[-1] - 5))
    legs = (Leg(long, 1), Leg(short, -1))
    quotes = gateway.option_quotes([long, short])
    mid = sum(leg.ratio * (quotes[leg.contract].bid + quotes[leg.contract].ask) / 2 for leg in legs)
    natural = sum(leg.ratio * (quotes[leg.contract].ask if leg.ratio > 0 else quotes[leg.contract].bid) for leg in legs)
    return OpenStrategy(strategy_id=strategy_id, kind="bull_put", symbol="SPY", legs=legs, quantity=1,
                        mid_price=round(mid, 2), natural_price=round(natural, 2), max_profit_usd=-mid * 100,
                        max_loss_usd=500 + mid * 100, reason="test", leg_quotes=tuple(quotes.values()))


def _close_of(gateway: TestGateway, held: OpenStrategy) -> CloseStrategy:
    """Selling the held spread back, at marks from the gateway's quotes (what the decision core would publish)."""
    quotes = gateway.option_quotes([leg.contract for leg in held.legs])
    mid = sum(leg.ratio * (quotes[leg.contract].bid + quotes[leg.contract].ask) / 2 for leg in held.legs)
    natural = sum(leg.ratio * (quotes[leg.contract].bid if leg.ratio > 0 else quotes[leg.contract].ask)
                  for leg in held.legs)
    return CloseStrategy(strategy_id=held.strategy_id, symbol="SPY", legs=held.legs, quantity=-1,
                         mid_price=round(mid, 4), natural_price=round(natural, 4), rule="roll", reason="test roll",
                         roll_to_dte=60)


def test_a_roll_is_one_bag_order_with_mixed_legs_at_ib_and_the_node_books_it_once(gateway):
    near, far = listed_expiries(gateway.clock(), 30, 45)[0], listed_expiries(gateway.clock(), 55, 65)[0]
    with _node(gateway) as node:
        node.probe.wait(BrokerConnectionChanged, lambda m: m.state == "connected")
        node.probe.wait(BrokerAccountValues)
        held = _put_spread(gateway, near, "BPS-SPY-1")
        node.send(held)
        node.probe.wait(StrategyOpened, lambda m: m.strategy_id == held.strategy_id, timeout=30)
        roll = RollStrategy(strategy_id=held.strategy_id, close=_close_of(gateway, held),
                            open=_put_spread(gateway, far, "BPS-SPY-2"))
        node.send(roll)
        closed = node.probe.wait(StrategyClosed, timeout=30)
        opened = node.probe.wait(StrategyOpened, lambda m: m.strategy_id == "BPS-SPY-2", timeout=30)
        wait_for(lambda: gateway.positions() == {leg.contract: leg.ratio for leg in roll.open.legs}, 10,
                 "the account at IB holding the new spread only")
        node.probe.wait(OrderTerminated, lambda m: m.purpose == "roll", timeout=30)
        # IB's positions, reported after the roll, match the books: the new spread, nothing of the old
        node.probe.wait(ReconciliationResult, lambda m: m.seq > opened.seq, timeout=30)
        reconciled = node.probe.of(ReconciliationResult, lambda m: m.seq > opened.seq)
        rolled = node.probe.of(StrategyRolled)
        ended = node.probe.of(OrderTerminated)
        denied = node.probe.of(IntentDenied)
    assert not denied, denied
    assert reconciled and all(r.ok for r in reconciled), reconciled
    # at IB: two orders (the opening and the roll), the roll one BAG whose legs close the held and open the new
    refs = {}
    for order in gateway.orders_received:  # a modification repeats its order's reference and id
        refs.setdefault(order.order_ref, set()).add(order.order_id)
    assert [ref.rsplit("-", 1)[1][0] for ref in refs] == ["O", "R"] and all(len(ids) == 1 for ids in refs.values())
    roll_order = next(o for o in gateway.orders_received if o.order_ref == list(refs)[1])
    assert roll_order.contract.sec_type == "BAG" and roll_order.action == "BUY" and roll_order.total_quantity == 1
    legs = [(gateway.contracts.option_by_con_id[leg.con_id], leg.action, leg.ratio, leg.open_close)
            for leg in roll_order.contract.combo_legs]
    assert legs == [(held.legs[0].contract, "SELL", 1, 0), (held.legs[1].contract, "BUY", 1, 0),
                    (roll.open.legs[0].contract, "BUY", 1, 0), (roll.open.legs[1].contract, "SELL", 1, 0)]
    # the what-if was asked for the replacement alone (its margin, not credited with what the roll releases)
    what_if_legs = gateway.what_ifs_received[-1].contract.combo_legs
    assert [gateway.contracts.option_by_con_id[leg.con_id] for leg in what_if_legs] == [
        leg.contract for leg in roll.open.legs]
    # in the node: the roll filled as one order, booked once on both strategies
    assert [(m.purpose, m.status) for m in ended] == [("open", "filled"), ("roll", "filled")]
    assert [(m.strategy_id, m.replacement) for m in rolled] == [("BPS-SPY-1", "BPS-SPY-2")]
    assert (closed.strategy_id, closed.rule) == ("BPS-SPY-1", "roll")
    assert (opened.quantity, opened.legs) == (1, roll.open.legs)


@pytest.mark.parametrize("open_close, refused", [(0, None), (1, 321), (2, 321)])
def test_the_gateway_takes_combo_legs_only_as_a_retail_account_may_send_them(gateway, open_close, refused):
    """openClose 0 ("same as the parent": IB works out per leg whether it opens or closes) is the only value IB allows
    a retail account; 1 and 2 are for institutions."""
    expiry = listed_expiries(gateway.clock(), 30, 45)[0]
    wire_put = gateway.contracts.wire_option
    legs = [wire.WireComboLeg(con_id=wire_put(OptionContract("SPY", expiry, strike, "P")).con_id, ratio=1,
                              action=action, exchange="SMART", open_close=open_close if n == 1 else 0)
            for n, (strike, action) in enumerate(((545.0, "BUY"), (550.0, "SELL")))]
    request = wire.PlaceOrder(order_id=1, contract=wire.WireContract(symbol="SPY", sec_type="BAG", exchange="SMART",
                                                                     currency="USD", combo_legs=legs),
                              action="BUY", total_quantity=1, order_type="LMT", lmt_price=-1.0, aux_price=None,
                              tif="DAY", oca_group="", account="", open_close="", origin=0, order_ref="X-R1",
                              transmit=True, parent_id=0, outside_rth=False, combo_leg_prices=[])
    reject = gateway.desk.validate(request)
    assert (reject and reject.code) == refused
    if refused:
        assert reject.message(1) == ("Error validating request.-'bH' : cause - The combo details for leg '1' are "
                                     "invalid. - Not an institutional account, or an away clearing order")
