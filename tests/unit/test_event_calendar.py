"""The event calendar: reading CSV and iCalendar events files (good ones, and bad ones as one-line config errors
naming the file, the line or event and the problem), the questions entries and the event exit ask, and the
blackout dates it takes in."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from actors.config import config_from_mapping, load_config
from actors.config_section import ConfigError
from actors.decision.config import EntrySection
from actors.decision.entry_gates import avoiding_events, entry_calendar, entry_gate_failure
from actors.event_calendar import EventCalendar, EventDefaults, MarketEvent, load_events
from messages import OptionContract, OptionQuote

DEFAULTS = EventDefaults(before_days=1, after_days=1, hold_through_market=True, hold_through_symbol=False)

GOOD_CSV = """\
# events a premium seller trades around
date,name,scope,symbol,before_days,after_days,hold_through
2026-03-18,FOMC,market,,,,
2026-04-30,earnings,symbol,aapl,2,0,
2026-04-10,CPI,,,0,0,no
"""

GOOD_ICS = """\
BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//thetanode tests//EN\r
BEGIN:VEVENT\r
UID:fomc-2026-03@test\r
SUMMARY:FOMC\r
DTSTART;VALUE=DATE:20260317\r
DTEND;VALUE=DATE:20260319\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:cpi-2026-04@test\r
SUMMARY:CPI\r
DTSTART;TZID=America/New_York:20260410T083000\r
X-THETANODE-AFTER-DAYS:0\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:aapl-q2@test\r
SUMMARY:AAPL earnings\r
DTSTART:20260430T200000Z\r
X-THETANODE-SYMBOL:AAPL\r
X-THETANODE-BEFORE-DAYS:2\r
END:VEVENT\r
END:VCALENDAR\r
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_good_csv_fills_blanks_from_the_defaults(tmp_path):
    fomc, aapl, cpi = load_events(_write(tmp_path, "events.csv", GOOD_CSV), DEFAULTS)
    assert fomc == MarketEvent(name="FOMC", first_day=dt.date(2026, 3, 18), last_day=dt.date(2026, 3, 18),
                               before_days=1, after_days=1, hold_through=True)
    assert (aapl.symbol, aapl.before_days, aapl.after_days, aapl.hold_through) == ("AAPL", 2, 0, False)
    assert (cpi.symbol, cpi.before_days, cpi.after_days, cpi.hold_through) == ("", 0, 0, False)


def test_a_good_ics_reads_all_day_timed_and_multi_day_events_in_new_york_dates(tmp_path):
    fomc, cpi, aapl = load_events(_write(tmp_path, "events.ics", GOOD_ICS), DEFAULTS)
    assert (fomc.first_day, fomc.last_day, fomc.symbol, fomc.hold_through) == (
        dt.date(2026, 3, 17), dt.date(2026, 3, 18), "", True)  # DTEND of an all-day event is the day after
    assert (cpi.first_day, cpi.last_day, cpi.after_days) == (dt.date(2026, 4, 10), dt.date(2026, 4, 10), 0)
    # 20:00 UTC is 16:00 in New York: after the close, still the 30th
    assert (aapl.name, aapl.symbol, aapl.first_day, aapl.before_days, aapl.after_days, aapl.hold_through) == (
        "AAPL earnings", "AAPL", dt.date(2026, 4, 30), 2, 1, False)


