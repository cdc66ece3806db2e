"""Pure translation between ib_async's objects and the node's messages: contracts, combo orders, quotes with model
greeks, positions, portfolio, account values, order states and executions."""

from __future__ import annotations

import datetime as dt
import math

from ib_async import ComboLeg, Contract, Fill, Index, LimitOrder, Option, Position, Stock, Ticker, Trade
from ib_async.objects import AccountValue as IbAccountValue
from ib_async.objects import PortfolioItem as IbPortfolioItem

from messages import (
    AccountValue,
    BrokerAccountValues,
    BrokerPortfolio,
    BrokerPosition,
    BrokerPositionsSnapshot,
    IbExecution,
    IbOrderStatus,
    IndexQuote,
    Legs,
    OptionContract,
    OptionQuote,
    PortfolioItem,
    UnderlyingQuote,
)

EXCHANGE = "SMART"
CURRENCY = "USD"
ACCOUNT_KEYS = frozenset({"NetLiquidation", "TotalCashValue", "BuyingPower", "ExcessLiquidity", "AvailableFunds",
                          "InitMarginReq", "MaintMarginReq", "UnrealizedPnL", "RealizedPnL", "GrossPositionValue"})
"""The account values worth journaling: what a trader checks on margin and P&L."""


def stock(symbol: str) -> Stock:
    return Stock(symbol, EXCHANGE, CURRENCY)


def index(symbol: str, exchange: str) -> Index:
    return Index(symbol, exchange, CURRENCY)


def option(contract: OptionContract) -> Option:
    return Option(contract.symbol, f"{contract.expiry:%Y%m%d}", contract.strike, contract.right, EXCHANGE,
                  multiplier="100", currency=CURRENCY)


def option_contract(contract: Contract) -> OptionContract | None:
    """Our identity of an IB option contract; None for anything that is not an equity option."""
    if contract.secType != "OPT" or contract.right not in ("C", "P", "CALL", "PUT"):
        return None
    expiry = dt.datetime.strptime(contract.lastTradeDateOrContractMonth[:8], "%Y%m%d").date()
    return OptionContract(contract.symbol, expiry, float(contract.strike), contract.right[0])  # type: ignore[arg-type]


def combo(legs: Legs, con_ids: dict[OptionContract, int]) -> Contract:
    """The BAG contract: legs carry positive ratios and a side; the structure's direction is the order's action."""
    return Contract(
        symbol=legs[0].contract.symbol,
        secType="BAG",
        exchange=EXCHANGE,
        currency=CURRENCY,
        comboLegs=[ComboLeg(conId=con_ids[leg.contract], ratio=abs(leg.ratio),
                            action="BUY" if leg.ratio > 0 else "SELL", exchange=EXCHANGE) for leg in legs],
    )


def combo_order(client_order_id: str, quantity: int, limit_price: float, account: str) -> LimitOrder:
    """Buying the structure (+quantity) at a signed net price: a credit is a negative limit, as IB takes it."""
    return LimitOrder("BUY" if quantity > 0 else "SELL", abs(quantity), round(limit_price, 2), orderRef=client_order_id,
                      account=account, tif="DAY", transmit=True)


def _usable(value: float | None) -> bool:
    return value is not None and not math.isnan(value) and value > 0


def underlying_quote(symbol: str, ticker: Ticker) -> UnderlyingQuote | None:
    if not (_usable(ticker.bid) and _usable(ticker.ask)):
        return None
    last = ticker.last if _usable(ticker.last) else (ticker.bid + ticker.ask) / 2
    return UnderlyingQuote(symbol=symbol, bid=ticker.bid, ask=ticker.ask, last=last)


def index_quote(symbol: str, ticker: Ticker) -> IndexQuote | None:
    value = next((v for v in (ticker.last, ticker.close) if _usable(v)), None)
    return None if value is None else IndexQuote(symbol=symbol, value=value)


def option_quote(contract: OptionContract, ticker: Ticker) -> OptionQuote | None:
    """A quote the rules can use: two-sided, with IB's model greeks (vega per vol point, theta per day)."""
    greeks = ticker.modelGreeks
    if greeks is None or not (_usable(ticker.bid) and _usable(ticker.ask)) or ticker.ask < ticker.bid:
        return None
    values = (greeks.impliedVol, greeks.delta, greeks.gamma, greeks.vega, greeks.theta, greeks.undPrice)
    if any(v is None or math.isnan(v) for v in values):
        return None
    iv, delta, gamma, vega, theta, underlying = values
    return OptionQuote(contract=contract, bid=ticker.bid, ask=ticker.ask, iv=iv, delta=delta, gamma=gamma, vega=vega,
                       theta=theta, underlying_price=underlying)


def positions_snapshot(positions: list[Position], account: str) -> tuple[BrokerPositionsSnapshot, list[str]]:
    """Option positions of `account` as a complete snapshot, and a description of anything else it holds."""
    held, other = [], []
    for position in positions:
        if position.account != account or not position.position:
            continue
        contract = option_contract(position.contract)
        if contract is None:
            other.append(f"{position.contract.secType} {position.contract.symbol} {position.position:g}")
            continue
        held.append(BrokerPosition(contract=contract, quantity=round(position.position),
                                   avg_cost=round(position.avgCost, 4)))
    held.sort(key=lambda p: str(p.contract))
    return BrokerPositionsSnapshot(positions=tuple(held), complete=True), other


def portfolio(items: list[IbPortfolioItem], account: str) -> BrokerPortfolio:
    rows = []
    for item in items:
        contract = option_contract(item.contract)
        if item.account != account or contract is None or not item.position:
            continue
        rows.append(PortfolioItem(contract=contract, quantity=round(item.position), market_price=item.marketPrice,
                                  market_value_usd=item.marketValue, avg_cost_usd=item.averageCost,
                                  unrealized_pnl_usd=item.unrealizedPNL, realized_pnl_usd=item.realizedPNL))
    rows.sort(key=lambda row: str(row.contract))
    return BrokerPortfolio(account=account, items=tuple(rows))


def account_values(values: list[IbAccountValue], account: str) -> BrokerAccountValues:
    kept = sorted({(v.tag, v.value, v.currency) for v in values
                   if v.account == account and v.tag in ACCOUNT_KEYS and not v.modelCode})
    return BrokerAccountValues(account=account, values=tuple(AccountValue(key=k, value=v, currency=c)
                                                             for k, v, c in kept))


def order_status(trade: Trade) -> IbOrderStatus:
    """A completed order IB replays has no status fields of its own: its fills are the order's `filledQuantity`."""
    status = trade.orderStatus
    limit = trade.order.lmtPrice
    completed_fills = float(trade.order.filledQuantity)
    return IbOrderStatus(
        client_order_id=trade.order.orderRef,
        order_id=trade.order.orderId,
        perm_id=trade.order.permId or status.permId,
        status=status.status,
        filled=max(float(status.filled), completed_fills if completed_fills < 1e300 else 0.0),
        remaining=status.remaining,
        avg_fill_price=status.avgFillPrice,
        limit_price=limit if limit is not None and abs(limit) < 1e300 else 0.0,
    )


def execution(fill: Fill, order_ref: str = "") -> IbExecution:
    details = fill.execution
    return IbExecution(
        exec_id=details.execId,
        client_order_id=details.orderRef or order_ref,
        order_id=details.orderId,
        perm_id=details.permId,
        contract=None if fill.contract.secType == "BAG" else option_contract(fill.contract),
        side="BOT" if details.side == "BOT" else "SLD",
        shares=float(details.shares),
        price=float(details.price),
    )
