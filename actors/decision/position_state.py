"""What the exit rules judge a held position by: its legs' marks gathered into one `PositionState` (pure)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from actors.decision.assignment_risk import DividendAhead, ShortLegMark, dividend_ahead
from actors.decision.config import ExitSection
from actors.decision.exit_baseline import ExitBaseline
from actors.decision.leg_plan import LegPlan, LegsMarked, legs_marked
from actors.decision.market_context import MarketContext
from actors.decision.rules import PositionState
from actors.event_calendar import MarketEvent
from actors.market_data.marks import LegView, MarkBook
from actors.market_data.pricing import bsm_price_discrete, ex_dividend_years, year_fraction
from actors.market_time import NS_PER_MINUTE, market_hours, new_york_date
from actors.portfolio.view import Holding
from messages import OptionContract, OptionQuote, StrategyMarked

Views = dict[OptionContract, LegView]


def leg_views(plan: LegPlan, quotes: Mapping[OptionContract, OptionQuote], marks: MarkBook, spot: float | None,
              max_quote_age_ns: float, now_ns: int) -> Views | None:
    """Every leg's mark (conservative when one-sided or quiet, see marks.py), or None while a leg was never quoted.
    Quiet legs are repriced at the current underlying: IB streams only changes, so a far wing can be silent for an
    hour in a market that is very much alive."""
    views = {}
    for contract, _, long in plan.sides:
        quote = quotes.get(contract)
        if quote is None:
            return None
        views[contract] = marks.view(quote, long, now_ns - quote.ts > max_quote_age_ns, spot, now_ns)
    return views


def strategy_marked(holding: Holding, baseline: ExitBaseline, state: PositionState, conservative: bool,
                    underlying: float | None) -> StrategyMarked:
    """The mark the rules judge by, as readers (status, dashboard) see it."""
    return StrategyMarked(
        strategy_id=holding.strategy_id, symbol=holding.symbol, quantity=holding.quantity,
        entry_price=holding.entry_price, mark_price=round(state.mark_price, 4),
        unrealized_pnl_usd=round(state.pnl_usd, 2), peak_pnl_usd=round(baseline.peak_pnl_usd, 2),
        underlying_price=underlying or 0.0, days_to_expiry=state.days_to_expiry, conservative=conservative)


def pin_distance_pct(plan: LegPlan, underlying: float | None, today: dt.date) -> float:
    """Nearest short strike expiring `today`, as a fraction of the underlying; -1 when none expires or no price."""
    if today < plan.nearest_expiry or not underlying:
        return -1.0
    strikes = [contract.strike for contract in plan.shorts if contract.expiry == today]
    if not strikes:
        return -1.0
    return min(abs(strike - underlying) for strike in strikes) / underlying


def combo_mark(holding: Holding, views: Views, natural: bool = False) -> float:
    """The combo's price per unit: at each leg's mark, or at the price crossing the spread would get."""
    price = 0.0  # summed leg by leg from 0, as `legs_marked` sums the mark
    for leg in holding.legs:
        view = views[leg.contract]
        price += leg.ratio * (view.natural if natural else view.mark)
    return price


def conservative_note(holding: Holding, views: Views) -> str:
    """Which legs are marked conservatively (one-sided or quiet) and how; empty when every mark is a fresh mid."""
    return "; ".join(views[leg.contract].note for leg in holding.legs if views[leg.contract].note)


def short_marks(plan: LegPlan, views: Views, spot: float | None, dividend: DividendAhead | None, now_ns: int,
                rate: float) -> tuple[ShortLegMark, ...]:
    """The short legs as the assignment rule judges them. A call marked conservatively (quiet, behind, one-sided) is
    valued by the model instead, with the announced dividend as a discrete cash dividend: its conservative mark errs
    high (which would hide the risk), and the continuous-yield model behind it spreads a dividend going ex tomorrow
    over the whole year."""
    marks = []
    for contract in plan.shorts:
        view = views[contract]
        value = view.mark
        if view.note and contract.right == "C" and spot and dividend is not None and view.iv > 0:
            value = float(bsm_price_discrete(spot, contract.strike, year_fraction(now_ns, contract.expiry), view.iv,
                                             rate, True, [ex_dividend_years(now_ns, dividend.ex_date)],
                                             [dividend.amount]))
        marks.append(ShortLegMark(str(contract), contract.right, contract.strike, contract.expiry, value, view.delta))
    return tuple(marks)


def position_state(plan: LegPlan, views: Views, baseline: ExitBaseline, market: MarketContext, now_ns: int, *,
                   event: MarketEvent | None, iv_percentile: float, exits: ExitSection | None = None,
                   model_rate: float = 0.0, marked: LegsMarked | None = None) -> PositionState:
    """`exits`: with its assignment rule on, the short legs' marks and the next dividend are gathered too (quiet short
    calls valued by the model at `model_rate`). `marked`: `legs_marked(plan, views)`, when the caller has it."""
    holding = plan.holding
    today = new_york_date(now_ns)
    assignment = exits is not None and exits.assignment_risk_enabled
    announced = market.dividends.get(holding.symbol) if assignment else None
    dividend = (dividend_ahead(today, announced.ex_date, announced.amount, exits.assignment_dividend_days)
                if announced is not None else None)
    spot = market.price(holding.symbol)
    if marked is None:
        marked = legs_marked(plan, views)
    return PositionState(
        strategy_id=holding.strategy_id,
        legs=holding.legs,
        quantity=holding.quantity,
        entry_price=holding.entry_price,
        max_profit_usd=holding.max_profit_usd,
        mark_price=marked.mark,
        days_to_expiry=(plan.nearest_expiry - today).days,
        peak_pnl_usd=baseline.peak_pnl_usd,
        short_leg_max_abs_delta=marked.short_max_abs_delta,
        short_leg_max_gamma=marked.short_max_gamma,
        entry_iv=baseline.entry_iv,
        current_iv=marked.iv,
        underlying_move_pct=market.move_pct(holding.symbol),
        entry_vix=baseline.entry_vix,
        current_vix=market.vix,
        pin_distance_pct=pin_distance_pct(plan, spot, today),
        minutes_to_close=(market_hours().session_close(now_ns) - now_ns) / NS_PER_MINUTE,
        days_to_event=(event.first_day - today).days if event is not None else -1,
        event=event.label() if event is not None else "",
        opened_quantity=baseline.opened_quantity,
        iv_percentile=iv_percentile,
        underlying_price=spot or 0.0,
        short_marks=short_marks(plan, views, spot, dividend, now_ns, model_rate) if assignment else (),
        dividend=dividend,
    )
