"""Rolling a held strategy as one order (`exits.roll_enabled`): the pieces the decision core calls.

When the `roll` exit fires, the decision core asks for the chain near `exits.roll_to_dte`, picks the replacement the
way an entry would (same structure, same deltas and wings, avoiding event windows), and publishes one
`RollStrategy`: the held legs closed and the new legs opened by a single combo order, at the held quantity. A roll
that cannot be built (no chain in time, no replacement, a stale chain), is denied (risk judges the replacement as an
opening), or whose order ends unfilled (walk exhausted, rejected, cancelled, broker down) is reported and the strategy
is closed instead: the next time its exits are judged, the `roll` rule closes it through the ordinary close path.
"""

from __future__ import annotations

import msgspec

from actors.decision.config import EntrySection, ExitSection
from actors.decision.entry_gates import avoiding_events
from actors.decision.strategies import NoCandidate, StructureCandidate, select_structure
from actors.event_calendar import EventCalendar
from actors.market_time import NS_PER_S, new_york_date
from actors.runtime.core import Context
from messages import Alert, ChainSnapshot, CloseStrategy, DecisionRecord, OpenStrategy, OrderTerminated, RollStrategy

STRATEGY_PREFIX = {"iron_condor": "IC", "bull_put": "BPS", "bear_call": "BCS", "bull_call_debit": "BCD",
                   "bear_put_debit": "BPD", "custom": "CUS"}
ROLL_DTE_SLACK = 7
"""A roll opens its replacement in the listed expiry within this many days of the target DTE."""


def new_strategy_id(kind: str, symbol: str, now_ns: int, number: int) -> str:
    return f"{STRATEGY_PREFIX[kind]}-{symbol}-{new_york_date(now_ns):%Y%m%d}-{number}"


def roll_window(entry: EntrySection, exits: ExitSection) -> EntrySection:
    """The entry parameters a replacement is chosen with: the entry's structure, near `roll_to_dte`."""
    target = exits.roll_to_dte
    return msgspec.structs.replace(entry, dte_min=max(target - ROLL_DTE_SLACK, 1), dte_max=target + ROLL_DTE_SLACK)


def replacement(chain: ChainSnapshot, params: EntrySection, now_ns: int, stale_after_ns: int, events: EventCalendar,
                exits: ExitSection) -> StructureCandidate | NoCandidate:
    """The structure a roll opens, or why there is none (the chain's age, an event window, the chain itself)."""
    if now_ns - chain.ts > stale_after_ns:
        return NoCandidate(f"{chain.symbol} chain {(now_ns - chain.ts) / 60e9:.0f} min old")
    quotes, spanned = avoiding_events(chain.symbol, chain.quotes, new_york_date(now_ns), events, exits.event_exit_days)
    if spanned is not None:
        return NoCandidate(f"every {chain.symbol} expiry offered ({params.dte_min}-{params.dte_max} DTE) spans "
                           f"{spanned.describe()}")
    return select_structure(chain.symbol, quotes, now_ns, params)


def roll_intent(close: CloseStrategy, held_quantity: int, candidate: StructureCandidate, params: EntrySection,
                number: int, now_ns: int) -> RollStrategy:
    """Close `close`'s legs and open `candidate` at the held quantity, as one order, the replacement under a new id
    (`number`). The candidate's extremes are for `params.quantity` units; they scale per unit."""
    strategy_id = new_strategy_id(candidate.kind, candidate.symbol, now_ns, number)
    units = abs(held_quantity)
    per_unit = units / params.quantity
    opening = OpenStrategy(
        strategy_id=strategy_id, kind=candidate.kind, symbol=candidate.symbol, legs=candidate.legs,
        quantity=units if held_quantity > 0 else -units, mid_price=candidate.mid_price,
        natural_price=candidate.natural_price, max_profit_usd=round(candidate.max_profit_usd * per_unit, 2),
        max_loss_usd=round(candidate.max_loss_usd * per_unit, 2),
        reason=f"replaces {close.strategy_id}: {candidate.reason}", leg_quotes=candidate.leg_quotes)
    return RollStrategy(strategy_id=close.strategy_id, close=close, open=opening)


def roll_failure_report(strategy_id: str, why: str, ctx: Context) -> None:
    """What a failed roll tells (an alert and the decision record): the position is closed instead."""
    text = f"roll of {strategy_id} failed ({why}): closing it instead"
    ctx.publish(Alert(level="warning", source="decision", text=text))
    ctx.publish(DecisionRecord(strategy_id=strategy_id, action="close", rule="roll_failed", detail=text))


def order_failure(ended: OrderTerminated) -> str:
    return f"roll order {ended.status} with {ended.filled_quantity} filled"


def overdue_chains(waiting: dict[str, tuple[CloseStrategy, int]], now_ns: int, within_s: float,
                   ) -> list[tuple[CloseStrategy, str]]:
    """Rolls whose chain did not come within `within_s` (broker down, no answer): taken out of `waiting`, with why."""
    overdue = sorted(symbol for symbol, (_, asked_at) in waiting.items() if now_ns - asked_at >= within_s * NS_PER_S)
    return [(waiting.pop(symbol)[0], f"no {symbol} chain within {within_s:g}s") for symbol in overdue]

