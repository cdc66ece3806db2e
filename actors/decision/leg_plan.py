"""What a held position's legs say before any quote: which are short, which expire first, which set its IV. Worked out
once per holding and reused by every judgement of it until the holding changes (a fill, a partial close, a
settlement), since a position is judged on every burst of quotes that moves it and its legs rarely change."""

from __future__ import annotations

import datetime as dt

import msgspec

from actors.market_data.marks import LegView
from actors.portfolio.view import Holding
from messages import OptionContract


class LegPlan(msgspec.Struct, frozen=True):
    holding: Holding
    """The holding it was worked out for: a changed holding is a new object and gets a new plan."""
    sides: tuple[tuple[OptionContract, int, bool], ...]
    """Each leg as (contract, ratio, long as held), in the holding's leg order."""
    shorts: tuple[OptionContract, ...]
    """The short legs as held."""
    iv_legs: tuple[OptionContract, ...]
    """The legs whose mean IV is the position's: the short ones, or every leg when none is short."""
    nearest_expiry: dt.date
    furthest_expiry: dt.date


def leg_plan(holding: Holding) -> LegPlan:
    sides = tuple((leg.contract, leg.ratio, leg.ratio * holding.quantity > 0) for leg in holding.legs)
    shorts = tuple(leg.contract for leg in holding.legs if leg.ratio * holding.quantity < 0)
    expiries = [leg.contract.expiry for leg in holding.legs]
    return LegPlan(holding, sides, shorts, shorts or tuple(contract for contract, _, _ in sides), min(expiries),
                   max(expiries))


class LegPlans:
    """The plan of every holding judged, by strategy id. Derived from the holdings: a snapshot holds none of it."""

    SNAPSHOT_STATELESS = True

    def __init__(self) -> None:
        self._plans: dict[str, LegPlan] = {}

    def of(self, holding: Holding) -> LegPlan:
        plan = self._plans.get(holding.strategy_id)
        if plan is None or plan.holding is not holding:
            plan = self._plans[holding.strategy_id] = leg_plan(holding)
        return plan

    def forget(self, strategy_id: str) -> None:
        self._plans.pop(strategy_id, None)


class LegsMarked(msgspec.Struct, frozen=True):
    """The legs' marks gathered in one pass, as the exit rules and `StrategyMarked` read them."""

    mark: float
    """The combo's price per unit at each leg's mark (`position_state.combo_mark`)."""
    note: str
    """Which legs are marked conservatively and how (`position_state.conservative_note`); empty: all fresh mids."""
    iv: float
    """The mean IV of the plan's `iv_legs`."""
    short_max_abs_delta: float
    short_max_gamma: float


def legs_marked(plan: LegPlan, views: dict[OptionContract, LegView]) -> LegsMarked:
    # plain loops, not `sum`/`max` over generators (a judgement runs on every burst of quotes): the sums run from 0 in
    # leg order as `combo_mark`'s does, and a maximum is replaced only by a greater value, as `max` does
    mark = 0.0
    notes = []
    for contract, ratio, _ in plan.sides:
        view = views[contract]
        mark += ratio * view.mark
        if view.note:
            notes.append(view.note)
    iv = 0.0
    for contract in plan.iv_legs:
        iv += views[contract].iv
    max_abs_delta = max_gamma = 0.0
    for n, contract in enumerate(plan.shorts):
        view = views[contract]
        delta = abs(view.delta)
        if n == 0 or delta > max_abs_delta:
            max_abs_delta = delta
        if n == 0 or view.gamma > max_gamma:
            max_gamma = view.gamma
    return LegsMarked(mark, "; ".join(notes), iv / len(plan.iv_legs), max_abs_delta, max_gamma)
