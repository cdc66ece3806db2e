"""Short calls assigned early for a dividend: when the simulated exchange assigns them, and the node booking an early
assignment of a whole leg or of only some of its contracts (what is left held as one structure, closed at the whole
life's P&L) in position sync, the portfolio view, market data and risk."""

from __future__ import annotations

import datetime as dt

import pytest

from actors.position_sync.assignment import recognise_settlements
from actors.runtime.clock import VirtualClock
from actors.runtime.deterministic import DeterministicRuntime
from messages import (
    BrokerPosition,
    BrokerPositionsSnapshot,
    Halt,
    Leg,
    OrderFilled,
    OrderTerminated,
    PlaceOrder,
    ReconciliationResult,
    SettledLeg,
    StockPosition,
    StrategyClosed,
    StrategySettled,
)
from tests.unit.assignment_fixtures import (
    AFTER_EXPIRY,
    BEFORE_EXPIRY,
    CONDOR,
    LONG_CALL,
    LONG_PUT,
    SHORT_CALL,
    SHORT_PUT,
    closing,
    condor,
    opened_condor,
    seen,
)


# early assignment before an ex-date, and strategies settled in part -------------------------------------------------
def test_a_short_call_is_assigned_early_only_in_the_money_with_less_extrinsic_than_the_dividend():
    from actors.broker.sim.dividends import DividendSection
    from actors.broker.sim.expiry import EarlyAssignment, due_early_assignments, exercise_window_ns

    dividend = DividendSection(symbol="SPY", ex_date=dt.date(2026, 3, 5), amount=2.0)
    start, end = exercise_window_ns(dividend.ex_date)
    assert start == int(dt.datetime(2026, 3, 4, 21, 0, tzinfo=dt.UTC).timestamp() * 1e9)  # 16:00 the day before
    assert end == int(dt.datetime(2026, 3, 5, 14, 30, tzinfo=dt.UTC).timestamp() * 1e9)  # the ex-date's open
    held = {SHORT_CALL: -2, LONG_CALL: 2, SHORT_PUT: -2}

    def assigned(spot: float, call_mid: float, at: int = start, share: float = 1.0, done: frozenset = frozenset()
                 ) -> list:
        early = EarlyAssignment([dividend], share, done)
        return due_early_assignments(held, at, early, lambda s: spot, lambda c: call_mid)

    [early] = assigned(600.0, 10.5)  # 0.50 of extrinsic, a 2.00 dividend: the holder exercises
    assert (early.contract, early.shares) == (SHORT_CALL, -200)  # only the short call: we never exercise early
    assert assigned(600.0, 12.5) == []  # 2.50 of extrinsic: worth more than the dividend, kept
    assert assigned(585.0, 0.4) == []  # out of the money
    assert assigned(600.0, 10.5, at=start - 1) == [] and assigned(600.0, 10.5, at=end + 1) == []
    [part] = assigned(600.0, 10.5, share=0.4)  # OCC assigns some of the short accounts' contracts: 0.8 rounds up to 1
    assert (part.quantity, part.shares, part.ex_date) == (-1, -100, dividend.ex_date)
    assert assigned(600.0, 10.5, share=0.4, done=frozenset({(SHORT_CALL, dividend.ex_date)})) == []  # once a night


def test_one_leg_assigned_early_settles_that_leg_and_leaves_the_others():
    held = {leg.contract: leg.ratio for leg in CONDOR if leg.contract != SHORT_CALL}
    settled = recognise_settlements([condor()], held, {"SPY": -100}, BEFORE_EXPIRY, closing(None))
    assert settled["IC-1"] == (SettledLeg(contract=SHORT_CALL, quantity=-1, outcome="assigned", shares=-100),)
    half_gone = {**held, LONG_PUT: 0}  # a long leg gone early too: no settlement (we never exercise early)
    assert recognise_settlements([condor()], half_gone, {"SPY": -100}, BEFORE_EXPIRY, closing(None)) == {}


def test_shares_of_two_settlements_of_one_strategy_offset():
    from actors.position_sync.assignment import merge_lots

    # short 100 at 590 (early assignment), then the long 595 call exercised at expiry: 100 bought at 595
    assert merge_lots(-100, -59_000.0, 100, 59_500.0) == (0, 0.0, pytest.approx(-500.0))
    assert merge_lots(-100, -59_000.0, -100, -59_500.0) == (-200, -118_500.0, 0.0)


def test_the_portfolio_view_keeps_only_the_legs_left_of_a_strategy_settled_in_part():
    from actors.portfolio.view import PortfolioView
    from messages import StrategyOpened

    view = PortfolioView()
    view.apply(StrategyOpened(strategy_id="IC-1", kind="iron_condor", symbol="SPY", legs=CONDOR, quantity=1,
                              entry_price=-1.2, max_profit_usd=120.0, max_loss_usd=380.0))
    left = tuple(leg for leg in CONDOR if leg.contract != SHORT_CALL)
    changed = view.apply(StrategySettled(
        strategy_id="IC-1", symbol="SPY", settled=(SettledLeg(SHORT_CALL, -1, "assigned", -100),), stock_quantity=-100,
        stock_avg_price=590.0, realized_pnl_usd=0.0, legs_left=left))
    assert changed.released == (SHORT_CALL,) and view.holding("IC-1").legs == left
    assert not view.holders_of(SHORT_CALL)


