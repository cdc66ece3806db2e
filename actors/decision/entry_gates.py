"""Entry gates: pure checks that must all pass before the decision actor opens a new position, among them the
entry discipline: a cool-down after protective exits, no entry an exit rule would close at once, no entry on the
previous session's quotes."""

from __future__ import annotations

import datetime as dt

import msgspec

from actors.decision.config import EntrySection, ExitSection
from actors.decision.rules import PositionState, evaluate_exits
from actors.decision.strategies import StructureCandidate
from actors.event_calendar import BLACKOUT, EventCalendar, MarketEvent, blackout_events
from actors.market_time import NEW_YORK, days_to_expiry, market_hours
from messages import OptionQuote, VolatilityStats


def entry_calendar(params: EntrySection) -> EventCalendar:
    """The events entries avoid: the events file's and the typed-in blackout dates."""
    return EventCalendar(params.events + blackout_events(params.blackout_dates))


def entry_gate_failure(
    symbol: str, today: dt.date, vix: float, stats: VolatilityStats | None, params: EntrySection,
    events: EventCalendar | None = None,
) -> str | None:
    """Why no new `symbol` position may open now, or None. `events`: `entry_calendar(params)`, built once."""
    event = (events if events is not None else entry_calendar(params)).in_window(symbol, today)
    if event is not None:
        if event.name == BLACKOUT:
            return f"{today} is an event blackout date"
        return f"{today} is inside the window of {event.describe()}"
    if vix and not params.vix_min <= vix <= params.vix_max:
        return f"VIX {vix:.1f} outside {params.vix_min:g}-{params.vix_max:g}"
    if params.iv_rank_min > 0 or params.iv_rank_max < 100:
        if stats is None:
            return f"no IV rank for {symbol} yet"
        if stats.history_days < params.min_iv_history_days:
            return f"{symbol} IV history {stats.history_days} days, need {params.min_iv_history_days}"
        if not params.iv_rank_min <= stats.iv_rank <= params.iv_rank_max:
            return f"{symbol} IV rank {stats.iv_rank:.0f} outside {params.iv_rank_min:g}-{params.iv_rank_max:g}"
    return None


def avoiding_events(symbol: str, quotes: tuple[OptionQuote, ...], today: dt.date, events: EventCalendar,
                    exit_days: int = 0) -> tuple[tuple[OptionQuote, ...], MarketEvent | None]:
    """The chain without the expiries whose life from `today` overlaps an event `symbol` may not hold through (with
    the event exit on, `exits.event_exit_days`, one it would close for at once), and the first such event when that
    leaves nothing (the structure then picks among the expiries that remain)."""
    if not events:
        return quotes, None
    expiries = sorted({q.contract.expiry for q in quotes})
    spanned = {expiry: events.spanned(symbol, today, expiry, exit_days) for expiry in expiries}
    kept = tuple(q for q in quotes if spanned[q.contract.expiry] is None)
    first = next((event for event in spanned.values() if event is not None), None)
    return kept, (first if not kept else None)


def cooldown_end_ns(exit_ns: int, sessions: int) -> int:
    """The open of the `sessions`-th session after the one an exit happened in (or after, when it happened while the
    market was closed): entries in that symbol wait until then."""
    hours = market_hours()
    resume = exit_ns
    for _ in range(sessions):
        resume = hours.next_open(resume)
    return resume


class Cooldowns:
    """Per symbol, when entries may resume after a protective exit. Rebuilt from the journal like everything else in
    the decision core: it only remembers what `StrategyClosed` messages said."""

    def __init__(self, params: EntrySection) -> None:
        self._params = params
        self._until: dict[str, tuple[int, str]] = {}  # symbol -> (resume ns, what started the cool-down)

    def on_closed(self, symbol: str, rule: str, strategy_id: str, at_ns: int) -> None:
        if rule not in self._params.protective_exit_rules or self._params.protective_cooldown_sessions == 0:
            return
        resume = cooldown_end_ns(at_ns, self._params.protective_cooldown_sessions)
        self.hold(symbol, resume, f"{rule} exit of {strategy_id}")

    def hold(self, symbol: str, until_ns: int, why: str) -> None:
        if until_ns > self._until.get(symbol, (0, ""))[0]:
            self._until[symbol] = (until_ns, why)

    def holding(self, symbol: str, now_ns: int) -> str | None:
        """Why `symbol` is still cooling down, or None."""
        until = self._until.get(symbol)
        if until is None or now_ns >= until[0]:
            return None
        resume = dt.datetime.fromtimestamp(until[0] / 1e9, tz=NEW_YORK)
        return f"{symbol} cooling down after the {until[1]} until {resume:%Y-%m-%d %H:%M} New York"


def inputs_before_session(quoted_at: dict[str, int], session_open_ns: int) -> list[str]:
    """The entry inputs (name -> when last quoted) that come from before the current session's open: at the open the
    previous close is not today's price, and the first entry of a day waits for that day's quotes."""
    return [name for name, at in quoted_at.items() if at and at < session_open_ns]


def exit_rule_at_entry(candidate: StructureCandidate, params: EntrySection, exits: ExitSection, now_ns: int,
                       underlying_move_pct: float, vix: float, iv_percentile: float = -1.0) -> tuple[str, str] | None:
    """(rule, why) of the exit rule that would fire on `candidate` right after its fill at mid, or None. The structure is judged by
    the same rules, in the same priority, that will judge the open position (a market an exit rule already calls
    unacceptable is no market to open in), the catastrophe move with headroom (`catastrophe_entry_fraction`)."""
    quantity = params.quantity
    exits = msgspec.structs.replace(
        exits, catastrophe_move_pct=exits.catastrophe_move_pct * params.catastrophe_entry_fraction)
    quotes = {q.contract: q for q in candidate.leg_quotes}
    shorts = [quotes[leg.contract] for leg in candidate.legs if leg.ratio * quantity < 0 and leg.contract in quotes]
    short_iv = sum(q.iv for q in shorts) / len(shorts) if shorts else 0.0
    state = PositionState(
        strategy_id="candidate",
        legs=candidate.legs,
        quantity=quantity,
        entry_price=candidate.mid_price,
        max_profit_usd=candidate.max_profit_usd,
        mark_price=candidate.mid_price,
        days_to_expiry=min(days_to_expiry(now_ns, leg.contract.expiry) for leg in candidate.legs),
        short_leg_max_abs_delta=max((abs(q.delta) for q in shorts), default=0.0),
        short_leg_max_gamma=max((q.gamma for q in shorts), default=0.0),
        entry_iv=short_iv,
        current_iv=short_iv,
        underlying_move_pct=underlying_move_pct,
        entry_vix=vix,
        current_vix=vix,
        iv_percentile=iv_percentile,
    )
    fired = evaluate_exits(state, exits)
    if not fired:
        return None
    headroom = f" (entries keep {params.catastrophe_entry_fraction:.0%} of its move)" * (fired[0].rule == "catastrophe")
    return fired[0].rule, f"exit rule {fired[0].rule} would fire at entry: {fired[0].reason}{headroom}"
