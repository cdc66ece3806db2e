"""The account as the broker values it: net liquidation, margin and available funds, from `BrokerAccountValues`.

IB reports every value as text per currency; a key that is missing or not a number is unknown (None), never zero:
a check that needs it refuses instead of trusting a guess.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from messages import BrokerAccountValues


def _number(values: dict[str, str], key: str) -> float | None:
    text = values.get(key)
    try:
        number = float(text) if text is not None else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) and abs(number) < 1e300 else None


@dataclass(frozen=True)
class Account:
    net_liquidation_usd: float | None = None
    init_margin_usd: float | None = None
    available_funds_usd: float | None = None
    """IB's AvailableFunds (net liquidation less initial margin): what a new position's margin must fit in."""

    @classmethod
    def from_values(cls, message: BrokerAccountValues) -> Account:
        values = {v.key: v.value for v in message.values if v.currency in ("USD", "")}
        return cls(_number(values, "NetLiquidation"), _number(values, "InitMarginReq"),
                   _number(values, "AvailableFunds"))
