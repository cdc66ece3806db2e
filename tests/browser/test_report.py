"""The report in a real headless Chromium, offline: no console errors, the figures of the lake, interactive charts
on trading-time axes, a cumulative P&L curve from the first closed trade."""


import pytest

from actors.analytics.book import load_book
from actors.analytics.performance import performance, summary_rows
from actors.cli import main
from storage.lake_views import LakeViews
from tests.browser.chromium import chromium, console_errors, needs_chromium
from tests.lake_fixture import write_fixture_lake
from tests.waiting import wait_for

pytestmark = [needs_chromium, pytest.mark.timeout(180)]


def test_report_opens_offline_with_the_lakes_figures_and_interactive_trading_time_charts(tmp_path):
    lake = write_fixture_lake(tmp_path / "lake")
    out = tmp_path / "report.html"
    assert main(["report", "--lake", str(lake), "--out", str(out)]) == 0
    expected = {key: value for key, _, value in summary_rows(performance(load_book(LakeViews(str(lake)))))}
    with chromium(tmp_path / "profile", offline=True) as browser:
        browser.get(out.as_uri())
        charts = ("chart-pnl", "chart-daily", "chart-rules", "chart-greeks")
        wait_for(lambda: browser.execute_script(
            "return arguments[0].every(id => document.getElementById(id)._fullLayout)", list(charts)),
            what="every chart drawn")
        browser.save_screenshot(str(tmp_path / "report.png"))
        assert console_errors(browser) == []
        shown = {key: browser.find_element("id", f"stat-{key}").text for key in expected}
        assert shown == expected
        # by hand (tests/lake_fixture.py): 2 of 3 won, +164.60 / -152.60, drawdown after T2's stop
        assert (shown["win-rate"], shown["profit-factor"], shown["max-dd-realized"]) == ("66.7%", "1.08", "-152.60")
        rows = browser.find_elements("css selector", "#table-trades tr")
        assert [r.find_elements("tag name", "td")[0].text for r in rows[1:]] == ["T3", "T2", "T1"]

        pnl_axis = "document.getElementById('chart-pnl')._fullLayout.xaxis"
        # the realised curve starts at the first closed trade (T1, Wed 03-04 11:00)
        first = browser.execute_script("return document.getElementById('chart-pnl').data[1].x[0]")
        assert str(first).startswith("2026-03-04T11:00") or str(first).startswith("2026-03-04 11:00")
        # trading time: Friday's close and Monday's open are one point on the axis, and so are 16:00 and 09:30
        same = browser.execute_script(
            f"const a = {pnl_axis}; return [a.d2p('2026-03-06 16:00'), a.d2p('2026-03-09 09:30'), "
            "a.d2p('2026-03-03 16:00'), a.d2p('2026-03-04 09:30'), a.d2p('2026-03-04 12:00')]")
        assert same[0] == pytest.approx(same[1], abs=1) and same[2] == pytest.approx(same[3], abs=1)
        assert same[4] > same[3] + 5  # market hours keep their width
        # hover shows the value; a drag on the plot zooms
        browser.execute_script("Plotly.Fx.hover('chart-pnl', [{curveNumber: 1, pointNumber: 0}])")
        wait_for(lambda: "69.80" in browser.execute_script(
            "return document.querySelector('#chart-pnl .hoverlayer').textContent"), what="hover label")
        before = browser.execute_script(f"return {pnl_axis}.range.slice()")
        from selenium.webdriver.common.action_chains import ActionChains

        plot = browser.find_element("css selector", "#chart-pnl .nsewdrag")
        ActionChains(browser).move_to_element_with_offset(plot, -100, 0).click_and_hold() \
            .move_by_offset(120, 0).release().perform()
        wait_for(lambda: browser.execute_script(f"return {pnl_axis}.range.slice()") != before, what="zoom")
        browser.save_screenshot(str(tmp_path / "report-zoomed.png"))
        assert console_errors(browser) == []
