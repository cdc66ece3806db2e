"""Where the simulated broker's prices come from: a seeded generated market, or quotes scripted by a scenario."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from messages import ChainSnapshot, IndexQuote, Message, OptionContract, OptionQuote, UnderlyingQuote


class QuoteSource(Protocol):
    scripted: bool
    """True when prices arrive as scenario messages (the broker then subscribes to them) instead of a clock tick."""

    def on_market_input(self, message: Message) -> None:
        """A scripted underlying or index quote; generated sources ignore it."""

    def advance(self, now_ns: int) -> bool:
        """Move the market to `now_ns`; true while the market is open."""

    def is_open(self, now_ns: int) -> bool:
        """Whether the exchange trades (and so fills orders) at `now_ns`."""

    def next_tick(self, now_ns: int, interval_ns: int) -> int:
        """When the broker should next tick: `interval_ns` on, or the next market open."""

    def underlying_quotes(self, symbols: Sequence[str], now_ns: int) -> list[UnderlyingQuote]: ...

    def index_quotes(self, now_ns: int) -> list[IndexQuote]: ...

    def option_quotes(self, contracts: Sequence[OptionContract], now_ns: int) -> list[OptionQuote]: ...

    def chain(self, symbol: str, min_dte: int, max_dte: int, now_ns: int) -> ChainSnapshot: ...
