"""Which mailbox policy each message class gets: market data conflates (but for the classes a core keeps every one
of), diagnostics drop, the rest never drops."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from actors.runtime.core import ActorCore
from actors.runtime.mailbox import CONTROL, Delivery, Policy
from messages import (
    DecisionRecord,
    IndexQuote,
    Message,
    OptionQuote,
    OptionQuotes,
    PortfolioGreeks,
    StrategyGreeks,
    UnderlyingQuote,
    VolatilityStats,
)

_CONFLATION_KEYS: dict[type[Message], Callable[[Any], Any]] = {
    UnderlyingQuote: lambda m: ("underlying", m.symbol),
    OptionQuote: lambda m: ("option", m.contract),
    IndexQuote: lambda m: ("index", m.symbol),
    VolatilityStats: lambda m: ("volstats", m.symbol),
    StrategyGreeks: lambda m: ("greeks", m.strategy_id),
    PortfolioGreeks: lambda m: ("portfolio-greeks",),
}
_BLOCK = Delivery(Policy.BLOCK)
_IN_FULL = Delivery(Policy.BLOCK, fences=False)


class MergedBursts:
    """Bursts not yet handled, as one: every contract's newest quote, in the order first quoted. Stamped as the newest
    burst, which is the latest any of them says about the market. The merged burst keeps the first one's place (only
    market data queued since: anything else fences it, see `Delivery.fences`), so a single `OptionQuote` queued
    between two bursts would be handled after newer quotes: a feed publishes its option quotes all in bursts (the IB
    session) or all alone (the simulated broker), never both.

    Each burst adds only its own quotes: a lazily woken actor (risk) can leave one burst queued while hundreds more
    arrive, and rebuilding the gathered quotes on each would cost the publisher more than the quotes themselves."""

    __slots__ = ("_latest", "_newest")

    def __init__(self, queued: OptionQuotes) -> None:
        self._latest = {quote.contract: quote for quote in queued.quotes}
        self._newest = queued

    def add(self, newer: OptionQuotes) -> None:
        latest = self._latest
        for quote in newer.quotes:
            latest[quote.contract] = quote
        self._newest = newer

    def message(self) -> OptionQuotes:
        return msgspec.structs.replace(self._newest, quotes=tuple(self._latest.values()))


_CONFLATE = {cls: Delivery(Policy.CONFLATE, key) for cls, key in _CONFLATION_KEYS.items()}
_CONFLATE[OptionQuotes] = Delivery(Policy.CONFLATE, lambda m: ("option-burst",), MergedBursts)

DIAGNOSTIC_TYPES: frozenset[type[Message]] = frozenset({DecisionRecord})
"""Explanations rather than facts: a lagging market-state consumer may lose the oldest, the journal never does."""
_DROP_OLDEST = Delivery(Policy.DROP_OLDEST)


def conflating(message: Any) -> Delivery:
    """For actors that only need the latest market state (decision, market data)."""
    if not isinstance(message, Message):
        return CONTROL
    delivery = _CONFLATE.get(type(message))
    if delivery is not None:
        return delivery
    return _DROP_OLDEST if type(message) in DIAGNOSTIC_TYPES else _BLOCK


def lossless(message: Any) -> Delivery:
    """For actors that must see every message (persistence, execution, broker): nothing conflates, nothing drops."""
    return _BLOCK if isinstance(message, Message) else CONTROL


def classifier_of(core: ActorCore) -> Callable[[Any], Delivery]:
    """`core`'s mailbox policy: lossless, conflating, or conflating all but the market data it keeps every one of."""
    if core.lossless:
        return lossless
    in_full = frozenset(core.delivered_in_full)
    if not in_full:
        return conflating
    return lambda message: _IN_FULL if type(message) in in_full else conflating(message)
