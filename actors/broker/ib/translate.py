"""Pure translation between ib_async's objects and the node's messages: contracts, combo orders, quotes with model
greeks, positions, portfolio, account values, order states and executions."""

from __future__ import annotations

import datetime as dt
import math

from ib_async import ComboLeg, Contract, Fill, Index, LimitOrder, Option, Position, Stock, Ticker, Trade
from ib_async.objects import AccountValue as IbAccountValue
from ib_async.objects import PortfolioItem as IbPortfolioItem
from msgspec import UNSET

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
    StockPosition,
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


def underlying(symbol: str, index_exchanges: dict[str, str]) -> Contract:
    """A stock or ETF (SPY), or an index (SPX) when `index_exchanges` names its exchange."""
    return index(symbol, index_exchanges[symbol]) if symbol in index_exchanges else stock(symbol)


def option(contract: OptionContract, trading_class: str = "") -> Option:
    """`trading_class` tells apart classes sharing a symbol and expiry (SPX monthlies vs SPXW weeklies)."""
    return Option(contract.symbol, f"{contract.expiry:%Y%m%d}", contract.strike, contract.right, EXCHANGE,
                  multiplier="100", currency=CURRENCY, tradingClass=trading_class)


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
    """Buying the structure (+quantity) at a signed net price: a credit is a negative limit, as IB takes it. The same
    limit order buys (+) or sells (−) shares of a stock at a price per share."""
    return LimitOrder("BUY" if quantity > 0 else "SELL", abs(quantity), round(limit_price, 2), orderRef=client_order_id,
                      account=account, tif="DAY", transmit=True)


IB_NO_PRICE = -1.0
"""IB's price for a side nobody quotes (with size 0); ib_async 2.1 keeps it (IBDefaults.emptyPrice)."""
NOT_COMPUTED_VOL, NOT_COMPUTED_GREEK = -1.0, -2.0
"""IB's "not computed" markers in tickOptionComputation; ib_async turns some into None, keeps −2 vega/theta."""


def _reported(value: float | None) -> bool:
    """ib_async leaves a field IB never sent at NaN (IBDefaults.unset)."""
    return value is not None and not math.isnan(value)


def underlying_quote(symbol: str, ticker: Ticker) -> UnderlyingQuote | None:
    """IB's prices as they are, −1 sentinels included: the quote gate judges them. None before IB said anything.
    An index (SPX) has no book: its level is both sides."""
    if ticker.contract is not None and ticker.contract.secType == "IND":
        level = next((v for v in (ticker.last, ticker.close) if _reported(v)), None)
        return None if level is None else UnderlyingQuote(symbol=symbol, bid=level, ask=level, last=level)
    if not (_reported(ticker.bid) and _reported(ticker.ask)):
        return None
    return UnderlyingQuote(symbol=symbol, bid=ticker.bid, ask=ticker.ask,
                           last=ticker.last if _reported(ticker.last) else IB_NO_PRICE)


def index_quote(symbol: str, ticker: Ticker) -> IndexQuote | None:
    value = next((v for v in (ticker.last, ticker.close) if _reported(v) and v > 0), None)
    if value is None:
        value = ticker.last if _reported(ticker.last) else None
    return None if value is None else IndexQuote(symbol=symbol, value=value)


def option_quote(contract: OptionContract, ticker: Ticker) -> OptionQuote | None:
    """IB's quote with its model greeks (vega per vol point, theta per day), sentinels kept for the quote gate: a
    missing side is −1, greeks IB did not compute are −1 (IV, underlying price) or −2. None until IB reported both
    sides (delayed data's ticks 66/67 and 83 land in the same fields)."""
    if not (_reported(ticker.bid) and _reported(ticker.ask)):
        return None
    greeks = ticker.modelGreeks

    def value(name: str, missing: float) -> float:
        v = getattr(greeks, name, None) if greeks is not None else None
        return missing if v is None or math.isnan(v) else v

    return OptionQuote(contract=contract, bid=ticker.bid, ask=ticker.ask,
                       iv=value("impliedVol", NOT_COMPUTED_VOL), delta=value("delta", NOT_COMPUTED_GREEK),
                       gamma=value("gamma", NOT_COMPUTED_GREEK), vega=value("vega", NOT_COMPUTED_GREEK),
                       theta=value("theta", NOT_COMPUTED_GREEK), underlying_price=value("undPrice", NOT_COMPUTED_VOL))


def positions_snapshot(positions: list[Position], account: str) -> tuple[BrokerPositionsSnapshot, list[str]]:
    """Option and stock positions of `account` as a complete snapshot, and a description of anything else it holds
    (futures, bonds...: nothing an option strategy of ours can leave behind)."""
    held, stock, other = [], [], []
    for position in positions:
        if position.account != account or not position.position:
            continue
        contract = option_contract(position.contract)
        if contract is None and position.contract.secType == "STK":
            stock.append(StockPosition(symbol=position.contract.symbol, quantity=round(position.position),
                                       avg_cost=round(position.avgCost, 4)))
            continue
        if contract is None:
            other.append(f"{position.contract.secType} {position.contract.symbol} {position.position:g}")
            continue
        held.append(BrokerPosition(contract=contract, quantity=round(position.position),
                                   avg_cost=round(position.avgCost, 4)))
    held.sort(key=lambda p: str(p.contract))
    stock.sort(key=lambda p: p.symbol)
    return BrokerPositionsSnapshot(positions=tuple(held), complete=True, stock=tuple(stock) or UNSET), other


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
        stock=fill.contract.symbol if fill.contract.secType == "STK" else UNSET,
    )
