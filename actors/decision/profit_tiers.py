"""Scaled take-profit: which tier a position has reached and how many units that tier closes.

Tiers are judged from facts alone: the quantity opened and the quantity still open say which tiers are done, so a
tier whose close order was refused, cancelled or only part-filled is simply due again (for what it has not closed
yet), and a rebuilt core knows where it stands without remembering anything. Profit is judged per unit (P&L over the
maximum profit of the quantity still open), so a reduced position is judged by the same yardstick as the whole.

Rounding: a tier closes `close_fraction` of the quantity opened, rounded down to whole units but at least one, and
never more than is left; the last tier closes whatever is left. A position too small to split (a 1-lot) is closed
whole by the first tier it reaches.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from actors.decision.config import TakeProfitTier


@dataclass(frozen=True)
class TierClose:
    tier: int
    """1-based."""
    units: int
    """Units this close takes (always positive); the whole rest on the last tier."""


def units_left_after(opened: int, tiers: Sequence[TakeProfitTier]) -> list[int]:
    """Units still open once each tier is done, for a position of `opened` units (positive)."""
    left, after = opened, []
    for index, tier in enumerate(tiers):
        last = index == len(tiers) - 1
        take = left if last else min(left, max(1, math.floor(opened * tier.close_fraction + 1e-9)))
        left -= take
        after.append(left)
    return after


def due_tier(profit_fraction: float, opened: int, open_now: int, tiers: Sequence[TakeProfitTier]) -> TierClose | None:
    """The tier to act on now, or None: the highest tier reached whose target quantity is not reached yet. One close
    covers every tier passed at once (a gap through 50% and 80% closes everything, not half and then half)."""
    if not tiers or opened <= 0 or open_now <= 0:
        return None
    targets = units_left_after(opened, tiers)
    reached = [i for i, tier in enumerate(tiers) if profit_fraction >= tier.profit_pct]
    if not reached:
        return None
    top = reached[-1]
    if open_now <= targets[top]:
        return None  # every tier reached is done (a later one is not reached yet)
    return TierClose(tier=top + 1, units=open_now - targets[top])
