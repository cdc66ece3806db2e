"""The simulated market's dividend schedule: config errors in one line, announcements like IB's tick 456 (first known,
then on change only), and its options priced with the schedule's discrete dividends."""

from __future__ import annotations

import datetime as dt

import pytest

from actors.broker.sim.dividend_feed import DividendFeed, schedule_of
from actors.broker.sim.dividends import DividendSection
from actors.config import config_from_mapping
from actors.config_section import ConfigError
from actors.market_data.chain import quote_contracts
from messages import Dividends, OptionContract


def _ns(text: str) -> int:
    return int(dt.datetime.fromisoformat(text).timestamp()) * 1_000_000_000


SCHEDULE = (DividendSection(symbol="SPY", ex_date=dt.date(2026, 6, 19), amount=1.9),
            DividendSection(symbol="SPY", ex_date=dt.date(2026, 3, 20), amount=1.8),
            DividendSection(symbol="QQQ", ex_date=dt.date(2026, 3, 23), amount=0.7))


def test_the_schedule_is_read_from_config():
    config = config_from_mapping({"sim": {"dividends": [{"symbol": "SPY", "ex_date": "2026-03-20", "amount": 1.8}]}})
    assert config.sim.dividends == (DividendSection(symbol="SPY", ex_date=dt.date(2026, 3, 20), amount=1.8),)


@pytest.mark.parametrize("entry, message", [
    ({"symbol": "SPY", "ex_date": "2026-03-20", "amount": 0}, "amount"),
    ({"symbol": "SPY", "ex_date": "2026-03-20", "amount": -1.0}, "amount"),
    ({"symbol": "SPY", "ex_date": "20-03-2026", "amount": 1.0}, "ex_date"),
    ({"symbol": "SPY", "amount": 1.0}, "ex_date"),
    ({"symbol": "SPY", "ex_date": "2026-03-20", "amount": 1.0, "currency": "USD"}, "currency"),
])
def test_a_bad_dividend_is_a_one_line_error(entry, message):
    with pytest.raises(ConfigError, match=message) as caught:
        config_from_mapping({"sim": {"dividends": [entry]}})
    assert "\n" not in str(caught.value)


def test_each_symbols_next_dividend_is_announced_once_and_again_when_its_ex_date_passes():
    feed = DividendFeed(SCHEDULE)
    first = feed.changes(_ns("2026-03-02T14:30:00+00:00"))
    assert first == [Dividends(symbol="QQQ", ex_date=dt.date(2026, 3, 23), amount=0.7, next_12m=0.7),
                     Dividends(symbol="SPY", ex_date=dt.date(2026, 3, 20), amount=1.8, next_12m=3.7)]
    assert feed.changes(_ns("2026-03-19T19:00:00+00:00")) == []  # nothing new
    # SPY trades ex from the open of 2026-03-20 (13:30 UTC): the next one is June's
    assert feed.changes(_ns("2026-03-20T13:29:00+00:00")) == []
    assert feed.changes(_ns("2026-03-20T13:30:00+00:00")) == [
        Dividends(symbol="SPY", ex_date=dt.date(2026, 6, 19), amount=1.9, past_12m=1.8, next_12m=1.9)]
    # past the last one: "none announced", once
    assert feed.changes(_ns("2026-06-22T14:00:00+00:00")) == [
        Dividends(symbol="QQQ", ex_date=None, amount=0.0, past_12m=0.7),
        Dividends(symbol="SPY", ex_date=None, amount=0.0, past_12m=3.7)]
    assert feed.changes(_ns("2026-06-23T14:00:00+00:00")) == []
    # floats, never an int 0 from an empty sum: a snapshot reads a float field back as a float
    assert all(isinstance(d.past_12m, float) and isinstance(d.next_12m, float) for d in first)
    assert DividendFeed(()).changes(_ns("2026-03-02T14:30:00+00:00")) == []


def test_a_symbol_with_a_schedule_is_priced_with_its_discrete_dividends():
    now = _ns("2026-03-19T15:00:00+00:00")
    call = OptionContract("SPY", dt.date(2026, 4, 10), 610.0, "C")
    [continuous] = quote_contracts([call], 645.0, 0.16, now, 0.04, 0.013)
    [discrete] = quote_contracts([call], 645.0, 0.16, now, 0.04, 0.013, schedule_of(SCHEDULE, "SPY"))
    [no_dividend] = quote_contracts([call], 645.0, 0.16, now, 0.04, 0.0)
    assert discrete.underlying_price == continuous.underlying_price == 645.0
    # 1.80 tomorrow weighs more on a three-week call than 1.3% a year spread over its life
    assert discrete.ask < continuous.ask < no_dividend.ask
    assert schedule_of(SCHEDULE, "IWM") == ()
    assert schedule_of(SCHEDULE, "SPY") == ((dt.date(2026, 3, 20), 1.8), (dt.date(2026, 6, 19), 1.9))
