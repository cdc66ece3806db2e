"""Shares in the simulated account (what an exercise or assignment leaves) and the exchange's rule for stock
limit orders, pure functions the simulated broker core applies."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from msgspec import UNSET, UnsetType

from messages import OrderFilled, PlaceOrder, StockPosition, UnderlyingQuote

STOCK_COMMISSION_PER_SHARE_USD = 0.005
STOCK_COMMISSION_MINIMUM_USD = 1.0
"""IB's fixed pricing for US stock: half a cent a share, at least a dollar an order."""
STOCK_INITIAL_MARGIN = 0.5
"""Reg T initial margin of a stock position, long or short: half its market value."""


def stock_fill_price(quote: UnderlyingQuote, quantity: int, limit_price: float) -> float | None:
    """A marketable stock limit fills at once at the touch (price improvement to it); one that does not reach the
    touch rests (no hidden liquidity inside the spread, unlike a combo's market makers)."""
    if quantity > 0:
        return quote.ask if limit_price >= quote.ask - 1e-9 else None
    return quote.bid if limit_price <= quote.bid + 1e-9 else None


def stock_commission_usd(quantity: int) -> float:
    return round(max(abs(quantity) * STOCK_COMMISSION_PER_SHARE_USD, STOCK_COMMISSION_MINIMUM_USD), 2)


def add_shares(held: int, cost_usd: float, quantity: int, price: float) -> tuple[int, float]:
    """Shares held and their total cost after trading `quantity` at `price`: a reduction takes its share of the cost
    at the average price; a trade through zero starts a new position at `price`."""
    after = held + quantity
    if held == 0 or (held > 0) == (quantity > 0):
        return after, cost_usd + quantity * price
    if after == 0 or (after > 0) == (held > 0):
        return after, cost_usd * after / held
    return after, after * price


class SimShares:
    """The simulated account's shares: quantity and total cost per symbol."""

    def __init__(self) -> None:
        self._held: Counter[str] = Counter()
        self._costs: Counter[str] = Counter()

    def trade(self, symbol: str, quantity: int, price: float) -> None:
        self._held[symbol], self._costs[symbol] = add_shares(self._held[symbol], self._costs[symbol], quantity, price)

    def quantity(self, symbol: str) -> int:
        return self._held[symbol]

    def positions(self) -> tuple[StockPosition, ...] | UnsetType:
        """As the positions report carries them: unset (not even encoded) while no shares are held."""
        held = tuple(StockPosition(symbol=s, quantity=q, avg_cost=round(self._costs[s] / q, 4))
                     for s, q in sorted(self._held.items()) if q)
        return held or UNSET

    def value_usd(self, marks: Mapping[str, float]) -> float:
        return sum(q * marks.get(s, self._costs[s] / q) for s, q in self._held.items() if q)

    def margin_usd(self, marks: Mapping[str, float]) -> float:
        return STOCK_INITIAL_MARGIN * sum(abs(q * marks.get(s, self._costs[s] / q)) for s, q in self._held.items() if q)


def stock_fill(order: PlaceOrder, filled: int, limit_price: float, quote: UnderlyingQuote | None,
               exec_id: str) -> OrderFilled | None:
    """The rest of a working stock order filled at the touch, if its limit reaches it."""
    price = None if quote is None else stock_fill_price(quote, order.quantity, limit_price)
    if price is None:
        return None
    quantity = order.quantity - filled
    return OrderFilled(client_order_id=order.client_order_id, exec_id=exec_id, quantity=quantity, price=price,
                       commission_usd=stock_commission_usd(quantity))
