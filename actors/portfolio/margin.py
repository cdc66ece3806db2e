"""Margin of defined-risk option positions: per underlying and expiry, the worst loss at expiry less the premium
received (width × 100 × quantity − credit for a credit spread). Undefined-risk groups (net short calls) have no
defined-risk margin; `None` tells the caller to refuse rather than guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import groupby

from messages import CONTRACT_MULTIPLIER, OptionContract


def _intrinsic(contract: OptionContract, spot: float) -> float:
    return max(spot - contract.strike, 0.0) if contract.right == "C" else max(contract.strike - spot, 0.0)


def worst_expiry_value_usd(positions: Mapping[OptionContract, int]) -> float | None:
    """The lowest value at expiry (dollars, ≤ 0 for a short structure) of positions on one underlying and expiry;
    None when net short calls make it unbounded."""
    if sum(q for c, q in positions.items() if c.right == "C") < 0:
        return None
    strikes = sorted({c.strike for c in positions})
    grid = [0.0, *strikes]  # payoff is piecewise linear with kinks at strikes; beyond the last it is flat or rising
    return min(sum(q * _intrinsic(c, spot) for c, q in positions.items()) for spot in grid) * CONTRACT_MULTIPLIER


def defined_risk_margin_usd(positions: Mapping[OptionContract, int], premium_received_usd: Mapping[OptionContract, float]
                            ) -> float | None:
    """Sum over (symbol, expiry) groups of max(0, −worst value at expiry − premium received); None if any group is
    not defined-risk. `premium_received_usd` is per contract, positive for what was sold."""
    total = 0.0
    key = lambda c: (c.symbol, c.expiry)  # noqa: E731 - the grouping key, twice
    for _, group in groupby(sorted((c for c, q in positions.items() if q), key=lambda c: (key(c), str(c))), key=key):
        held = {c: positions[c] for c in group}
        worst = worst_expiry_value_usd(held)
        if worst is None:
            return None
        total += max(0.0, -worst - sum(premium_received_usd.get(c, 0.0) for c in held))
    return round(total, 2)
