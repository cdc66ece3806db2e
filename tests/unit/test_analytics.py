"""Performance analytics against a history whose figures were computed by hand (tests/lake_fixture.py)."""

import datetime as dt
import math

import pytest

from actors.analytics.book import load_book
from actors.analytics.curves import daily_pnl, mtm_equity, realized_equity
from actors.analytics.performance import performance, summary_rows
from storage.lake_views import LakeViews
from tests.lake_fixture import ny, write_fixture_lake


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    return load_book(LakeViews(str(write_fixture_lake(tmp_path_factory.mktemp("lake")))))


def test_trade_book_reads_the_derived_tables(book):
    assert list(book.closed["strategy_id"]) == ["T1", "T2", "T3"]
    assert list(book.open["strategy_id"]) == ["T4"]
    t4 = book.open.iloc[0]
    assert t4["unrealized_pnl_usd"] == -30.0 and t4["theta"] == 4.0
    assert dict(zip(book.trades["strategy_id"], book.trades["dte_at_entry"], strict=True)) == {
        "T1": 39, "T2": 10, "T3": 42, "T4": 38}
    assert list(book.working_orders["client_order_id"]) == ["T1-C2"]
    working = book.working_orders.iloc[0]
    assert (working["limit_price"], working["last_event"]) == (-0.70, "modify_refused")  # never the refused -0.65
    assert book.risk["trading_state"] == "HALTED"
    assert book.as_of_ns == ny(11, 15)


def test_trade_statistics(book):
    perf = performance(book)
    assert (perf.trades, perf.wins, perf.losses) == (3, 2, 1)
    assert perf.win_rate == pytest.approx(2 / 3)
    assert perf.avg_win_usd == pytest.approx(82.30)
    assert perf.avg_loss_usd == pytest.approx(-152.60)
    assert perf.profit_factor == pytest.approx(164.60 / 152.60)
    assert perf.expectancy_usd == pytest.approx(4.00)
    assert perf.realized_pnl_usd == pytest.approx(12.00)
    assert perf.unrealized_pnl_usd == pytest.approx(-30.00)
    assert perf.capital_at_risk_usd == pytest.approx(1050.0)
    assert perf.return_on_risk == pytest.approx(12.0 / 1050.0)
    # T1: theta 5 $/day for a day, then 6 $/day for 25 h until its close; T4: 4 $/day for 29 h up to the last mark
    assert perf.theta_collected_usd == pytest.approx(5.0 + 6.25 + 4.83)


def test_drawdowns_realised_and_marked_to_market(book):
    perf = performance(book)
    assert list(realized_equity(book)["equity_usd"]) == pytest.approx([69.80, -82.80, 12.00])
    assert perf.max_drawdown_realized_usd == pytest.approx(152.60)  # 69.80 → -82.80
    # marked: T1 and T2 marked together on 03-03 count as one instant (-20, not a fleeting +30 peak); the peak is
    # +19.80 after T1's close with T2 still marked -50, the trough -82.80 after T2's stop
    marked = mtm_equity(book)
    assert marked[marked["ts"] == ny(3, 15)]["equity_usd"].tolist() == [-20.0]
    assert perf.max_drawdown_mtm_usd == pytest.approx(102.60)


def test_daily_pnl_covers_every_session_and_gives_sharpe_and_sortino(book):
    daily = daily_pnl(book)
    assert list(daily["session"]) == [dt.date(2026, 3, d) for d in (2, 3, 4, 5, 6, 9, 10, 11)]  # no weekend
    assert list(daily["mtm_pnl_usd"]) == pytest.approx([-20.0, 0.0, -10.20, -52.60, 0.0, 94.80, 10.0, -40.0])
    assert list(daily["realized_pnl_usd"]) == pytest.approx([0, 0, 69.80, -152.60, 0, 94.80, 0, 0])
    perf = performance(book)
    # by hand: mean -2.25, sample stdev 44.5891, downside deviation sqrt(4870.8 / 8) = 24.6749, annualised by √252
    assert perf.sharpe == pytest.approx(-2.25 / 44.58914 * math.sqrt(252), abs=1e-4)
    assert perf.sortino == pytest.approx(-2.25 * math.sqrt(252) / 24.674886, abs=1e-4)
    assert perf.trading_days == 8


def test_breakdowns_by_rule_kind_symbol_and_dte(book):
    perf = performance(book)
    by_rule = perf.by_rule.set_index("group")
    assert by_rule.loc["take_profit", "trades"] == 2 and by_rule.loc["take_profit", "pnl_usd"] == pytest.approx(164.6)
    assert by_rule.loc["stop_loss", "win_rate"] == 0.0
    assert perf.by_kind.set_index("group")["pnl_usd"].to_dict() == pytest.approx(
        {"iron_condor": 164.60, "bull_put": -152.60})
    assert perf.by_symbol.set_index("group")["trades"].to_dict() == {"SPY": 2, "QQQ": 1}
    assert perf.by_dte.set_index("group")["trades"].to_dict() == {"30–44": 2, "0–14": 1}


def test_summary_rows_format_every_figure(book):
    shown = {key: value for key, _, value in summary_rows(performance(book))}
    assert shown["win-rate"] == "66.7%" and shown["profit-factor"] == "1.08" and shown["expectancy"] == "+4.00"
    assert shown["max-dd-mtm"] == "-102.60" and shown["sharpe"] == "-0.80" and shown["sortino"] == "-1.45"


def test_an_empty_lake_has_no_figures(tmp_path):
    from messages import Alert
    from storage.journal import DeltaJournal

    DeltaJournal(str(tmp_path)).append("s", [Alert(ts=ny(2, 10), seq=1, level="info", source="x", text="hello")])
    perf = performance(load_book(LakeViews(str(tmp_path))))
    assert perf.trades == 0 and perf.win_rate is None and perf.sharpe is None and perf.max_drawdown_mtm_usd == 0.0
