"""Early assignment: when the holder of an option we are short is likely to exercise it before expiry (pure).

American equity options can be exercised any day, and a holder exercises when the option is worth less alive than
exercised:
- **Dividend.** Exercising a call the day before the ex-date buys the stock in time for its dividend; keeping the
  call gives up the dividend (the stock drops by it on the ex-date) in exchange for the call's extrinsic value. So a
  short call in the money whose extrinsic value (mark − intrinsic) is below the next dividend is likely assigned at
  the close of the last day before the ex-date, leaving the account short stock and owing the dividend.
- **Deep in the money.** A leg with next to no extrinsic value left (|delta| near 1) is worth the same exercised or
  not; a holder (or the market maker with stock against it) can exercise any day, puts especially (the cash from
  selling the stock earns interest). Assignment then leaves stock the spread's other legs no longer hedge.

Both are judged from the leg's own market mark (what buying it back costs, `actors/market_data/marks.py`) against its
intrinsic value at the underlying's current price. The exit closes (or rolls) the whole position the day before, not
leg by leg: a spread whose short leg is assigned is no longer a defined-risk structure.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import msgspec

from actors.market_time import market_hours


class ShortLegMark(msgspec.Struct, frozen=True):
    """One short leg as the rule sees it."""

    label: str
    right: Literal["C", "P"]
    strike: float
    expiry: dt.date
    mark: float
    """Per share: what buying it back costs (the leg's mark)."""
    delta: float

    def intrinsic(self, spot: float) -> float:
        return max(spot - self.strike, 0.0) if self.right == "C" else max(self.strike - spot, 0.0)

    def extrinsic(self, spot: float) -> float:
        """Mark less intrinsic value; negative when the market quotes it below intrinsic (a European-style mark of a
        deep in-the-money call before a dividend, or a stale quote)."""
        return self.mark - self.intrinsic(spot)


class DividendAhead(msgspec.Struct, frozen=True):
    """The underlying's next dividend as the rule needs it."""

    ex_date: dt.date
    amount: float
    sessions_to_ex: int
    """Trading sessions after today up to and including the ex-date (1: the ex-date is the next trading day, so
    today is the last day a holder can exercise for the dividend)."""


def sessions_until(today: dt.date, ex_date: dt.date, limit: int) -> int:
    """Sessions in (today, ex_date], counted up to `limit + 1` (beyond the window the exact number does not matter)."""
    hours, count, day = market_hours(), 0, today
    while day < ex_date and count <= limit:
        day += dt.timedelta(days=1)
        count += hours.is_session(day)
    return count


def dividend_ahead(today: dt.date, ex_date: dt.date | None, amount: float, limit: int) -> DividendAhead | None:
    """The dividend, when one is announced with its ex-date still ahead (an ex-date today or past is priced in)."""
    if ex_date is None or amount <= 0 or ex_date <= today:
        return None
    return DividendAhead(ex_date, amount, sessions_until(today, ex_date, limit))


def dividend_exercise(legs: tuple[ShortLegMark, ...], spot: float, dividend: DividendAhead | None,
                      within_sessions: int) -> str | None:
    """Why a short call is likely exercised for the dividend, or None."""
    if dividend is None or spot <= 0 or not 1 <= dividend.sessions_to_ex <= within_sessions:
        return None
    for leg in legs:
        if leg.right != "C" or leg.expiry < dividend.ex_date or leg.intrinsic(spot) <= 0:
            continue  # a put is not exercised for a dividend; a call expiring before the ex-date cannot capture it
        extrinsic = leg.extrinsic(spot)
        if extrinsic < dividend.amount:
            return (f"short {leg.label} extrinsic {extrinsic:.2f} below the {dividend.amount:.2f} dividend going ex on "
                    f"{dividend.ex_date} ({dividend.sessions_to_ex} session(s) away): early exercise likely")
    return None


def deep_in_the_money(legs: tuple[ShortLegMark, ...], spot: float, min_abs_delta: float,
                      extrinsic_floor: float) -> str | None:
    """Why a short leg is likely exercised any day, or None."""
    if spot <= 0:
        return None
    for leg in legs:
        extrinsic = leg.extrinsic(spot)
        if leg.intrinsic(spot) > 0 and abs(leg.delta) >= min_abs_delta and extrinsic < extrinsic_floor:
            return (f"short {leg.label} deep in the money (delta {leg.delta:+.2f}) with extrinsic {extrinsic:.2f} "
                    f"below {extrinsic_floor:.2f}: early assignment likely")
    return None
