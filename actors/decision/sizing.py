"""Position size: a fixed quantity, or the quantity whose max loss is a fraction of net liquidation.

`risk_pct`: quantity = floor(net liquidation × `entry.risk_per_trade_pct` / max loss per unit), capped so that no leg
exceeds `risk.max_contracts_per_order`. Pure: the decision core asks it with the candidate and the latest account.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from actors.decision.config import EntrySection
from actors.decision.strategies import StructureCandidate


@dataclass(frozen=True)
class Sized:
    quantity: int
    max_profit_usd: float
    max_loss_usd: float
    detail: str
    """How a `risk_pct` quantity was found; empty for a fixed one."""


def size_entry(candidate: StructureCandidate, params: EntrySection, net_liquidation_usd: float | None,
               max_contracts_per_order: int) -> Sized | str:
    """The sized entry, or why none (a one-line reason for the decision record)."""
    per_unit_loss = candidate.max_loss_usd / params.quantity
    per_unit_profit = candidate.max_profit_usd / params.quantity
    if params.sizing == "fixed":
        return Sized(params.quantity, candidate.max_profit_usd, candidate.max_loss_usd, "")
    if net_liquidation_usd is None or net_liquidation_usd <= 0:
        return "risk_pct sizing needs the broker's net liquidation; none reported yet"
    budget = net_liquidation_usd * params.risk_per_trade_pct
    by_risk = math.floor(budget / per_unit_loss + 1e-9)
    widest = max(abs(leg.ratio) for leg in candidate.legs)
    cap = max_contracts_per_order // widest
    quantity = min(by_risk, cap)
    if quantity < 1:
        return (f"risk_pct sizing: {params.risk_per_trade_pct:.2%} of net liquidation {net_liquidation_usd:.2f} is "
                f"{budget:.2f}, below one unit's max loss {per_unit_loss:.2f}")
    capped = f", capped at {cap} by max_contracts_per_order" if by_risk > cap else ""
    return Sized(quantity, round(per_unit_profit * quantity, 2), round(per_unit_loss * quantity, 2),
                 f"{quantity} = floor({budget:.2f} / {per_unit_loss:.2f} max loss per unit){capped}")
