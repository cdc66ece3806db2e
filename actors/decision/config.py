"""`[entry]` and `[exits]`: what the decision core opens and the rules that close it."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import msgspec

from actors.config_section import Section
from actors.event_calendar import MAX_WINDOW_DAYS, MarketEvent

StrategyKind = Literal["iron_condor", "bull_put", "bear_call", "bull_call_debit", "bear_put_debit", "custom"]


class CustomLeg(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One leg of a custom structure: the strike whose |delta| is nearest `delta`, bought (+) or sold (-)."""

    right: Literal["C", "P"]
    delta: float
    ratio: int

    def __post_init__(self) -> None:
        if not 0 < self.delta < 1:
            raise ValueError(f"custom leg `delta` must be within (0, 1), got {self.delta}")
        if self.ratio == 0:
            raise ValueError("custom leg `ratio` must not be 0")


class TakeProfitTier(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One step of a scaled take-profit: at `profit_pct` of max profit, close `close_fraction` of the quantity opened."""

    profit_pct: float
    close_fraction: float

    def __post_init__(self) -> None:
        if not 0 < self.profit_pct <= 1:
            raise ValueError(f"take-profit tier `profit_pct` must be within (0, 1], got {self.profit_pct}")
        if not 0 < self.close_fraction <= 1:
            raise ValueError(f"take-profit tier `close_fraction` must be within (0, 1], got {self.close_fraction}")


class EntrySection(Section, frozen=True, kw_only=True):
    LIMITS = {"evaluate_interval_s": (0.01, 86_400), "dte_min": (0, 3650), "dte_max": (0, 3650),
              "short_delta_tolerance": (0, 0.5), "long_delta": (0.01, 0.99), "wing_width": (0.01, 10_000),
              "min_credit": (0, 10_000), "min_credit_to_width": (0, 1), "max_debit_to_width": (0.01, 1),
              "max_leg_spread": (0, 10_000), "max_leg_spread_pct": (0, 10), "quantity": (1, 10_000),
              "min_iv_history_days": (0, 3650), "vix_min": (0, 500), "vix_max": (0, 500),
              "protective_cooldown_sessions": (0, 250), "catastrophe_entry_fraction": (0.01, 1),
              "risk_per_trade_pct": (0.0001, 1), "event_before_days": (0, MAX_WINDOW_DAYS),
              "event_after_days": (0, MAX_WINDOW_DAYS)}
    symbols: tuple[str, ...] = ("SPY",)
    strategy: StrategyKind = "iron_condor"
    evaluate_interval_s: float = 900.0
    dte_min: int = 30
    dte_max: int = 45
    short_delta: float = 0.18
    short_delta_tolerance: float = 0.04
    long_delta: float = 0.55
    """Debit verticals buy the strike nearest this delta and sell `wing_width` further out."""
    wing_width: float = 5.0
    min_credit: float = 0.30
    min_credit_to_width: float = 0.10
    max_debit_to_width: float = 0.65
    max_leg_spread: float = 0.50
    """Liquidity: a leg whose bid/ask is wider than this (dollars) or than `max_leg_spread_pct` of its mid is skipped."""
    max_leg_spread_pct: float = 0.30
    custom_legs: tuple[CustomLeg, ...] = ()
    quantity: int = 1
    """Units per entry with `sizing = "fixed"`."""
    sizing: Literal["fixed", "risk_pct"] = "fixed"
    """`risk_pct`: units = floor(net liquidation × `risk_per_trade_pct` / max loss per unit), at most
    `risk.max_contracts_per_order` contracts per leg; no entry until the broker has reported net liquidation."""
    risk_per_trade_pct: float = 0.02
    iv_rank_min: float = 0.0
    iv_rank_max: float = 100.0
    min_iv_history_days: int = 0
    """The IV-rank gate needs at least this many daily samples (0: judge from whatever history exists)."""
    vix_min: float = 0.0
    vix_max: float = 35.0
    blackout_dates: tuple[dt.date, ...] = ()
    """No new positions on these New York dates (FOMC, CPI, earnings of a heavy index member...): market-wide events
    of the calendar below with no window, which positions may hold through."""
    events_file: str = ""
    """A CSV or iCalendar (.ics) file of events (README "Event calendar"), read once when the config is loaded
    (relative to the config file's directory, or the scenario file's). No entry inside an event's window; no entry
    whose life (today to expiry) overlaps the window of an event it may not hold through."""
    events: tuple[MarketEvent, ...] = ()
    """The events read from `events_file` (filled in by the loader; a recorded session's config keeps them, so its
    replay judges by the calendar the node traded by, whatever the file says today)."""
    event_before_days: int = 1
    """An event's window starts this many calendar days before its date, unless the file says otherwise..."""
    event_after_days: int = 1
    """...and ends this many after it."""
    event_hold_through_market: bool = True
    """Market-wide events (FOMC, CPI) a position may be open across: a 30-45 DTE index position always spans one,
    so by default only entries inside their windows are refused."""
    event_hold_through_symbol: bool = False
    """Per-symbol events (earnings) a position may be open across: by default no entry whose life overlaps one."""
    protective_cooldown_sessions: int = 2
    """Entry discipline: after a protective exit (`protective_exit_rules`) no new position in that symbol until the
    open of the Nth session after the exit's (2: an exit on Monday keeps Monday and Tuesday flat). 0: no cool-down."""
    protective_exit_rules: tuple[str, ...] = ("catastrophe", "vix_spike", "stop_loss", "delta_breach")
    exit_rules_gate: bool = True
    """Entry discipline: no entry when any exit rule (the real ones, `[exits]`) would fire on the candidate structure
    as it would stand right after its fill at mid."""
    catastrophe_entry_fraction: float = 0.5
    """...with the catastrophe rule's move threshold scaled by this: a market that has already moved half-way to a
    catastrophe exit within the window is falling (or rising) too fast to sell premium into; one more interval of
    the same and the catastrophe exit closes the new position at once (seen on 2018-02-08 in the arch history).
    After such a move entries also wait one whole `exits.catastrophe_window_s` (the market must settle: a swing
    back the other way is just as fast, 2018-02-09)."""
    session_quotes_gate: bool = True
    """Entry discipline: no entry on an underlying, VIX or chain quote from before the current session's open."""

    def __post_init__(self) -> None:
        super().__post_init__()
        unknown = [name for name in self.protective_exit_rules if name not in EXIT_RULE_NAMES]
        if unknown:
            raise ValueError(f"`protective_exit_rules` names unknown rule {unknown[0]!r}; "
                             f"rules: {', '.join(EXIT_RULE_NAMES)}")
        if self.dte_min > self.dte_max:
            raise ValueError(f"`dte_min` ({self.dte_min}) exceeds `dte_max` ({self.dte_max})")
        if not 0 < self.short_delta < 0.5:
            raise ValueError(f"`short_delta` must be within (0, 0.5), got {self.short_delta}")
        if self.quantity < 1:
            raise ValueError("`quantity` must be at least 1")
        if not self.symbols:
            raise ValueError("`symbols` must name at least one underlying")
        if self.strategy == "custom" and not self.custom_legs:
            raise ValueError("`strategy = \"custom\"` needs `custom_legs`")
        if not 0 <= self.iv_rank_min <= self.iv_rank_max <= 100:
            raise ValueError("`iv_rank_min` and `iv_rank_max` must satisfy 0 <= min <= max <= 100")
        self._ordered("vix_min", self.vix_min, "vix_max", self.vix_max)


EXIT_RULE_NAMES = (
    "catastrophe", "stop_loss", "delta_breach", "vix_spike", "gamma_risk", "event", "pin_risk", "assignment_risk",
    "expiry_day", "trailing_stop", "take_profit", "iv_crush", "iv_percentile", "roll", "dte_exit",
)


class ExitSection(Section, frozen=True, kw_only=True):
    LIMITS = {"stop_loss_multiple": (0.01, 100), "near_expiry_dte": (0, 3650), "near_expiry_stop_multiple": (0.01, 100),
              "dte_exit": (-1, 3650), "short_delta_breach": (0.01, 1), "gamma_risk_threshold": (0.0001, 100),
              "gamma_risk_dte": (0, 3650), "iv_crush_drop_pct": (0.01, 1), "iv_crush_min_profit_pct": (0, 1),
              "catastrophe_move_pct": (0.001, 1), "catastrophe_window_s": (1, 30 * 86_400),
              "catastrophe_iv_jump_pct": (0.01, 100), "vix_spike_level": (1, 500), "vix_spike_rise": (0.01, 500),
              "trailing_activate_pct": (0.01, 1), "trailing_giveback_pct": (0.01, 1), "expiry_close_dte": (-1, 3650),
              "roll_at_dte": (0, 3650), "roll_to_dte": (0, 3650), "evaluation_delay_ms": (0, 3_600_000),
              "max_quote_age_s": (1, 30 * 86_400), "pin_risk_distance_pct": (0, 0.5),
              "pin_risk_minutes_before_close": (0, 24 * 60), "symbol_delta_exit": (0, 1e6),
              "portfolio_delta_exit": (0, 1e6), "event_exit_days": (0, 365), "iv_percentile_exit": (0, 100),
              "assignment_dividend_days": (1, 30), "assignment_deep_itm_delta": (0.5, 1),
              "assignment_extrinsic_floor": (0, 100)}
    take_profit_pct: float = 0.50
    """Of max profit."""
    take_profit_tiers: tuple[TakeProfitTier, ...] = ()
    """Scaled take-profit (empty: off, `take_profit_pct` closes everything at once). Tiers in rising `profit_pct`,
    each closing `close_fraction` of the quantity opened (fractions adding up to 1), rounded down to whole units but
    at least one, the last tier closing whatever is left: with [{0.5, 0.5}, {0.8, 0.5}] a 4-lot closes 2 at 50% of
    max profit and 2 at 80%, a 3-lot 1 and 2, a 1-lot all of it at 50%. See actors/decision/profit_tiers.py."""
    iv_percentile_exit: float = 0.0
    """Close when the underlying's IV percentile (0-100, market data's `VolatilityStats`, computed after the
    position opened) falls below this: the volatility sold has collapsed and the premium left is not worth the risk.
    0: off. Held symbols' chains are refreshed every `entry.evaluate_interval_s` while it is on."""
    stop_loss_multiple: float = 2.0
    """Loss as a multiple of the credit (debit trades: fraction of the debit, at most 1)."""
    near_expiry_dte: int = 7
    near_expiry_stop_multiple: float = 0.5
    dte_exit: int = 21
    short_delta_breach: float = 0.35
    gamma_risk_threshold: float = 0.10
    gamma_risk_dte: int = 14
    iv_crush_drop_pct: float = 0.30
    iv_crush_min_profit_pct: float = 0.20
    catastrophe_move_pct: float = 0.03
    catastrophe_window_s: float = 3600.0
    catastrophe_iv_jump_pct: float = 0.50
    vix_spike_level: float = 35.0
    vix_spike_rise: float = 5.0
    trailing_activate_pct: float = 0.40
    """The trailing stop arms once P&L reaches this fraction of max profit..."""
    trailing_giveback_pct: float = 0.40
    """...and fires when P&L falls this fraction back from its peak."""
    expiry_close_dte: int = 1
    """Close at this many days to expiry or fewer; -1 holds through expiration day (then `pin_risk` governs)."""
    pin_risk_distance_pct: float = 0.01
    """Expiration day: a short strike expiring today within this fraction of the underlying..."""
    pin_risk_minutes_before_close: float = 120.0
    """...this close to the session's close, closes the position (with the default `expiry_close_dte = 1` the
    position is gone before expiration day: pin risk matters with `expiry_close_dte = 0`)."""
    symbol_delta_exit: float = 30.0
    """Book exits (actors/decision/portfolio_exits.py), after every position's own rules: a symbol's net delta beyond
    ± this many contract-equivalents closes its position adding the most delta in that direction (0: off)..."""
    portfolio_delta_exit: float = 75.0
    """...and so does the portfolio's beyond ± this. Both sit above the pre-trade limits (`risk.max_symbol_delta`
    20, `risk.max_portfolio_delta` 50) so a position the market pushed there, not one just opened, is closed."""
    event_exit_days: int = 0
    """Close a position when an event it may not hold through (see `entry.events_file`) is this many days away or
    fewer and its window starts before the position expires; 0: off. With it on, entries may sell into the run-up of
    such an event further away than this (the exit leaves before it); it also catches events added to the file
    after an entry."""
    assignment_risk_enabled: bool = False
    """The early-assignment exit (actors/decision/assignment_risk.py); off by default."""
    assignment_dividend_days: int = 1
    """A short call in the money whose extrinsic value is below the next dividend closes when its ex-date is this many
    trading sessions away or fewer (1: on the last day a holder can exercise for the dividend)."""
    assignment_deep_itm_delta: float = 0.90
    """Any short leg in the money with |delta| at least this..."""
    assignment_extrinsic_floor: float = 0.05
    """...and extrinsic value (mark − intrinsic, per share) below this closes too: it is worth the same exercised."""
    assignment_action: Literal["close", "roll"] = "close"
    """`roll`: close, then reopen at `roll_to_dte` like the roll exit (close-then-reopen)."""
    roll_enabled: bool = False
    roll_at_dte: int = 21
    roll_to_dte: int = 45
    priority: tuple[str, ...] = ()
    """Rule order, highest first; empty = the default order in actors/decision/rules.py."""
    evaluation_delay_ms: int = 250
    """Exit rules run this long after a leg quote arrives, once for the whole burst of leg quotes (coalescing): IB
    updates a move leg by leg and tick by tick, and a mark mixing new and old legs is a price nobody quotes."""
    max_quote_age_s: float = 900.0
    """Rules judge a position only on leg quotes at most this old: a mark from stale quotes is not a price."""
    close_retry_initial_s: float = 2.0
    """A close the broker refused is tried again after this long, doubling with each refusal..."""
    close_retry_max_s: float = 60.0
    """...up to this."""
    assignment_policy: Literal["flatten", "keep"] = "flatten"
    """Shares an exercise or assignment left (see README "Assignment and expiry"): `flatten` closes them with a stock
    limit order through the normal order path (walked from mid to the touch, retried on each evaluation until gone);
    `keep` holds them, reports them and expects them at every reconciliation."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 < self.close_retry_initial_s <= self.close_retry_max_s:
            raise ValueError("`close_retry_initial_s` must be positive and at most `close_retry_max_s`")
        if not 0 < self.take_profit_pct <= 1:
            raise ValueError(f"`take_profit_pct` must be within (0, 1], got {self.take_profit_pct}")
        levels = [tier.profit_pct for tier in self.take_profit_tiers]
        if any(low >= high for low, high in zip(levels, levels[1:], strict=False)):
            raise ValueError(f"`take_profit_tiers` must rise strictly in `profit_pct`, got {levels}")
        fractions = sum(tier.close_fraction for tier in self.take_profit_tiers)
        if self.take_profit_tiers and abs(fractions - 1) > 1e-6:
            raise ValueError(f"`take_profit_tiers` close fractions must add up to 1, got {fractions:g}")
        unknown = [name for name in self.priority if name not in EXIT_RULE_NAMES]
        if unknown:
            raise ValueError(f"`priority` names unknown rule {unknown[0]!r}; rules: {', '.join(EXIT_RULE_NAMES)}")
        if self.priority and sorted(self.priority) != sorted(EXIT_RULE_NAMES):
            missing = sorted(set(EXIT_RULE_NAMES) - set(self.priority))
            raise ValueError(f"`priority` must list every rule exactly once; missing or repeated: {missing}")
        if self.roll_enabled and self.roll_to_dte <= self.roll_at_dte:
            raise ValueError("`roll_to_dte` must be beyond `roll_at_dte`")
