"""`[[sim.dividends]]`: the simulated market's dividend schedule, one cash dividend per entry."""

from __future__ import annotations

import datetime as dt

from actors.config_section import Section


class DividendSection(Section, frozen=True, kw_only=True):
    symbol: str
    ex_date: dt.date
    amount: float

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.amount <= 0:
            raise ValueError(f"dividend `amount` must be positive, got {self.amount}")
