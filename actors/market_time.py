"""Time as the node counts it, in one place below every actor: nanosecond units (every message's `ts`), the New
York dates trading days and expiries are counted in, days to expiry, and the US equity-options market calendar.

The calendar comes from exchange-calendars (XNYS: sessions, holidays and early closes) for 1990-2035, built once
and flattened into sorted nanosecond arrays of session opens and closes (about 11,600 sessions, a few hundred kB), so
`is_open` is a binary search; the exchange-calendars object, and with it any per-minute array it could build, is
dropped after construction. Building it imports pandas, so it happens on the first `market_hours()` call, not on
import. A time or date outside the range raises `OutsideCalendar` (one line): never a silent "closed".
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


_date_in_minute: tuple[int, dt.date | None] = (0, None)
"""The New York date of the last minute asked for: a date changes only at a midnight, which is a whole minute in
every zone offset New York ever uses, so one minute has one date. The exits judge a position on each quote and ask
for today's date several times each time; building it from the timestamp costs more than the rest of a rule."""


def new_york_date(ts_ns: int) -> dt.date:
    global _date_in_minute
    minute = ts_ns // NS_PER_MINUTE
    cached_minute, cached = _date_in_minute  # one tuple: read whole, whichever thread wrote it last
    if minute == cached_minute and cached is not None:
        return cached
    date = dt.datetime.fromtimestamp(minute * 60, tz=NEW_YORK).date()
    _date_in_minute = (minute, date)
    return date


def days_to_expiry(ts_ns: int, expiry: dt.date) -> int:
    """Calendar days from today's New York date to the expiry date, as traders count them."""
    return (expiry - new_york_date(ts_ns)).days


CALENDAR = "XNYS"
CALENDAR_START, CALENDAR_END = dt.date(1990, 1, 1), dt.date(2035, 12, 31)
"""The years the node can trade, replay or backtest: real history (the `arch` data starts in 1999) to a decade ahead."""


def calendar_covers(day: dt.date) -> bool:
    """Whether `day` lies within the calendar's range: config checks ask this without building the calendar."""
    return CALENDAR_START <= day <= CALENDAR_END


class OutsideCalendar(ValueError):
    """A time beyond the calendar's range; the text names the instant and the range."""


