"""The market calendar over its whole range (1990-2035) agrees with exchange-calendars' own sessions, costs a bounded
amount of memory, and refuses times outside its range instead of calling them closed."""

from __future__ import annotations

import datetime as dt
import gc
import tracemalloc
import warnings

import exchange_calendars
import numpy as np
import pytest

from actors.market_time import (
    CALENDAR_END,
    CALENDAR_START,
    NEW_YORK,
    NS_PER_S,
    MarketHours,
    OutsideCalendar,
    market_hours,
)


@pytest.fixture(scope="module")
def reference():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return exchange_calendars.get_calendar("XNYS", start=str(CALENDAR_START), end=str(CALENDAR_END))


def _ns(day: dt.date, hour: int, minute: int = 0) -> int:
    return int(dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=NEW_YORK).timestamp()) * NS_PER_S


def test_every_session_open_and_close_match_exchange_calendars(reference):
    hours = market_hours()
    expected_days = [ts.date() for ts in reference.sessions]
    assert hours.sessions() == expected_days
    assert expected_days[0] < dt.date(1990, 1, 5) and expected_days[-1] > dt.date(2035, 12, 24)
    opens = np.asarray(reference.opens_nanos, dtype=np.int64)
    closes = np.asarray(reference.closes_nanos, dtype=np.int64)
    bounds = np.array([hours.session_bounds(day) for day in expected_days], dtype=np.int64)
    assert np.array_equal(bounds[:, 0], opens) and np.array_equal(bounds[:, 1], closes)
    # open exactly from the open to just before the close, for a sample spread over the whole range
    for index in range(0, len(expected_days), 97):
        o, c = int(opens[index]), int(closes[index])
        assert not hours.is_open(o - 1) and hours.is_open(o) and hours.is_open(c - 1) and not hours.is_open(c)
        assert hours.next_open(o - 1) == o


def test_holidays_and_early_closes_of_the_old_years_are_known():
    hours = market_hours()
    assert not hours.is_session(dt.date(2001, 9, 11))  # closed after the attacks
    assert not hours.is_session(dt.date(1994, 4, 27))  # President Nixon's funeral
    assert hours.is_open(_ns(dt.date(1999, 11, 26), 12, 30))  # day after Thanksgiving: closes at 13:00
    assert not hours.is_open(_ns(dt.date(1999, 11, 26), 13, 30))
    assert hours.last_session_on_or_before(dt.date(2018, 3, 31)) == dt.date(2018, 3, 29)  # Good Friday


@pytest.mark.parametrize("when", [dt.datetime(1989, 12, 29, 12, tzinfo=NEW_YORK),
                                  dt.datetime(2036, 1, 2, 12, tzinfo=NEW_YORK)])
def test_times_outside_the_range_are_a_one_line_error_not_closed(when: dt.datetime):
    hours = market_hours()
    now_ns = int(when.timestamp()) * NS_PER_S
    for call in (hours.is_open, hours.next_open, hours.session_open, hours.session_close):
        with pytest.raises(OutsideCalendar, match="outside the XNYS calendar 1990-01-01..2035-12-31") as raised:
            call(now_ns)
        assert "\n" not in str(raised.value)
    with pytest.raises(OutsideCalendar):
        hours.is_session(when.date())
    with pytest.raises(OutsideCalendar):
        hours.last_session_on_or_before(when.date())


def test_a_non_session_day_has_no_bounds():
    with pytest.raises(OutsideCalendar, match="2018-02-19 is not an XNYS session"):
        market_hours().session_bounds(dt.date(2018, 2, 19))  # Presidents' Day


def test_the_calendar_keeps_only_sessions_opens_and_closes():
    """46 years at the cost of three arrays: a per-minute calendar would hold about 4.5 million minutes."""
    market_hours()  # pandas and exchange-calendars' own caches loaded before measuring
    gc.collect()
    tracemalloc.start()
    try:
        hours = MarketHours()
        gc.collect()
        retained, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert hours.sessions()[0].year == 1990
    assert retained < 4 * 2**20


