"""The dashboard in a real headless Chromium: every page loads without console errors and shows the lake's figures,
a commit shows up by itself, and the halt button halts a running node through its control directory."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from actors.analytics.book import load_book
from actors.analytics.performance import performance, summary_rows
from actors.dashboard.pages import PAGES
from messages import StrategyClosed
from storage.journal import DeltaJournal
from storage.lake_views import LakeViews
from storage.lake_writer import LakeWriter
from tests.browser.chromium import chromium, console_errors, needs_chromium, start_dashboard, stop
from tests.lake_fixture import ny, write_fixture_lake
from tests.ports import free_ports
from tests.waiting import wait_for

pytestmark = needs_chromium
REPO = Path(__file__).resolve().parents[2]


def _cells(browser, table_id: str) -> list[list[str]]:  # noqa: ANN001 - selenium WebDriver
    """The table's body cells, read in one script: a refresh re-rendering the page cannot leave a stale element."""
    return browser.execute_script(
        "const t = document.getElementById(arguments[0]); if (!t) return [];"
        "return Array.from(t.querySelectorAll('tr')).slice(1)"
        ".map(r => Array.from(r.querySelectorAll('td')).map(c => c.innerText.trim()));", table_id)


def _text(browser, element_id: str) -> str:  # noqa: ANN001
    return browser.execute_script(
        "const e = document.getElementById(arguments[0]); return e ? e.innerText.trim() : '';", element_id)


@pytest.mark.timeout(240)
def test_every_page_shows_the_lake_and_follows_a_commit(tmp_path):
    lake = write_fixture_lake(tmp_path / "lake")
    process, url = start_dashboard("--lake", str(lake), log=tmp_path / "dashboard.log")
    try:
        with chromium(tmp_path / "profile", offline=True) as browser:
            for path in PAGES:
                browser.get(url + path.lstrip("/"))
                wait_for(lambda: browser.find_elements("css selector", "#page > *"), 60, f"page {path}")
                browser.save_screenshot(str(tmp_path / f"page-{path.strip('/') or 'positions'}.png"))
            assert console_errors(browser) == []

            browser.get(url)
            wait_for(lambda: _cells(browser, "table-positions"), 60, "positions")
            # T4 by hand: entry -1.20, last mark -30 $ → -1.50, theta 4 $/day (tests/lake_fixture.py)
            t4 = _cells(browser, "table-positions")[0]
            assert (t4[0], t4[4], t4[5], t4[6], t4[13]) == ("T4", "-1.20", "-1.50", "-30.00", "+4.0")

            browser.get(url + "analytics")
            wait_for(lambda: _text(browser, "stat-win-rate"), 60, "analytics")
            expected = {key: value for key, _, value in summary_rows(performance(load_book(LakeViews(str(lake)))))}
            assert {key: _text(browser, f"stat-{key}") for key in expected} == expected
            assert (expected["win-rate"], expected["expectancy"], expected["sharpe"]) == ("66.7%", "+4.00", "-0.80")
            by_rule = {row[0]: row[1:] for row in _cells(browser, "table-by-rule")}
            assert by_rule["take_profit"][0] == "2" and by_rule["stop_loss"][2] == "-152.60"

            browser.get(url + "orders")
            wait_for(lambda: _cells(browser, "table-orders"), 60, "orders")
            assert _cells(browser, "table-orders")[0][:3] == ["T1-C2", "T1", "close"]
            browser.get(url + "risk")
            wait_for(lambda: _text(browser, "trading-state") == "HALTED", 60, "risk state")
            browser.get(url + "alerts")
            wait_for(lambda: _cells(browser, "table-alerts"), 60, "alerts")
            assert _cells(browser, "table-alerts")[0][3] == "stop loss on T2"

            # a commit shows up by itself: T4 closes, the page follows without a reload
            browser.get(url)
            wait_for(lambda: _cells(browser, "table-positions"), 60, "positions again")
            committed = time.monotonic()
            LakeWriter(DeltaJournal(str(lake))).append("fixture", [StrategyClosed(
                ts=ny(11, 15, 30), seq=100, strategy_id="T4", exit_price=-1.0, realized_pnl_usd=17.4,
                commissions_usd=2.6, rule="take_profit")], 3)
            wait_for(lambda: _text(browser, "table-positions") == "none", 60, "the close to show")
            print(f"commit → page: {time.monotonic() - committed:.2f}s")
            browser.get(url + "analytics")
            wait_for(lambda: _text(browser, "stat-trades") == "4 (3 / 1)", 60, "analytics after the close")
            browser.save_screenshot(str(tmp_path / "after-commit.png"))
            assert console_errors(browser) == []
    finally:
        assert stop(process) in (0, -15)


