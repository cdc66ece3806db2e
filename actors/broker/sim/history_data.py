"""History files for the simulated exchange: underlying bars (daily or intraday) and VIX closes, read once, checked,
and kept as a few numpy arrays.

A file is CSV or Parquet with a time column (`date`, `datetime`, `timestamp` or `time`), `open`, `high`, `low`,
`close`, and either a `vix` column (the VIX at the bar's end) or a separate file of daily VIX closes (a date
column and `vix` or `close`). Dates alone mean daily bars, each spanning its whole session; times (naive ones are New York time) mean
intraday bars, each lasting until the next bar of its session (the last one until the close). `arch` names the
built-in sample: the S&P 500 daily bars and VIX closes that ship with the `arch` package (the optional `history`
extra), over the years both cover, 2014-01-03..2018-12-31. Anything wrong is a one-line `HistoryError`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from actors.market_time import NEW_YORK, OutsideCalendar, market_hours

if TYPE_CHECKING:
    import pandas as pd

BUILTIN = "arch"
TIME_COLUMNS = ("datetime", "timestamp", "date", "time")
PRICE_COLUMNS = ("open", "high", "low", "close")


class HistoryError(ValueError):
    """A history file that cannot drive the market; the text names the file and the problem, on one line."""


@dataclass(frozen=True)
class Bars:
    """Bars in time order (ns since the epoch) and the VIX as points (time, value) it is interpolated between."""

    starts: np.ndarray
    ends: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    vix_times: np.ndarray
    vix_values: np.ndarray
    source: str

    def __len__(self) -> int:
        return len(self.starts)

    def first_day(self) -> dt.date:
        return _day(int(self.starts[0]))

    def last_day(self) -> dt.date:
        return _day(int(self.starts[-1]))

    def between(self, first: dt.date, last: dt.date) -> Bars:
        """The bars of the sessions from `first` to `last` (inclusive); the VIX points are kept whole."""
        days = np.array([_day(int(ns)) for ns in self.starts], dtype="datetime64[D]")
        keep = (days >= np.datetime64(first, "D")) & (days <= np.datetime64(last, "D"))
        if not keep.any():
            raise HistoryError(f"{self.source}: no bars between {first} and {last} "
                               f"(the history covers {self.first_day()}..{self.last_day()})")
        return Bars(self.starts[keep], self.ends[keep], self.open[keep], self.high[keep], self.low[keep],
                    self.close[keep], self.vix_times, self.vix_values, self.source)


def _day(ns: int) -> dt.date:
    return dt.datetime.fromtimestamp(ns / 1e9, tz=NEW_YORK).date()


@lru_cache(maxsize=4)
def load_bars(path: str, vix_path: str = "", price_scale: float = 1.0) -> Bars:
    """Read once per process: the backtest checks the range, then the broker's quote source reuses the bars."""
    if path == BUILTIN:
        return _bars(_builtin_frame(), "arch sample (S&P 500 and VIX)", price_scale, None)
    frame = _read(path)
    if "vix" in frame.columns:
        return _bars(frame, path, price_scale, None)
    if not vix_path:
        raise HistoryError(f"{path}: no `vix` column and no `sim.history_vix` file")
    vix = _read(vix_path)
    column = "vix" if "vix" in vix.columns else "close"
    if column not in vix.columns:
        raise HistoryError(f"{vix_path}: needs a `vix` or `close` column (has {', '.join(vix.columns)})")
    return _bars(frame, path, price_scale, _daily_vix(vix[column], vix_path))


def _daily_vix(column: pd.Series, source: str) -> tuple[np.ndarray, np.ndarray]:
    """Daily VIX closes as points at each session's close."""
    values = _numbers(column)
    bad = ~np.isfinite(values) | (values <= 0)
    if bad.any():
        raise HistoryError(f"{source}: no positive VIX close at {column.index[int(np.argmax(bad))]}")
    _, closes = _daily_spans(column.index, source)
    return closes, values


def _builtin_frame() -> pd.DataFrame:
    """The data files `arch` ships, read as files: importing `arch` itself would load statsmodels and scipy.stats
    (seconds) for two small CSVs."""
    import importlib.util

    import pandas as pd

    spec = importlib.util.find_spec("arch")
    if spec is None or not spec.submodule_search_locations:
        raise HistoryError("the built-in history needs the optional `arch` package: uv sync --extra history")
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    try:
        bars = pd.read_csv(data / "sp500" / "sp500.csv.gz", index_col="Date", parse_dates=True)
        vix = pd.read_csv(data / "vix" / "vix.csv.gz", index_col="Date", parse_dates=True)
    except (OSError, ValueError) as exc:
        raise HistoryError(f"the `arch` package's data files are unreadable ({type(exc).__name__}: {exc})") from None
    bars = bars.rename(columns=str.lower)[list(PRICE_COLUMNS)]
    return bars.join(vix.rename(columns=str.lower)[["vix"]], how="inner")


