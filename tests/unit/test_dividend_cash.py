"""Dividends on shares held over an ex-date: the simulated exchange pays (long) or charges (short) them at the ex-date's
open on the shares held then, once; position sync books each against the strategies whose settlement left the shares."""

from __future__ import annotations

import datetime as dt

from actors.broker.sim.dividend_cash import DividendCash
from actors.broker.sim.dividends import DividendSection
from actors.market_time import NEW_YORK
from actors.position_sync.settlements import BrokerSettlements
from messages import (
    AssignedStockClosed,
    AssignedStockDividend,
    BrokerPositionsSnapshot,
    OptionContract,
    SettledLeg,
    StockDividend,
    StockPosition,
    StrategySettled,
)

EX_DATE = dt.date(2026, 3, 5)
SCHEDULE = (DividendSection(symbol="SPY", ex_date=EX_DATE, amount=2.0),
            DividendSection(symbol="QQQ", ex_date=EX_DATE, amount=0.5))


def _ns(day: dt.date, hour: int, minute: int = 0) -> int:
    return int(dt.datetime.combine(day, dt.time(hour, minute), tzinfo=NEW_YORK).timestamp() * 1e9)


def test_shares_held_at_the_ex_dates_open_receive_or_owe_the_dividend_once():
    cash = DividendCash(SCHEDULE)
    held = {"SPY": -100, "QQQ": 0}
    assert cash.due(_ns(EX_DATE - dt.timedelta(days=1), 16, 5), held.get) == []  # the first look only starts the clock
    assert cash.due(_ns(EX_DATE, 9, 29), held.get) == []  # not ex yet
    assert cash.due(_ns(EX_DATE, 9, 30), held.get) == [  # a short position owes it; no shares of QQQ, nothing
        StockDividend(symbol="SPY", ex_date=EX_DATE, amount=2.0, quantity=-100, cash_usd=-200.0)]
    assert cash.due(_ns(EX_DATE, 10, 0), held.get) == []  # paid once


def test_a_dividend_that_went_ex_before_the_exchange_first_looked_is_history():
    cash = DividendCash(SCHEDULE)
    assert cash.due(_ns(EX_DATE, 10, 0), {"SPY": 100}.get) == []
    assert cash.due(_ns(EX_DATE + dt.timedelta(days=1), 10, 0), {"SPY": 100}.get) == []


def test_long_shares_receive_it():
    cash = DividendCash(SCHEDULE[:1])
    cash.due(_ns(EX_DATE - dt.timedelta(days=3), 12, 0), {"SPY": 0}.get)
    [paid] = cash.due(_ns(EX_DATE + dt.timedelta(days=1), 9, 30), {"SPY": 200}.get)  # ex-date passed overnight
    assert (paid.quantity, paid.cash_usd) == (200, 400.0)


def test_position_sync_books_a_dividend_against_each_strategy_holding_the_shares_and_reports_the_rest():
    settlements = BrokerSettlements()
    call = OptionContract("SPY", dt.date(2026, 3, 6), 588.0, "C")
    settlements.hold("IC-1", "SPY", (SettledLeg(contract=call, quantity=-1, outcome="assigned", shares=-100),))
    booked, unowned = settlements.on_dividend(
        StockDividend(symbol="SPY", ex_date=EX_DATE, amount=2.0, quantity=-300, cash_usd=-600.0))
    assert booked == [AssignedStockDividend(strategy_id="IC-1", symbol="SPY", ex_date=EX_DATE, quantity=-100,
                                            amount=2.0, realized_pnl_usd=-200.0)]
    assert unowned == -200  # the account's other shares are no strategy's: the caller alerts
    assert settlements.on_dividend(
        StockDividend(symbol="QQQ", ex_date=EX_DATE, amount=0.5, quantity=10, cash_usd=5.0)) == ([], 10)


def test_position_sync_restores_a_settlements_shares_from_its_own_fact_only_when_they_are_missing():
    """A rebuild from the write-ahead log alone keeps `StrategySettled` but no positions snapshot to recognise it from."""
    call = OptionContract("SPY", dt.date(2026, 3, 6), 588.0, "C")
    fact = StrategySettled(strategy_id="IC-1", symbol="SPY", stock_quantity=-100, stock_avg_price=588.0,
                           realized_pnl_usd=0.0,
                           settled=(SettledLeg(contract=call, quantity=-1, outcome="assigned", shares=-100),))
    report = BrokerPositionsSnapshot(positions=(), complete=True,
                                     stock=(StockPosition(symbol="SPY", quantity=-100, avg_cost=588.0),))
    rebuilt = BrokerSettlements()
    assert rebuilt.stock_mismatches(report) != []
    rebuilt.restore(fact)
    assert rebuilt.stock_mismatches(report) == []
    live = BrokerSettlements()
    live.hold("IC-1", "SPY", fact.settled)
    before = vars(live)["_stock"]["IC-1"].cost_usd
    live.restore(fact)  # heard back live: agrees, changes nothing
    assert vars(live)["_stock"]["IC-1"].cost_usd == before
    live.restore(AssignedStockClosed(strategy_id="IC-1", symbol="SPY", closed_quantity=100, remaining_quantity=0,
                                     exit_price=590.0, realized_pnl_usd=-201.0, commissions_usd=1.0))
    assert live.stock_mismatches(BrokerPositionsSnapshot(positions=(), complete=True)) == []


def test_an_exchange_rebuilt_from_the_journal_has_paid_what_the_live_one_paid():
    """A restart rebuilds the simulated exchange from the journal: the dividend it paid live is in its cash once (not
    twice, not never), and it has looked at the schedule where the live one last did, so it is not paid again."""
    from pathlib import Path

    from actors.node import core_factories
    from actors.replay.runner import replay_deterministic
    from actors.replay.scenario import load_scenario
    from actors.runtime.rebuild import replay_quietly
    from actors.runtime.routing import RoutingTable
    from messages import TimerFired

    scenario = load_scenario(Path(__file__).parents[1] / "scenarios" / "assignment_dividend_keep.jsonl")
    history = replay_deterministic(scenario).history
    [paid] = [m for m in history if isinstance(m, StockDividend)]

    def rebuilt(messages: list) -> object:
        cores = {c.name: c for c in (f() for f in core_factories(scenario.config, "s", None, scenario.start_ns))}
        broker = cores["broker"]
        replay_quietly({"broker": broker}, RoutingTable({"broker": broker.subscriptions}), messages)
        return broker

    broker = rebuilt(history)
    without_the_payment = rebuilt([m for m in history if m is not paid])
    assert paid.cash_usd == -200.0
    assert broker._cash_usd - without_the_payment._cash_usd == paid.cash_usd
    last_look = max(m.ts for m in history if isinstance(m, TimerFired) and m.target == "broker")
    assert broker._dividend_cash._paid_through is not None and broker._dividend_cash._paid_through <= last_look
