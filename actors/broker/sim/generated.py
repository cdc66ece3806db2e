"""Generated quote source: the seeded simulated market, quoted through the chain model on every broker tick."""

from __future__ import annotations

from collections.abc import Sequence

from actors.broker.sim.config import SimSection
from actors.broker.sim.dividend_feed import schedule_of
from actors.broker.sim.market import SimulatedMarket
from actors.market_data.chain import chain_contracts, quote_contracts
from actors.market_time import market_hours
from messages import ChainSnapshot, IndexQuote, Message, OptionContract, OptionQuote, UnderlyingQuote

VOLATILITY_INDEX = "VIX"
UNDERLYING_HALF_SPREAD = 0.01


class GeneratedQuoteSource:
    scripted = False

    def __init__(self, params: SimSection, symbols: tuple[str, ...], start_ns: int) -> None:
        self._params = params
        self._market = SimulatedMarket(symbols, params.seed, start_ns)
        self._hours = market_hours()

    def on_market_input(self, message: Message) -> None:
        """Generated prices ignore outside quotes: the seeded market is the only truth."""

    def advance(self, now_ns: int) -> bool:
        self._market.advance(now_ns)
        return self._hours.is_open(now_ns)

    def is_open(self, now_ns: int) -> bool:
        return self._hours.is_open(now_ns)

    def next_tick(self, now_ns: int, interval_ns: int) -> int:
        return now_ns + interval_ns if self._hours.is_open(now_ns + interval_ns) else self._hours.next_open(now_ns)

    def underlying_quotes(self, symbols: Sequence[str], now_ns: int) -> list[UnderlyingQuote]:
        quotes = []
        for symbol in symbols:
            if symbol in self._market.symbols:
                spot = self._market.spot(symbol)
                quotes.append(
                    UnderlyingQuote(
                        ts=now_ns,
                        symbol=symbol,
                        bid=round(spot - UNDERLYING_HALF_SPREAD, 2),
                        ask=round(spot + UNDERLYING_HALF_SPREAD, 2),
                        last=round(spot, 2),
                    )
                )
        return quotes

    def index_quotes(self, now_ns: int) -> list[IndexQuote]:
        return [IndexQuote(ts=now_ns, symbol=VOLATILITY_INDEX, value=self._market.vix())]

    def option_quotes(self, contracts: Sequence[OptionContract], now_ns: int) -> list[OptionQuote]:
        quotes: list[OptionQuote] = []
        for symbol in sorted({c.symbol for c in contracts} & set(self._market.symbols)):
            quotes += quote_contracts(
                [c for c in contracts if c.symbol == symbol],
                self._market.spot(symbol),
                self._market.atm_iv(symbol),
                now_ns,
                self._params.rate,
                self._params.dividend_yield,
                schedule_of(self._params.dividends, symbol),
            )
        return quotes

    def chain(self, symbol: str, min_dte: int, max_dte: int, now_ns: int) -> ChainSnapshot:
        if symbol not in self._market.symbols:
            return ChainSnapshot(symbol=symbol, underlying_price=0.0, quotes=())
        spot = self._market.spot(symbol)
        contracts = chain_contracts(symbol, spot, now_ns, min_dte, max_dte)
        quotes = self.option_quotes(contracts, now_ns)
        return ChainSnapshot(symbol=symbol, underlying_price=round(spot, 4), quotes=tuple(quotes))
