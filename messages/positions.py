"""Strategy-level positions built from fills, and the broker's own position reports."""

from __future__ import annotations

import msgspec

from messages.base import Event, Legs, OptionContract


class StrategyOpened(Event, frozen=True, kw_only=True):
    strategy_id: str
    kind: str
    symbol: str
    legs: Legs
    quantity: int
    entry_price: float
    max_profit_usd: float
    max_loss_usd: float


class StrategyPositionChanged(Event, frozen=True, kw_only=True):
    """The open quantity of a strategy changed (partial open or partial close)."""

    strategy_id: str
    quantity: int
    avg_entry_price: float


class StrategyReduced(Event, frozen=True, kw_only=True):
    """Part of an open strategy was closed and the strategy stays open (a take-profit tier, or a close order that
    ended part-filled): that part's realised P&L, booked when its close order ended. `closed_quantity` is signed like
    the fills (a credit structure held long is reduced by a negative quantity); `realized_pnl_usd` is net of the
    closing commissions and of the opening commissions' share of the units closed. The strategy's `StrategyClosed`
    still reports the whole life's realised P&L, these parts included."""

    strategy_id: str
    closed_quantity: int
    remaining_quantity: int
    exit_price: float
    realized_pnl_usd: float
    commissions_usd: float
    rule: str


class StrategyClosed(Event, frozen=True, kw_only=True):
    strategy_id: str
    exit_price: float
    realized_pnl_usd: float
    commissions_usd: float
    rule: str


class StrategyRolled(Event, frozen=True, kw_only=True):
    """A roll order filled: `strategy_id` is closed (or reduced, if only part of the roll filled) and `replacement`
    opened by the same combo. Published once per roll, before the two strategies' own events for that fill."""

    strategy_id: str
    replacement: str
    client_order_id: str
    rule: str


class StrategyMarked(Event, frozen=True, kw_only=True):
    """The mark an open strategy is judged by (the exit rules' conservative marks, see actors/market_data/marks.py)
    and its unrealised P&L, published by the decision core at most once per `market_data.greeks_interval_s` per
    strategy: what a reader (dashboard, report) shows and marks the P&L curve to market with."""

    strategy_id: str
    symbol: str
    quantity: int
    entry_price: float
    mark_price: float
    unrealized_pnl_usd: float
    peak_pnl_usd: float
    underlying_price: float
    days_to_expiry: int
    conservative: bool
    """True when a leg is not marked at the mid of a fresh two-sided quote."""


class BrokerPosition(Event, frozen=True, kw_only=True):
    contract: OptionContract
    quantity: int
    avg_cost: float


class BrokerPositionsSnapshot(Event, frozen=True, kw_only=True):
    """Every position the broker reports for the account; absent contracts are flat only if `complete` is true."""

    positions: tuple[BrokerPosition, ...]
    complete: bool


class ReconciliationResult(Event, frozen=True, kw_only=True):
    ok: bool
    mismatches: tuple[str, ...]


class PortfolioItem(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One option position as the broker values it (IB's updatePortfolio)."""

    contract: OptionContract
    quantity: int
    market_price: float
    market_value_usd: float
    avg_cost_usd: float
    unrealized_pnl_usd: float
    realized_pnl_usd: float


class BrokerPortfolio(Event, frozen=True, kw_only=True):
    """The account's option positions with the broker's marks and P&L, after each settled round of updates."""

    account: str
    items: tuple[PortfolioItem, ...]


class AccountValue(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    key: str
    value: str
    currency: str


class BrokerAccountValues(Event, frozen=True, kw_only=True):
    """Account values the broker reports (net liquidation, buying power, margin...), after each settled round."""

    account: str
    values: tuple[AccountValue, ...]
