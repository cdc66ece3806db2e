"""Position sync's memory of what the broker settled by itself: the underlying's last price in each recent session
(what an expiry settled at), the shares settlements left each strategy, and the stock orders that close them."""

from __future__ import annotations

import datetime as dt

from actors.market_time import market_hours, new_york_date
from actors.position_sync.assignment import (
    HeldStock,
    Holding,
    book_shares,
    close_shares,
    merge_lots,
    recognise_settlements,
    stock_mismatches,
)
from messages import (
    AssignedStockClosed,
    AssignedStockDividend,
    BrokerPositionsSnapshot,
    OptionContract,
    OrderFilled,
    PlaceOrder,
    SettledLeg,
    StockDividend,
    StrategySettled,
    UnderlyingQuote,
)

SESSION_PRICES_KEPT = 10
"""Sessions whose last underlying price is kept: an expiry is judged at the first report after it settles."""


class BrokerSettlements:
    def __init__(self) -> None:
        self._stock: dict[str, HeldStock] = {}  # strategy id -> shares its settlement left
        self._stock_orders: dict[str, str] = {}  # client order id of a stock order -> strategy id
        self._session_prices: dict[str, dict[dt.date, float]] = {}  # symbol -> {session: its last price}

    def note_price(self, quote: UnderlyingQuote) -> None:
        day = new_york_date(quote.ts)
        hours = market_hours()
        if not hours.is_session(day) or quote.ts > hours.session_bounds(day)[1]:
            return  # after the close: not what the session's expiries settled at
        prices = self._session_prices.setdefault(quote.symbol, {})
        prices[day] = (quote.bid + quote.ask) / 2
        for old in sorted(prices)[:-SESSION_PRICES_KEPT]:
            del prices[old]

    def _closing_price(self, symbol: str, expiry: dt.date) -> float | None:
        return self._session_prices.get(symbol, {}).get(market_hours().last_session_on_or_before(expiry))

    def _expected_stock(self) -> dict[str, int]:
        expected: dict[str, int] = {}
        for held in self._stock.values():
            expected[held.symbol] = expected.get(held.symbol, 0) + held.quantity
        return expected

    @staticmethod
    def _reported_stock(snapshot: BrokerPositionsSnapshot) -> dict[str, int]:
        reported: dict[str, int] = {}
        for position in snapshot.stock_positions:
            reported[position.symbol] = reported.get(position.symbol, 0) + position.quantity
        return reported

    def recognise(self, holdings: list[Holding], snapshot: BrokerPositionsSnapshot,
                  now_ns: int) -> dict[str, tuple[SettledLeg, ...]]:
        broker: dict[OptionContract, int] = {}
        for position in snapshot.positions:
            broker[position.contract] = broker.get(position.contract, 0) + position.quantity
        reported, expected = self._reported_stock(snapshot), self._expected_stock()
        appeared = {s: reported.get(s, 0) - expected.get(s, 0) for s in {*reported, *expected}}
        return recognise_settlements(holdings, broker, appeared, now_ns, self._closing_price)

    def hold(self, strategy_id: str, symbol: str, legs: tuple[SettledLeg, ...]) -> tuple[int, float, float]:
        """Book a settlement's shares against its strategy: (shares it holds now, their cost, dollars realised at
        once)."""
        shares, cost_usd, offset_usd = book_shares(legs)
        held = self._stock.pop(strategy_id, None)
        if held is not None:  # a second settlement of the strategy (an early assignment, then its expiry)
            shares, cost_usd, realised = merge_lots(held.quantity, held.cost_usd, shares, cost_usd)
            offset_usd += realised
        if shares:
            self._stock[strategy_id] = HeldStock(symbol=symbol, quantity=shares, cost_usd=cost_usd,
                                                 exec_ids=held.exec_ids if held is not None else set())
        return shares, cost_usd, offset_usd

    def restore(self, fact: StrategySettled | AssignedStockClosed) -> None:
        """The shares a strategy holds after `fact` (published by this actor, heard back), where they differ from what
        is held: only after a rebuild from the write-ahead log, which keeps the facts but not the positions snapshots
        they were recognised from. An agreeing fact changes nothing (the exact cost is kept)."""
        quantity = fact.stock_quantity if isinstance(fact, StrategySettled) else fact.remaining_quantity
        held = self._stock.get(fact.strategy_id)
        if (held.quantity if held is not None else 0) == quantity:
            return
        if not quantity:
            del self._stock[fact.strategy_id]
            return
        if isinstance(fact, StrategySettled):
            price = fact.stock_avg_price
        else:  # its cost is the settlement's, which a rebuild always replays first
            price = held.cost_usd / held.quantity if held is not None and held.quantity else fact.exit_price
        self._stock[fact.strategy_id] = HeldStock(symbol=fact.symbol, quantity=quantity, cost_usd=quantity * price,
                                                  exec_ids=held.exec_ids if held is not None else set())

    def on_dividend(self, dividend: StockDividend) -> tuple[list[AssignedStockDividend], int]:
        """A dividend the broker paid or charged on shares it held at the ex-date, booked against every strategy
        holding settlement shares of its symbol (each on its own shares), and the broker's shares no strategy holds."""
        booked = [AssignedStockDividend(strategy_id=strategy_id, symbol=held.symbol, ex_date=dividend.ex_date,
                                        quantity=held.quantity, amount=dividend.amount,
                                        realized_pnl_usd=round(held.quantity * dividend.amount, 2))
                  for strategy_id, held in sorted(self._stock.items()) if held.symbol == dividend.symbol]
        return booked, dividend.quantity - sum(b.quantity for b in booked)

    def stock_mismatches(self, snapshot: BrokerPositionsSnapshot) -> list[str]:
        return stock_mismatches(self._expected_stock(), self._reported_stock(snapshot))

    def closed_outside(self, snapshot: BrokerPositionsSnapshot) -> list[AssignedStockClosed]:
        """Settlement shares the broker shows fewer of (toward zero) with no stock order of ours working: closed by
        hand (the IB adapter sends no stock order) or bought in. Booked at the underlying's last price, which the
        caller says is approximate; more shares than held, or the other side, stay a mismatch."""
        reported, closed = self._reported_stock(snapshot), []
        for strategy_id, held in sorted(self._stock.items()):
            shown = reported.get(held.symbol, 0)
            others = sum(h.quantity for s, h in self._stock.items() if h.symbol == held.symbol and s != strategy_id)
            left = shown - others  # what of the symbol's shares is this strategy's, earlier strategies first
            if not (0 <= left * held.quantity and abs(left) < abs(held.quantity)):
                continue
            price = self._last_price(held.symbol)
            if price is None:
                continue
            quantity = left - held.quantity
            realized = close_shares(held, quantity, price)
            closed.append(AssignedStockClosed(strategy_id=strategy_id, symbol=held.symbol, closed_quantity=quantity,
                                              remaining_quantity=held.quantity, exit_price=round(price, 4),
                                              realized_pnl_usd=round(realized, 2), commissions_usd=0.0))
        for done in closed:
            if done.remaining_quantity == 0:
                del self._stock[done.strategy_id]
        return closed

    def _last_price(self, symbol: str) -> float | None:
        prices = self._session_prices.get(symbol)
        return prices[max(prices)] if prices else None

    def on_stock_order(self, place: PlaceOrder) -> None:
        self._stock_orders[place.client_order_id] = place.strategy_id

    def owns(self, client_order_id: str) -> bool:
        return client_order_id in self._stock_orders

    def on_stock_fill(self, fill: OrderFilled) -> AssignedStockClosed | None:
        strategy_id = self._stock_orders[fill.client_order_id]
        held = self._stock.get(strategy_id)
        if held is None or fill.exec_id in held.exec_ids:
            return None
        held.exec_ids.add(fill.exec_id)
        realized = close_shares(held, fill.quantity, fill.price) - fill.commission_usd
        if held.quantity == 0:
            del self._stock[strategy_id]
        return AssignedStockClosed(strategy_id=strategy_id, symbol=held.symbol, closed_quantity=fill.quantity,
                                   remaining_quantity=held.quantity, exit_price=fill.price,
                                   realized_pnl_usd=round(realized, 2), commissions_usd=fill.commission_usd)
