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
from actors.settlement import settles_at_ns
from messages import (
    AssignedStockClosed,
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
    UnderlyingQuote,
)
from messages.codec import from_msgpack, to_msgpack
from tests.unit.assignment_fixtures import (
    AFTER_EXPIRY,
    BEFORE_EXPIRY,
    CONDOR,
    EXPIRY,
    LONG_CALL,
    LONG_PUT,
    SHORT_CALL,
    SHORT_PUT,
    closing,
    condor,
    opened_condor,
    seen,
)


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


# recognising settlements --------------------------------------------------------------------------------------------
def test_a_short_put_assigned_at_expiry_explains_the_vanished_condor_and_the_shares():
    settled = recognise_settlements([condor()], {}, {"SPY": 100}, AFTER_EXPIRY, closing(568.0))
    outcomes = {leg.contract: (leg.outcome, leg.shares) for leg in settled["IC-1"]}
    assert outcomes == {SHORT_PUT: ("assigned", 100), LONG_PUT: ("expired", 0), SHORT_CALL: ("expired", 0),
                        LONG_CALL: ("expired", 0)}


def test_an_out_of_the_money_condor_expires_worthless():
    settled = recognise_settlements([condor()], {}, {}, AFTER_EXPIRY, closing(580.0))
    assert {leg.outcome for leg in settled["IC-1"]} == {"expired"}


def test_shares_with_no_vanished_leg_are_not_explained():
    # the condor is still held: 100 shares from nowhere explain nothing
    held = {leg.contract: leg.ratio for leg in CONDOR}
    assert recognise_settlements([condor()], held, {"SPY": 100}, AFTER_EXPIRY, closing(568.0)) == {}


def test_legs_gone_before_expiry_without_shares_are_not_a_settlement():
    assert recognise_settlements([condor()], {}, {}, BEFORE_EXPIRY, closing(580.0)) == {}


def test_an_early_assignment_before_expiry_is_recognised_by_its_shares():
    naked_put = Holding("P-1", "SPY", (Leg(SHORT_PUT, -1),), 2)
    settled = recognise_settlements([naked_put], {}, {"SPY": 200}, BEFORE_EXPIRY, closing(None))
    assert settled["P-1"] == (SettledLeg(contract=SHORT_PUT, quantity=-2, outcome="assigned", shares=200),)


def test_the_brokers_shares_decide_when_the_price_disagrees_and_one_choice_fits():
    # the last price said out of the money, but the broker assigned the short put (the price moved after the close)
    settled = recognise_settlements([condor()], {}, {"SPY": 100}, AFTER_EXPIRY, closing(570.0))
    assert [leg.contract for leg in settled["IC-1"] if leg.shares] == [SHORT_PUT]


def test_an_ambiguous_settlement_without_a_price_stays_a_difference():
    # no price: both puts exercised or neither deliver the same zero shares; the cash would differ by $500
    assert recognise_settlements([condor()], {}, {}, AFTER_EXPIRY, closing(None)) == {}


def test_a_contract_two_strategies_share_settles_only_the_one_that_is_gone():
    one, two = condor("IC-1"), condor("IC-2")
    held = {leg.contract: leg.ratio for leg in CONDOR}  # one condor's worth is still there
    settled = recognise_settlements([one, two], held, {}, AFTER_EXPIRY, closing(580.0))
    assert list(settled) == ["IC-1"]


def test_both_legs_of_a_spread_exercised_offset_and_realise_the_width():
    legs = (SettledLeg(SHORT_PUT, -1, "assigned", 100), SettledLeg(LONG_PUT, 1, "exercised", -100))
    shares, cost, realised = book_shares(legs)
    assert (shares, cost, realised) == (0, 0.0, pytest.approx(-500.0))
    assert book_shares(legs[:1]) == (100, pytest.approx(56_900.0), 0.0)


