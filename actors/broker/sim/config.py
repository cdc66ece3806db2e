"""`[sim]`: the simulated exchange and its generated, scripted or history market."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from actors.broker.sim.dividends import DividendSection
from actors.config_section import Section
from actors.market_time import CALENDAR_END, CALENDAR_START, calendar_covers


class SimSection(Section, frozen=True, kw_only=True):
    LIMITS = {"seed": (0, 2**63 - 1), "tick_interval_s": (0.001, 86_400), "scripted_iv": (0.001, 5),
              "rate": (0, 1), "dividend_yield": (0, 1), "commission_per_contract_usd": (0, 100),
              "latency_ms": (0, 3_600_000), "positions_interval_s": (0.001, 86_400),
              "history_price_scale": (1e-6, 1e6), "starting_cash_usd": (1, 1e12)}
    seed: int = 7
    start: dt.datetime = dt.datetime(2026, 3, 2, 14, 30, tzinfo=dt.UTC)
    market: Literal["generated", "scripted", "history"] = "generated"
    tick_interval_s: float = 300.0
    scripted_iv: float = 0.18
    rate: float = 0.04
    dividend_yield: float = 0.013
    dividends: tuple[DividendSection, ...] = ()
    """A dividend schedule: `[[sim.dividends]]` tables of `symbol`, `ex_date`, `amount` (per share). A symbol with a
    schedule has exactly those dividends: its options are priced with them as discrete cash dividends (escrowed spot,
    no `dividend_yield`), and the broker announces each symbol's next one (a `Dividends` message) like IB's tick 456."""
    commission_per_contract_usd: float = 0.65
    partial_fill_probability: float = 0.0
    """Chance that a crossing combo order of several units fills only some of them this time."""
    reject_probability: float = 0.0
    modify_refuse_probability: float = 0.0
    """Chance that the exchange refuses a limit step, as IB does (201 "modification refused", 2102 "still being
    processed"): the order keeps working at its old limit and the broker says so (`ModifyRefused`)."""
    latency_ms: int = 0
    """Delay of every acknowledgement, fill and cancel confirmation."""
    positions_interval_s: float = 900.0
    """How often the simulated account reports its positions and account values (and after every fill)."""
    starting_cash_usd: float = 100_000.0
    """The simulated account's cash before the first trade: net liquidation is this plus P&L."""
    early_assignment: bool = False
    """Holders exercise early as they do before a dividend: at the close of the session before an ex-date in
    `dividends`, every short call in the money whose extrinsic value is below the dividend is assigned (the shares
    show in the next morning's positions). Off by default: the plain expiry is settled either way."""
    early_assignment_share: float = 1.0
    """The part of each such short call position assigned (rounded up to whole contracts), once per ex-date: OCC
    assigns exercise notices to short accounts at random, so a position of several contracts is often assigned only
    in part."""
    history: str = ""
    """`market = "history"`: a CSV or Parquet file of bars (see actors/broker/sim/history_data.py), or "arch" for the
    S&P 500 and VIX sample of the `arch` package (optional extra `history`)."""
    history_vix: str = ""
    """Daily VIX closes, when the bars file has no `vix` column."""
    history_symbol: str = "SPY"
    """The symbol the history quotes (its options are priced from it)."""
    history_price_scale: float = 1.0
    """Multiplies every bar price: 0.1 quotes the S&P 500 index as SPY."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if not calendar_covers(self.start.date()):
            raise ValueError(f"`start` {self.start:%Y-%m-%d} is outside the market calendar "
                             f"{CALENDAR_START}..{CALENDAR_END}")
        if self.market == "history" and not self.history:
            raise ValueError('`market = "history"` needs `history`: a CSV/Parquet file of bars, or "arch"')
        for name in ("partial_fill_probability", "reject_probability", "modify_refuse_probability"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"`{name}` must be within [0, 1]")
        if not 0 < self.early_assignment_share <= 1:
            raise ValueError("`early_assignment_share` must be within (0, 1]")
