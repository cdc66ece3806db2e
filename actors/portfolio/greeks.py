"""Greeks of strategies and of the portfolio, in position units, from the latest quote of every leg."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from messages import CONTRACT_MULTIPLIER, Leg, OptionContract, OptionQuote


@dataclass(frozen=True)
class GreekTotals:
    delta: float = 0.0
    gamma: float = 0.0
    vega: float = 0.0
    theta: float = 0.0

    def __add__(self, other: GreekTotals) -> GreekTotals:
        return GreekTotals(self.delta + other.delta, self.gamma + other.gamma, self.vega + other.vega,
                           self.theta + other.theta)

    def rounded(self) -> GreekTotals:
        return GreekTotals(*(round(v, 4) for v in (self.delta, self.gamma, self.vega, self.theta)))


def structure_greeks(
    legs: tuple[Leg, ...], quantity: int, quotes: Mapping[OptionContract, OptionQuote]
) -> GreekTotals | None:
    """Sum of leg greeks × ratio × quantity × multiplier; None until every leg has been quoted."""
    delta = gamma = vega = theta = 0.0  # summed leg by leg, in order: the totals GreekTotals' own + would give
    for leg in legs:
        quote = quotes.get(leg.contract)
        if quote is None:
            return None
        units = leg.ratio * quantity * CONTRACT_MULTIPLIER
        delta += quote.delta * units
        gamma += quote.gamma * units
        vega += quote.vega * units
        theta += quote.theta * units
    return GreekTotals(round(delta, 4), round(gamma, 4), round(vega, 4), round(theta, 4))


def structure_delta(legs: tuple[Leg, ...], quantity: int, quotes: Mapping[OptionContract, OptionQuote]) -> float | None:
    """`structure_greeks(...).delta` alone, for a reader that needs nothing else (the book's delta exits, on every
    burst of quotes): summed and rounded the same way, so the two never differ."""
    delta = 0.0
    for leg in legs:
        quote = quotes.get(leg.contract)
        if quote is None:
            return None
        delta += quote.delta * (leg.ratio * quantity * CONTRACT_MULTIPLIER)
    return round(delta, 4)