@pytest.mark.parametrize(("text", "error"), [
    ("date,name\n2026-13-01,CPI\n", "events.csv: line 2: bad date '2026-13-01' (YYYY-MM-DD)"),
    ("date,name\n,CPI\n", "events.csv: line 2: no date"),
    ("date,name\n2026-03-18,\n", "events.csv: line 2: no event name"),
    ("date,name,scope\n# note\n2026-03-18,FOMC,sector\n",
     "events.csv: line 3: unknown scope 'sector' (market or symbol)"),
    ("date,name,scope\n2026-03-18,earnings,symbol\n", "events.csv: line 2: scope symbol needs a ticker in `symbol`"),
    ("date,name,scope,symbol\n2026-03-18,FOMC,market,SPY\n",
     "events.csv: line 2: a market-wide event names no symbol, got 'SPY'"),
    ("date,name,before_days\n2026-03-18,FOMC,-1\n", "events.csv: line 2: before_days must not be negative, got -1"),
    ("date,name,after_days\n2026-03-18,FOMC,1.5\n",
     "events.csv: line 2: after_days must be a whole number of days, got '1.5'"),
    ("date,name,hold_through\n2026-03-18,FOMC,maybe\n", "events.csv: line 2: hold_through must be yes or no"),
    ("date,name,end_date\n2026-03-18,FOMC,2026-03-17\n", "events.csv: line 2: end_date 2026-03-17 is before date"),
    ("date,name\n2040-01-02,CPI\n", "events.csv: line 2: date 2040-01-02 is outside the market calendar"),
    ("date,name,impact\n2026-03-18,FOMC,high\n", "events.csv: line 1: unknown column 'impact'"),
    ("name,scope\nFOMC,market\n", "events.csv: line 1: the header needs a 'date' column"),
    ("date,name\n2026-03-18,FOMC,extra\n", "events.csv: line 2: 3 fields, the header has 2"),
    ("# nothing yet\ndate,name\n", "events.csv: no events in the events file"),
])
def test_a_bad_csv_is_one_line_naming_file_line_and_problem(tmp_path, text, error):
    with pytest.raises(ConfigError) as raised:
        load_events(_write(tmp_path, "events.csv", text), DEFAULTS)
    message = str(raised.value)
    assert error in message and "\n" not in message, message


def _ics(*events: str) -> str:
    body = "".join(f"BEGIN:VEVENT\r\nUID:{n}@test\r\n{e}END:VEVENT\r\n" for n, e in enumerate(events))
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n{body}END:VCALENDAR\r\n"


@pytest.mark.parametrize(("text", "error"), [
    (_ics("SUMMARY:CPI\r\nDTSTART:20261345\r\n"), "event 1 (CPI): bad DTSTART"),
    (_ics("SUMMARY:FOMC\r\nDTSTART;VALUE=DATE:20260318\r\n", "SUMMARY:CPI\r\n"), "event 2 (CPI): no DTSTART"),
    (_ics("SUMMARY:CPI\r\nDTSTART;VALUE=DATE:20260410\r\nX-THETANODE-SCOPE:sector\r\n"),
     "event 1 (CPI): unknown scope 'sector'"),
    (_ics("SUMMARY:CPI\r\nDTSTART;VALUE=DATE:20260410\r\nX-THETANODE-BEFORE-DAYS:-2\r\n"),
     "event 1 (CPI): before_days must not be negative, got -2"),
    (_ics("SUMMARY:CPI\r\nDTSTART;VALUE=DATE:20260410\r\nRRULE:FREQ=MONTHLY\r\n"),
     "event 1 (CPI): recurring events (RRULE/RDATE) are not supported"),
    (_ics("DTSTART;VALUE=DATE:20260410\r\n"), "event 1: no event name"),
    ("this is not a calendar", "not a valid iCalendar file"),
    (_ics(), "no events in the events file"),
])
def test_a_bad_ics_is_one_line_naming_file_event_and_problem(tmp_path, text, error):
    with pytest.raises(ConfigError) as raised:
        load_events(_write(tmp_path, "events.ics", text), DEFAULTS)
    message = str(raised.value)
    assert message.startswith(str(tmp_path / "events.ics")) and error in message and "\n" not in message, message


def test_missing_file_directory_and_unknown_format_are_one_line(tmp_path):
    for path, error in ((tmp_path / "none.csv", "no such events file"), (tmp_path / "dir.ics", "is a directory"),
                        (tmp_path / "events.txt", "must be .csv or .ics")):
        if path.name == "dir.ics":
            path.mkdir()
        with pytest.raises(ConfigError, match=error):
            load_events(path, DEFAULTS)