# position sync: booked, not a mismatch; anything else still halts ---------------------------------------------------
def test_position_sync_books_an_assignment_instead_of_halting_and_then_books_the_flatten():
    runtime = opened_condor()
    runtime.run_until(AFTER_EXPIRY)
    shares = (StockPosition(symbol="SPY", quantity=100, avg_cost=569.0),)
    runtime.inject(BrokerPositionsSnapshot(positions=(), complete=True, stock=shares))
    settled = seen(runtime, StrategySettled)[0]
    assert (settled.stock_quantity, settled.stock_avg_price, settled.realized_pnl_usd) == (100, 569.0, 117.4)
    assert seen(runtime, StrategyClosed)[0].rule == "assigned"
    assert seen(runtime, ReconciliationResult)[-1].ok and not seen(runtime, Halt)
    runtime.inject(PlaceOrder(client_order_id="IC-1-C2", strategy_id="IC-1", purpose="close", legs=(), quantity=-100,
                              limit_price=567.95, stock="SPY"))
    runtime.inject(OrderFilled(client_order_id="IC-1-C2", exec_id="E2", quantity=-100, price=567.95,
                               commission_usd=1.0))
    runtime.inject(OrderFilled(client_order_id="IC-1-C2", exec_id="E2", quantity=-100, price=567.95,
                               commission_usd=1.0))
    closed = seen(runtime, AssignedStockClosed)
    assert len(closed) == 1 and closed[0].realized_pnl_usd == pytest.approx(-106.0)  # re-delivery booked once
    runtime.inject(OrderTerminated(client_order_id="IC-1-C2", strategy_id="IC-1", purpose="close", status="filled",
                                   filled_quantity=-100, avg_price=567.95))
    runtime.inject(BrokerPositionsSnapshot(positions=(), complete=True))
    assert seen(runtime, ReconciliationResult)[-1].ok and not seen(runtime, Halt)


def test_shares_nobody_explains_still_halt_the_node():
    runtime = opened_condor()
    runtime.run_until(AFTER_EXPIRY)
    held = tuple(BrokerPosition(contract=leg.contract, quantity=leg.ratio, avg_cost=1.0) for leg in CONDOR)
    shares = (StockPosition(symbol="SPY", quantity=100, avg_cost=569.0),)
    runtime.inject(BrokerPositionsSnapshot(positions=held, complete=True, stock=shares))
    result = seen(runtime, ReconciliationResult)[-1]
    assert not result.ok and result.mismatches == ("unknown stock: SPY broker +100 shares, strategies +0",)
    assert seen(runtime, Halt) and not seen(runtime, StrategySettled)


def test_a_condor_gone_before_its_expiry_without_shares_still_halts():
    runtime = opened_condor()
    runtime.inject(BrokerPositionsSnapshot(positions=(), complete=True))
    assert not seen(runtime, ReconciliationResult)[-1].ok and seen(runtime, Halt)


# journal compatibility and the flatten policy -----------------------------------------------------------------------
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
    runtime = opened_condor()
    runtime.run_until(AFTER_EXPIRY)
    runtime.inject(BrokerPositionsSnapshot(positions=(), complete=True,
                                           stock=(StockPosition(symbol="SPY", quantity=100, avg_cost=569.0),)))
    runtime.inject(UnderlyingQuote(symbol="SPY", bid=570.95, ask=571.05, last=571.0))
    runtime.inject(BrokerPositionsSnapshot(positions=(), complete=True,
                                           stock=(StockPosition(symbol="SPY", quantity=40, avg_cost=569.0),)))
    [closed] = seen(runtime, AssignedStockClosed)
    assert (closed.closed_quantity, closed.remaining_quantity, closed.exit_price) == (-60, 40, 571.0)
    assert closed.realized_pnl_usd == pytest.approx(120.0)  # (571 - 569) x 60
    assert seen(runtime, ReconciliationResult)[-1].ok and not seen(runtime, Halt)
    runtime.inject(BrokerPositionsSnapshot(positions=(), complete=True,
                                           stock=(StockPosition(symbol="SPY", quantity=140, avg_cost=569.0),)))
    assert not seen(runtime, ReconciliationResult)[-1].ok and seen(runtime, Halt)
