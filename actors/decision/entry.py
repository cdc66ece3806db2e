"""Whether a chain that came for an entry opens a position, and which (pure): the gates, the structure, its size.

The decision core asks for a chain only when nothing stops an entry in that symbol (trading state, exposure,
cooldown, broker link); what it gets back is judged here, in order: fresh inputs, the entry gates (VIX, IV, events,
calendar), expiries that would hold through an event, the structure, the exit rules it would trip at once, and its
size. Every "no" is a `DecisionRecord` saying why.
"""

from __future__ import annotations

from dataclasses import dataclass

from actors.decision import roll as rolls
from actors.decision.config import EntrySection, ExitSection
from actors.decision.entry_gates import avoiding_events, entry_gate_failure, exit_rule_at_entry, inputs_before_session
from actors.decision.market_context import MarketContext
from actors.decision.sizing import size_entry
from actors.decision.strategies import NoCandidate, select_structure
from actors.event_calendar import EventCalendar
from actors.market_time import NS_PER_S, market_hours, new_york_date
from messages import ChainSnapshot, DecisionRecord, OpenStrategy, VolatilityStats


def waiting_for_fresh_inputs(symbol: str, chain: ChainSnapshot | None, market: MarketContext, now_ns: int,
                             stale_after_s: float, session_quotes_gate: bool) -> DecisionRecord | None:
    """No entry on old prices: the underlying, VIX and the chain must each be younger than `stale_after_s`, and with
    `session_quotes_gate` from this session; else what the entry waits for."""
    stale_after_ns = int(stale_after_s * NS_PER_S)
    stale = market.stale_inputs(symbol, now_ns, stale_after_ns)
    if chain is not None and now_ns - chain.ts > stale_after_ns:
        stale.append(f"{symbol} chain {(now_ns - chain.ts) / 60e9:.0f} min old")
    if not stale and session_quotes_gate:
        quoted = {symbol: market.quoted_at(symbol), "VIX": market.vix_ts}
        if chain is not None:
            quoted[f"{symbol} chain"] = chain.ts
        before = inputs_before_session(quoted, market_hours().session_open(now_ns))
        if before:
            return DecisionRecord(strategy_id="", action="wait", rule="entry_session",
                                  detail=f"waiting for this session's quotes: {', '.join(before)} quoted before "
                                         "today's open")
    if not stale:
        return None
    return DecisionRecord(strategy_id="", action="wait", rule="entry_freshness",
                          detail=f"waiting for fresh inputs (limit {stale_after_s / 60:g} min): {', '.join(stale)}")


@dataclass(frozen=True)
class EntryJudgement:
    intent: OpenStrategy | None = None
    """The position to open (its id numbered `number`)."""
    skipped: DecisionRecord | None = None
    """Why not."""
    cool_until_ns: int = 0
    """A market moving too fast to enter: no entry in the symbol before then (0: no cooldown)."""


def judge_entry(chain: ChainSnapshot, params: EntrySection, exits: ExitSection, market: MarketContext,
                stats: VolatilityStats | None, events: EventCalendar, now_ns: int, net_liquidation_usd: float,
                max_contracts_per_order: int, number: int) -> EntryJudgement:
    """The chain's best structure as an intent numbered `number`, or why none (the freshness of the inputs is judged
    before: `waiting_for_fresh_inputs`)."""
    symbol, today = chain.symbol, new_york_date(now_ns)
    gate = entry_gate_failure(symbol, today, market.vix, stats, params, events)
    if gate is not None:
        return EntryJudgement(skipped=DecisionRecord(strategy_id="", action="skip", rule="entry_gate", detail=gate))
    quotes, spanned = avoiding_events(symbol, chain.quotes, today, events, exits.event_exit_days)
    if spanned is not None:
        held = "would hold through" if not exits.event_exit_days else "would be closed at once for"
        offered = f"every {symbol} expiry offered ({params.dte_min}-{params.dte_max} DTE)"
        return EntryJudgement(skipped=DecisionRecord(strategy_id="", action="skip", rule="entry_event",
                                                     detail=f"{offered} {held} {spanned.describe()}"))
    candidate = select_structure(symbol, quotes, now_ns, params)
    if isinstance(candidate, NoCandidate):
        return EntryJudgement(skipped=DecisionRecord(strategy_id="", action="skip", rule="entry",
                                                     detail=candidate.reason))
    if params.exit_rules_gate:
        firing = exit_rule_at_entry(candidate, params, exits, now_ns, market.move_pct(symbol), market.vix,
                                    stats.iv_percentile if stats is not None else -1.0)
        if firing is not None:
            skipped = DecisionRecord(strategy_id="", action="skip", rule="entry_exit_rules", detail=firing[1])
            # a market that moves fast enough for the catastrophe rule is left to settle for one whole window
            return EntryJudgement(skipped=skipped,
                                  cool_until_ns=now_ns + market.window_ns if firing[0] == "catastrophe" else 0)
    sized = size_entry(candidate, params, net_liquidation_usd, max_contracts_per_order)
    if isinstance(sized, str):
        return EntryJudgement(skipped=DecisionRecord(strategy_id="", action="skip", rule="entry_sizing", detail=sized))
    return EntryJudgement(intent=OpenStrategy(
        strategy_id=rolls.new_strategy_id(candidate.kind, symbol, now_ns, number),
        kind=candidate.kind,
        symbol=symbol,
        legs=candidate.legs,
        quantity=sized.quantity,
        mid_price=candidate.mid_price,
        natural_price=candidate.natural_price,
        max_profit_usd=sized.max_profit_usd,
        max_loss_usd=sized.max_loss_usd,
        reason=f"{candidate.reason}; size {sized.detail}" if sized.detail else candidate.reason,
        leg_quotes=candidate.leg_quotes,
    ))