def _read(path: str) -> pd.DataFrame:
    import pandas as pd

    file = Path(path)
    if not file.is_file():
        raise HistoryError(f"{path}: no such file")
    try:
        if file.suffix.lower() in (".parquet", ".pq"):
            frame = pd.read_parquet(file)
        elif file.suffix.lower() in (".csv", ".gz"):
            frame = pd.read_csv(file)
        else:
            raise HistoryError(f"{path}: expected a .csv or .parquet file")
    except HistoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - any parser failure is bad input, reported on one line
        raise HistoryError(f"{path}: unreadable ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})") from None
    frame = frame.rename(columns=lambda c: str(c).strip().lower())
    time_column = next((c for c in TIME_COLUMNS if c in frame.columns), None)
    if time_column is None:
        raise HistoryError(f"{path}: needs a time column ({' or '.join(TIME_COLUMNS)}); has {', '.join(frame.columns)}")
    try:
        index = pd.to_datetime(frame.pop(time_column))
    except (ValueError, TypeError) as exc:
        raise HistoryError(f"{path}: column {time_column!r} holds something that is not a time ({exc})") from None
    frame.index = pd.DatetimeIndex(index)
    return frame


def _bars(frame: pd.DataFrame, source: str, price_scale: float,
          vix_points: tuple[np.ndarray, np.ndarray] | None) -> Bars:
    missing = [c for c in PRICE_COLUMNS if c not in frame.columns]
    if missing:
        raise HistoryError(f"{source}: missing column {missing[0]!r} (needs {', '.join(PRICE_COLUMNS)})")
    if frame.empty:
        raise HistoryError(f"{source}: no bars")
    index = frame.index
    if index.tz is None:
        index = index.tz_localize(NEW_YORK, ambiguous="raise", nonexistent="raise")
    times = index.tz_convert("UTC").as_unit("ns").asi8
    if not np.all(np.diff(times) > 0):
        bad = int(np.argmin(np.diff(times) > 0)) + 1
        raise HistoryError(f"{source}: times must strictly increase (row {bad + 1}: {frame.index[bad]})")
    prices = {c: _numbers(frame[c]) * price_scale for c in PRICE_COLUMNS}
    vix = _numbers(frame["vix"]) if vix_points is None else None
    _check_prices(prices, vix, frame.index, source)
    local = index.tz_convert(NEW_YORK)
    daily = bool((local == local.normalize()).all())
    starts, ends = _daily_spans(local, source) if daily else _intraday_spans(times, source)
    vix_times, vix_values = (ends, vix) if vix_points is None else vix_points
    if vix_times[0] > ends[0] and vix_points is not None:
        raise HistoryError(f"{source}: the VIX history starts after the first bar ({_describe(int(starts[0]))})")
    return Bars(starts, ends, prices["open"], prices["high"], prices["low"], prices["close"],
                np.asarray(vix_times, dtype=np.int64), np.asarray(vix_values, dtype=np.float64), source)


def _numbers(column: pd.Series) -> np.ndarray:
    """Floats, with NaN wherever a cell is empty or not a number (reported with its row by `_check_prices`)."""
    import pandas as pd

    return pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _check_prices(prices: dict[str, np.ndarray], vix: np.ndarray | None, index: pd.Index, source: str) -> None:
    o, h, lo, c = (prices[name] for name in PRICE_COLUMNS)
    checks = (
        (~np.isfinite(o) | ~np.isfinite(h) | ~np.isfinite(lo) | ~np.isfinite(c), "a missing or non-numeric price"),
        ((o <= 0) | (h <= 0) | (lo <= 0) | (c <= 0), "a price at or below zero"),
        ((h < np.maximum(o, c)) | (lo > np.minimum(o, c)) | (lo > h), "high/low that do not contain open and close"),
    )
    if vix is not None:
        checks += ((~np.isfinite(vix) | (vix <= 0), "no positive VIX close"),)
    for bad, what in checks:
        if bad.any():
            row = int(np.argmax(bad))
            raise HistoryError(f"{source}: {what} at {index[row]} (row {row + 1})")


def _daily_spans(index: pd.Index, source: str) -> tuple[np.ndarray, np.ndarray]:
    hours = market_hours()
    spans = []
    for stamp in index:
        try:
            spans.append(hours.session_bounds(stamp.date()))
        except OutsideCalendar as exc:
            raise HistoryError(f"{source}: bar {stamp.date()}: {exc}") from None
    array = np.array(spans, dtype=np.int64)
    return array[:, 0], array[:, 1]


def _intraday_spans(times: np.ndarray, source: str) -> tuple[np.ndarray, np.ndarray]:
    """Each bar lasts until the next bar of its session, the last one of a session until the close."""
    hours = market_hours()
    ends = np.empty_like(times)
    for i, start in enumerate(times):
        try:
            if not hours.is_open(int(start)):
                raise HistoryError(f"{source}: bar at {_describe(int(start))} starts while the exchange is closed")
            close = hours.session_close(int(start))
        except OutsideCalendar as exc:
            raise HistoryError(f"{source}: {exc}") from None
        following = int(times[i + 1]) if i + 1 < len(times) else close
        ends[i] = min(following, close)
    return times.astype(np.int64), ends


def _describe(ns: int) -> str:
    return f"{dt.datetime.fromtimestamp(ns / 1e9, tz=NEW_YORK):%Y-%m-%d %H:%M} New York"
