"""The limit-price walk: where an order's limit stands after each step, from mid toward natural.

Opening and closing orders walk `execution.price_steps` steps all the way to natural. A roll walks on its own terms
(`execution.roll_*`): more, smaller steps, and never more than `roll_max_concession` past its net mid, because a roll
that only fills at a bad price is better abandoned for a plain close (see `RollStrategy`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from actors.execution.config import ExecutionSection
from messages import OrderPurpose

PRICE_TICK = 0.01


def round_to_tick(price: float) -> float:
    return round(round(price / PRICE_TICK) * PRICE_TICK, 2)


@dataclass(frozen=True)
class Walk:
    steps: int
    step_interval_s: float
    deadline_s: float
    max_concession: float = math.inf
    """Dollars of premium per unit the limit may move away from mid (toward natural); natural bounds it anyway."""

    def limit(self, mid: float, natural: float, step: int) -> float:
        """The limit after `step` of `steps`: that fraction of the way from mid to natural, clamped by the
        concession, on the tick. Step 0 is mid."""
        target = mid + (natural - mid) * min(step, self.steps) / self.steps
        if natural >= mid:
            target = min(target, mid + self.max_concession)
        else:
            target = max(target, mid - self.max_concession)
        return round_to_tick(target)


def walk_for(params: ExecutionSection, purpose: str) -> Walk:
    if purpose == OrderPurpose.ROLL:
        return Walk(params.roll_price_steps, params.roll_step_interval_s, params.roll_deadline_s,
                    params.roll_max_concession)
    return Walk(params.price_steps, params.step_interval_s, params.deadline_s)
