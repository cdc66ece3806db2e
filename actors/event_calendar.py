"""Scheduled market events a premium seller trades around (earnings, FOMC, CPI...): the event type, the calendar the
decision core asks, and the reader of the events file (CSV or iCalendar). It sits below every actor beside
market_time.py: dates are counted the same way (New York dates), and any actor may ask it.

An event covers one or more New York dates and blocks a window around them: `before_days` calendar days before its
first date to `after_days` after its last. It is per symbol (earnings) or market-wide (`symbol` empty: FOMC, CPI).
`hold_through` says whether a position may be open across it: a 30-45 DTE index position always spans some CPI
or FOMC, so market-wide events default to yes (only entries inside the window are refused), while a single-stock
earnings gap is the risk a premium seller does not hold through (default no).

The file is read once, when the config is loaded; the calendar reaches the decision core as data in its config.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import msgspec

from actors.config_section import ConfigError, read_input_file
from actors.market_time import CALENDAR_END, CALENDAR_START, NEW_YORK, calendar_covers

MAX_WINDOW_DAYS = 365
SYMBOL_PATTERN = re.compile(r"[A-Z][A-Z0-9./-]{0,14}")
SCOPES = ("market", "symbol")
CSV_COLUMNS = ("date", "name", "scope", "symbol", "end_date", "before_days", "after_days", "hold_through")
ICS_PREFIX = "X-THETANODE-"
BLACKOUT = "blackout date"
YES, NO = frozenset({"yes", "true", "1"}), frozenset({"no", "false", "0"})


class MarketEvent(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: str
    symbol: str = ""
    """Empty: market-wide."""
    first_day: dt.date
    last_day: dt.date
    before_days: int = 0
    after_days: int = 0
    hold_through: bool = True

    def __post_init__(self) -> None:
        if self.last_day < self.first_day:
            raise ValueError(f"event {self.name!r} ends ({self.last_day}) before it starts ({self.first_day})")
        for label, days in (("before_days", self.before_days), ("after_days", self.after_days)):
            if not 0 <= days <= MAX_WINDOW_DAYS:
                raise ValueError(f"event {self.name!r}: `{label}` must be within [0, {MAX_WINDOW_DAYS}], got {days}")

    @property
    def window_start(self) -> dt.date:
        return self.first_day - dt.timedelta(days=self.before_days)

    @property
    def window_end(self) -> dt.date:
        return self.last_day + dt.timedelta(days=self.after_days)

    def applies_to(self, symbol: str) -> bool:
        return not self.symbol or self.symbol == symbol

    def label(self) -> str:
        days = f"{self.first_day}" if self.first_day == self.last_day else f"{self.first_day}..{self.last_day}"
        return f"{self.name} ({self.symbol or 'market-wide'}) on {days}"

    def describe(self) -> str:
        return f"{self.label()}, window -{self.before_days}/+{self.after_days} days"


def blackout_events(dates: Iterable[dt.date]) -> tuple[MarketEvent, ...]:
    """`entry.blackout_dates` as the calendar sees them: market-wide days with no window that a position may span."""
    return tuple(MarketEvent(name=BLACKOUT, first_day=day, last_day=day) for day in dates)


class EventCalendar:
    """The questions the decision core asks, on events sorted by window start. Pure: built once from data."""

    def __init__(self, events: Iterable[MarketEvent] = ()) -> None:
        self._events = tuple(sorted(events, key=lambda e: (e.window_start, e.first_day, e.symbol, e.name)))

    def __bool__(self) -> bool:
        return bool(self._events)

    def in_window(self, symbol: str, day: dt.date) -> MarketEvent | None:
        """The first event for `symbol` (or market-wide) whose window contains `day`."""
        return next((e for e in self._events if e.applies_to(symbol) and e.window_start <= day <= e.window_end), None)

    def spanned(self, symbol: str, today: dt.date, expiry: dt.date, exit_days: int = 0) -> MarketEvent | None:
        """The first event a position may not hold through whose window overlaps its life, `today` to `expiry`.
        With the event exit on (`exit_days` > 0) an event further away than that is no obstacle: the exit closes
        the position `exit_days` before it (selling into the run-up and leaving before the report)."""
        return next((e for e in self._events if not e.hold_through and e.applies_to(symbol)
                     and e.window_start <= expiry and today <= e.window_end
                     and not (exit_days > 0 and (e.first_day - today).days > exit_days)), None)

    def next_spanned(self, symbol: str, today: dt.date, expiry: dt.date) -> MarketEvent | None:
        """The nearest event still ahead (its first date today or later) that a position alive until `expiry` would
        hold through against its `hold_through`: what the optional event exit closes for."""
        ahead = [e for e in self._events if not e.hold_through and e.applies_to(symbol)
                 and e.first_day >= today and e.window_start <= expiry]
        return min(ahead, key=lambda e: e.first_day, default=None)


# reading the events file -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EventDefaults:
    """What a blank field of the file means (the `[entry]` settings)."""

    before_days: int
    after_days: int
    hold_through_market: bool
    hold_through_symbol: bool


class _Bad(ValueError):
    """One field's problem; the reader adds the file and the line or event."""


