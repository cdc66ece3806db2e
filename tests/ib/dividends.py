"""The test gateway's dividends, as IB sends them: generic tick 456 on a stock's stream is answered by tickString
type 59 (IB_DIVIDENDS) `past12m,next12m,nextDate,nextAmount` (e.g. `0.83,0.92,20130219,0.23`), once when the stream
starts and again whenever it changes; delayed lines do not carry it; an index has none. The value comes from the
gateway's `SimSection.dividends` schedule (the next dividend not yet ex), or whatever string a test sets (IB's own
oddities: empty or partial fields, a malformed value)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from actors.broker.sim.dividend_feed import schedule_of
from actors.broker.sim.dividends import DividendSection
from tests.ib import wire
from tests.ib.market_feed import DELAYED, FeedClient

GENERIC_TICK = "456"
IB_DIVIDENDS = 59
Send = Callable[[list[object]], None]


def tick_value(schedule: tuple[DividendSection, ...], symbol: str, today: dt.date) -> str | None:
    """The schedule's next dividend of `symbol` in IB's format; None when the schedule names no dividend for it."""
    dividends = schedule_of(schedule, symbol)
    if not dividends:
        return None
    year = dt.timedelta(days=365)
    past = sum(amount for ex_date, amount in dividends if today - year <= ex_date < today)
    ahead = [(ex_date, amount) for ex_date, amount in dividends if ex_date >= today]
    upcoming = sum(amount for ex_date, amount in ahead if ex_date < today + year)
    if not ahead:
        return f"{past:g},0,,"
    ex_date, amount = ahead[0]
    return f"{past:g},{upcoming:g},{ex_date:%Y%m%d},{amount:g}"


class DividendDesk:
    """Which streams asked for tick 456, and what each was last sent (IB sends changes only)."""

    def __init__(self, schedule: tuple[DividendSection, ...], today: Callable[[], dt.date]) -> None:
        self._schedule = schedule
        self._today = today
        self.overrides: dict[str, str] = {}
        self._streams: dict[tuple[int, int], tuple[FeedClient, Send, str]] = {}
        self._sent: dict[tuple[int, int], str] = {}
        self.ticks_sent = 0

    def subscribed(self, feed: FeedClient, send: Send, req_id: int, symbol: str, generic_ticks: str) -> None:
        if GENERIC_TICK in {t.strip() for t in generic_ticks.split(",")}:
            self._streams[(id(feed), req_id)] = (feed, send, symbol)
            self._send(id(feed), req_id)

    def set(self, symbol: str, value: str) -> None:
        """From now on IB says `value` for `symbol` (sent at once to every stream that asked for it)."""
        self.overrides[symbol] = value
        self.refresh()

    def refresh(self) -> None:
        for feed_id, req_id in list(self._streams):
            self._send(feed_id, req_id)

    def _send(self, feed_id: int, req_id: int) -> None:
        feed, send, symbol = self._streams[(feed_id, req_id)]
        if req_id not in feed.streams:  # cancelled
            del self._streams[(feed_id, req_id)]
            self._sent.pop((feed_id, req_id), None)
            return
        value = self.overrides[symbol] if symbol in self.overrides else tick_value(self._schedule, symbol, self._today())
        if value is None or feed.data_type >= DELAYED or self._sent.get((feed_id, req_id)) == value:
            return
        self._sent[(feed_id, req_id)] = value
        self.ticks_sent += 1
        send(wire.tick_string(req_id, IB_DIVIDENDS, value))