def test_a_start_or_scenario_time_beyond_the_calendar_is_refused_on_load(tmp_path):
    from actors.config import config_from_mapping
    from actors.config_section import ConfigError
    from actors.replay.scenario import ScenarioError, load_scenario

    with pytest.raises(ConfigError, match="outside the market calendar 1990-01-01..2035-12-31"):
        config_from_mapping({"sim": {"start": dt.datetime(2040, 3, 1, 14, 30, tzinfo=dt.UTC)}}, source="t.toml")
    scenario = tmp_path / "far.jsonl"
    scenario.write_text('{"scenario": {"name": "far", "start": "2036-03-02T14:30:00Z"}}\n'
                        '{"at": "+1m", "expect": {"type": "NodeStarted"}}\n', encoding="utf-8")
    with pytest.raises(ScenarioError, match="outside the market calendar"):
        load_scenario(scenario)


def test_the_per_minute_answer_of_is_open_is_the_calendars_at_every_instant():
    """Whether the market is open is cached per minute: asked in any order around every open and close of a year and
    at random instants, it answers as the calendar does (a session boundary never falls inside a minute)."""
    hours = market_hours()
    uncached = MarketHours.__new__(MarketHours)
    uncached.__dict__.update(hours.__dict__, _whole_minutes=False, _open_in_minute=(-1, False))
    start, end = _ns(dt.date(2025, 1, 2), 0, 0), _ns(dt.date(2025, 12, 31), 0, 0)
    rng = np.random.default_rng(7)
    boundaries = [b for b in (*hours._opens, *hours._closes) if start <= b < end]
    instants = [int(b) + d for b in boundaries for d in (-60 * 10**9 - 1, -1, 0, 1, 59 * 10**9, 60 * 10**9)]
    instants += [int(x) for x in rng.integers(start, end, 20_000)]
    rng.shuffle(instants)
    assert [hours.is_open(t) for t in instants] == [uncached.is_open(t) for t in instants]


def test_the_session_of_a_moment_is_the_same_asked_in_any_order():
    """The session a moment falls in is kept between calls: asking across sessions, backwards and forwards, at the
    opens themselves and just before them, gives what a fresh calendar gives."""
    from actors.market_time import MarketHours, market_hours

    hours = market_hours()
    day = dt.date(2026, 3, 2)
    moments = []
    for offset in (0, 1, 2, 5, 6, 30):
        opening, closing = hours.session_bounds(hours.last_session_on_or_before(day + dt.timedelta(days=offset)))
        moments += [opening - 1, opening, opening + 1, closing - 1, closing, closing + 3_600_000_000_000]
    for now in (*moments, *reversed(moments), *moments[::3]):
        fresh = MarketHours()
        assert (hours.session_open(now), hours.session_close(now)) == (fresh.session_open(now), fresh.session_close(now))


def test_open_time_between_two_instants_is_the_sum_over_sessions_from_any_cached_session():
    """`open_ns_between` answers a span inside one session and the closed time after it from the cached session; any
    other span sums over the sessions. Both agree with a plain sum, whichever session was cached before."""
    hours = market_hours()
    opens, closes = hours._opens, hours._closes  # noqa: SLF001 - the reference sum reads the calendar itself

    def summed(start: int, end: int) -> int:
        return int(np.sum(np.maximum(np.minimum(closes, end) - np.maximum(opens, start), 0)))

    rng = np.random.default_rng(17)
    first, last = int(opens[100]), int(opens[-100])
    for _ in range(3000):
        start = int(rng.integers(first, last))
        if rng.random() < 0.3:  # exactly on an open or a close, or 1 ns either side
            edge = int(rng.choice(opens if rng.random() < 0.5 else closes))
            start = edge + int(rng.integers(-1, 2))
        length = int(rng.choice([1, 60 * NS_PER_S, 3600 * NS_PER_S, 20 * 3600 * NS_PER_S, 5 * 86_400 * NS_PER_S]))
        for end in (start + length, start + int(rng.integers(1, length + 1))):
            assert hours.open_ns_between(start, end) == summed(start, end), (start, end)
        if rng.random() < 0.5:  # cache some other session before the next question
            hours.session_open(int(rng.integers(first, last)))
