"""Pre-trade checks: pure functions of an opening intent and the book, each returning None or (check, reason).

`PRE_TRADE_CHECKS` is every check an opening intent passes, in the order they are asked: first the node's state
(trading state, storage, circuit breaker), then the account's limits. The first denial names the check.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from actors.portfolio.account import Account
from actors.portfolio.greeks import GreekTotals
from actors.portfolio.view import strategy_expiry
from actors.risk.config import RiskSection
from messages import OpenStrategy, TradingState

Denial = tuple[str, str]


@dataclass(frozen=True)
class Book:
    """What the risk actor knows when an intent arrives."""

    symbols: Mapping[str, str]
    """strategy id → symbol, for open and pending strategies."""
    greeks_by_symbol: Mapping[str, GreekTotals]
    new_trade_greeks: GreekTotals | None
    """The intent's greeks from the latest leg quotes; None when a leg was never quoted."""
    realized_today_usd: float
    open_max_loss_usd: float
    intents_last_minute: int
    trading_state: TradingState = TradingState.ACTIVE
    storage_failing: Mapping[str, str] = field(default_factory=dict)
    """store → the first error of its current outage."""
    breaker_allows_opening: bool = True
    account: Account = Account()
    """The broker's latest account values; unknown ones refuse every opening (fail closed)."""
    max_loss_by_symbol: Mapping[str, float] = field(default_factory=dict)
    max_loss_by_expiry: Mapping[dt.date, float] = field(default_factory=dict)
    pending_max_loss_usd: float = 0.0
    """Max loss of approved intents not filled yet (no broker margin report includes them)."""


Check = Callable[[OpenStrategy, Book, RiskSection], Denial | None]

CONTRACT_DELTA = 100.0
"""Greek limits are in contracts: 100 shares of delta are one contract-equivalent."""


def trading_state(intent: OpenStrategy, book: Book, params: RiskSection) -> Denial | None:
    if book.trading_state != TradingState.ACTIVE:
        return "trading_state", f"node is {book.trading_state}: no new positions"
    return None


def persistence(intent: OpenStrategy, book: Book, params: RiskSection) -> Denial | None:
    if book.storage_failing:
        store, error = min(book.storage_failing.items())
        return "persistence", f"{store} cannot be written ({error}): no new positions"
    return None


def circuit_breaker(intent: OpenStrategy, book: Book, params: RiskSection) -> Denial | None:
    if not book.breaker_allows_opening:
        return "circuit_breaker", "circuit breaker OPEN: no new positions"
    return None


def max_positions(intent: OpenStrategy, book: Book, params: RiskSection) -> Denial | None:
    if len(book.symbols) >= params.max_positions:
        return "max_positions", f"{len(book.symbols)} positions open or pending, limit {params.max_positions}"
    on_symbol = sum(1 for symbol in book.symbols.values() if symbol == intent.symbol)
    if on_symbol >= params.max_positions_per_symbol:
        return ("max_positions_per_symbol",
                f"{on_symbol} {intent.symbol} positions open or pending, limit {params.max_positions_per_symbol}")
    return None


def max_contracts(intent: OpenStrategy, book: Book, params: RiskSection) -> Denial | None:
    contracts = abs(intent.quantity) * max((abs(leg.ratio) for leg in intent.legs), default=0)
    if contracts > params.max_contracts_per_order:
        return "max_contracts", f"{contracts} contracts per leg exceeds {params.max_contracts_per_order}"
    return None


def order_rate(intent: OpenStrategy, book: Book, params: RiskSection) -> Denial | None:
    if book.intents_last_minute >= params.max_intents_per_minute:
        return "order_rate", f"{book.intents_last_minute} intents in the last minute, limit {params.max_intents_per_minute}"
    return None


def price_collar(intent: OpenStrategy, book: Book, params: RiskSection) -> Denial | None:
    spread = abs(intent.natural_price - intent.mid_price)
    collar = params.price_collar_pct * max(abs(intent.mid_price), 0.05)
    if spread > collar:
        return ("price_collar", f"natural {intent.natural_price:.2f} is {spread:.2f} from mid {intent.mid_price:.2f}, "
                f"collar {collar:.2f}: the walk to natural would give away too much")
    if intent.max_profit_usd <= 0 or intent.max_loss_usd <= 0:
        return "price_collar", f"max profit {intent.max_profit_usd:.2f} / max loss {intent.max_loss_usd:.2f}: mispriced"
    return None


def daily_loss(intent: OpenStrategy, book: Book, params: RiskSection) -> Denial | None:
    at_risk = -book.realized_today_usd + book.open_max_loss_usd + intent.max_loss_usd
    if at_risk > params.max_daily_loss_usd:
        return ("max_daily_loss", f"realised {book.realized_today_usd:+.2f} today and {book.open_max_loss_usd + intent.max_loss_usd:.2f} "
                f"max loss at risk exceed {params.max_daily_loss_usd:.2f}")
    return None


