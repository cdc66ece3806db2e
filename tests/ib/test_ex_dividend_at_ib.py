"""A dividend on the IB account's shares is booked at the ex-date: IB says nothing on the API then (it moves the cash on
the pay date), so the adapter publishes `StockDividend` for the shares held going into the ex-date, from what tick 456
announced — once per (symbol, ex-date), whatever IB announces afterwards, across reconnects and restarts. The test
gateway keeps its own record of what IB owes or charges (`dividends.entitlements`), and the node's booking is held
against it."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from actors.broker.ib.ex_dividends import ex_open_ns
from actors.broker.sim.config import SimSection
from actors.broker.sim.dividends import DividendSection
from actors.node import core_factories
from messages import (
    Alert,
    AssignedStockDividend,
    BadTick,
    BrokerPositionsSnapshot,
    Dividends,
    IbConnected,
    ReconciliationResult,
    StockDividend,
    StrategyOpened,
    StrategySettled,
)
from storage.journal import DeltaJournal
from tests.ib.gateway import TestGateway, shifted_clock
from tests.ib.harness import MARKET_TIME, InProcessNode, ib_config, new_gateway, write_node_toml
from tests.ib.test_flatten_at_ib import ONE_CONDOR, REPO
from tests.waiting import wait_for

pytestmark = pytest.mark.timeout(240)
EX_DATE = dt.date(2026, 3, 3)  # a Tuesday; New York is on EST until March 8: the open is 14:30 UTC
NEXT_EX_DATE = dt.date(2026, 6, 19)
SCHEDULE = (DividendSection(symbol="SPY", ex_date=EX_DATE, amount=1.8),
            DividendSection(symbol="SPY", ex_date=NEXT_EX_DATE, amount=1.9))
OPEN_NS = ex_open_ns(EX_DATE)
SHORT = -100  # an assigned short call leaves short shares: they owe the dividend


def _before_open(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(OPEN_NS / 1e9 - seconds, dt.UTC)


def _gateway(start: dt.datetime) -> TestGateway:
    gateway = new_gateway(start=start, params=SimSection(market="scripted", dividends=SCHEDULE))
    gateway._call(gateway.stocks.deliver, "SPY", SHORT, 585.0)  # assigned overnight: IB shows them at the login
    return gateway


def _node(gateway: TestGateway, start: dt.datetime) -> InProcessNode:
    return InProcessNode(ib_config(gateway, node={"clock_start": start}), start=start)


def _buy_back(gateway: TestGateway) -> None:
    """Someone covers the short shares during the ex-date (by hand in TWS): they owed the dividend all the same."""
    gateway._call(gateway.stocks.deliver, "SPY", -SHORT, 586.0)
    gateway._call(gateway.stocks.send_position, "SPY")


def test_short_shares_held_into_the_ex_date_owe_the_dividend_once_across_reconnects():
    start = _before_open(30)
    gateway = _gateway(start)
    try:
        with _node(gateway, start) as node:
            announced = node.probe.wait(Dividends, lambda d: d.symbol == "SPY")
            assert (announced.ex_date, announced.amount) == (EX_DATE, 1.8)
            paid = node.probe.wait(StockDividend, timeout=90)
            assert (paid.symbol, paid.ex_date, paid.amount, paid.quantity, paid.cash_usd) == (
                "SPY", EX_DATE, 1.8, SHORT, -180.0)
            assert paid.ts >= OPEN_NS
            wait_for(lambda: gateway._call(lambda: dict(gateway.dividends.entitlements)), 15, "IB's own record")
            assert gateway._call(lambda: dict(gateway.dividends.entitlements)) == {("SPY", EX_DATE): SHORT}
            # from the open IB announces the next dividend; the shares are covered during the ex-date
            node.probe.wait(Dividends, lambda d: d.ex_date == NEXT_EX_DATE)
            _buy_back(gateway)
            node.probe.wait(BrokerPositionsSnapshot, lambda s: s.ts > paid.ts and not s.stock_positions)
            # a reconnect: IB sends everything again
            gateway.drop_connections()
            node.probe.wait(IbConnected, count=2, timeout=30)
            node.probe.wait(Dividends, lambda d: d.ex_date == NEXT_EX_DATE, count=2)
            # IB re-announcing the date that went ex today, then a malformed value: neither pays again
            gateway.set_dividend_tick("SPY", f"1.8,3.7,{EX_DATE:%Y%m%d},1.8")
            node.probe.wait(Dividends, lambda d: d.ex_date == EX_DATE, count=2)
            gateway.set_dividend_tick("SPY", "1.8,3.7,2026030,1.8")
            node.probe.wait(BadTick, lambda b: b.reason == "bad_dividend_tick")
            gateway.set_dividend_tick("SPY", f"1.8,3.7,{NEXT_EX_DATE:%Y%m%d},1.9")
            node.probe.wait(Dividends, lambda d: d.ex_date == NEXT_EX_DATE, count=3)
            node.runtime.work.wait_idle(timeout=5)
            assert len(node.probe.of(StockDividend)) == 1
            assert not node.probe.of(Alert, lambda a: "went ex" in a.text)
    finally:
        gateway.stop()


def test_a_node_down_over_the_open_books_the_shares_it_last_saw_before_it_once_after_restarts():
    """Stopped before the ex-date's open, restarted after it when the shares are already covered: the rebuilt node
    books the dividend on the shares IB showed it before the open (not on IB's flat position now), once; a third
    start, rebuilt from both runs, books nothing more."""
    start = _before_open(120)
    gateway = _gateway(start)
    try:
        with _node(gateway, start) as node:
            node.probe.wait(Dividends, lambda d: d.ex_date == EX_DATE)
            node.probe.wait(BrokerPositionsSnapshot, lambda s: [(p.symbol, p.quantity) for p in s.stock_positions]
                            == [("SPY", SHORT)])
            node.runtime.work.wait_idle(timeout=5)
        first = list(node.probe.messages)
        assert not [m for m in first if isinstance(m, StockDividend)]
        assert max(m.ts for m in first) < OPEN_NS, "the first run must end before the open"

        after_open = dt.datetime.fromtimestamp(OPEN_NS / 1e9 + 60, dt.UTC)
        gateway.clock = shifted_clock(after_open)  # the node was down over the open
        gateway.requote()
        _buy_back(gateway)
        assert gateway._call(lambda: dict(gateway.dividends.entitlements)) == {("SPY", EX_DATE): SHORT}
        restarted = _node(gateway, after_open)
        restarted.runtime.prime(first)
        with restarted as node:
            paid = node.probe.wait(StockDividend, timeout=30)
            assert (paid.ex_date, paid.quantity, paid.cash_usd) == (EX_DATE, SHORT, -180.0)
            node.probe.wait(BrokerPositionsSnapshot, lambda s: not s.stock_positions)
            node.probe.wait(Dividends, lambda d: d.ex_date == NEXT_EX_DATE)
            node.runtime.work.wait_idle(timeout=5)
            assert len(node.probe.of(StockDividend)) == 1
        second = list(node.probe.messages)

        third = _node(gateway, dt.datetime.fromtimestamp(gateway.clock() / 1e9, dt.UTC))
        third.runtime.prime([*first, *second])
        with third as node:
            node.probe.wait(IbConnected)
            node.probe.wait(Dividends, lambda d: d.ex_date == NEXT_EX_DATE)
            node.probe.wait(BrokerPositionsSnapshot, lambda s: not s.stock_positions)
            node.runtime.work.wait_idle(timeout=5)
            assert not node.probe.of(StockDividend)
            assert not node.probe.of(Alert, lambda a: "went ex" in a.text)
    finally:
        gateway.stop()


def test_the_whole_node_books_the_dividend_on_kept_assigned_shares_against_the_strategy():
    """The whole node: a condor opened the day before the ex-date, its short call assigned early that evening and the
    shares kept (`exits.assignment_policy = "keep"`); the node stops for the night and starts again the next morning,
    rebuilt from its history, before the open. At the open position sync books the $180 the short shares owe against
    the strategy, with no mismatch and no unowned-dividend warning."""
    gateway = new_gateway(params=SimSection(market="scripted", dividends=SCHEDULE))
    config = ib_config(gateway, exits={"assignment_policy": "keep"}, **ONE_CONDOR)
    try:
        with InProcessNode(config, core_factories(config, "test", None, int(MARKET_TIME.timestamp() * 1e9))) as node:
            opened = node.probe.wait(StrategyOpened, timeout=90)
            wait_for(lambda: len(gateway.positions()) == 4, 60, "the condor's fill at IB")
            gateway.set_vix(20.0)  # above entry.vix_max: no second condor
            short_call = next(leg.contract for leg in opened.legs if leg.ratio < 0 and leg.contract.right == "C")
            gateway.settle(short_call, exercised=True)  # 100 SPY short at the strike
            node.probe.wait(StrategySettled, timeout=30)
            wait_for(lambda: not gateway.positions(), 90, "the other legs closed at IB")
            node.probe.wait(BrokerPositionsSnapshot, lambda s: not s.positions and s.stock_positions)
            node.runtime.work.wait_idle(timeout=5)
        day_before = list(node.probe.messages)
        assert gateway.stock_position("SPY")[0] == SHORT

        morning = _before_open(40)
        gateway.clock = shifted_clock(morning)
        restarted = InProcessNode(config, core_factories(config, "test", None, int(morning.timestamp() * 1e9)),
                                  start=morning)
        restarted.runtime.prime(day_before)
        with restarted as node:
            booked = node.probe.wait(AssignedStockDividend, timeout=90)
            node.probe.wait(ReconciliationResult)  # IB's morning report agrees with the books
            node.runtime.work.wait_idle(timeout=5)
            after = list(node.probe.messages)
        gateway.requote()  # IB's own books, at its next look
        entitlements = gateway._call(lambda: dict(gateway.dividends.entitlements))
    finally:
        gateway.stop()
    assert (booked.strategy_id, booked.ex_date, booked.quantity, booked.realized_pnl_usd) == (
        opened.strategy_id, EX_DATE, SHORT, -180.0)
    assert [(p.quantity, p.cash_usd) for p in after if isinstance(p, StockDividend)] == [(SHORT, -180.0)]
    assert entitlements == {("SPY", EX_DATE): SHORT}
    assert not [a for a in after if isinstance(a, Alert) and "belongs to no strategy" in a.text]
    results = [r for r in [*day_before, *after] if isinstance(r, ReconciliationResult)]
    assert all(r.ok for r in results), [r.mismatches for r in results if not r.ok]


def _journaled(lake: Path, *types: type) -> list:
    """What the node processes committed to their lake so far (read from disk, as a separate reader would)."""
    if not (lake / "journal").exists():
        return []
    try:
        return list(DeltaJournal(str(lake)).read_types(types))
    except Exception:  # noqa: BLE001 - the table is being created by the node: not readable yet
        return []


def _run(tmp_path: Path, gateway: TestGateway, start: dt.datetime, log: Path) -> subprocess.Popen:
    config = write_node_toml(tmp_path, gateway.port, node={"clock_start": start}, service={"client_id": 14},
                             ib={"positions_settle_s": 0.3, "reconnect_initial_s": 0.2},
                             persistence={"flush_interval_ms": 200})
    return subprocess.Popen([sys.executable, "-m", "actors.cli", "--log-level", "INFO", "run", "--config",
                             str(config)], cwd=REPO, stdout=log.open("ab"), stderr=subprocess.STDOUT)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)  # a graceful stop commits everything it handled
        process.wait(timeout=60)


def test_node_processes_book_it_once_from_their_lake_across_a_stop_over_the_open(tmp_path):
    """`thetanode run` as real processes, their journal on disk: one stopped before the ex-date's open, the next
    started after it (the shares already covered) books the dividend on the shares the lake says it saw before the
    open, and a third books nothing more."""
    lake, log = tmp_path / "lake", tmp_path / "node.log"
    tail = lambda: f"; node log tail:\n{log.read_text()[-3000:]}"  # noqa: E731
    start = _before_open(170)
    gateway = _gateway(start)
    processes: list[subprocess.Popen] = []
    try:
        processes.append(_run(tmp_path, gateway, start, log))
        wait_for(lambda: [d for d in _journaled(lake, Dividends) if d.ex_date == EX_DATE], 90,
                 "the announcement in the first node's lake", tail)
        wait_for(lambda: [s for s in _journaled(lake, BrokerPositionsSnapshot) if s.stock_positions], 30,
                 "IB's positions in the first node's lake", tail)
        _stop(processes[-1])
        first = _journaled(lake, Dividends, BrokerPositionsSnapshot, StockDividend)
        assert first and max(m.ts for m in first) < OPEN_NS, "the first node must stop before the open"
        assert not [m for m in first if isinstance(m, StockDividend)]

        after_open = dt.datetime.fromtimestamp(OPEN_NS / 1e9 + 60, dt.UTC)
        gateway.clock = shifted_clock(after_open)
        gateway.requote()
        _buy_back(gateway)
        processes.append(_run(tmp_path, gateway, after_open, log))
        wait_for(lambda: _journaled(lake, StockDividend), 90, "the payment in the second node's lake", tail)
        _stop(processes[-1])

        processes.append(_run(tmp_path, gateway, dt.datetime.fromtimestamp(gateway.clock() / 1e9, dt.UTC), log))
        wait_for(lambda: len([d for d in _journaled(lake, Dividends) if d.ex_date == NEXT_EX_DATE]) >= 2, 90,
                 "the third node hearing IB's next dividend", tail)
        _stop(processes[-1])
    finally:
        for process in processes:
            _stop(process)
        gateway.stop()
    paid = _journaled(lake, StockDividend)
    assert [(p.ex_date, p.quantity, p.cash_usd) for p in paid] == [(EX_DATE, SHORT, -180.0)], tail()
