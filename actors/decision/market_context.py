"""What the decision actor remembers of the market beyond option quotes: recent underlying prices and VIX."""

from __future__ import annotations

from collections import deque

from messages import IndexQuote, UnderlyingQuote

VOLATILITY_INDEX = "VIX"


class MarketContext:
    def __init__(self, move_window_ns: int) -> None:
        self._window_ns = move_window_ns
        self._prices: dict[str, deque[tuple[int, float]]] = {}
        self.vix = 0.0

    def on_underlying(self, quote: UnderlyingQuote) -> None:
        history = self._prices.setdefault(quote.symbol, deque())
        history.append((quote.ts, (quote.bid + quote.ask) / 2))
        # keep one sample at or before the window start, so the move is measured over the whole window
        while len(history) > 1 and history[1][0] <= quote.ts - self._window_ns:
            history.popleft()

    def on_index(self, quote: IndexQuote) -> None:
        if quote.symbol == VOLATILITY_INDEX:
            self.vix = quote.value

    def price(self, symbol: str) -> float | None:
        history = self._prices.get(symbol)
        return history[-1][1] if history else None

    def move_pct(self, symbol: str) -> float:
        """Change of the underlying over the window (0 until there is history)."""
        history = self._prices.get(symbol)
        if not history or history[0][1] <= 0:
            return 0.0
        return history[-1][1] / history[0][1] - 1.0
