"""The simulated exchange's fill rule for combo limit orders, as a pure function of the leg quotes.

Market makers fill a combo somewhere between mid and natural; `aggressiveness` is how far from mid toward natural
a limit must reach (0 = fills at mid, 1 = only at natural).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from actors.market_data.structure import structure_mid, structure_natural
from messages import Leg, OptionContract, OptionQuote


def fill_threshold(
    legs: Sequence[Leg], quotes: Mapping[OptionContract, OptionQuote], direction: int, aggressiveness: float
) -> float:
    mid = structure_mid(legs, quotes)
    natural = structure_natural(legs, quotes, direction)
    return mid + aggressiveness * (natural - mid)


def limit_crosses(
    legs: Sequence[Leg],
    quotes: Mapping[OptionContract, OptionQuote],
    quantity: int,
    limit_price: float,
    aggressiveness: float,
) -> bool:
    """A buy fills when its limit is at or above the threshold, a sell when at or below it."""
    direction = 1 if quantity > 0 else -1
    threshold = fill_threshold(legs, quotes, direction, aggressiveness)
    return direction * (limit_price - threshold) >= -1e-9


def commission_usd(legs: Sequence[Leg], quantity: int, per_contract_usd: float) -> float:
    return round(abs(quantity) * sum(abs(leg.ratio) for leg in legs) * per_contract_usd, 2)
