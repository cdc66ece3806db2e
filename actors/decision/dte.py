"""Days to expiry as traders count them: calendar days from today's New York date to the expiry date."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")


def new_york_date(ts_ns: int) -> dt.date:
    return dt.datetime.fromtimestamp(ts_ns / 1e9, tz=NEW_YORK).date()


def days_to_expiry(ts_ns: int, expiry: dt.date) -> int:
    return (expiry - new_york_date(ts_ns)).days
