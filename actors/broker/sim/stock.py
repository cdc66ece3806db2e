"""Shares in the simulated account (what an exercise or assignment leaves) and the exchange's rule for stock
limit orders, pure functions the simulated broker core applies."""

from __future__ import annotations

from messages import UnderlyingQuote

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
