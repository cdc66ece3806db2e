"""History quote source: the simulated exchange driven by real bars. The underlying follows a seeded bridge through
each bar's open, high, low and close (bridge.py); between bars it rests at the last close. The VIX is interpolated
between its recorded values; option chains are priced by the project's own model (chain.py: Black-Scholes with its
skew) at an ATM implied volatility of VIX/100. The broker ticks every `tick_interval_s` and also at each bar's
anchors, so the node is quoted every bar's high and low.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from actors.broker.sim.bridge import BarPath, bar_path
from actors.broker.sim.config import SimSection
from actors.broker.sim.history_data import Bars
from actors.market_data.chain import chain_contracts, quote_contracts
from actors.market_time import market_hours
from messages import ChainSnapshot, IndexQuote, Message, OptionContract, OptionQuote, UnderlyingQuote

VOLATILITY_INDEX = "VIX"
UNDERLYING_HALF_SPREAD = 0.01


class HistoryPrices:
    """Underlying price and VIX at any time within (and around) the bars; one bar's path is kept at a time."""

    SNAPSHOT_FRESH = ("_bars",)  # years of bars read from the configured file: config, not state

    def __init__(self, bars: Bars, seed: int) -> None:
        self._bars = bars
        self._seed = seed
        self._path: tuple[int, BarPath] | None = None

    def _bar_at(self, now_ns: int) -> int:
        """Index of the last bar starting at or before `now_ns` (-1 before the first)."""
        return int(np.searchsorted(self._bars.starts, now_ns, side="right")) - 1

    def path(self, index: int) -> BarPath:
        if self._path is None or self._path[0] != index:
            b = self._bars
            rng = np.random.default_rng([self._seed, index])
            self._path = (index, bar_path(int(b.starts[index]), int(b.ends[index]), float(b.open[index]),
                                          float(b.high[index]), float(b.low[index]), float(b.close[index]), rng))
        return self._path[1]

    def price(self, now_ns: int) -> float:
        index = self._bar_at(now_ns)
        if index < 0:
            return float(self._bars.open[0])
        if now_ns >= self._bars.ends[index]:
            return float(self._bars.close[index])
        return self.path(index).price_at(now_ns)

    def vix(self, now_ns: int) -> float:
        return float(np.interp(now_ns, self._bars.vix_times, self._bars.vix_values))

    def next_anchor(self, now_ns: int) -> int | None:
        """The next time the path touches a bar price (open, extreme, close) after `now_ns`."""
        index = self._bar_at(now_ns)
        if index >= 0 and now_ns < self._bars.ends[index]:
            anchor = self.path(index).next_anchor_after(now_ns)
            if anchor is not None:
                return anchor
        following = index + 1
        return int(self._bars.starts[following]) if following < len(self._bars) else None


class HistoryQuoteSource:
    scripted = False

    def __init__(self, params: SimSection, bars: Bars) -> None:
        self._params = params
        self._symbol = params.history_symbol
        self._prices = HistoryPrices(bars, params.seed)
        self._hours = market_hours()

    def on_market_input(self, message: Message) -> None:
        """History is the only truth: outside quotes are ignored."""

    def advance(self, now_ns: int) -> bool:
        return self._hours.is_open(now_ns)

    def is_open(self, now_ns: int) -> bool:
        return self._hours.is_open(now_ns)

    def next_tick(self, now_ns: int, interval_ns: int) -> int:
        regular = now_ns + interval_ns if self._hours.is_open(now_ns + interval_ns) else self._hours.next_open(now_ns)
        anchor = self._prices.next_anchor(now_ns)
        return regular if anchor is None else min(regular, anchor)

    def _spot(self, now_ns: int) -> float:
        return round(self._prices.price(now_ns), 4)

    def _atm_iv(self, now_ns: int) -> float:
        return self._prices.vix(now_ns) / 100.0

    def underlying_quotes(self, symbols: Sequence[str], now_ns: int) -> list[UnderlyingQuote]:
        if self._symbol not in symbols:
            return []
        spot = self._spot(now_ns)
        return [UnderlyingQuote(ts=now_ns, symbol=self._symbol, bid=round(spot - UNDERLYING_HALF_SPREAD, 2),
                                ask=round(spot + UNDERLYING_HALF_SPREAD, 2), last=round(spot, 2))]

    def index_quotes(self, now_ns: int) -> list[IndexQuote]:
        return [IndexQuote(ts=now_ns, symbol=VOLATILITY_INDEX, value=round(self._prices.vix(now_ns), 2))]

    def option_quotes(self, contracts: Sequence[OptionContract], now_ns: int) -> list[OptionQuote]:
        mine = [c for c in contracts if c.symbol == self._symbol]
        if not mine:
            return []
        return quote_contracts(mine, self._spot(now_ns), self._atm_iv(now_ns), now_ns, self._params.rate,
                               self._params.dividend_yield)

    def chain(self, symbol: str, min_dte: int, max_dte: int, now_ns: int) -> ChainSnapshot:
        if symbol != self._symbol:
            return ChainSnapshot(symbol=symbol, underlying_price=0.0, quotes=())
        spot = self._spot(now_ns)
        contracts = chain_contracts(symbol, spot, now_ns, min_dte, max_dte)
        quotes = self.option_quotes(contracts, now_ns)
        return ChainSnapshot(symbol=symbol, underlying_price=spot, quotes=tuple(quotes))