def test_the_token_guards_every_request(tmp_path):
    from actors.config import DEFAULT_CONFIG
    from actors.dashboard.app import build_app
    from actors.dashboard.data import LiveBook, NodeLink

    lake = write_fixture_lake(tmp_path / "lake")
    app = build_app(LiveBook(LakeViews(str(lake))), NodeLink(DEFAULT_CONFIG), str(lake), token="s3cret")
    client = app.server.test_client()
    assert client.get("/").status_code == 401
    assert client.get("/_dash-layout", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.post("/_dash-update-component", json={}).status_code == 401  # the halt button's path too
    assert client.get("/_dash-layout", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    first = client.get("/risk?token=s3cret")  # a link with the token: kept in a cookie, dropped from the URL
    assert first.status_code == 302 and first.headers["Location"].endswith("/risk")
    assert "HttpOnly" in first.headers["Set-Cookie"] and "SameSite=Strict" in first.headers["Set-Cookie"]
    assert client.get("/risk").status_code == 200  # the cookie carries it from then on


def _health(port: int) -> tuple[int, dict] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as degraded:
        return degraded.code, json.loads(degraded.read())
    except OSError:
        return None


@pytest.mark.timeout(300)
def test_the_halt_button_halts_a_running_node_and_the_dashboard_outlives_it(tmp_path):
    [port] = free_ports()
    config = tmp_path / "node.toml"
    config.write_text(
        f'[node]\nlake_uri = "{tmp_path / "lake"}"\n[sim]\ntick_interval_s = 1.0\n'
        "[persistence]\nflush_interval_ms = 100\n"
        f'[service]\nhealth_port = {port}\nheartbeat_file = "{tmp_path / "heartbeat.json"}"\n'
        f'heartbeat_interval_s = 0.5\ncontrol_dir = "{tmp_path / "control"}"\ncontrol_poll_s = 0.2\n'
        "shutdown_timeout_s = 20\n")
    node_log = tmp_path / "node.log"
    node = subprocess.Popen([sys.executable, "-m", "actors.cli", "run", "--config", str(config)], cwd=REPO,
                            stdout=node_log.open("w"), stderr=subprocess.STDOUT)
    dashboard = None
    try:
        wait_for(lambda: (_health(port) or (0, {}))[0] == 200, 120, "a healthy node",
                 lambda: f"\n{_health(port)}\n{node_log.read_text()[-2000:]}")
        dashboard, url = start_dashboard("--config", str(config), log=tmp_path / "dashboard.log")
        with chromium(tmp_path / "profile") as browser:
            browser.get(url + "risk")
            wait_for(lambda: _text(browser, "trading-state") == "ACTIVE", 60, "the risk page")
            wait_for(lambda: _text(browser, "node-status").startswith("node ok"), 60, "the node's health")
            reason = browser.find_element("id", "control-reason")
            reason.clear()
            reason.send_keys("browser test")
            browser.find_element("id", "halt-button").click()
            wait_for(lambda: (_health(port) or (0, {}))[0] == 503, 60, "/health to turn 503")
            status, document = _health(port)
            assert document["trading_state"] == "HALTED" and "trading HALTED" in document["problems"]
            wait_for(lambda: _text(browser, "trading-state") == "HALTED", 60, "the lake to say HALTED")
            assert "browser test" in _text(browser, "trading-reason")
            browser.save_screenshot(str(tmp_path / "halted.png"))
            browser.find_element("id", "resume-button").click()
            wait_for(lambda: (_health(port) or (0, {1: 1}))[1].get("trading_state") == "ACTIVE", 60, "resume")
            wait_for(lambda: _text(browser, "trading-state") == "ACTIVE", 60, "the lake to say ACTIVE")
            assert console_errors(browser) == []

            node.terminate()
            assert node.wait(timeout=60) == 0, node_log.read_text()[-2000:]
            browser.get(url + "risk")  # the node is gone; its lake still tells
            wait_for(lambda: _text(browser, "trading-state") == "ACTIVE", 60, "the page without a node")
            wait_for(lambda: "not answering" in _text(browser, "node-status"), 60, "the node reported down")
            browser.save_screenshot(str(tmp_path / "node-stopped.png"))
            assert console_errors(browser) == []
    finally:
        if dashboard is not None:
            stop(dashboard)
        if node.poll() is None:
            node.kill()
            node.wait(timeout=30)
