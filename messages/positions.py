"""Strategy-level positions built from fills, and the broker's own position reports."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import msgspec
from msgspec import UNSET, UnsetType

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


class StockPosition(msgspec.Struct, frozen=True, forbid_unknown_fields=True, gc=False):
    """Shares of an underlying the broker reports (what an exercise or assignment leaves); `avg_cost` per share."""

    symbol: str
    quantity: int
    avg_cost: float


class BrokerPositionsSnapshot(Event, frozen=True, kw_only=True):
    """Every position the broker reports for the account; absent contracts are flat only if `complete` is true.

    `stock` is left unset (and then not even encoded, so journals written before it existed decode and re-encode
    byte for byte) when the account holds no shares."""

    positions: tuple[BrokerPosition, ...]
    complete: bool
    stock: tuple[StockPosition, ...] | UnsetType = UNSET

    @property
    def stock_positions(self) -> tuple[StockPosition, ...]:
        return () if self.stock is UNSET else self.stock


class ReconciliationResult(Event, frozen=True, kw_only=True):
    ok: bool
    mismatches: tuple[str, ...]


SettlementOutcome = Literal["assigned", "exercised", "expired"]


class SettledLeg(msgspec.Struct, frozen=True, forbid_unknown_fields=True, gc=False):
    """One option position the broker settled: `quantity` contracts held (signed, short < 0) that vanished, and the
    shares they delivered (signed: an assigned short put or an exercised long call buys, +100 per contract)."""

    contract: OptionContract
    quantity: int
    outcome: SettlementOutcome
    shares: int


class StrategySettled(Event, frozen=True, kw_only=True):
    """The broker settled a strategy's option legs (expiry, exercise or assignment) instead of a closing order: the
    positions show the legs gone and, for an assignment or exercise, shares instead. Booked at the strikes: the
    options' premium stays, the shares are booked at their strike (`stock_avg_price`), offsetting shares (both legs
    of a spread in the money) realise their strike difference at once. When every leg was settled, the
    `StrategyClosed` that follows carries the whole life's realised P&L. `stock_quantity` / `stock_avg_price` are
    the strategy's shares after this settlement (earlier settlements' included), flattened or kept under
    `exits.assignment_policy` (the decision records which)."""

    strategy_id: str
    symbol: str
    settled: tuple[SettledLeg, ...]
    stock_quantity: int
    stock_avg_price: float
    realized_pnl_usd: float
    legs_left: Legs = ()
    """The strategy's legs still held when only some were settled (an early assignment): the strategy stays open
    with them (no `StrategyClosed` yet; `realized_pnl_usd` is then only what offsetting shares realised) and the
    decision closes them at once (rule `assignment`). Their ratios are per unit of `quantity_left`."""
    quantity_left: int | UnsetType = UNSET
    """The strategy's units after the settlement, when they changed: an assignment of only some of a short leg's
    contracts leaves legs of unequal size, held as one structure with ratios in lowest terms (3 condors with 2 of
    the 3 short calls assigned: +3/-3 puts, -1/+3 calls, quantity 1). Unset (and not encoded, so older journals
    read and write byte for byte) when the quantity did not change."""


class AssignedStockClosed(Event, frozen=True, kw_only=True):
    """Shares an assignment or exercise left were traded away (`exits.assignment_policy = "flatten"`): realised P&L
    against the strike they were booked at, net of the order's commissions. `closed_quantity` is signed like the
    fills (selling shares is negative); `remaining_quantity` is what is still held."""

    strategy_id: str
    symbol: str
    closed_quantity: int
    remaining_quantity: int
    exit_price: float
    realized_pnl_usd: float
    commissions_usd: float


class StockDividend(Event, frozen=True, kw_only=True):
    """The broker paid or charged a cash dividend on shares held at the open of its ex-date: `cash_usd` = `quantity` ×
    `amount`, signed like the shares (long shares receive it, short shares owe it). The simulated exchange reports
    it; IB's account shows it only in its cash (see README "Dividends on assigned shares")."""

    symbol: str
    ex_date: dt.date
    amount: float
    quantity: int
    cash_usd: float


class AssignedStockDividend(Event, frozen=True, kw_only=True):
    """A `StockDividend` on shares an exercise or assignment left a strategy, booked against it: realised P&L of its
    shares (`quantity` × `amount`; a short position after an early-assigned call pays it)."""

    strategy_id: str
    symbol: str
    ex_date: dt.date
    quantity: int
    amount: float
    realized_pnl_usd: float


class PortfolioItem(msgspec.Struct, frozen=True, forbid_unknown_fields=True, gc=False):
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


class AccountValue(msgspec.Struct, frozen=True, forbid_unknown_fields=True, gc=False):
    key: str
    value: str
    currency: str


class BrokerAccountValues(Event, frozen=True, kw_only=True):
    """Account values the broker reports (net liquidation, buying power, margin...), after each settled round."""

    account: str
    values: tuple[AccountValue, ...]