class MarketHours:
    SNAPSHOT_STATELESS = True  # the same calendar for every core of the process: never part of a snapshot

    def __init__(self) -> None:
        import exchange_calendars  # pandas underneath: imported only by whoever builds the calendar

        with warnings.catch_warnings():
            # exchange-calendars 4.13 trips a pandas 3.1 deprecation inside its own constructor; nothing we can act on.
            warnings.filterwarnings("ignore", message="Series.values returning an ndarray")
            calendar = exchange_calendars.get_calendar(CALENDAR, start=str(CALENDAR_START), end=str(CALENDAR_END))
        # copies: nothing of the pandas-backed calendar outlives the constructor
        self._opens = np.array(calendar.opens_nanos, dtype=np.int64)
        self._closes = np.array(calendar.closes_nanos, dtype=np.int64)
        self._session_days = np.array(calendar.sessions.values.astype("datetime64[D]"), dtype="datetime64[D]")
        self._first_ns = _new_york_midnight_ns(CALENDAR_START)
        self._end_ns = _new_york_midnight_ns(CALENDAR_END + dt.timedelta(days=1))
        # every open and close falls on a whole minute, so whether the market is open is one answer per minute: the
        # decision asks for each position it judges, many times a minute (cached as one tuple: threads share it)
        self._whole_minutes = not (self._opens % NS_PER_MINUTE).any() and not (self._closes % NS_PER_MINUTE).any()
        self._open_in_minute: tuple[int, bool] = (-1, False)
        # the session a moment falls in changes twice a day: exits ask for its close on every judgement
        self._session_span: tuple[int, int, int] = (0, 0, -1)  # [this open, next open) -> index (one tuple: threads)

    def _check(self, now_ns: int) -> None:
        if not self._first_ns <= now_ns < self._end_ns:
            raise OutsideCalendar(f"{_describe(now_ns)} is outside the {CALENDAR} calendar "
                                  f"{CALENDAR_START}..{CALENDAR_END}")

    def _check_day(self, day: dt.date) -> None:
        if not calendar_covers(day):
            raise OutsideCalendar(f"{day} is outside the {CALENDAR} calendar {CALENDAR_START}..{CALENDAR_END}")

    def _session_at_or_before(self, now_ns: int) -> int:
        low, high, cached = self._session_span
        if low <= now_ns < high:
            return cached
        self._check(now_ns)
        index = int(np.searchsorted(self._opens, now_ns, side="right")) - 1
        if index < 0:
            raise OutsideCalendar(f"no session on or before {_describe(now_ns)} within {CALENDAR_START}..{CALENDAR_END}")
        high = int(self._opens[index + 1]) if index + 1 < len(self._opens) else self._end_ns
        self._session_span = (int(self._opens[index]), high, index)
        return index

    def is_open(self, now_ns: int) -> bool:
        minute = now_ns // NS_PER_MINUTE
        cached_minute, cached_open = self._open_in_minute
        if minute == cached_minute:
            return cached_open
        self._check(now_ns)
        index = int(np.searchsorted(self._opens, now_ns, side="right")) - 1
        is_open = bool(index >= 0 and now_ns < self._closes[index])
        if self._whole_minutes:
            self._open_in_minute = (minute, is_open)
        return is_open

    def next_open(self, now_ns: int) -> int:
        """The next session open strictly after `now_ns`."""
        self._check(now_ns)
        index = int(np.searchsorted(self._opens, now_ns, side="right"))
        if index >= len(self._opens):
            raise OutsideCalendar(f"no session after {_describe(now_ns)} within {CALENDAR_START}..{CALENDAR_END}")
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
        self._check(start_ns)
        self._check(end_ns - 1)
        low, high, index = self._session_span
        if not low <= start_ns < high and start_ns >= self._opens[0]:
            self._session_at_or_before(start_ns)
            low, high, index = self._session_span
        if low <= start_ns and end_ns <= high:  # one session and the closed time after it: a simulated tick's span
            return max(min(end_ns, int(self._closes[index])) - start_ns, 0)
        first = max(int(np.searchsorted(self._closes, start_ns, side="right")), 0)
        last = int(np.searchsorted(self._opens, end_ns, side="left"))
        opens = np.maximum(self._opens[first:last], start_ns)
        closes = np.minimum(self._closes[first:last], end_ns)
        return int(np.sum(np.maximum(closes - opens, 0)))

    def sessions_between(self, start_ns: int, end_ns: int) -> list[tuple[dt.date, int, int]]:
        """(date, open ns, close ns) of every session that overlaps [start_ns, end_ns], in order."""
        self._check(start_ns)
        self._check(end_ns)
        first = int(np.searchsorted(self._closes, start_ns, side="left"))
        last = int(np.searchsorted(self._opens, end_ns, side="right"))
        return [(self._day(i), int(self._opens[i]), int(self._closes[i])) for i in range(first, last)]

    def _day(self, index: int) -> dt.date:
        return self._session_days[index].item()

    def _day_index(self, day: dt.date) -> int:
        """Index of the first session on or after `day`."""
        self._check_day(day)
        return int(np.searchsorted(self._session_days, np.datetime64(day, "D"), side="left"))

    def is_session(self, day: dt.date) -> bool:
        index = self._day_index(day)
        return index < len(self._session_days) and self._day(index) == day

    def session_bounds(self, day: dt.date) -> tuple[int, int]:
        """(open ns, close ns) of the session on `day`; OutsideCalendar when the exchange did not trade that day."""
        index = self._day_index(day)
        if index >= len(self._session_days) or self._day(index) != day:
            raise OutsideCalendar(f"{day} is not an {CALENDAR} session (weekend or holiday)")
        return int(self._opens[index]), int(self._closes[index])

    def last_session_on_or_before(self, day: dt.date) -> dt.date:
        index = self._day_index(day)
        if index < len(self._session_days) and self._day(index) == day:
            return day
        if index == 0:
            raise OutsideCalendar(f"no session on or before {day} within {CALENDAR_START}..{CALENDAR_END}")
        return self._day(index - 1)

    def sessions(self) -> list[dt.date]:
        """Every session date of the calendar, in order."""
        return [d.item() for d in self._session_days]


def _new_york_midnight_ns(day: dt.date) -> int:
    return int(dt.datetime.combine(day, dt.time(), tzinfo=NEW_YORK).timestamp()) * NS_PER_S


def _describe(now_ns: int) -> str:
    try:
        return f"{dt.datetime.fromtimestamp(now_ns / 1e9, tz=dt.UTC):%Y-%m-%d %H:%M:%S} UTC"
    except (OverflowError, OSError, ValueError):
        return f"{now_ns} ns"


@cache
def market_hours() -> MarketHours:
    """The shared, immutable calendar (building it takes ~0.5 s)."""
    return MarketHours()
