"""IB link policy, as pure functions: what an error code means for the connection, and when the daily gateway
restart pauses order submission."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")
NS_PER_S = 1_000_000_000


class Notice(StrEnum):
    LINK_LOST = "link_lost"
    """1100: TWS/Gateway lost IB's servers; the socket may stay up but order outcomes are unknown."""
    RESTORED_DATA_LOST = "restored_data_lost"
    """1101: back, market-data subscriptions are gone: resubscribe and reconcile."""
    RESTORED_DATA_KEPT = "restored_data_kept"
    """1102: back with subscriptions intact: reconcile orders and executions."""
    FARM_BROKEN = "farm_broken"
    """2103/2105/2157: a market or historical data farm is down: data only, never a disconnect."""
    FARM_OK = "farm_ok"
    """2104/2106/2158: a data farm is fine again."""
    COMPETING_SESSION = "competing_session"
    """10197: another login took the market data."""
    PACING = "pacing"
    """100: IB's message rate limit was exceeded."""
    INFORMATIONAL = "informational"
    """2100-2199 notices that need no action."""
    MARKET_DATA = "market_data"
    """Line limit and market-data permissions: the IB session handles them, alerting once per contract."""
    OTHER = "other"


LINK_CODES = {1100: Notice.LINK_LOST, 1101: Notice.RESTORED_DATA_LOST, 1102: Notice.RESTORED_DATA_KEPT,
              2103: Notice.FARM_BROKEN, 2105: Notice.FARM_BROKEN, 2157: Notice.FARM_BROKEN,
              2104: Notice.FARM_OK, 2106: Notice.FARM_OK, 2158: Notice.FARM_OK, 2107: Notice.FARM_OK,
              2108: Notice.FARM_OK, 2119: Notice.FARM_OK, 10197: Notice.COMPETING_SESSION, 100: Notice.PACING}

MARKET_DATA_CODES = frozenset({101, 300, 354, 10089, 10090, 10167, 10168})
"""101 too many lines; 300 cancel of a request IB never started; 354/10089/10090/10167/10168 market data not (or
only partly, or only delayed) subscribed."""

ORDER_REJECTED = 201
ORDER_CANCELLED = 202
DUPLICATE_ORDER_ID = 103
CANCEL_FAILED_CODES = frozenset({161, 10147, 10148})
"""The order could not be cancelled: not found, or not in a cancellable state (it filled first)."""


def classify(code: int) -> Notice:
    notice = LINK_CODES.get(code)
    if notice is not None:
        return notice
    if code in MARKET_DATA_CODES:
        return Notice.MARKET_DATA
    return Notice.INFORMATIONAL if 2100 <= code < 2200 else Notice.OTHER


def restart_window(now_ns: int, restart: dt.time, before_min: float, after_min: float) -> tuple[bool, int]:
    """Whether `now_ns` lies in the pause around the daily gateway restart (New York time), and when that changes."""
    now = dt.datetime.fromtimestamp(now_ns / NS_PER_S, NEW_YORK)
    windows = []
    for day_offset in (-1, 0, 1):
        day = now.date() + dt.timedelta(days=day_offset)
        at = dt.datetime.combine(day, restart, NEW_YORK)
        windows.append((at - dt.timedelta(minutes=before_min), at + dt.timedelta(minutes=after_min)))
    for start, end in windows:
        if start <= now < end:
            return True, int(end.timestamp() * NS_PER_S)
    upcoming = min(start for start, _ in windows if start > now)
    return False, int(upcoming.timestamp() * NS_PER_S)
