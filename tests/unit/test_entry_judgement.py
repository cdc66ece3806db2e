"""The entry judgement of a chain (actors/decision/entry.py), pure: what opens, and every reason it does not."""

from __future__ import annotations

import datetime as dt

from actors.decision.config import EntrySection, ExitSection
from actors.decision.entry import judge_entry, waiting_for_fresh_inputs
from actors.decision.entry_gates import entry_calendar
from actors.decision.market_context import MarketContext
from actors.market_data.chain import chain_contracts, quote_contracts
from messages import ChainSnapshot, IndexQuote, UnderlyingQuote

NOON = int(dt.datetime(2026, 3, 2, 17, 0, tzinfo=dt.UTC).timestamp() * 1e9)  # 12:00 New York, a Monday
MINUTE = 60 * 1_000_000_000
HOUR = 60 * MINUTE


def _market(*prices: tuple[int, float], vix: float = 18.0) -> MarketContext:
    market = MarketContext(HOUR)
    for ts, price in prices:
        market.on_underlying(UnderlyingQuote(ts=ts, symbol="SPY", bid=price - 0.01, ask=price + 0.01, last=price))
    market.on_index(IndexQuote(ts=NOON, symbol="VIX", value=vix))
    return market


def _chain(entry: EntrySection, at: int = NOON) -> ChainSnapshot:
    contracts = chain_contracts("SPY", 580.0, at, entry.dte_min, entry.dte_max)
    return ChainSnapshot(ts=at, symbol="SPY", underlying_price=580.0,
                         quotes=tuple(quote_contracts(contracts, 580.0, 0.18, at, 0.04, 0.013)))


def _judge(entry: EntrySection, market: MarketContext, number: int = 7, net_liquidation_usd: float = 100_000.0):
    return judge_entry(_chain(entry), entry, ExitSection(), market, None, entry_calendar(entry), NOON,
                       net_liquidation_usd, 10, number)


def test_a_calm_market_opens_the_chosen_structure_under_the_number_given():
    entry = EntrySection()
    judged = _judge(entry, _market((NOON - MINUTE, 580.0)))
    assert judged.skipped is None and judged.cool_until_ns == 0
    assert judged.intent.strategy_id.endswith("-7") and judged.intent.kind == "iron_condor"
    assert len(judged.intent.legs) == 4 and judged.intent.quantity == entry.quantity


def test_a_gate_skips_and_says_which():
    judged = _judge(EntrySection(vix_max=15.0), _market((NOON - MINUTE, 580.0), vix=18.0))
    assert judged.intent is None
    assert (judged.skipped.rule, judged.skipped.detail) == ("entry_gate", "VIX 18.0 outside 0-15")


def test_a_move_the_catastrophe_rule_would_close_at_once_skips_and_cools_the_symbol_for_one_window():
    moved = _market((NOON - 30 * MINUTE, 600.0), (NOON - MINUTE, 580.0))  # -3.3% within the hour
    judged = _judge(EntrySection(), moved)
    assert judged.intent is None and judged.skipped.rule == "entry_exit_rules"
    assert judged.cool_until_ns == NOON + HOUR


def test_entries_wait_for_fresh_inputs_and_for_this_sessions_quotes():
    stale = waiting_for_fresh_inputs("SPY", None, _market((NOON - 20 * MINUTE, 580.0)), NOON, 300.0, True)
    assert stale.rule == "entry_freshness" and stale.detail.endswith("(limit 5 min): SPY quote 20 min old")
    before_open = _market((NOON - 2 * HOUR - 40 * MINUTE, 580.0))  # 09:20 New York, judged at 09:40
    waiting = waiting_for_fresh_inputs("SPY", None, before_open, NOON - 2 * HOUR - 20 * MINUTE, 1800.0, True)
    assert waiting.rule == "entry_session" and "quoted before today's open" in waiting.detail
    assert waiting_for_fresh_inputs("SPY", None, _market((NOON - MINUTE, 580.0)), NOON, 300.0, True) is None
