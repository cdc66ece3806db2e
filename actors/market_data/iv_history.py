"""Daily ATM implied-volatility history per underlying, and IV rank / IV percentile over a rolling window."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from actors.market_time import days_to_expiry
from messages import IvPoint, OptionQuote


def atm_iv(quotes: Sequence[OptionQuote], underlying_price: float, now_ns: int, target_dte: int) -> float | None:
    """Mean IV of the put and call nearest the money, in the expiry closest to `target_dte`."""
    priced = [q for q in quotes if q.iv > 0 and q.underlying_price > 0]
    if not priced or underlying_price <= 0:
        return None
    expiry = min({q.contract.expiry for q in priced}, key=lambda e: (abs(days_to_expiry(now_ns, e) - target_dte), e))
    in_expiry = [q for q in priced if q.contract.expiry == expiry]
    strike = min({q.contract.strike for q in in_expiry}, key=lambda k: (abs(k - underlying_price), k))
    at_strike = [q.iv for q in in_expiry if q.contract.strike == strike]
    return sum(at_strike) / len(at_strike)


class IvHistory:
    """One sample per session date (the latest of the day wins), at most `window` sessions, oldest dropped."""

    def __init__(self, window: int) -> None:
        self._window = window
        self._by_date: dict[dt.date, float] = {}

    def restore(self, points: Iterable[IvPoint]) -> None:
        for point in points:
            self.record(point)

    def record(self, point: IvPoint) -> bool:
        """True when the history changed."""
        if self._by_date.get(point.session_date) == point.atm_iv:
            return False
        self._by_date[point.session_date] = point.atm_iv
        for stale in sorted(self._by_date)[: max(len(self._by_date) - self._window, 0)]:
            del self._by_date[stale]
        return True

    def __len__(self) -> int:
        return len(self._by_date)

    def rank_and_percentile(self, current: float) -> tuple[float, float]:
        """IV rank: where `current` sits between the window's low and high (0-100). IV percentile: the share of
        sessions whose IV was below `current` (0-100). Both 50 when the history cannot discriminate yet."""
        values = list(self._by_date.values())
        if len(values) < 2:
            return 50.0, 50.0
        low, high = min(values), max(values)
        rank = 50.0 if high == low else 100.0 * (current - low) / (high - low)
        percentile = 100.0 * sum(1 for v in values if v < current) / len(values)
        return round(min(max(rank, 0.0), 100.0), 2), round(percentile, 2)