def greek_limits(intent: OpenStrategy, book: Book, params: RiskSection) -> Denial | None:
    if book.new_trade_greeks is None:
        return "greeks_unknown", "a leg of the intent has no quote yet; its greeks cannot be checked"
    new = book.new_trade_greeks
    portfolio = sum(book.greeks_by_symbol.values(), GreekTotals()) + new
    symbol = book.greeks_by_symbol.get(intent.symbol, GreekTotals()) + new
    limits = (
        ("portfolio_delta", portfolio.delta / CONTRACT_DELTA, params.max_portfolio_delta),
        ("portfolio_gamma", portfolio.gamma / CONTRACT_DELTA, params.max_portfolio_gamma),
        ("portfolio_vega", portfolio.vega, params.max_portfolio_vega),
        ("symbol_delta", symbol.delta / CONTRACT_DELTA, params.max_symbol_delta),
    )
    for check, value, limit in limits:
        if abs(value) > limit:
            return check, f"{check.replace('_', ' ')} would be {value:+.2f} after this trade, limit ±{limit:g}"
    return None


def account_values(intent: OpenStrategy, book: Book, params: RiskSection) -> Denial | None:
    net = book.account.net_liquidation_usd
    if net is None or net <= 0:
        return "account_values", ("net liquidation unknown: no account values from the broker yet" if net is None
                                  else f"net liquidation {net:.2f}: nothing to risk")
    return None


def _share_of_net(check: str, what: str, at_risk: float, limit_pct: float, book: Book) -> Denial | None:
    net = book.account.net_liquidation_usd or 0.0
    if at_risk > limit_pct * net:
        return check, (f"max loss {at_risk:.2f} {what} would be {at_risk / net:.1%} of net liquidation {net:.2f}, "
                       f"limit {limit_pct:.0%}")
    return None


def max_loss_exposure(intent: OpenStrategy, book: Book, params: RiskSection) -> Denial | None:
    return _share_of_net("max_loss_exposure", "in all", book.open_max_loss_usd + intent.max_loss_usd,
                         params.max_loss_exposure_pct, book)


def symbol_concentration(intent: OpenStrategy, book: Book, params: RiskSection) -> Denial | None:
    at_risk = book.max_loss_by_symbol.get(intent.symbol, 0.0) + intent.max_loss_usd
    return _share_of_net("symbol_concentration", f"on {intent.symbol}", at_risk, params.max_symbol_exposure_pct, book)


def expiry_concentration(intent: OpenStrategy, book: Book, params: RiskSection) -> Denial | None:
    expiry = strategy_expiry(intent.legs)
    at_risk = book.max_loss_by_expiry.get(expiry, 0.0) + intent.max_loss_usd
    return _share_of_net("expiry_concentration", f"expiring {expiry}", at_risk, params.max_expiry_exposure_pct, book)


def margin(intent: OpenStrategy, book: Book, params: RiskSection) -> Denial | None:
    """A defined-risk trade's margin is its max loss (width × 100 × quantity − credit). The broker's report lags a
    fill (IB: up to minutes), so the margin in use is at least the open strategies' max loss."""
    account = book.account
    if account.init_margin_usd is None or account.available_funds_usd is None:
        return "margin", "the broker reports no initial margin or available funds: margin cannot be checked"
    net = account.net_liquidation_usd or 0.0
    opened = book.open_max_loss_usd - book.pending_max_loss_usd
    needed = book.pending_max_loss_usd + intent.max_loss_usd
    after = max(account.init_margin_usd, opened) + needed
    if after > params.max_margin_utilisation * net:
        return ("margin_utilisation", f"margin {after:.2f} after this trade would be {after / net:.1%} of net "
                f"liquidation {net:.2f}, limit {params.max_margin_utilisation:.0%}")
    if needed > account.available_funds_usd:
        return ("buying_power", f"the trade needs {needed:.2f} of margin (with pending ones), available funds "
                f"{account.available_funds_usd:.2f}")
    return None


NODE_STATE_CHECKS: tuple[Check, ...] = (trading_state, persistence, circuit_breaker)
"""An intent these refuse was never weighed: it does not count toward `max_intents_per_minute`."""
ACCOUNT_CHECKS: tuple[Check, ...] = (max_positions, max_contracts, order_rate, price_collar, daily_loss, greek_limits,
                                     account_values, max_loss_exposure, symbol_concentration, expiry_concentration,
                                     margin)
PRE_TRADE_CHECKS: tuple[Check, ...] = NODE_STATE_CHECKS + ACCOUNT_CHECKS


NODE_STATE_CHECK_NAMES = frozenset(check.__name__ for check in NODE_STATE_CHECKS)
"""Names of the node-state checks (each names its denial after itself)."""


def first_denial(intent: OpenStrategy, book: Book, params: RiskSection,
                 checks: tuple[Check, ...] = PRE_TRADE_CHECKS) -> Denial | None:
    for check in checks:
        denial = check(intent, book, params)
        if denial is not None:
            return denial
    return None
