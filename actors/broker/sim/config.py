"""`[sim]`: the simulated exchange and its generated or scripted market."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from actors.config_section import Section


class SimSection(Section, frozen=True, kw_only=True):
    LIMITS = {"seed": (0, 2**63 - 1), "tick_interval_s": (0.001, 86_400), "scripted_iv": (0.001, 5),
              "rate": (0, 1), "dividend_yield": (0, 1), "commission_per_contract_usd": (0, 100),
              "latency_ms": (0, 3_600_000), "positions_interval_s": (0.001, 86_400)}
    seed: int = 7
    start: dt.datetime = dt.datetime(2026, 3, 2, 14, 30, tzinfo=dt.UTC)
    market: Literal["generated", "scripted"] = "generated"
    tick_interval_s: float = 300.0
    scripted_iv: float = 0.18
    rate: float = 0.04
    dividend_yield: float = 0.013
    commission_per_contract_usd: float = 0.65
    partial_fill_probability: float = 0.0
    """Chance that a crossing combo order of several units fills only some of them this time."""
    reject_probability: float = 0.0
    latency_ms: int = 0
    """Delay of every acknowledgement, fill and cancel confirmation."""
    positions_interval_s: float = 900.0
    """How often the simulated account reports its positions (and after every fill)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("partial_fill_probability", "reject_probability"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"`{name}` must be within [0, 1]")