def load_events(path: Path, defaults: EventDefaults) -> tuple[MarketEvent, ...]:
    """Every event in the CSV (`.csv`) or iCalendar (`.ics`) file, or ConfigError in one line naming the file, the
    line or event, and the problem."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".ics"):
        raise ConfigError(f"{path}: events file must be .csv or .ics, got {suffix or 'no extension'!r}")
    data = read_input_file(path, "events file")
    events = _read_csv(path, data, defaults) if suffix == ".csv" else _read_ics(path, data, defaults)
    if not events:
        raise ConfigError(f"{path}: no events in the events file")
    return events


def _event(fields: Mapping[str, str], defaults: EventDefaults) -> MarketEvent:
    """One event from its text fields (CSV column or iCalendar property names, lower case)."""
    name = fields.get("name", "").strip()
    if not name:
        raise _Bad("no event name")
    first = _date(fields.get("date", ""), "date")
    last = _date(fields["end_date"], "end_date") if fields.get("end_date", "").strip() else first
    if last < first:
        raise _Bad(f"end_date {last} is before date {first}")
    symbol = fields.get("symbol", "").strip().upper()
    scope = fields.get("scope", "").strip().lower() or ("symbol" if symbol else "market")
    if scope not in SCOPES:
        raise _Bad(f"unknown scope {fields['scope'].strip()!r} (market or symbol)")
    if scope == "symbol" and not SYMBOL_PATTERN.fullmatch(symbol):
        raise _Bad(f"scope symbol needs a ticker in `symbol`, got {symbol!r}" if symbol else
                   "scope symbol needs a ticker in `symbol`")
    if scope == "market" and symbol:
        raise _Bad(f"a market-wide event names no symbol, got {symbol!r}")
    default_hold = defaults.hold_through_symbol if symbol else defaults.hold_through_market
    return MarketEvent(name=name, symbol=symbol, first_day=first, last_day=last,
                       before_days=_days(fields.get("before_days", ""), "before_days", defaults.before_days),
                       after_days=_days(fields.get("after_days", ""), "after_days", defaults.after_days),
                       hold_through=_yes_no(fields.get("hold_through", ""), default_hold))


def _date(text: str, label: str) -> dt.date:
    text = text.strip()
    if not text:
        raise _Bad(f"no {label}")
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise _Bad(f"bad {label} {text!r} (YYYY-MM-DD)") from None
    return _covered(day, label)


def _covered(day: dt.date, label: str) -> dt.date:
    if not calendar_covers(day):
        raise _Bad(f"{label} {day} is outside the market calendar {CALENDAR_START}..{CALENDAR_END}")
    return day


def _days(text: str, label: str, default: int) -> int:
    text = text.strip()
    if not text:
        return default
    try:
        days = int(text)
    except ValueError:
        raise _Bad(f"{label} must be a whole number of days, got {text!r}") from None
    if days < 0:
        raise _Bad(f"{label} must not be negative, got {days}")
    if days > MAX_WINDOW_DAYS:
        raise _Bad(f"{label} must be at most {MAX_WINDOW_DAYS}, got {days}")
    return days


def _yes_no(text: str, default: bool) -> bool:
    text = text.strip().lower()
    if not text:
        return default
    if text not in YES | NO:
        raise _Bad(f"hold_through must be yes or no, got {text!r}")
    return text in YES


def _read_csv(path: Path, data: bytes, defaults: EventDefaults) -> tuple[MarketEvent, ...]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text file (the events CSV must be UTF-8)") from None
    # lines starting with '#' are comments; keep their numbers so errors point at the right line
    numbered = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip() and
                not line.lstrip().startswith("#")]
    if not numbered:
        raise ConfigError(f"{path}: no events in the events file")
    rows = csv.reader(io.StringIO("\n".join(line for _, line in numbered)))
    header_line, header = numbered[0][0], [column.strip().lower() for column in next(rows)]
    unknown = [column for column in header if column not in CSV_COLUMNS]
    if unknown:
        raise ConfigError(f"{path}: line {header_line}: unknown column {unknown[0]!r} "
                          f"(columns: {', '.join(CSV_COLUMNS)})")
    missing = [column for column in ("date", "name") if column not in header]
    if missing:
        raise ConfigError(f"{path}: line {header_line}: the header needs a {missing[0]!r} column")
    events = []
    for (line, _), row in zip(numbered[1:], rows, strict=True):
        if len(row) > len(header):
            raise ConfigError(f"{path}: line {line}: {len(row)} fields, the header has {len(header)}")
        try:
            events.append(_event(dict(zip(header, row)), defaults))
        except (_Bad, ValueError) as exc:
            raise ConfigError(f"{path}: line {line}: {exc}") from None
    return tuple(events)


def _read_ics(path: Path, data: bytes, defaults: EventDefaults) -> tuple[MarketEvent, ...]:
    import icalendar  # only whoever reads an .ics file pays for the import

    try:
        calendar = icalendar.Calendar.from_ical(data)
    except ValueError as exc:
        raise ConfigError(f"{path}: not a valid iCalendar file: {' '.join(str(exc).split())[:200]}") from None
    events = []
    for number, component in enumerate(calendar.walk("VEVENT"), 1):
        summary = str(component.get("SUMMARY", "")).strip()
        where = f"event {number}" + (f" ({summary})" if summary else "")
        try:
            events.append(_ics_event(component, summary, defaults))
        except (_Bad, ValueError) as exc:
            raise ConfigError(f"{path}: {where}: {exc}") from None
    return tuple(events)


def _ics_event(component, summary: str, defaults: EventDefaults) -> MarketEvent:  # noqa: ANN001 (icalendar type)
    if "RRULE" in component or "RDATE" in component:
        raise _Bad("recurring events (RRULE/RDATE) are not supported: list each occurrence")
    broken = [name for name, _ in component.errors if name in ("DTSTART", "DTEND", "DURATION")]
    if broken or "DTSTART" not in component:
        problem = dict(component.errors).get(broken[0], "") if broken else ""
        raise _Bad(f"bad {broken[0]}: {problem}" if broken else "no DTSTART")
    start, end = component.start, component.end
    first = _covered(_new_york_day(start), "DTSTART")
    if isinstance(end, dt.datetime):
        last = _new_york_day(end - dt.timedelta(microseconds=1)) if end > start else first
    else:  # an all-day event's DTEND is the day after its last
        last = max(end - dt.timedelta(days=1), first)
    fields = {"name": summary, "date": first.isoformat(), "end_date": last.isoformat()}
    for column in ("scope", "symbol", "before_days", "after_days", "hold_through"):
        value = component.get(ICS_PREFIX + column.upper().replace("_", "-"))
        if value is not None:
            fields[column] = str(value)
    return _event(fields, defaults)


def _new_york_day(moment: dt.date | dt.datetime) -> dt.date:
    if isinstance(moment, dt.datetime):
        return (moment.astimezone(NEW_YORK) if moment.tzinfo else moment).date()
    return moment
