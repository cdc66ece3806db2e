"""Exit rules: pure functions of one position's state, evaluated in an explicit priority order; the first that fires
wins, and the others that would also have fired are reported beside it, so no rule is shadowed silently.

P&L is credit-aware through signed prices: a structure's value per unit is `sum(ratio * leg_mid)`; P&L per unit is
`mark - entry`, positive when a credit structure gets cheaper to buy back or a debit structure gains value. Every
field a rule reads is filled by the decision core from quotes it holds (see `PositionState`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import msgspec

from actors.decision.assignment_risk import DividendAhead, ShortLegMark, deep_in_the_money, dividend_exercise
from actors.decision.config import ExitSection
from actors.decision.profit_tiers import due_tier
from messages import CONTRACT_MULTIPLIER, Leg


class PositionState(msgspec.Struct, frozen=True, gc=False):
    """Built for each position on every quote that moves it: a msgspec struct is built in a quarter of the time a
    frozen dataclass of this size takes (`msgspec.structs.replace` makes a variant). It holds only values, so it is
    kept out of the cyclic garbage collector, as messages are."""

    strategy_id: str
    legs: tuple[Leg, ...]
    quantity: int
    entry_price: float
    max_profit_usd: float
    mark_price: float
    days_to_expiry: int
    peak_pnl_usd: float = 0.0
    """Best P&L seen since entry (not premium: for a credit trade a falling premium is the profit)."""
    short_leg_max_abs_delta: float = 0.0
    short_leg_max_gamma: float = 0.0
    entry_iv: float = 0.0
    current_iv: float = 0.0
    underlying_move_pct: float = 0.0
    """Underlying change over the catastrophe window, as a signed fraction."""
    entry_vix: float = 0.0
    current_vix: float = 0.0
    pin_distance_pct: float = -1.0
    """Expiration day only: the nearest short strike expiring today, as a fraction of the underlying from it; -1
    when no short leg expires today."""
    minutes_to_close: float = 0.0
    days_to_event: int = -1
    """Days until the nearest event the position may not hold through and whose window starts before its expiry
    (actors/event_calendar.py `next_spanned`); -1 when there is none or the event exit is off."""
    event: str = ""
    """That event, as a trader reads it."""
    opened_quantity: int = 0
    """The most units the position ever held (the scaled take-profit's tiers are fractions of it); 0: `quantity`."""
    iv_percentile: float = -1.0
    """The underlying's IV percentile (0-100) computed since the position opened; -1 while there is none."""
    underlying_price: float = 0.0
    short_marks: tuple[ShortLegMark, ...] = ()
    """Every short leg's mark, delta and terms (the assignment rule's input; empty: not judged)."""
    dividend: DividendAhead | None = None
    """The underlying's next dividend, when one is announced with its ex-date ahead."""

    @property
    def pnl_usd(self) -> float:
        return (self.mark_price - self.entry_price) * self.quantity * CONTRACT_MULTIPLIER

    @property
    def is_credit(self) -> bool:
        return self.entry_price * self.quantity < 0

    @property
    def premium_usd(self) -> float:
        """Credit received or debit paid, in dollars, always positive."""
        return abs(self.entry_price) * abs(self.quantity) * CONTRACT_MULTIPLIER

    @property
    def profit_fraction(self) -> float:
        return self.pnl_usd / self.max_profit_usd if self.max_profit_usd > 0 else 0.0


@dataclass(frozen=True)
class ExitSignal:
    rule: str
    reason: str
    roll: bool = False
    units: int = 0
    """Units to close (a take-profit tier); 0: the whole position."""


ExitRule = Callable[[PositionState, ExitSection], ExitSignal | None]


def catastrophe(p: PositionState, c: ExitSection) -> ExitSignal | None:
    if abs(p.underlying_move_pct) >= c.catastrophe_move_pct:
        return ExitSignal("catastrophe", f"underlying moved {p.underlying_move_pct:+.1%} within "
                                         f"{c.catastrophe_window_s / 60:g} min")
    if p.entry_iv > 0 and p.current_iv >= p.entry_iv * (1 + c.catastrophe_iv_jump_pct):
        return ExitSignal("catastrophe", f"IV {p.current_iv:.1%} is {p.current_iv / p.entry_iv - 1:+.0%} since entry")
    return None


def stop_loss(p: PositionState, c: ExitSection) -> ExitSignal | None:
    """Credit: a loss of `stop_loss_multiple` × credit (`near_expiry_stop_multiple` inside `near_expiry_dte`).
    Debit: the same fraction of the debit, never more than all of it."""
    multiple = c.near_expiry_stop_multiple if p.days_to_expiry < c.near_expiry_dte else c.stop_loss_multiple
    if not p.is_credit:
        multiple = min(multiple, 1.0)
    if p.pnl_usd <= -multiple * p.premium_usd:
        return ExitSignal("stop_loss", f"loss {p.pnl_usd:+.2f} reached {multiple:g}× premium {p.premium_usd:.2f}")
    return None


def delta_breach(p: PositionState, c: ExitSection) -> ExitSignal | None:
    if p.short_leg_max_abs_delta >= c.short_delta_breach:
        return ExitSignal("delta_breach", f"short strike delta {p.short_leg_max_abs_delta:.2f} "
                                          f"reached {c.short_delta_breach:.2f}")
    return None


def vix_spike(p: PositionState, c: ExitSection) -> ExitSignal | None:
    if p.current_vix >= c.vix_spike_level or (p.entry_vix > 0 and p.current_vix - p.entry_vix >= c.vix_spike_rise):
        return ExitSignal("vix_spike", f"VIX {p.current_vix:.1f} (entry {p.entry_vix:.1f})")
    return None


def gamma_risk(p: PositionState, c: ExitSection) -> ExitSignal | None:
    if p.days_to_expiry < c.gamma_risk_dte and p.short_leg_max_gamma >= c.gamma_risk_threshold:
        return ExitSignal("gamma_risk", f"short gamma {p.short_leg_max_gamma:.3f} with {p.days_to_expiry} DTE")
    return None


def event(p: PositionState, c: ExitSection) -> ExitSignal | None:
    """Off by default. On, it closes before an event the position may not hold through: one whose run-up the entry
    sold into, or one added to the calendar after the entry."""
    if c.event_exit_days > 0 and 0 <= p.days_to_event <= c.event_exit_days:
        return ExitSignal("event", f"{p.event} is {p.days_to_event} days away and the position would hold through it")
    return None


def expiry_day(p: PositionState, c: ExitSection) -> ExitSignal | None:
    if p.days_to_expiry <= c.expiry_close_dte:
        return ExitSignal("expiry_day", f"{p.days_to_expiry} DTE: never hold into expiration")
    return None


def pin_risk(p: PositionState, c: ExitSection) -> ExitSignal | None:
    """Expiration day, late: a short strike this near the underlying may or may not be assigned after the close (the
    after-hours move decides), leaving stock or nothing the account cannot know until the morning."""
    if 0 <= p.pin_distance_pct <= c.pin_risk_distance_pct and p.minutes_to_close <= c.pin_risk_minutes_before_close:
        return ExitSignal("pin_risk", f"short strike {p.pin_distance_pct:.2%} from the underlying, "
                                      f"{p.minutes_to_close:.0f} min before expiration")
    return None


def assignment_risk(p: PositionState, c: ExitSection) -> ExitSignal | None:
    """Off by default. A short leg likely to be exercised early (actors/decision/assignment_risk.py): a call whose
    extrinsic value is below a dividend going ex within `assignment_dividend_days` sessions, or any leg deep in the
    money with next to no extrinsic value. Closes the position, or rolls it (`assignment_action = "roll"`)."""
    if not c.assignment_risk_enabled:
        return None
    why = (dividend_exercise(p.short_marks, p.underlying_price, p.dividend, c.assignment_dividend_days)
           or deep_in_the_money(p.short_marks, p.underlying_price, c.assignment_deep_itm_delta,
                                c.assignment_extrinsic_floor))
    if why is None:
        return None
    return ExitSignal("assignment_risk", why, roll=c.assignment_action == "roll")


def trailing_stop(p: PositionState, c: ExitSection) -> ExitSignal | None:
    if p.max_profit_usd <= 0 or p.peak_pnl_usd < c.trailing_activate_pct * p.max_profit_usd:
        return None
    floor = p.peak_pnl_usd * (1 - c.trailing_giveback_pct)
    if p.pnl_usd <= floor:
        return ExitSignal("trailing_stop", f"P&L {p.pnl_usd:+.2f} gave back to {floor:.2f} from peak "
                                           f"{p.peak_pnl_usd:.2f}")
    return None


def take_profit(p: PositionState, c: ExitSection) -> ExitSignal | None:
    """With `take_profit_tiers`, the tier reached closes its part (actors/decision/profit_tiers.py)."""
    if c.take_profit_tiers:
        return _tiered_take_profit(p, c)
    if p.max_profit_usd > 0 and p.pnl_usd >= c.take_profit_pct * p.max_profit_usd:
        return ExitSignal("take_profit", f"P&L {p.pnl_usd:+.2f} reached {c.take_profit_pct:.0%} of max profit "
                                         f"{p.max_profit_usd:.2f}")
    return None


def _tiered_take_profit(p: PositionState, c: ExitSection) -> ExitSignal | None:
    opened = max(p.opened_quantity, abs(p.quantity))
    due = due_tier(p.profit_fraction, opened, abs(p.quantity), c.take_profit_tiers)
    if due is None:
        return None
    tiers = c.take_profit_tiers
    units = 0 if due.units >= abs(p.quantity) else due.units
    part = "the rest" if units == 0 else f"{units} of {abs(p.quantity)}"
    return ExitSignal("take_profit", f"P&L {p.pnl_usd:+.2f} reached {tiers[due.tier - 1].profit_pct:.0%} of max profit "
                                     f"{p.max_profit_usd:.2f} (tier {due.tier}/{len(tiers)}): closing {part}",
                      units=units)


def iv_crush(p: PositionState, c: ExitSection) -> ExitSignal | None:
    if (p.entry_iv > 0 and p.current_iv <= p.entry_iv * (1 - c.iv_crush_drop_pct)
            and p.profit_fraction >= c.iv_crush_min_profit_pct):
        return ExitSignal("iv_crush", f"IV {p.current_iv:.1%} down from {p.entry_iv:.1%} with "
                                      f"{p.profit_fraction:.0%} of max profit")
    return None


def iv_percentile(p: PositionState, c: ExitSection) -> ExitSignal | None:
    """Premium sellers sell expensive volatility; once it is cheap against its own history there is little premium
    left to earn for the same risk."""
    if c.iv_percentile_exit > 0 and 0 <= p.iv_percentile < c.iv_percentile_exit:
        return ExitSignal("iv_percentile", f"IV percentile {p.iv_percentile:g} fell below {c.iv_percentile_exit:g}")
    return None


def roll(p: PositionState, c: ExitSection) -> ExitSignal | None:
    if c.roll_enabled and p.days_to_expiry <= c.roll_at_dte:
        return ExitSignal("roll", f"{p.days_to_expiry} DTE: roll to {c.roll_to_dte} DTE", roll=True)
    return None


def dte_exit(p: PositionState, c: ExitSection) -> ExitSignal | None:
    if p.days_to_expiry <= c.dte_exit:
        return ExitSignal("dte_exit", f"{p.days_to_expiry} DTE at or below {c.dte_exit}")
    return None


EXIT_RULES: dict[str, ExitRule] = {
    rule.__name__: rule
    for rule in (catastrophe, stop_loss, delta_breach, vix_spike, gamma_risk, event, pin_risk, assignment_risk,
                 expiry_day, trailing_stop, take_profit, iv_crush, iv_percentile, roll, dte_exit)
}
"""Default priority, highest first: protect capital, then cut risk, then bank profit, then manage time."""


@cache
def _in_order(priority: tuple[str, ...]) -> tuple[ExitRule, ...]:
    """The rules in a configured priority order (empty: the default), looked up once per order."""
    return tuple(EXIT_RULES[name] for name in priority or EXIT_RULES)


def evaluate_exits(p: PositionState, c: ExitSection) -> list[ExitSignal]:
    """Every rule that fires, in configured priority order (the first one wins)."""
    return [signal for rule in _in_order(c.priority) if (signal := rule(p, c)) is not None]


def first_exit(p: PositionState, c: ExitSection) -> ExitSignal | None:
    fired = evaluate_exits(p, c)
    if not fired:
        return None
    if len(fired) == 1:
        return fired[0]
    also = ", ".join(signal.rule for signal in fired[1:])
    return ExitSignal(fired[0].rule, f"{fired[0].reason} (also firing: {also})", fired[0].roll, fired[0].units)