# a short leg assigned early only in part (OCC assigns some of a position's contracts) -------------------------------
def test_some_contracts_of_a_short_leg_assigned_early_are_recognised_and_leave_the_rest():
    three = condor(quantity=3)
    held = {LONG_PUT: 3, SHORT_PUT: -3, SHORT_CALL: -1, LONG_CALL: 3}  # 2 of the 3 short calls assigned
    settled = recognise_settlements([three], held, {"SPY": -200}, BEFORE_EXPIRY, closing(None))
    assert settled["IC-1"] == (SettledLeg(contract=SHORT_CALL, quantity=-2, outcome="assigned", shares=-200),)
    assert recognise_settlements([three], held, {"SPY": -100}, BEFORE_EXPIRY, closing(None)) == {}  # shares disagree
    long_in_part = {**held, SHORT_CALL: -3, LONG_CALL: 2}  # a long contract gone early: we never exercise early
    assert recognise_settlements([three], long_in_part, {}, BEFORE_EXPIRY, closing(None)) == {}
    at_expiry = {**held, SHORT_CALL: -1}  # part of a leg gone at its expiry: OCC settles all of a series or none
    assert recognise_settlements([three], at_expiry, {"SPY": -200}, AFTER_EXPIRY, closing(600.0)) == {}


def test_a_contract_two_strategies_share_is_assigned_to_the_first_by_id():
    first, second = condor("IC-1", quantity=2), condor("IC-2", quantity=1)
    held = {LONG_PUT: 3, SHORT_PUT: -3, SHORT_CALL: -2, LONG_CALL: 3}  # 1 of the 3 short calls assigned
    settled = recognise_settlements([second, first], held, {"SPY": -100}, BEFORE_EXPIRY, closing(None))
    assert settled == {"IC-1": (SettledLeg(contract=SHORT_CALL, quantity=-1, outcome="assigned", shares=-100),)}


def test_what_is_left_is_held_as_one_structure_with_ratios_in_lowest_terms():
    from actors.position_sync.assignment import left_after

    two_of_three = (SettledLeg(SHORT_CALL, -2, "assigned", -200),)
    assert left_after(CONDOR, 3, two_of_three) == (
        (Leg(LONG_PUT, 3), Leg(SHORT_PUT, -3), Leg(SHORT_CALL, -1), Leg(LONG_CALL, 3)), 1)
    two_of_four = (SettledLeg(SHORT_CALL, -2, "assigned", -200),)
    assert left_after(CONDOR, 4, two_of_four) == (
        (Leg(LONG_PUT, 2), Leg(SHORT_PUT, -2), Leg(SHORT_CALL, -1), Leg(LONG_CALL, 2)), 2)
    whole_leg = (SettledLeg(SHORT_CALL, -3, "assigned", -300),)  # as before: the other legs, the same quantity
    assert left_after(CONDOR, 3, whole_leg) == (tuple(leg for leg in CONDOR if leg.contract != SHORT_CALL), 3)
    assert left_after(CONDOR, 1, tuple(SettledLeg(leg.contract, leg.ratio, "expired", 0) for leg in CONDOR)) == ((), 0)


def test_position_sync_books_a_partial_assignment_reconciles_and_closes_what_is_left_at_the_whole_lifes_pnl():
    runtime = opened_condor(quantity=3, now=BEFORE_EXPIRY)
    held = {LONG_PUT: 3, SHORT_PUT: -3, SHORT_CALL: -1, LONG_CALL: 3}
    positions = tuple(BrokerPosition(contract=c, quantity=q, avg_cost=1.0) for c, q in held.items())
    shares = (StockPosition(symbol="SPY", quantity=-200, avg_cost=590.0),)
    runtime.inject(BrokerPositionsSnapshot(positions=positions, complete=True, stock=shares))
    [settled] = seen(runtime, StrategySettled)
    assert settled.settled == (SettledLeg(SHORT_CALL, -2, "assigned", -200),) and settled.stock_quantity == -200
    assert settled.quantity_left == 1 and {(leg.contract, leg.ratio) for leg in settled.legs_left} == set(held.items())
    assert seen(runtime, ReconciliationResult)[-1].ok and not seen(runtime, Halt)
    runtime.inject(BrokerPositionsSnapshot(positions=positions, complete=True, stock=shares))  # the same report again
    assert len(seen(runtime, StrategySettled)) == 1 and seen(runtime, ReconciliationResult)[-1].ok
    # the rest closes as one combo of ratio legs: one unit, 10 contracts
    runtime.inject(PlaceOrder(client_order_id="IC-1-C2", strategy_id="IC-1", purpose="close", legs=settled.legs_left,
                              quantity=-1, limit_price=9.0))
    runtime.inject(OrderFilled(client_order_id="IC-1-C2", exec_id="E2", quantity=-1, price=9.0, commission_usd=6.5))
    runtime.inject(OrderTerminated(client_order_id="IC-1-C2", strategy_id="IC-1", purpose="close", status="filled",
                                   filled_quantity=-1, avg_price=9.0))
    [closed] = seen(runtime, StrategyClosed)
    assert closed.realized_pnl_usd == pytest.approx(3 * 120.0 + 900.0 - 7.8 - 6.5)  # credit + the sale - commissions
    runtime.inject(BrokerPositionsSnapshot(positions=(), complete=True, stock=shares))
    assert seen(runtime, ReconciliationResult)[-1].ok and not seen(runtime, Halt)