def test_the_config_reads_the_file_once_relative_to_the_config_and_errors_name_it(tmp_path):
    _write(tmp_path, "events.csv", GOOD_CSV)
    config = load_config(_write(tmp_path, "node.toml", '[entry]\nevents_file = "events.csv"\nevent_after_days = 0\n'))
    assert config.entry.events_file == str(tmp_path / "events.csv")
    assert [(e.name, e.after_days) for e in config.entry.events] == [("FOMC", 0), ("earnings", 0), ("CPI", 0)]
    # an overlay on that config reads the same (now absolute) file from anywhere
    again = config_from_mapping({"node": {"lake_uri": "elsewhere"}}, base=config)
    assert again.entry.events == config.entry.events
    with pytest.raises(ConfigError, match=r"missing\.csv: no such events file"):
        load_config(_write(tmp_path, "bad.toml", '[entry]\nevents_file = "missing.csv"\n'))
    with pytest.raises(ConfigError, match=r"event_before_days` must be within \[0, 365\]"):
        load_config(_write(tmp_path, "neg.toml", '[entry]\nevent_before_days = -1\n'))


def test_a_recorded_config_keeps_its_events_without_the_file(tmp_path):
    import msgspec

    path = _write(tmp_path, "events.csv", GOOD_CSV)
    recorded = msgspec.json.decode(msgspec.json.encode(config_from_mapping({"entry": {"events_file": str(path)}})))
    path.unlink()
    rebuilt = config_from_mapping(recorded, read_events=False)
    assert len(rebuilt.entry.events) == 3 and rebuilt.entry.events[1].symbol == "AAPL"


EARNINGS = MarketEvent(name="earnings", symbol="AAPL", first_day=dt.date(2026, 4, 30), last_day=dt.date(2026, 4, 30),
                       before_days=2, after_days=1, hold_through=False)
FOMC = MarketEvent(name="FOMC", first_day=dt.date(2026, 3, 18), last_day=dt.date(2026, 3, 18), before_days=1,
                   after_days=1, hold_through=True)


def test_windows_and_spans_as_a_premium_seller_reads_them():
    calendar = EventCalendar([EARNINGS, FOMC])
    assert calendar.in_window("SPY", dt.date(2026, 3, 17)) == FOMC  # market-wide: every symbol
    assert calendar.in_window("SPY", dt.date(2026, 3, 20)) is None
    assert calendar.in_window("AAPL", dt.date(2026, 4, 28)) == EARNINGS
    assert calendar.in_window("MSFT", dt.date(2026, 4, 30)) is None
    # FOMC may be held through; earnings may not: an expiry whose life reaches its window is refused...
    assert calendar.spanned("SPY", dt.date(2026, 3, 2), dt.date(2026, 4, 17)) is None
    assert calendar.spanned("AAPL", dt.date(2026, 4, 1), dt.date(2026, 4, 28)) == EARNINGS
    # ...one expiring before the window opens, or opened after it closed, is not
    assert calendar.spanned("AAPL", dt.date(2026, 4, 1), dt.date(2026, 4, 27)) is None
    assert calendar.spanned("AAPL", dt.date(2026, 5, 2), dt.date(2026, 6, 19)) is None
    # with the event exit on, an entry may sell into the run-up: the exit closes it N days before the report
    assert calendar.spanned("AAPL", dt.date(2026, 4, 1), dt.date(2026, 5, 15), exit_days=3) is None
    assert calendar.spanned("AAPL", dt.date(2026, 4, 27), dt.date(2026, 5, 15), exit_days=3) == EARNINGS
    # the exit's question: the event still ahead
    assert calendar.next_spanned("AAPL", dt.date(2026, 4, 25), dt.date(2026, 5, 15)) == EARNINGS
    assert calendar.next_spanned("AAPL", dt.date(2026, 5, 1), dt.date(2026, 5, 15)) is None


