"""IB's dividends reach the node: generic tick 456 on the underlying's stream, answered by the test gateway like IB
(tickString type 59 `past12m,next12m,nextDate,nextAmount`), becomes a `Dividends` message; a bad, empty or partial
value is a counted, alerted rejection and never a dividend."""

from __future__ import annotations

import datetime as dt

import pytest

from actors.broker.sim.config import SimSection
from actors.broker.sim.dividends import DividendSection
from actors.node import core_factories
from messages import Alert, BadTick, CloseStrategy, Dividends, StrategyOpened, UnderlyingQuote
from tests.ib.harness import MARKET_TIME, InProcessNode, ib_config, new_gateway

pytestmark = pytest.mark.timeout(120)
SCHEDULE = (DividendSection(symbol="SPY", ex_date=dt.date(2026, 3, 20), amount=1.8),
            DividendSection(symbol="SPY", ex_date=dt.date(2025, 12, 19), amount=1.75),
            DividendSection(symbol="SPY", ex_date=dt.date(2026, 6, 19), amount=1.9))


@pytest.fixture
def gateway():
    gateway = new_gateway(params=SimSection(market="scripted", dividends=SCHEDULE))
    yield gateway
    gateway.stop()


def test_the_node_asks_for_tick_456_and_publishes_the_next_dividend(gateway):
    with InProcessNode(ib_config(gateway)) as node:
        dividends = node.probe.wait(Dividends, lambda d: d.symbol == "SPY")
        assert (dividends.ex_date, dividends.amount) == (dt.date(2026, 3, 20), 1.8)
        assert (dividends.past_12m, dividends.next_12m) == (1.75, 3.7)
        assert gateway.dividends.ticks_sent >= 1  # the gateway answered a stock stream that asked for 456
        # IB sends changes only, and so does the node: quotes moving change nothing
        gateway.set_underlying("SPY", 581.0)
        node.probe.wait(UnderlyingQuote, lambda q: q.bid == 580.99)
        assert len(node.probe.of(Dividends)) == 1
        # a new announcement (the date moved) is published again
        gateway.set_dividend_tick("SPY", "1.75,3.7,20260323,1.8")
        moved = node.probe.wait(Dividends, lambda d: d.ex_date == dt.date(2026, 3, 23))
        assert moved.amount == 1.8


@pytest.mark.parametrize("value, detail", [
    ("", "1 fields, not 4"),
    ("garbage", "1 fields, not 4"),
    ("1.75,3.7,20260320", "3 fields, not 4"),
    ("1.75,abc,20260320,1.8", "next12m 'abc' is not a number"),
    ("1.75,3.7,2026320,1.8", "nextDate '2026320' is not a YYYYMMDD date"),
    ("1.75,3.7,20261399,1.8", "nextDate '20261399' is not a YYYYMMDD date"),
    ("1.75,3.7,20260320,", "partial"),
    ("1.75,3.7,,1.8", "partial"),
    ("1.75,3.7,20260320,-1.8", "nextAmount '-1.8' is not a non-negative amount"),
    ("1.75,3.7,20260220,1.8", "next date 2026-02-20 is already past"),
])
def test_a_bad_dividend_tick_is_a_counted_alerted_rejection(gateway, value, detail):
    gateway.set_dividend_tick("SPY", value)
    with InProcessNode(ib_config(gateway)) as node:
        rejected = node.probe.wait(BadTick, lambda b: b.reason == "bad_dividend_tick")
        assert rejected.symbol == "SPY" and detail in rejected.detail
        node.probe.wait(Alert, lambda a: "IB dividend tick (456) for SPY rejected" in a.text)
        # the next good value is a dividend again; nothing bad ever was
        gateway.set_dividend_tick("SPY", ",,20260327,0.9")
        good = node.probe.wait(Dividends)
        assert (good.ex_date, good.amount, good.past_12m) == (dt.date(2026, 3, 27), 0.9, 0.0)
        assert len(node.probe.of(Dividends)) == 1


def test_nothing_announced_is_a_dividend_of_none(gateway):
    gateway.set_dividend_tick("SPY", "1.75,0,,")
    with InProcessNode(ib_config(gateway)) as node:
        none = node.probe.wait(Dividends)
        assert (none.ex_date, none.amount, none.past_12m) == (None, 0.0, 1.75)


def test_on_the_ib_path_a_short_call_worth_less_alive_than_tomorrows_dividend_is_closed():
    """The whole chain over a real socket: the gateway prices its options with the dividend (escrowed spot) and
    announces it by tick 456; the node opens a condor expiring after the ex-date, SPY rallies through the short call,
    and the assignment exit closes it the day before the ex-date."""
    tomorrow = (DividendSection(symbol="SPY", ex_date=dt.date(2026, 3, 3), amount=1.8),)
    gateway = new_gateway(params=SimSection(market="scripted", dividends=tomorrow))
    off = {"catastrophe_move_pct": 0.5, "short_delta_breach": 1.0, "stop_loss_multiple": 100.0,
           "near_expiry_stop_multiple": 100.0, "gamma_risk_threshold": 100.0, "dte_exit": -1,
           "take_profit_pct": 1.0, "trailing_activate_pct": 1.0}
    config = ib_config(gateway, ib={"chain_strike_range_pct": 0.05},
                       entry={"evaluate_interval_s": 2.0, "dte_min": 3, "dte_max": 10, "min_credit": 0.05,
                              "min_credit_to_width": 0.01},
                       execution={"step_interval_s": 1.0, "deadline_s": 30.0},
                       exits={"assignment_risk_enabled": True, **off})
    start_ns = int(MARKET_TIME.timestamp() * 1e9)
    try:
        with InProcessNode(config, core_factories(config, "dividend", None, start_ns)) as node:
            node.probe.wait(Dividends, lambda d: d.ex_date == dt.date(2026, 3, 3))
            opened = node.probe.wait(StrategyOpened, timeout=90)
            short_call = next(leg.contract for leg in opened.legs if leg.ratio < 0 and leg.contract.right == "C")
            assert not node.probe.of(CloseStrategy)
            gateway.set_underlying("SPY", short_call.strike + 10.0)
            close = node.probe.wait(CloseStrategy, timeout=30)
            assert close.rule == "assignment_risk"
            assert f"short {short_call} extrinsic" in close.reason and "dividend going ex on 2026-03-03" in close.reason
    finally:
        gateway.stop()
