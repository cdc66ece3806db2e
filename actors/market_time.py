"""Time as the node counts it, in one place below every actor: nanosecond units (every message's `ts`), the New
York dates trading days and expiries are counted in, days to expiry, and the US equity-options market calendar.

The calendar comes from exchange-calendars (XNYS: sessions, holidays and early closes), built once and flattened
into sorted nanosecond arrays, so `is_open` is a binary search; building it imports pandas, so it happens on the
first `market_hours()` call, not on import.
"""

from __future__ import annotations

import datetime as dt
import warnings
from functools import cache
from zoneinfo import ZoneInfo

import numpy as np

NS_PER_MS = 1_000_000
NS_PER_S = 1_000_000_000
NS_PER_MINUTE = 60 * NS_PER_S
NS_PER_DAY = 86_400 * NS_PER_S
NEW_YORK = ZoneInfo("America/New_York")


def new_york_date(ts_ns: int) -> dt.date:
    return dt.datetime.fromtimestamp(ts_ns / 1e9, tz=NEW_YORK).date()


def days_to_expiry(ts_ns: int, expiry: dt.date) -> int:
    """Calendar days from today's New York date to the expiry date, as traders count them."""
    return (expiry - new_york_date(ts_ns)).days


CALENDAR = "XNYS"
CALENDAR_START, CALENDAR_END = "2025-01-01", "2030-12-31"
"""exchange-calendars materialises every trading minute of its range (about 60 MB a year): keep it to the years
the node can trade or replay."""


class OutsideCalendar(ValueError):
    """A time beyond the calendar's range; the text names the instant and the range."""


class MarketHours:
    def __init__(self) -> None:
        import exchange_calendars  # pandas underneath: imported only by whoever builds the calendar

        with warnings.catch_warnings():
            # exchange-calendars 4.13 trips a pandas 3.1 deprecation inside its own constructor; nothing we can act on.
            warnings.filterwarnings("ignore", message="Series.values returning an ndarray")
            calendar = exchange_calendars.get_calendar(CALENDAR, start=CALENDAR_START, end=CALENDAR_END)
        self._opens = np.asarray(calendar.opens_nanos, dtype=np.int64)
        self._closes = np.asarray(calendar.closes_nanos, dtype=np.int64)
        self._dates = [ts.date() for ts in calendar.sessions]
        self._date_index = {d: i for i, d in enumerate(self._dates)}

    def _session_at_or_before(self, now_ns: int) -> int:
        index = int(np.searchsorted(self._opens, now_ns, side="right")) - 1
        if index < 0 or (index == len(self._opens) - 1 and now_ns > self._closes[-1]):
            raise OutsideCalendar(f"{now_ns} ns is outside the {CALENDAR} calendar {CALENDAR_START}..{CALENDAR_END}")
        return index

    def is_open(self, now_ns: int) -> bool:
        index = int(np.searchsorted(self._opens, now_ns, side="right")) - 1
        return bool(index >= 0 and now_ns < self._closes[index])

    def next_open(self, now_ns: int) -> int:
        """The next session open strictly after `now_ns`."""
        index = int(np.searchsorted(self._opens, now_ns, side="right"))
        if index >= len(self._opens):
            raise OutsideCalendar(f"no session after {now_ns} ns within {CALENDAR_START}..{CALENDAR_END}")
        return int(self._opens[index])

    def session_open(self, now_ns: int) -> int:
        """Open of the session open at `now_ns` (or of the last session before it)."""
        return int(self._opens[self._session_at_or_before(now_ns)])

    def session_close(self, now_ns: int) -> int:
        """Close of the session open at `now_ns` (or of the last session before it)."""
        return int(self._closes[self._session_at_or_before(now_ns)])

    def open_ns_between(self, start_ns: int, end_ns: int) -> int:
        """Nanoseconds of open market within [start_ns, end_ns): the clock that drives simulated prices."""
        if end_ns <= start_ns:
            return 0
        first = max(int(np.searchsorted(self._closes, start_ns, side="right")), 0)
        last = int(np.searchsorted(self._opens, end_ns, side="left"))
        opens = np.maximum(self._opens[first:last], start_ns)
        closes = np.minimum(self._closes[first:last], end_ns)
        return int(np.sum(np.maximum(closes - opens, 0)))

    def sessions_between(self, start_ns: int, end_ns: int) -> list[tuple[dt.date, int, int]]:
        """(date, open ns, close ns) of every session that overlaps [start_ns, end_ns], in order."""
        first = int(np.searchsorted(self._closes, start_ns, side="left"))
        last = int(np.searchsorted(self._opens, end_ns, side="right"))
        return [(self._dates[i], int(self._opens[i]), int(self._closes[i])) for i in range(first, last)]

    def is_session(self, day: dt.date) -> bool:
        return day in self._date_index

    def last_session_on_or_before(self, day: dt.date) -> dt.date:
        while day not in self._date_index:
            day -= dt.timedelta(days=1)
        return day


@cache
def market_hours() -> MarketHours:
    """The shared, immutable calendar (building it takes ~0.2 s)."""
    return MarketHours()