def test_blackout_dates_keep_working_beside_the_events_file():
    today = dt.date(2026, 3, 2)
    entry = EntrySection(blackout_dates=(today,), events=(FOMC,))
    assert entry_gate_failure("SPY", today, 18.0, None, entry) == "2026-03-02 is an event blackout date"
    assert "inside the window of FOMC (market-wide) on 2026-03-18" in entry_gate_failure(
        "SPY", dt.date(2026, 3, 19), 18.0, None, entry, entry_calendar(entry))
    assert entry_gate_failure("SPY", dt.date(2026, 3, 3), 18.0, None, entry) is None
    # a blackout date is not an event to avoid holding through
    assert entry_calendar(entry).spanned("SPY", dt.date(2026, 3, 1), dt.date(2026, 4, 17)) is None


def _quote(expiry: dt.date) -> OptionQuote:
    return OptionQuote(ts=0, contract=OptionContract("AAPL", expiry, 200.0, "P"), bid=1.0, ask=1.1,
                       iv=0.3, delta=-0.2, gamma=0.01, vega=0.1, theta=-0.05, underlying_price=210.0)


def test_the_chain_keeps_only_expiries_that_avoid_the_event():
    before, after = _quote(dt.date(2026, 4, 24)), _quote(dt.date(2026, 5, 15))
    calendar = EventCalendar([EARNINGS])
    assert avoiding_events("AAPL", (before, after), dt.date(2026, 4, 1), calendar) == ((before,), None)
    assert avoiding_events("AAPL", (after,), dt.date(2026, 4, 1), calendar) == ((), EARNINGS)
    assert avoiding_events("MSFT", (after,), dt.date(2026, 4, 1), calendar) == ((after,), None)
    chain = (after,)
    assert avoiding_events("AAPL", chain, dt.date(2026, 4, 1), EventCalendar())[0] is chain  # no events: untouched


def test_an_ics_duration_spans_days_and_the_last_is_its_new_york_date(tmp_path):
    text = _ics("SUMMARY:FOMC\r\nDTSTART;TZID=America/New_York:20260317T090000\r\nDURATION:P1DT6H\r\n",
                "SUMMARY:CPI\r\nDTSTART;VALUE=DATE:20260410\r\n")
    fomc, cpi = load_events(_write(tmp_path, "events.ics", text), DEFAULTS)
    assert (fomc.first_day, fomc.last_day) == (dt.date(2026, 3, 17), dt.date(2026, 3, 18))
    assert (cpi.first_day, cpi.last_day) == (dt.date(2026, 4, 10), dt.date(2026, 4, 10))  # all day, no DTEND


def test_a_backtest_config_finds_its_events_file_beside_it(tmp_path):
    from actors.backtest import backtest_config

    _write(tmp_path, "events.csv", "date,name,scope\n2018-02-05,FOMC,sector\n")
    with pytest.raises(ConfigError) as raised:
        backtest_config({"entry": {"events_file": "events.csv"}}, source="test", base_dir=tmp_path)
    assert str(raised.value) == f"{tmp_path / 'events.csv'}: line 2: unknown scope 'sector' (market or symbol)"
    _write(tmp_path, "events.csv", "date,name\n2018-02-05,FOMC\n")
    loaded = backtest_config({"entry": {"events_file": "events.csv"}}, source="test", base_dir=tmp_path)
    assert [e.name for e in loaded.entry.events] == ["FOMC"]


def test_the_decision_warns_at_start_when_every_event_is_past():
    from actors.decision.config import ExitSection
    from actors.decision.core import DecisionCore
    from actors.runtime.clock import VirtualClock
    from actors.runtime.deterministic import DeterministicRuntime
    from messages import Alert

    noon = int(dt.datetime(2026, 3, 20, 16, 0, tzinfo=dt.UTC).timestamp() * 1e9)
    alerts = []
    for events in ((FOMC,), (FOMC, EARNINGS), ()):
        runtime = DeterministicRuntime([lambda: DecisionCore(EntrySection(events=events, events_file="/x/events.csv"),
                                                             ExitSection())], VirtualClock(noon))
        runtime.start()
        alerts.append([m.text for m in runtime.history if isinstance(m, Alert)])
    assert alerts[0] == ["events file /x/events.csv: its last event window ended 2026-03-19, so entries avoid no "
                         "event; update it (it is read when the node starts)"]
    assert alerts[1] == [] and alerts[2] == []  # an event still ahead; no events file
