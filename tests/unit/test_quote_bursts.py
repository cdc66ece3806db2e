"""A burst of option quotes (`OptionQuotes`, as the IB session publishes a socket read's ticks) is read by every actor
exactly as its quotes published one by one: the same marks, exits, approvals, greeks and stale-quote reports."""

from __future__ import annotations

import msgspec
import pytest

from actors.config import config_from_mapping
from actors.decision.core import DecisionCore
from actors.market_data.core import MarketDataCore
from actors.replay.scenario import ScenarioError, load_scenario
from actors.risk.core import RiskCore
from actors.runtime.clock import VirtualClock
from actors.runtime.deterministic import DeterministicRuntime
from messages import (
    BrokerConnectionChanged,
    CloseStrategy,
    IntentApproved,
    IntentDenied,
    Leg,
    Message,
    OpenStrategy,
    OptionContract,
    OptionQuote,
    OptionQuotes,
    QuoteStale,
    ReconciliationResult,
    StrategyGreeks,
    StrategyMarked,
    StrategyOpened,
    TimerFired,
    UnderlyingQuote,
)
from tests.unit.account_values import account_values
from tests.unit.spy_condor import CONDOR, EXPIRY, NOON, SECOND

QUOTES = (OptionQuote, OptionQuotes, UnderlyingQuote, TimerFired)


def _leg_quote(leg: Leg, step: int, now_ns: int) -> OptionQuote:
    """The short put sinks into trouble step by step (the stop loss fires after a while); the rest drift."""
    price = {545.0: 1.0 + 0.3 * step, 550.0: 1.5 + 0.5 * step, 610.0: 0.6, 615.0: 0.3}[leg.contract.strike]
    delta = {545.0: -0.1 - 0.02 * step, 550.0: -0.2 - 0.03 * step, 610.0: 0.1, 615.0: 0.05}[leg.contract.strike]
    return OptionQuote(ts=now_ns, contract=leg.contract, bid=round(price - 0.05, 2), ask=round(price + 0.05, 2),
                       iv=0.2 + 0.01 * step, delta=delta, gamma=0.01, vega=0.2,
                       theta=-0.03, underlying_price=575.0 - step)


def _run(bursts: bool) -> list[Message]:
    # exits judged once a step's quotes are in (the default delay), as they are in a live node where the singles queue
    # ahead of the exits' timer; with no delay here each single would be judged alone, against the other legs' old marks
    config = config_from_mapping({"exits": {"evaluation_delay_ms": 250}, "market_data": {
        "stale_after_s": 2, "stale_check_interval_s": 1, "greeks_interval_s": 1}, "risk": {"max_symbol_delta": 0.18}})
    runtime = DeterministicRuntime([lambda: DecisionCore(config.entry, config.exits),
                                    lambda: RiskCore(config.risk), lambda: MarketDataCore(config.market_data)],
                                   VirtualClock(NOON))
    runtime.start()
    runtime.inject(BrokerConnectionChanged(state="connected", reason="test"))
    runtime.inject(ReconciliationResult(ok=True, mismatches=()))
    runtime.inject(account_values(ts=NOON))
    runtime.inject(StrategyOpened(strategy_id="IC-1", kind="iron_condor", symbol="SPY", legs=CONDOR, quantity=1,
                                  entry_price=-1.2, max_profit_usd=120.0, max_loss_usd=380.0))
    for step in range(12):
        now = runtime.clock.now()
        runtime.inject(UnderlyingQuote(ts=now, symbol="SPY", bid=574.99 - step, ask=575.01 - step, last=575.0 - step))
        quiet_wing = 1 <= step < 4  # the long call is not quoted for a while: reported stale, then fresh again
        quotes = [_leg_quote(leg, step, now) for leg in CONDOR if not (quiet_wing and leg is CONDOR[3])]
        if bursts:
            runtime.inject(OptionQuotes(ts=now, quotes=tuple(quotes)))
        else:
            for quote in quotes:
                runtime.inject(quote)
        runtime.run_until(now + SECOND)
    # a put spread elsewhere: risk judges it against the book the held legs' quotes priced (too much SPY delta)
    now = runtime.clock.now()
    spread = (Leg(OptionContract("SPY", EXPIRY, 535.0, "P"), 1), Leg(OptionContract("SPY", EXPIRY, 540.0, "P"), -1))
    priced = tuple(OptionQuote(ts=now, contract=leg.contract, bid=1.0, ask=1.1, iv=0.2, delta=delta, gamma=0.01,
                               vega=0.2, theta=-0.03, underlying_price=564.0)
                   for leg, delta in zip(spread, (-0.1, -0.15), strict=True))
    runtime.inject(OpenStrategy(strategy_id="PS-2", kind="vertical", symbol="SPY", legs=spread, quantity=1,
                                mid_price=-0.4, natural_price=-0.37, max_profit_usd=40.0, max_loss_usd=460.0,
                                reason="test", leg_quotes=priced))
    runtime.run_until(now + SECOND)
    return [_without_seqs(msgspec.to_builtins(m)) for m in runtime.history if not isinstance(m, QUOTES)]


def _without_seqs(value: object) -> object:
    """Seqs differ (a burst is one message where the singles are several); nothing else may."""
    if isinstance(value, dict):
        return {key: _without_seqs(item) for key, item in value.items() if key != "seq"}
    return [_without_seqs(item) for item in value] if isinstance(value, list) else value


def test_a_burst_is_read_as_its_quotes_one_by_one():
    one_by_one, in_bursts = _run(bursts=False), _run(bursts=True)
    assert in_bursts == one_by_one
    published = [m["type"] for m in in_bursts]
    for kind in (StrategyMarked, StrategyGreeks, QuoteStale, CloseStrategy, IntentApproved, IntentDenied):
        assert kind.__name__ in published
    assert published.count("CloseStrategy") == 1


def test_a_scenario_cannot_send_a_burst_past_the_quote_gate(tmp_path):
    path = tmp_path / "burst.jsonl"
    path.write_text('{"scenario": {"name": "burst", "start": "2026-03-02T12:00:00-05:00"}}\n'
                    '{"at": "+1s", "send": {"type": "OptionQuotes", "quotes": []}}\n')
    with pytest.raises(ScenarioError, match=r"burst.jsonl:2: `send` OptionQuotes: send each quote as an OptionQuote"):
        load_scenario(path)
