"""What the broker settles by itself: OCC's expiry in the simulated exchange, and the node recognising expiries,
exercises and assignments in the broker's positions (and still failing closed on anything else)."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest

from actors.broker.sim.expiry import due_settlements
from actors.broker.sim.stock import add_shares, stock_fill_price
from actors.decision.assigned_stock import AssignedStockDesk
from actors.position_sync.assignment import Holding, book_shares, recognise_settlements
from actors.position_sync.core import PositionSyncCore
from actors.runtime.clock import VirtualClock
from actors.runtime.deterministic import DeterministicRuntime
from actors.settlement import settles_at_ns
from messages import (
    AssignedStockClosed,
    BrokerPosition,
    BrokerPositionsSnapshot,
    Halt,
    IntentApproved,
    Leg,
    OpenStrategy,
    OptionContract,
    OrderFilled,
    OrderTerminated,
    PlaceOrder,
    ReconciliationResult,
    SettledLeg,
    StockPosition,
    StrategyClosed,
    StrategySettled,
    UnderlyingQuote,
)
from messages.codec import from_msgpack, to_msgpack

EXPIRY = dt.date(2026, 3, 6)
SHORT_PUT = OptionContract("SPY", EXPIRY, 569.0, "P")
LONG_PUT = OptionContract("SPY", EXPIRY, 564.0, "P")
SHORT_CALL = OptionContract("SPY", EXPIRY, 590.0, "C")
LONG_CALL = OptionContract("SPY", EXPIRY, 595.0, "C")
CONDOR = (Leg(LONG_PUT, 1), Leg(SHORT_PUT, -1), Leg(SHORT_CALL, -1), Leg(LONG_CALL, 1))
BEFORE_EXPIRY = int(dt.datetime(2026, 3, 5, 15, 0, tzinfo=dt.UTC).timestamp() * 1e9)
AFTER_EXPIRY = int(dt.datetime(2026, 3, 9, 14, 30, tzinfo=dt.UTC).timestamp() * 1e9)
EXPIRY_MIDDAY = int(dt.datetime(2026, 3, 6, 16, 0, tzinfo=dt.UTC).timestamp() * 1e9)


def _price(value: float | None):
    return lambda symbol, expiry: value


def _condor(strategy_id: str = "IC-1", quantity: int = 1) -> Holding:
    return Holding(strategy_id, "SPY", CONDOR, quantity)


# when an expiry settles, and what OCC exercises ---------------------------------------------------------------------
def test_an_expiry_settles_at_its_session_close_and_a_holiday_expiry_at_the_session_before():
    assert settles_at_ns(EXPIRY) == int(dt.datetime(2026, 3, 6, 21, 0, tzinfo=dt.UTC).timestamp() * 1e9)  # 16:00 EST
    good_friday = dt.date(2026, 4, 3)
    assert settles_at_ns(good_friday) == int(dt.datetime(2026, 4, 2, 20, 0, tzinfo=dt.UTC).timestamp() * 1e9)


def test_the_exchange_exercises_a_cent_in_the_money_and_lets_the_rest_vanish():
    positions = {SHORT_PUT: -1, LONG_PUT: 1, SHORT_CALL: -1}
    closing = {("SPY", settles_at_ns(EXPIRY)): 568.99}.get  # asked for the price at the expiry's close
    assert due_settlements(positions, settles_at_ns(EXPIRY) - 1, lambda s, at: closing((s, at))) == []  # not yet
    settled = {s.contract: s.shares
               for s in due_settlements(positions, settles_at_ns(EXPIRY), lambda s, at: closing((s, at)))}
    assert settled == {SHORT_PUT: 100, LONG_PUT: 0, SHORT_CALL: 0}  # the short put assigned: 100 shares bought
    at_half_a_cent = due_settlements({SHORT_PUT: -1}, AFTER_EXPIRY, lambda s, at: 568.995)
    assert at_half_a_cent[0].shares == 0
    assert due_settlements({SHORT_PUT: -1}, AFTER_EXPIRY, lambda s, at: None) == []  # no price: no guess


def test_a_stock_limit_fills_only_at_the_touch_and_shares_keep_their_average_cost():
    quote = UnderlyingQuote(symbol="SPY", bid=567.95, ask=568.05, last=568.0)
    assert stock_fill_price(quote, -100, 568.00) is None and stock_fill_price(quote, -100, 567.90) == 567.95
    assert stock_fill_price(quote, 100, 568.05) == 568.05
    assert add_shares(100, 56_900.0, -40, 567.0) == (60, pytest.approx(34_140.0))
    assert add_shares(100, 56_900.0, -150, 567.0) == (-50, pytest.approx(-28_350.0))


# recognising settlements ------------------------------------------------------------------------------------------------
def test_a_short_put_assigned_at_expiry_explains_the_vanished_condor_and_the_shares():
    settled = recognise_settlements([_condor()], {}, {"SPY": 100}, AFTER_EXPIRY, _price(568.0))
    outcomes = {leg.contract: (leg.outcome, leg.shares) for leg in settled["IC-1"]}
    assert outcomes == {SHORT_PUT: ("assigned", 100), LONG_PUT: ("expired", 0), SHORT_CALL: ("expired", 0),
                        LONG_CALL: ("expired", 0)}


def test_an_out_of_the_money_condor_expires_worthless():
    settled = recognise_settlements([_condor()], {}, {}, AFTER_EXPIRY, _price(580.0))
    assert {leg.outcome for leg in settled["IC-1"]} == {"expired"}


def test_shares_with_no_vanished_leg_are_not_explained():
    # the condor is still held: 100 shares from nowhere explain nothing
    held = {leg.contract: leg.ratio for leg in CONDOR}
    assert recognise_settlements([_condor()], held, {"SPY": 100}, AFTER_EXPIRY, _price(568.0)) == {}


def test_legs_gone_before_expiry_without_shares_are_not_a_settlement():
    assert recognise_settlements([_condor()], {}, {}, BEFORE_EXPIRY, _price(580.0)) == {}


def test_an_early_assignment_before_expiry_is_recognised_by_its_shares():
    naked_put = Holding("P-1", "SPY", (Leg(SHORT_PUT, -1),), 2)
    settled = recognise_settlements([naked_put], {}, {"SPY": 200}, BEFORE_EXPIRY, _price(None))
    assert settled["P-1"] == (SettledLeg(contract=SHORT_PUT, quantity=-2, outcome="assigned", shares=200),)


def test_the_brokers_shares_decide_when_the_price_disagrees_and_one_choice_fits():
    # the last price said out of the money, but the broker assigned the short put (the price moved after the close)
    settled = recognise_settlements([_condor()], {}, {"SPY": 100}, AFTER_EXPIRY, _price(570.0))
    assert [leg.contract for leg in settled["IC-1"] if leg.shares] == [SHORT_PUT]


def test_an_ambiguous_settlement_without_a_price_stays_a_difference():
    # no price: both puts exercised or neither deliver the same zero shares; the cash would differ by $500
    assert recognise_settlements([_condor()], {}, {}, AFTER_EXPIRY, _price(None)) == {}


def test_a_contract_two_strategies_share_settles_only_the_one_that_is_gone():
    one, two = _condor("IC-1"), _condor("IC-2")
    held = {leg.contract: leg.ratio for leg in CONDOR}  # one condor's worth is still there
    settled = recognise_settlements([one, two], held, {}, AFTER_EXPIRY, _price(580.0))
    assert list(settled) == ["IC-1"]


def test_both_legs_of_a_spread_exercised_offset_and_realise_the_width():
    legs = (SettledLeg(SHORT_PUT, -1, "assigned", 100), SettledLeg(LONG_PUT, 1, "exercised", -100))
    shares, cost, realised = book_shares(legs)
    assert (shares, cost, realised) == (0, 0.0, pytest.approx(-500.0))
    assert book_shares(legs[:1]) == (100, pytest.approx(56_900.0), 0.0)


# position sync: booked, not a mismatch; anything else still halts -----------------------------------------------------
def _opened_condor(quantity: int = 1, now: int = EXPIRY_MIDDAY) -> DeterministicRuntime:
    runtime = DeterministicRuntime([PositionSyncCore], VirtualClock(now))
    runtime.start()
    runtime.inject(IntentApproved(intent=OpenStrategy(
        strategy_id="IC-1", kind="iron_condor", symbol="SPY", legs=CONDOR, quantity=quantity, mid_price=-1.2,
        natural_price=-1.1, max_profit_usd=120.0 * quantity, max_loss_usd=380.0 * quantity, reason="t")))
    runtime.inject(PlaceOrder(client_order_id="IC-1-O1", strategy_id="IC-1", purpose="open", legs=CONDOR,
                              quantity=quantity, limit_price=-1.2))
    runtime.inject(OrderFilled(client_order_id="IC-1-O1", exec_id="E1", quantity=quantity, price=-1.2,
                               commission_usd=2.6 * quantity))
    runtime.inject(OrderTerminated(client_order_id="IC-1-O1", strategy_id="IC-1", purpose="open", status="filled",
                                   filled_quantity=quantity, avg_price=-1.2))
    runtime.inject(UnderlyingQuote(symbol="SPY", bid=567.95, ask=568.05, last=568.0))  # the expiry's last price
    return runtime


def _of(runtime, kind):
    return [m for m in runtime.history if isinstance(m, kind)]


def test_position_sync_books_an_assignment_instead_of_halting_and_then_books_the_flatten():
    runtime = _opened_condor()
    runtime.run_until(AFTER_EXPIRY)
    shares = (StockPosition(symbol="SPY", quantity=100, avg_cost=569.0),)
    runtime.inject(BrokerPositionsSnapshot(positions=(), complete=True, stock=shares))
    settled = _of(runtime, StrategySettled)[0]
    assert (settled.stock_quantity, settled.stock_avg_price, settled.realized_pnl_usd) == (100, 569.0, 117.4)
    assert _of(runtime, StrategyClosed)[0].rule == "assigned"
    assert _of(runtime, ReconciliationResult)[-1].ok and not _of(runtime, Halt)
    runtime.inject(PlaceOrder(client_order_id="IC-1-C2", strategy_id="IC-1", purpose="close", legs=(), quantity=-100,
                              limit_price=567.95, stock="SPY"))
    runtime.inject(OrderFilled(client_order_id="IC-1-C2", exec_id="E2", quantity=-100, price=567.95, commission_usd=1.0))
    runtime.inject(OrderFilled(client_order_id="IC-1-C2", exec_id="E2", quantity=-100, price=567.95, commission_usd=1.0))
    closed = _of(runtime, AssignedStockClosed)
    assert len(closed) == 1 and closed[0].realized_pnl_usd == pytest.approx(-106.0)  # re-delivery booked once
    runtime.inject(OrderTerminated(client_order_id="IC-1-C2", strategy_id="IC-1", purpose="close", status="filled",
                                   filled_quantity=-100, avg_price=567.95))
    runtime.inject(BrokerPositionsSnapshot(positions=(), complete=True))
    assert _of(runtime, ReconciliationResult)[-1].ok and not _of(runtime, Halt)


def test_shares_nobody_explains_still_halt_the_node():
    runtime = _opened_condor()
    runtime.run_until(AFTER_EXPIRY)
    held = tuple(BrokerPosition(contract=leg.contract, quantity=leg.ratio, avg_cost=1.0) for leg in CONDOR)
    shares = (StockPosition(symbol="SPY", quantity=100, avg_cost=569.0),)
    runtime.inject(BrokerPositionsSnapshot(positions=held, complete=True, stock=shares))
    result = _of(runtime, ReconciliationResult)[-1]
    assert not result.ok and result.mismatches == ("unknown stock: SPY broker +100 shares, strategies +0",)
    assert _of(runtime, Halt) and not _of(runtime, StrategySettled)


def test_a_condor_gone_before_its_expiry_without_shares_still_halts():
    runtime = _opened_condor()
    runtime.inject(BrokerPositionsSnapshot(positions=(), complete=True))
    assert not _of(runtime, ReconciliationResult)[-1].ok and _of(runtime, Halt)


# journal compatibility and the flatten policy ---------------------------------------------------------------------------
def test_a_snapshot_without_shares_encodes_as_before_the_field_existed():
    class OldSnapshot(msgspec.Struct, frozen=True, kw_only=True, tag="BrokerPositionsSnapshot"):
        ts: int = 0
        seq: int = 0
        origin: str = ""
        positions: tuple[BrokerPosition, ...]
        complete: bool

    old = msgspec.msgpack.encode(OldSnapshot(ts=5, seq=6, origin="broker", positions=(), complete=True))
    assert to_msgpack(BrokerPositionsSnapshot(ts=5, seq=6, origin="broker", positions=(), complete=True)) == old
    assert from_msgpack(old) == BrokerPositionsSnapshot(ts=5, seq=6, origin="broker", positions=(), complete=True)


def test_flatten_asks_one_stock_close_at_a_time_and_keep_asks_none():
    settled = StrategySettled(strategy_id="IC-1", symbol="SPY", settled=(), stock_quantity=100,
                              stock_avg_price=569.0, realized_pnl_usd=117.4)
    quote = UnderlyingQuote(symbol="SPY", bid=567.95, ask=568.05, last=568.0)
    keep = AssignedStockDesk("keep")
    keep.apply(settled)
    keep.on_underlying(quote)
    assert keep.closes() == []
    flatten = AssignedStockDesk("flatten")
    flatten.apply(settled)
    assert flatten.closes() == []  # no quote yet: no price to name
    flatten.on_underlying(quote)
    [close] = flatten.closes()
    assert (close.stock, close.quantity, close.mid_price, close.natural_price) == ("SPY", -100, 568.0, 567.95)
    assert flatten.closes() == []  # one on its way
    flatten.order_ended("IC-1")  # cancelled at its deadline: asked again
    assert len(flatten.closes()) == 1
    flatten.apply(AssignedStockClosed(strategy_id="IC-1", symbol="SPY", closed_quantity=-100, remaining_quantity=0,
                                      exit_price=567.95, realized_pnl_usd=-106.0, commissions_usd=1.0))
    flatten.order_ended("IC-1")
    assert flatten.closes() == []


def test_shares_closed_by_hand_are_booked_at_the_last_price_and_more_shares_still_halt():
    runtime = _opened_condor()
    runtime.run_until(AFTER_EXPIRY)
    runtime.inject(BrokerPositionsSnapshot(positions=(), complete=True,
                                           stock=(StockPosition(symbol="SPY", quantity=100, avg_cost=569.0),)))
    runtime.inject(UnderlyingQuote(symbol="SPY", bid=570.95, ask=571.05, last=571.0))
    runtime.inject(BrokerPositionsSnapshot(positions=(), complete=True,
                                           stock=(StockPosition(symbol="SPY", quantity=40, avg_cost=569.0),)))
    [closed] = _of(runtime, AssignedStockClosed)
    assert (closed.closed_quantity, closed.remaining_quantity, closed.exit_price) == (-60, 40, 571.0)
    assert closed.realized_pnl_usd == pytest.approx(120.0)  # (571 - 569) x 60
    assert _of(runtime, ReconciliationResult)[-1].ok and not _of(runtime, Halt)
    runtime.inject(BrokerPositionsSnapshot(positions=(), complete=True,
                                           stock=(StockPosition(symbol="SPY", quantity=140, avg_cost=569.0),)))
    assert not _of(runtime, ReconciliationResult)[-1].ok and _of(runtime, Halt)


# early assignment before an ex-date, and strategies settled in part ----------------------------------------------------
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
    settled = recognise_settlements([_condor()], held, {"SPY": -100}, BEFORE_EXPIRY, _price(None))
    assert settled["IC-1"] == (SettledLeg(contract=SHORT_CALL, quantity=-1, outcome="assigned", shares=-100),)
    half_gone = {**held, LONG_PUT: 0}  # a long leg gone early too: no settlement (we never exercise early)
    assert recognise_settlements([_condor()], half_gone, {"SPY": -100}, BEFORE_EXPIRY, _price(None)) == {}


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


# a short leg assigned early only in part (OCC assigns some of a position's contracts) ------------------------------------
def test_some_contracts_of_a_short_leg_assigned_early_are_recognised_and_leave_the_rest():
    three = _condor(quantity=3)
    held = {LONG_PUT: 3, SHORT_PUT: -3, SHORT_CALL: -1, LONG_CALL: 3}  # 2 of the 3 short calls assigned
    settled = recognise_settlements([three], held, {"SPY": -200}, BEFORE_EXPIRY, _price(None))
    assert settled["IC-1"] == (SettledLeg(contract=SHORT_CALL, quantity=-2, outcome="assigned", shares=-200),)
    assert recognise_settlements([three], held, {"SPY": -100}, BEFORE_EXPIRY, _price(None)) == {}  # shares disagree
    long_in_part = {**held, SHORT_CALL: -3, LONG_CALL: 2}  # a long contract gone early: we never exercise early
    assert recognise_settlements([three], long_in_part, {}, BEFORE_EXPIRY, _price(None)) == {}
    at_expiry = {**held, SHORT_CALL: -1}  # part of a leg gone at its expiry: OCC settles all of a series or none
    assert recognise_settlements([three], at_expiry, {"SPY": -200}, AFTER_EXPIRY, _price(600.0)) == {}


def test_a_contract_two_strategies_share_is_assigned_to_the_first_by_id():
    first, second = _condor("IC-1", quantity=2), _condor("IC-2", quantity=1)
    held = {LONG_PUT: 3, SHORT_PUT: -3, SHORT_CALL: -2, LONG_CALL: 3}  # 1 of the 3 short calls assigned
    settled = recognise_settlements([second, first], held, {"SPY": -100}, BEFORE_EXPIRY, _price(None))
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
    runtime = _opened_condor(quantity=3, now=BEFORE_EXPIRY)
    held = {LONG_PUT: 3, SHORT_PUT: -3, SHORT_CALL: -1, LONG_CALL: 3}
    positions = tuple(BrokerPosition(contract=c, quantity=q, avg_cost=1.0) for c, q in held.items())
    shares = (StockPosition(symbol="SPY", quantity=-200, avg_cost=590.0),)
    runtime.inject(BrokerPositionsSnapshot(positions=positions, complete=True, stock=shares))
    [settled] = _of(runtime, StrategySettled)
    assert settled.settled == (SettledLeg(SHORT_CALL, -2, "assigned", -200),) and settled.stock_quantity == -200
    assert settled.quantity_left == 1 and {(leg.contract, leg.ratio) for leg in settled.legs_left} == set(held.items())
    assert _of(runtime, ReconciliationResult)[-1].ok and not _of(runtime, Halt)
    runtime.inject(BrokerPositionsSnapshot(positions=positions, complete=True, stock=shares))  # the same report again
    assert len(_of(runtime, StrategySettled)) == 1 and _of(runtime, ReconciliationResult)[-1].ok
    # the rest closes as one combo of ratio legs: one unit, 10 contracts
    runtime.inject(PlaceOrder(client_order_id="IC-1-C2", strategy_id="IC-1", purpose="close", legs=settled.legs_left,
                              quantity=-1, limit_price=9.0))
    runtime.inject(OrderFilled(client_order_id="IC-1-C2", exec_id="E2", quantity=-1, price=9.0, commission_usd=6.5))
    runtime.inject(OrderTerminated(client_order_id="IC-1-C2", strategy_id="IC-1", purpose="close", status="filled",
                                   filled_quantity=-1, avg_price=9.0))
    [closed] = _of(runtime, StrategyClosed)
    assert closed.realized_pnl_usd == pytest.approx(3 * 120.0 + 900.0 - 7.8 - 6.5)  # credit + the sale - commissions
    runtime.inject(BrokerPositionsSnapshot(positions=(), complete=True, stock=shares))
    assert _of(runtime, ReconciliationResult)[-1].ok and not _of(runtime, Halt)


def test_a_partial_close_of_what_a_partial_assignment_left_books_its_share_of_the_whole_opening():
    from messages import StrategyReduced

    runtime = _opened_condor(quantity=4, now=BEFORE_EXPIRY)
    held = {LONG_PUT: 4, SHORT_PUT: -4, SHORT_CALL: -2, LONG_CALL: 4}  # 2 of 4 assigned: 2 units of (2, -2, -1, 2)
    positions = tuple(BrokerPosition(contract=c, quantity=q, avg_cost=1.0) for c, q in held.items())
    runtime.inject(BrokerPositionsSnapshot(positions=positions, complete=True,
                                           stock=(StockPosition(symbol="SPY", quantity=-200, avg_cost=590.0),)))
    [settled] = _of(runtime, StrategySettled)
    assert settled.quantity_left == 2
    runtime.inject(PlaceOrder(client_order_id="IC-1-C2", strategy_id="IC-1", purpose="close", legs=settled.legs_left,
                              quantity=-2, limit_price=5.0))
    runtime.inject(OrderFilled(client_order_id="IC-1-C2", exec_id="E2", quantity=-1, price=5.0, commission_usd=0.0))
    runtime.inject(OrderTerminated(client_order_id="IC-1-C2", strategy_id="IC-1", purpose="close",
                                   status="cancelled", filled_quantity=-1, avg_price=5.0))
    [reduced] = _of(runtime, StrategyReduced)
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
    assert [m.contracts for m in _of(runtime, UnsubscribeQuotes)] == [(SHORT_CALL,)]
    risk = runtime.core("risk")
    assert risk._portfolio.holding("IC-1").legs == left and not risk._portfolio.holders_of(SHORT_CALL)
