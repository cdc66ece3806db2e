"""The simulated market announces its dividend schedule (`sim.dividends`) the way IB streams tick 456: each symbol's
next dividend when it is first known and again whenever it changes (an ex-date passed: the one after it, or none)."""

from __future__ import annotations

import datetime as dt

from actors.broker.sim.dividends import DividendSection
from actors.market_data.pricing import ex_dividend_years
from actors.market_time import new_york_date
from messages import Dividends


def schedule_of(schedule: tuple[DividendSection, ...], symbol: str) -> tuple[tuple[dt.date, float], ...]:
    """`symbol`'s dividends as (ex-date, amount), for pricing (empty: the continuous `sim.dividend_yield`)."""
    return tuple(sorted((d.ex_date, d.amount) for d in schedule if d.symbol == symbol))


class DividendFeed:
    def __init__(self, schedule: tuple[DividendSection, ...]) -> None:
        self._schedule = schedule
        self._announced: dict[str, tuple[dt.date | None, float]] = {}

    def changes(self, now_ns: int) -> list[Dividends]:
        """Each symbol's next dividend not yet ex at `now_ns`, where it differs from the last one announced."""
        out: list[Dividends] = []
        for symbol in sorted({d.symbol for d in self._schedule}):
            schedule, today = schedule_of(self._schedule, symbol), new_york_date(now_ns)
            ahead = [(ex_date, amount) for ex_date, amount in schedule if ex_dividend_years(now_ns, ex_date) > 0]
            upcoming: tuple[dt.date | None, float] = ahead[0] if ahead else (None, 0.0)
            if self._announced.get(symbol) != upcoming:
                self._announced[symbol] = upcoming
                past = [a for d, a in schedule if (d, a) not in ahead and (today - d).days < 365]
                next_year = [a for d, a in ahead if (d - today).days < 365]
                out.append(Dividends(symbol=symbol, ex_date=upcoming[0], amount=upcoming[1],
                                     past_12m=round(sum(past, 0.0), 6), next_12m=round(sum(next_year, 0.0), 6)))
        return out
