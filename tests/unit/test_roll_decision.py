"""The decision side of a roll: the roll rule asks for the replacement's chain (no close), publishes one RollStrategy
at the held quantity, and whenever the roll cannot happen (no chain in time, no replacement, denied, its order ended
unfilled) reports it and closes the position through the ordinary close path, never rolling it again."""

from __future__ import annotations

import datetime as dt

from actors.decision.config import EntrySection, ExitSection
from actors.decision.core import DecisionCore
from actors.market_data.chain import chain_contracts, quote_contracts
from actors.runtime.clock import VirtualClock
from actors.runtime.deterministic import DeterministicRuntime
from messages import (
    Alert,
    ChainRequest,
    ChainSnapshot,
    CloseStrategy,
    DecisionRecord,
    IndexQuote,
    IntentApproved,
    IntentDenied,
    OrderTerminated,
    RollStrategy,
    StrategyOpened,
    StrategyPositionChanged,
    UnderlyingQuote,
)
from tests.unit.spy_condor import CONDOR, NOON, SECOND

EXITS = ExitSection(roll_enabled=True, roll_at_dte=40, roll_to_dte=70, evaluation_delay_ms=0)
ENTRY = EntrySection(evaluate_interval_s=60.0)


def _runtime(quantity: int = 2) -> DeterministicRuntime:
    runtime = DeterministicRuntime([lambda: DecisionCore(ENTRY, EXITS)], VirtualClock(NOON))
    runtime.start()
    runtime.inject(StrategyOpened(strategy_id="IC-SPY-20260302-1", kind="iron_condor", symbol="SPY", legs=CONDOR,
                                  quantity=quantity, entry_price=-1.6, max_profit_usd=160.0 * quantity,
                                  max_loss_usd=340.0 * quantity))
    _quote(runtime)
    return runtime


def _quote(runtime: DeterministicRuntime) -> None:
    now = runtime.clock.now()
    runtime.inject(UnderlyingQuote(ts=now, symbol="SPY", bid=579.95, ask=580.05, last=580.0))
    runtime.inject(IndexQuote(ts=now, symbol="VIX", value=18.0))
    for quote in quote_contracts([leg.contract for leg in CONDOR], 580.0, 0.18, now, 0.04, 0.013):
        runtime.inject(quote)
    runtime.run_until(now + SECOND)


def _chain(runtime: DeterministicRuntime, request: ChainRequest) -> ChainSnapshot:
    now = runtime.clock.now()
    contracts = chain_contracts("SPY", 580.0, now, request.min_dte, request.max_dte)
    return ChainSnapshot(ts=now, symbol="SPY", underlying_price=580.0,
                         quotes=tuple(quote_contracts(contracts, 580.0, 0.18, now, 0.04, 0.013)))


def _of(runtime: DeterministicRuntime, kind: type) -> list:
    return [m for m in runtime.history if isinstance(m, kind) and m.origin == "decision"]


def _rolled(runtime: DeterministicRuntime) -> RollStrategy:
    [request] = [r for r in _of(runtime, ChainRequest) if r.min_dte > 40]
    runtime.inject(_chain(runtime, request))
    [roll] = _of(runtime, RollStrategy)
    return roll


def _closed_instead(runtime: DeterministicRuntime, why: str) -> CloseStrategy:
    [alert] = [a for a in _of(runtime, Alert) if "roll of IC-SPY-20260302-1 failed" in a.text]
    [record] = [r for r in _of(runtime, DecisionRecord) if r.rule == "roll_failed"]
    assert why in alert.text and record.detail == alert.text and record.strategy_id == "IC-SPY-20260302-1"
    [close] = _of(runtime, CloseStrategy)
    assert (close.rule, close.roll_to_dte, close.quantity) == ("roll", 0, -2) and "roll failed" in close.reason
    return close


