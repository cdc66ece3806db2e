"""What the decision actor remembers of the market beyond option quotes: recent underlying prices and VIX."""

from __future__ import annotations

from collections import deque

from messages import IndexQuote, UnderlyingQuote

VOLATILITY_INDEX = "VIX"


class MarketContext:
    SNAPSHOT_FRESH = ("window_ns",)  # from config
    def __init__(self, move_window_ns: int) -> None:
        self.window_ns = move_window_ns
        self._prices: dict[str, deque[tuple[int, float]]] = {}
        self.vix = 0.0
        self.vix_ts = 0

    def on_underlying(self, quote: UnderlyingQuote) -> None:
        history = self._prices.setdefault(quote.symbol, deque())
        history.append((quote.ts, (quote.bid + quote.ask) / 2))
        # keep one sample at or before the window start, so the move is measured over the whole window
        while len(history) > 1 and history[1][0] <= quote.ts - self.window_ns:
            history.popleft()

    def on_index(self, quote: IndexQuote) -> None:
        if quote.symbol == VOLATILITY_INDEX:
            self.vix = quote.value
            self.vix_ts = quote.ts

    def quoted_at(self, symbol: str) -> int:
        """When `symbol` was last quoted (0: never)."""
        history = self._prices.get(symbol)
        return history[-1][0] if history else 0

    def stale_inputs(self, symbol: str, now_ns: int, limit_ns: int) -> list[str]:
        """What an entry in `symbol` would wait for: its underlying or VIX quote missing or older than `limit_ns`."""
        return [f"{name} {_age(now_ns, at)}" for name, at in ((symbol, self.quoted_at(symbol)),
                                                              (VOLATILITY_INDEX, self.vix_ts))
                if not at or now_ns - at > limit_ns]

    def price(self, symbol: str) -> float | None:
        history = self._prices.get(symbol)
        return history[-1][1] if history else None

    def move_pct(self, symbol: str) -> float:
        """Change of the underlying over the window (0 until there is history)."""
        history = self._prices.get(symbol)
        if not history or history[0][1] <= 0:
            return 0.0
        return history[-1][1] / history[0][1] - 1.0


def _age(now_ns: int, at_ns: int) -> str:
    if not at_ns:
        return "never quoted"
    return f"quote {(now_ns - at_ns) / 60e9:.0f} min old"
