"""Market data: quotes from the broker and what the market-data actor derives from them."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import msgspec

from messages.base import Event, OptionContract


class UnderlyingQuote(Event, frozen=True, kw_only=True):
    symbol: str
    bid: float
    ask: float
    last: float


class OptionQuote(Event, frozen=True, kw_only=True):
    """One option's quote; greeks as delivered by the broker (model greeks) or computed by the node's own model.

    Past the quote gate (`actors/market_data/quote_gate.py`) every field is finite; a side nobody quotes is 0.0
    (far out-of-the-money options go one-sided), never both sides, and a two-sided quote is never crossed."""

    contract: OptionContract
    bid: float
    ask: float
    iv: float
    delta: float
    gamma: float
    vega: float
    theta: float
    underlying_price: float


class OptionQuotes(Event, frozen=True, kw_only=True):
    """The option quotes of one market-data burst, published as one message: IB delivers ticks in batches (every
    ticker one socket read updated), and at a busy open a message per quote cost the node more in stamping, mailboxes
    and dispatch than judging the quotes did. Each quote carries its own `ts` (when the publisher received it; the
    runtime stamps only the burst), so it reads exactly as the same quote published alone. Past the quote gate, as
    single quotes are; at most one quote per contract."""

    quotes: tuple[OptionQuote, ...]


class IndexQuote(Event, frozen=True, kw_only=True):
    """A volatility or market index level such as VIX."""

    symbol: str
    value: float


class RawQuote(Event, frozen=True, kw_only=True):
    """A quote from outside the node (a scenario line), as a feed would deliver it: only the broker reads it, and
    publishes it through the quote gate like every quote of its own."""

    quote: UnderlyingQuote | OptionQuote | IndexQuote


class BadTick(Event, frozen=True, kw_only=True):
    """The quote gate refused a tick (`rejected`: no rule ever sees it) or replaced a bad part of it (`repaired`:
    e.g. greeks IB did not compute, recomputed by the node's model). `count` > 1 summarises a chain snapshot."""

    symbol: str
    key: str
    reason: str
    detail: str
    action: Literal["rejected", "repaired"] = "rejected"
    count: int = 1


class Dividends(Event, frozen=True, kw_only=True):
    """The next cash dividend of `symbol` as the broker announces it: IB's generic tick 456 ("IB Dividends") on the
    IB path, the `sim.dividends` schedule in the simulated market. Sent when it is first known and when it changes;
    the latest one per symbol is the truth. `ex_date` None (and `amount` 0): no dividend announced."""

    symbol: str
    ex_date: dt.date | None
    amount: float
    """Per share, dollars; positive whenever `ex_date` is set."""
    past_12m: float = 0.0
    """Sum of the dividends of the past 12 months (IB's first field; 0 when unknown)."""
    next_12m: float = 0.0
    """Sum expected over the next 12 months (IB's second field; 0 when unknown)."""


class ChainRequest(Event, frozen=True, kw_only=True):
    """Ask the broker for the option chain of `symbol` with expiries within the DTE window."""

    symbol: str
    min_dte: int
    max_dte: int


class ChainSnapshot(Event, frozen=True, kw_only=True):
    """Every quoted option of one underlying over the requested expiries, at one instant."""

    symbol: str
    underlying_price: float
    quotes: tuple[OptionQuote, ...]


class SubscribeQuotes(Event, frozen=True, kw_only=True):
    """Start streaming quotes for these contracts (and their underlyings)."""

    contracts: tuple[OptionContract, ...]


class UnsubscribeQuotes(Event, frozen=True, kw_only=True):
    contracts: tuple[OptionContract, ...]


class QuoteStale(Event, frozen=True, kw_only=True):
    """No quote for `key` (a symbol or contract) for longer than the configured age."""

    key: str
    age_ns: int


class VolatilityStats(Event, frozen=True, kw_only=True):
    """Implied-volatility context of one underlying: ATM IV and its rank/percentile in the rolling history."""

    symbol: str
    atm_iv: float
    iv_rank: float
    iv_percentile: float
    history_days: int


class MarketSessionChanged(Event, frozen=True, kw_only=True):
    is_open: bool
    session_date: dt.date


class IvPoint(msgspec.Struct, frozen=True, forbid_unknown_fields=True, gc=False):
    session_date: dt.date
    atm_iv: float


class IvSample(Event, frozen=True, kw_only=True):
    """The ATM implied volatility of `symbol` for one New York session; the latest sample of a day wins."""

    symbol: str
    point: IvPoint


class IvHistoryRestored(Event, frozen=True, kw_only=True):
    """Daily ATM IV history read back from the lake at startup, oldest first."""

    symbol: str
    points: tuple[IvPoint, ...]


class StrategyGreeks(Event, frozen=True, kw_only=True):
    """One strategy's greeks in position units: delta in shares, gamma in shares per $1, vega $ per vol point,
    theta $ per day."""

    strategy_id: str
    symbol: str
    delta: float
    gamma: float
    vega: float
    theta: float


class PortfolioGreeks(Event, frozen=True, kw_only=True):
    delta: float
    gamma: float
    vega: float
    theta: float
    strategies: int
