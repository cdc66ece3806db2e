"""The test gateway's dividends, as IB sends them: generic tick 456 on a stock's stream is answered by tickString
type 59 (IB_DIVIDENDS) `past12m,next12m,nextDate,nextAmount` (e.g. `0.83,0.92,20130219,0.23`), once when the stream
starts and again whenever it changes; delayed lines do not carry it; an index has none. The value comes from the
gateway's `SimSection.dividends` schedule (the next dividend not yet ex: from the ex-date's open IB announces the one
after it, so a node that looks later never hears of the date that just went ex), or whatever string a test sets (IB's
own oddities: empty or partial fields, a malformed value).

And what IB owes or charges: at the open of an ex-date the account's shares held going in (bought or sold through the
previous session, plus the deliveries of exercises and assignments before the open) are entitled to the dividend,
short shares owe it. IB says nothing about it on the API then: it moves the cash on the pay date, weeks later (the
gateway does not model the pay date). `entitlements` is the gateway's own record of it, for tests to hold the node's
booking against."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from actors.broker.ib.ex_dividends import ex_open_ns
from actors.broker.sim.dividend_feed import schedule_of
from actors.broker.sim.dividends import DividendSection
from actors.market_time import new_york_date
from tests.ib import wire
from tests.ib.market_feed import DELAYED, FeedClient

GENERIC_TICK = "456"
IB_DIVIDENDS = 59
Send = Callable[[list[object]], None]


def tick_value(schedule: tuple[DividendSection, ...], symbol: str, now_ns: int) -> str | None:
    """The schedule's next dividend of `symbol` not yet ex in IB's format; None when the schedule names none for it."""
    dividends = schedule_of(schedule, symbol)
    if not dividends:
        return None
    today, year = new_york_date(now_ns), dt.timedelta(days=365)
    gone = {ex_date for ex_date, _ in dividends if ex_open_ns(ex_date) <= now_ns}
    past = sum(amount for ex_date, amount in dividends if ex_date in gone and today - year <= ex_date)
    ahead = [(ex_date, amount) for ex_date, amount in dividends if ex_date not in gone]
    upcoming = sum(amount for ex_date, amount in ahead if ex_date < today + year)
    if not ahead:
        return f"{past:g},0,,"
    ex_date, amount = ahead[0]
    return f"{past:g},{upcoming:g},{ex_date:%Y%m%d},{amount:g}"


class DividendDesk:
    """Which streams asked for tick 456, and what each was last sent (IB sends changes only)."""

    def __init__(self, schedule: tuple[DividendSection, ...], clock: Callable[[], int],
                 shares: Callable[[str], int]) -> None:
        self._schedule = schedule
        self._clock = clock
        self._shares = shares
        self._looked_at: int | None = None
        self.entitlements: dict[tuple[str, dt.date], int] = {}
        """(symbol, ex-date) -> the shares that receive (or, short, owe) the dividend: those held at its open."""
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

    def record_entitlements(self) -> None:
        """The dividends that went ex since the gateway last looked, on the shares held now; called before the
        shares change and on every requote. One that went ex before the gateway first looked is history."""
        now, since = self._clock(), self._looked_at
        self._looked_at = now
        if since is None:
            return
        for dividend in self._schedule:
            if since < ex_open_ns(dividend.ex_date) <= now and self._shares(dividend.symbol):
                self.entitlements[(dividend.symbol, dividend.ex_date)] = self._shares(dividend.symbol)

    def refresh(self) -> None:
        self.record_entitlements()
        for feed_id, req_id in list(self._streams):
            self._send(feed_id, req_id)

    def _send(self, feed_id: int, req_id: int) -> None:
        feed, send, symbol = self._streams[(feed_id, req_id)]
        if req_id not in feed.streams:  # cancelled
            del self._streams[(feed_id, req_id)]
            self._sent.pop((feed_id, req_id), None)
            return
        value = self.overrides[symbol] if symbol in self.overrides else \
            tick_value(self._schedule, symbol, self._clock())
        if value is None or feed.data_type >= DELAYED or self._sent.get((feed_id, req_id)) == value:
            return
        self._sent[(feed_id, req_id)] = value
        self.ticks_sent += 1
        send(wire.tick_string(req_id, IB_DIVIDENDS, value))
