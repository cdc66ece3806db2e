"""How listed equity options settle, in one place below the simulated exchange and position sync: when an expiry
settles, which options OCC exercises, and how many shares an exercise or assignment delivers.

OCC exercises every expiring option $0.01 or more in the money ("exercise by exception") unless its holder says
otherwise, and assigns the matching shorts; the rest expire worthless. Settlement is at the close of the expiry's
trading session (16:00 New York, 13:00 on an early close; the last session on or before the expiry date when that
date is a holiday). American options can also be exercised early: a short leg can be assigned any day."""

from __future__ import annotations

import datetime as dt
from functools import cache

from actors.market_time import market_hours
from messages import CONTRACT_MULTIPLIER, OptionContract

EXERCISE_THRESHOLD = 0.01
"""OCC's exercise-by-exception threshold: in the money by at least this much (dollars per share)."""


@cache
def settles_at_ns(expiry: dt.date) -> int:
    """The instant an expiry settles: the close of its last trading session."""
    hours = market_hours()
    return hours.session_bounds(hours.last_session_on_or_before(expiry))[1]


def intrinsic(contract: OptionContract, underlying_price: float) -> float:
    if contract.right == "C":
        return max(underlying_price - contract.strike, 0.0)
    return max(contract.strike - underlying_price, 0.0)


def exercised_at(contract: OptionContract, underlying_price: float) -> bool:
    """Whether OCC exercises (and so assigns) this option at expiry with the underlying at `underlying_price`."""
    return intrinsic(contract, underlying_price) >= EXERCISE_THRESHOLD - 1e-9


def delivered_shares(contract: OptionContract, quantity: int) -> int:
    """Shares an exercise or assignment of `quantity` contracts (signed, short < 0) puts in the account: a call
    held long buys them, a short call sells them; a put held long sells, a short put buys."""
    sign = 1 if contract.right == "C" else -1
    return sign * quantity * CONTRACT_MULTIPLIER
