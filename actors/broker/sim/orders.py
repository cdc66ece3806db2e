"""An order working at the simulated exchange, and its own luck: its reject and its partial fills are decided by
seeded uniform draws the order owns, so the same orders see the same luck in every replay, whatever else happens."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from messages import PlaceOrder


@dataclass
class SimOrder:
    order: PlaceOrder
    broker_order_id: int
    limit_price: float
    filled: int = 0
    draws: int = 0

    def draw(self, seed: int) -> float:
        """The order's next uniform draw in [0, 1)."""
        self.draws += 1
        return float(np.random.default_rng([seed, self.broker_order_id, self.draws]).random())
