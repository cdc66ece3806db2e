"""Prices of a multi-leg structure from leg quotes: mid and natural, as signed net prices per structure unit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from messages import Leg, OptionContract, OptionQuote


def structure_mid(legs: Sequence[Leg], quotes: Mapping[OptionContract, OptionQuote]) -> float:
    return sum(leg.ratio * (quotes[leg.contract].bid + quotes[leg.contract].ask) / 2 for leg in legs)


def structure_natural(legs: Sequence[Leg], quotes: Mapping[OptionContract, OptionQuote], direction: int) -> float:
    """The price that crosses every leg's spread when trading `direction` (+1 buy, -1 sell) units of the structure."""
    total = 0.0
    for leg in legs:
        quote = quotes[leg.contract]
        pays_the_ask = leg.ratio * direction > 0
        total += leg.ratio * (quote.ask if pays_the_ask else quote.bid)
    return total

