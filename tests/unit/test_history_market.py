"""The history market: bars read and checked, a seeded bridge that passes through every bar's open, high, low and
close, and a quote source whose ticks land on those prices."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from actors.broker.sim.config import SimSection
from actors.broker.sim.history import HistoryPrices, HistoryQuoteSource
from actors.broker.sim.history_data import HistoryError, load_bars
from actors.market_time import NEW_YORK, NS_PER_S


@pytest.fixture(scope="module")
def arch_bars():
    return load_bars("arch", price_scale=0.1)


def test_the_builtin_sample_is_the_sp500_with_vix_over_2014_to_2018(arch_bars):
    assert arch_bars.first_day() == dt.date(2014, 1, 3) and arch_bars.last_day() == dt.date(2018, 12, 31)
    assert len(arch_bars) > 1250
    assert 150 < arch_bars.close[0] < 200  # the index at a tenth: SPY's price
    feb5 = int(np.searchsorted(arch_bars.starts, _ns(2018, 2, 5, 9, 30)))
    assert arch_bars.close[feb5] < arch_bars.open[feb5] * 0.97  # the crash day is in it


def test_the_bridge_passes_through_every_bar(arch_bars):
    prices = HistoryPrices(arch_bars, seed=11)
    for index in range(len(arch_bars)):
        path = prices.path(index)
        o, h, lo, c = (float(a[index]) for a in (arch_bars.open, arch_bars.high, arch_bars.low, arch_bars.close))
        assert path.times[0] == arch_bars.starts[index] and path.times[-1] == arch_bars.ends[index]
        assert path.prices[0] == o and path.prices[-1] == c
        assert path.prices.max() == h and path.prices.min() == lo
        assert sorted(prices.price(t) for t in path.anchors[1:3]) == [lo, h]
        assert prices.price(path.anchors[0]) == o


def test_the_same_seed_gives_the_same_path_and_another_seed_another(arch_bars):
    a, b, other = HistoryPrices(arch_bars, 3), HistoryPrices(arch_bars, 3), HistoryPrices(arch_bars, 4)
    assert np.array_equal(a.path(100).prices, b.path(100).prices)
    assert not np.array_equal(a.path(100).prices, other.path(100).prices)


def test_the_broker_ticks_on_every_anchor_so_the_node_is_quoted_the_high_and_low(arch_bars):
    source = HistoryQuoteSource(SimSection(market="history", history="arch"), arch_bars)
    day_open, day_close = int(arch_bars.starts[1000]), int(arch_bars.ends[1000])
    seen, now = [], day_open
    while now < day_close:
        seen.append(source.underlying_quotes(("SPY",), now)[0].last)
        now = source.next_tick(now, 900 * NS_PER_S)
    seen.append(source.underlying_quotes(("SPY",), day_close)[0].last)
    assert max(seen) == round(float(arch_bars.high[1000]), 2) and min(seen) == round(float(arch_bars.low[1000]), 2)
    assert seen[0] == round(float(arch_bars.open[1000]), 2) and seen[-1] == round(float(arch_bars.close[1000]), 2)


def test_chains_are_priced_at_the_vix(arch_bars):
    source = HistoryQuoteSource(SimSection(market="history", history="arch"), arch_bars)
    at = int(arch_bars.ends[1000])
    vix = source.index_quotes(at)[0].value
    assert vix == pytest.approx(float(arch_bars.vix_values[1000]), abs=0.01)
    chain = source.chain("SPY", 30, 45, at)
    atm = min(chain.quotes, key=lambda q: abs(q.contract.strike - chain.underlying_price))
    assert atm.iv == pytest.approx(vix / 100, rel=0.05)
    assert source.chain("QQQ", 30, 45, at).quotes == ()


def _ns(*parts: int) -> int:
    return int(dt.datetime(*parts, tzinfo=NEW_YORK).timestamp()) * NS_PER_S


def _write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_intraday_bars_and_a_separate_vix_file(tmp_path: Path):
    bars = _write(tmp_path / "bars.csv", "datetime,open,high,low,close\n"
                  "2018-02-05 09:30,270,271,268,269\n2018-02-05 12:00,269,269.5,260,262\n"
                  "2018-02-06 09:30,259,265,255,264\n")
    vix = _write(tmp_path / "vix.csv", "date,close\n2018-02-02,17.3\n2018-02-05,37.3\n2018-02-06,29.9\n")
    loaded = load_bars(bars, vix)
    assert loaded.starts[0] == _ns(2018, 2, 5, 9, 30) and loaded.ends[0] == _ns(2018, 2, 5, 12, 0)
    assert loaded.ends[1] == _ns(2018, 2, 5, 16, 0)  # the last bar of a session lasts until the close
    prices = HistoryPrices(loaded, seed=1)
    for index in range(len(loaded)):
        path = prices.path(index)
        assert path.prices.max() == loaded.high[index] and path.prices.min() == loaded.low[index]
    assert prices.vix(_ns(2018, 2, 5, 16, 0)) == pytest.approx(37.3)


@pytest.mark.parametrize(("text", "error"), [
    ("date,open,high,low,vix\n2018-02-05,1,2,1,20\n", "missing column 'close'"),
    ("date,open,high,low,close,vix\n2018-02-05,10,11,9,12,20\n", "high/low that do not contain open and close"),
    ("date,open,high,low,close,vix\n2018-02-19,10,11,9,10,20\n", "2018-02-19 is not an XNYS session"),
    ("date,open,high,low,close,vix\n2018-02-06,10,11,9,10,20\n2018-02-05,10,11,9,10,20\n", "must strictly increase"),
    ("date,open,high,low,close,vix\n2018-02-05,10,11,9,10,\n", "no positive VIX close"),
    ("date,open,high,low,close\n2018-02-05,10,11,9,10\n", "no `vix` column"),
    ("when,open,high,low,close\n2018-02-05,10,11,9,10\n", "needs a time column"),
    ("date,open,high,low,close,vix\n1985-02-05,10,11,9,10,20\n", "outside the XNYS calendar"),
    ("date,open,high,low,close,vix\n2018-02-05,ten,11,9,10,20\n", "row 1"),
])
def test_bad_history_is_a_one_line_error(tmp_path: Path, text: str, error: str):
    with pytest.raises(HistoryError, match=error) as raised:
        load_bars(_write(tmp_path / "bars.csv", text))
    assert "\n" not in str(raised.value)


def test_a_missing_or_foreign_file_is_a_one_line_error(tmp_path: Path):
    with pytest.raises(HistoryError, match="no such file"):
        load_bars(str(tmp_path / "absent.csv"))
    with pytest.raises(HistoryError, match="expected a .csv or .parquet"):
        load_bars(_write(tmp_path / "bars.txt", "x"))