def test_a_partial_close_of_what_a_partial_assignment_left_books_its_share_of_the_whole_opening():
    from messages import StrategyReduced

    runtime = opened_condor(quantity=4, now=BEFORE_EXPIRY)
    held = {LONG_PUT: 4, SHORT_PUT: -4, SHORT_CALL: -2, LONG_CALL: 4}  # 2 of 4 assigned: 2 units of (2, -2, -1, 2)
    positions = tuple(BrokerPosition(contract=c, quantity=q, avg_cost=1.0) for c, q in held.items())
    runtime.inject(BrokerPositionsSnapshot(positions=positions, complete=True,
                                           stock=(StockPosition(symbol="SPY", quantity=-200, avg_cost=590.0),)))
    [settled] = seen(runtime, StrategySettled)
    assert settled.quantity_left == 2
    runtime.inject(PlaceOrder(client_order_id="IC-1-C2", strategy_id="IC-1", purpose="close", legs=settled.legs_left,
                              quantity=-2, limit_price=5.0))
    runtime.inject(OrderFilled(client_order_id="IC-1-C2", exec_id="E2", quantity=-1, price=5.0, commission_usd=0.0))
    runtime.inject(OrderTerminated(client_order_id="IC-1-C2", strategy_id="IC-1", purpose="close",
                                   status="cancelled", filled_quantity=-1, avg_price=5.0))
    [reduced] = seen(runtime, StrategyReduced)
    assert (reduced.closed_quantity, reduced.remaining_quantity) == (-1, 1)
    # half of what is left closed: half of the whole opening (4 x 1.20 credit) is booked against it
    assert reduced.realized_pnl_usd == pytest.approx(500.0 + 240.0 - 0.5 * 4 * 2.6)


def test_the_portfolio_view_holds_what_a_partial_assignment_left_at_the_same_total_entry():
    from actors.portfolio.view import PortfolioView
    from messages import StrategyOpened

    view = PortfolioView()
    view.apply(StrategyOpened(strategy_id="IC-1", kind="iron_condor", symbol="SPY", legs=CONDOR, quantity=3,
                              entry_price=-1.2, max_profit_usd=360.0, max_loss_usd=1140.0))
    left = (Leg(LONG_PUT, 3), Leg(SHORT_PUT, -3), Leg(SHORT_CALL, -1), Leg(LONG_CALL, 3))
    changed = view.apply(StrategySettled(
        strategy_id="IC-1", symbol="SPY", settled=(SettledLeg(SHORT_CALL, -2, "assigned", -200),),
        stock_quantity=-200, stock_avg_price=590.0, realized_pnl_usd=0.0, legs_left=left, quantity_left=1))
    holding = view.holding("IC-1")
    assert changed.released == () and (holding.legs, holding.quantity) == (left, 1)
    assert holding.entry_price * holding.quantity == pytest.approx(-1.2 * 3)
    assert view.holders_of(SHORT_CALL)  # a contract still held stays quoted


def test_market_data_and_risk_drop_what_the_broker_settled_without_waiting_for_the_close():
    """A settled leg is gone: market data stops its stream at once (a line freed), and risk's book no longer counts it
    (its greeks, the held contracts) while the rest of the strategy is being closed."""
    from actors.market_data.core import MarketDataCore
    from actors.risk.config import RiskSection
    from actors.risk.core import RiskCore
    from messages import StrategyOpened, UnsubscribeQuotes

    runtime = DeterministicRuntime([MarketDataCore, lambda: RiskCore(RiskSection())], VirtualClock(BEFORE_EXPIRY))
    runtime.start()
    runtime.inject(StrategyOpened(strategy_id="IC-1", kind="iron_condor", symbol="SPY", legs=CONDOR, quantity=3,
                                  entry_price=-1.2, max_profit_usd=360.0, max_loss_usd=1140.0))
    left = tuple(leg for leg in CONDOR if leg.contract != SHORT_CALL)
    runtime.inject(StrategySettled(strategy_id="IC-1", symbol="SPY", settled=(SettledLeg(SHORT_CALL, -3, "assigned",
                                                                                          -300),),
                                   stock_quantity=-300, stock_avg_price=590.0, realized_pnl_usd=0.0, legs_left=left))
    assert [m.contracts for m in seen(runtime, UnsubscribeQuotes)] == [(SHORT_CALL,)]
    risk = runtime.core("risk")
    assert risk._portfolio.holding("IC-1").legs == left and not risk._portfolio.holders_of(SHORT_CALL)