def test_the_roll_rule_asks_for_the_replacement_chain_and_rolls_at_the_held_quantity_in_one_intent():
    runtime = _runtime()
    assert not _of(runtime, CloseStrategy)
    requests = [(r.min_dte, r.max_dte) for r in _of(runtime, ChainRequest)]
    assert (63, 77) in requests  # roll_to_dte 70 ± 7
    roll = _rolled(runtime)
    assert roll.strategy_id == roll.close.strategy_id == "IC-SPY-20260302-1"
    assert (roll.close.quantity, roll.close.legs, roll.close.rule) == (-2, CONDOR, "roll")
    assert roll.open.quantity == 2 and roll.open.kind == "iron_condor"
    assert all(63 <= (leg.contract.expiry - dt.date(2026, 3, 2)).days <= 77 for leg in roll.open.legs)
    assert roll.open.strategy_id != roll.strategy_id and "replaces IC-SPY-20260302-1" in roll.open.reason
    _quote(runtime)  # judged again while the roll is out: no second roll, no close
    assert len(_of(runtime, RollStrategy)) == 1 and not _of(runtime, CloseStrategy)


def test_a_denied_roll_is_reported_and_the_position_closed_instead():
    runtime = _runtime()
    _rolled(runtime)
    runtime.inject(IntentDenied(strategy_id="IC-SPY-20260302-1", check="trading_state", reason="node is REDUCING"))
    _closed_instead(runtime, "denied by trading_state: node is REDUCING")
    _quote(runtime)
    assert len(_of(runtime, RollStrategy)) == 1 and len(_of(runtime, CloseStrategy)) == 1


def test_a_roll_order_that_ends_unfilled_closes_the_position_instead():
    runtime = _runtime()
    roll = _rolled(runtime)
    runtime.inject(IntentApproved(intent=roll))
    runtime.inject(OrderTerminated(client_order_id="IC-SPY-20260302-1-R1", strategy_id="IC-SPY-20260302-1",
                                   purpose="roll", status="cancelled", filled_quantity=0, avg_price=0.0))
    _closed_instead(runtime, "roll order cancelled with 0 filled")


def test_a_chain_that_never_comes_closes_the_position_at_the_next_evaluation():
    runtime = _runtime()
    runtime.run_until(runtime.clock.now() + 61 * SECOND)
    _quote(runtime)
    assert not _of(runtime, RollStrategy)
    _closed_instead(runtime, "no SPY chain within 60s")


def test_a_chain_with_no_replacement_in_the_window_closes_the_position_at_once():
    runtime = _runtime()
    runtime.inject(_chain(runtime, ChainRequest(symbol="SPY", min_dte=5, max_dte=10)))  # the wrong expiries
    assert not _of(runtime, RollStrategy)
    _closed_instead(runtime, "no replacement")


def test_a_part_filled_roll_closes_what_is_left_once_the_position_shows_the_part():
    runtime = _runtime()
    roll = _rolled(runtime)
    runtime.inject(IntentApproved(intent=roll))
    runtime.inject(OrderTerminated(client_order_id="IC-SPY-20260302-1-R1", strategy_id="IC-SPY-20260302-1",
                                   purpose="roll", status="cancelled", filled_quantity=1, avg_price=-0.5))
    assert not _of(runtime, CloseStrategy)  # the position may not show the part yet: no close of a stale quantity
    runtime.inject(StrategyPositionChanged(strategy_id="IC-SPY-20260302-1", quantity=1, avg_entry_price=-1.6))
    _quote(runtime)
    [close] = _of(runtime, CloseStrategy)
    assert (close.quantity, close.rule, close.roll_to_dte) == (-1, "roll", 0) and "roll failed" in close.reason


def test_two_positions_on_one_underlying_roll_one_after_the_other():
    runtime = _runtime(quantity=1)
    runtime.inject(StrategyOpened(strategy_id="IC-SPY-20260302-7", kind="iron_condor", symbol="SPY", legs=CONDOR,
                                  quantity=1, entry_price=-1.6, max_profit_usd=160.0, max_loss_usd=340.0))
    _quote(runtime)
    assert len([r for r in _of(runtime, ChainRequest) if r.min_dte > 40]) == 1  # one chain, one roll at a time
    runtime.inject(_chain(runtime, [r for r in _of(runtime, ChainRequest) if r.min_dte > 40][0]))
    _quote(runtime)  # the second is judged again: its roll asks for its own chain
    requests = [r for r in _of(runtime, ChainRequest) if r.min_dte > 40]
    assert len(requests) == 2
    runtime.inject(_chain(runtime, requests[1]))
    rolls = _of(runtime, RollStrategy)
    assert sorted(r.strategy_id for r in rolls) == ["IC-SPY-20260302-1", "IC-SPY-20260302-7"]
    assert len({r.open.strategy_id for r in rolls}) == 2 and not _of(runtime, CloseStrategy)
