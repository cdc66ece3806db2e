"""Scripted quote source: the scenario supplies underlying and VIX quotes; option prices follow from the model.

Deterministic by construction — no randomness: spot is the mid of the latest scripted underlying quote, the ATM
implied volatility is the latest VIX/100 (or `scripted_iv` until a VIX quote arrives).
"""

from __future__ import annotations

from collections.abc import Sequence

from actors.broker.sim.config import SimSection
from actors.broker.sim.dividend_feed import schedule_of
from actors.market_data.chain import chain_contracts, quote_contracts
from actors.market_time import market_hours
from messages import ChainSnapshot, IndexQuote, Message, OptionContract, OptionQuote, UnderlyingQuote

VOLATILITY_INDEX = "VIX"


class ScriptedQuoteSource:
    scripted = True

    def __init__(self, params: SimSection) -> None:
        self._params = params
        self._underlyings: dict[str, UnderlyingQuote] = {}
        self._atm_iv = params.scripted_iv
        self._hours = market_hours()

    def on_market_input(self, message: Message) -> None:
        if isinstance(message, UnderlyingQuote):
            self._underlyings[message.symbol] = message
        elif isinstance(message, IndexQuote) and message.symbol == VOLATILITY_INDEX and message.value > 0:
            self._atm_iv = message.value / 100.0

    def advance(self, now_ns: int) -> bool:
        return self._hours.is_open(now_ns)

    def is_open(self, now_ns: int) -> bool:
        return self._hours.is_open(now_ns)

    def next_tick(self, now_ns: int, interval_ns: int) -> int:
        return now_ns + interval_ns if self._hours.is_open(now_ns + interval_ns) else self._hours.next_open(now_ns)

    def _spot(self, symbol: str) -> float | None:
        quote = self._underlyings.get(symbol)
        return None if quote is None else (quote.bid + quote.ask) / 2

    def underlying_quotes(self, symbols: Sequence[str], now_ns: int) -> list[UnderlyingQuote]:
        return [self._underlyings[s] for s in symbols if s in self._underlyings]

    def index_quotes(self, now_ns: int) -> list[IndexQuote]:
        return []

    def option_quotes(self, contracts: Sequence[OptionContract], now_ns: int) -> list[OptionQuote]:
        quotes: list[OptionQuote] = []
        for symbol in sorted({c.symbol for c in contracts}):
            spot = self._spot(symbol)
            if spot is not None:
                of_symbol = [c for c in contracts if c.symbol == symbol]
                quotes += quote_contracts(
                    of_symbol, spot, self._atm_iv, now_ns, self._params.rate, self._params.dividend_yield,
                    schedule_of(self._params.dividends, symbol),
                )
        return quotes

    def chain(self, symbol: str, min_dte: int, max_dte: int, now_ns: int) -> ChainSnapshot:
        spot = self._spot(symbol)
        if spot is None:
            return ChainSnapshot(symbol=symbol, underlying_price=0.0, quotes=())
        contracts = chain_contracts(symbol, spot, now_ns, min_dte, max_dte)
        quotes = quote_contracts(contracts, spot, self._atm_iv, now_ns, self._params.rate, self._params.dividend_yield,
                                 schedule_of(self._params.dividends, symbol))
        return ChainSnapshot(symbol=symbol, underlying_price=round(spot, 4), quotes=tuple(quotes))
