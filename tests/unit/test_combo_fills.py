"""Combo fills booked from IB's leg executions, on a ratio structure (buy 1 put, sell 2): units complete only when
every leg has executed its ratio, across executions of any size; replays, corrections, strangers and wrong sides are
told apart; commissions are shared out by the fraction of each execution a fill used; the BAG is cross-checked."""

from __future__ import annotations

import datetime as dt

from actors.broker.ib.fills import ComboFills, execution_identity, usable_commission
from messages import IbExecution, Leg, OptionContract

LONG_PUT = OptionContract("SPY", dt.date(2026, 4, 10), 540.0, "P")
SHORT_PUTS = OptionContract("SPY", dt.date(2026, 4, 10), 530.0, "P")
RATIO = (Leg(LONG_PUT, 1), Leg(SHORT_PUTS, -2))
IB_UNSET = 1.7976931348623157e308


def _execution(exec_id: str, contract: OptionContract | None, side: str, shares: float, price: float,
               order: str = "O1") -> IbExecution:
    return IbExecution(exec_id=exec_id, client_order_id=order, order_id=1, perm_id=1, contract=contract,
                       side=side, shares=shares, price=price)  # type: ignore[arg-type]


def _two_units() -> ComboFills:
    """Two units bought in four executions: units complete at 0.50 (3.00 - 2 × 1.25) and 0.65 (3.10 - 2.45)."""
    fills = ComboFills()
    fills.open("O1", RATIO, 2)
    assert fills.add(_execution("x.1.01", LONG_PUT, "BOT", 1, 3.00)) == "new"
    assert fills.add(_execution("x.2.01", SHORT_PUTS, "SLD", 3, 1.25)) == "completed"
    assert fills.add(_execution("x.3.01", LONG_PUT, "BOT", 1, 3.10)) == "new"  # half a unit of short puts left
    assert fills.add(_execution("x.4.01", SHORT_PUTS, "SLD", 1, 1.20)) == "completed"
    return fills


def test_units_complete_across_executions_of_any_size_at_the_structures_net_price():
    fills = _two_units()
    assert fills.filled("O1") == (2, 0.575)
    assert fills.pending_exec_ids("O1") == ["x.2.01", "x.4.01"] and fills.pending("O1")
    assert fills.filled("other") == (0, 0.0) and not fills.pending("other")


def test_a_fill_books_once_its_legs_reported_commissions_shared_by_the_fraction_it_used():
    fills = _two_units()
    assert fills.ready() == []
    assert fills.commission("x.1.01", 1.0) and fills.commission("x.2.01", 1.5)
    [first] = fills.ready()  # 1.0 + 2/3 of 1.5
    assert (first.client_order_id, first.exec_id, first.quantity, first.price, first.commission_usd,
            first.missing_commissions) == ("O1", "x.2.01", 1, 0.5, 2.0, ())
    assert isinstance(first.quantity, int)
    forced = fills.force("x.4.01")  # the grace period is over: 1/3 of 1.5 known, two reports missing
    assert forced is not None
    assert (forced.exec_id, forced.quantity, forced.price, forced.commission_usd, forced.missing_commissions) == (
        "x.4.01", 1, 0.65, 0.5, ("x.3.01", "x.4.01"))
    assert fills.force("x.4.01") is None and fills.force("nothing") is None
    assert not fills.pending("O1")


def test_commissions_keep_their_cents_and_ibs_unset_value_is_not_a_commission():
    fills = ComboFills()
    fills.open("O1", (Leg(LONG_PUT, 1),), 3)
    fills.add(_execution("y.1.01", LONG_PUT, "BOT", 3, 2.0))
    fills.commission("y.1.01", 1.0)
    [fill] = fills.ready()
    assert (fill.quantity, fill.price, fill.commission_usd) == (3, 2.0, 1.0)
    assert not fills.commission("y.2.01", IB_UNSET) and not fills.commission("y.2.01", float("nan"))
    assert (usable_commission(1.5), usable_commission(-0.2), usable_commission(1e300), usable_commission(IB_UNSET)) == (
        True, True, False, False)


def test_a_third_of_an_execution_carries_a_third_of_its_commission_rounded_to_cents():
    fills = ComboFills()
    fills.open("O1", RATIO, 1)
    fills.add(_execution("z.1.01", LONG_PUT, "BOT", 1, 3.0))
    fills.add(_execution("z.2.01", SHORT_PUTS, "SLD", 6, 1.23456))  # three units of short puts, one unit of longs
    fills.commission("z.1.01", 0.0)
    fills.commission("z.2.01", 1.0)
    [fill] = fills.ready()
    assert (fill.price, fill.commission_usd) == (0.5309, 0.33)  # 3 - 2 × 1.23456, to four decimals


def test_selling_the_structure_books_negative_units_and_its_legs_trade_the_other_way():
    fills = ComboFills()
    fills.open("C1", RATIO, -1)
    assert fills.add(_execution("s.1.01", LONG_PUT, "BOT", 1, 3.0, "C1")) == "unexpected"
    assert fills.add(_execution("s.2.01", LONG_PUT, "SLD", 1, 3.0, "C1")) == "new"
    assert fills.add(_execution("s.3.01", SHORT_PUTS, "BOT", 2, 1.25, "C1")) == "completed"
    fills.commission("s.2.01", 0.0)
    fills.commission("s.3.01", 0.0)
    [fill] = fills.ready()
    assert (fill.quantity, fill.price) == (-1, 0.5)


def test_replays_corrections_strangers_and_wrong_sides_are_told_apart():
    fills = ComboFills()
    fills.open("O1", RATIO, 1)
    stranger = OptionContract("SPY", dt.date(2026, 4, 10), 520.0, "P")
    assert fills.add(_execution("r.1.01", LONG_PUT, "BOT", 1, 3.0)) == "new"
    assert fills.add(_execution("r.1.01", LONG_PUT, "BOT", 1, 3.0)) == "duplicate"  # IB's replay at a reconnect
    assert fills.add(_execution("r.1.02", LONG_PUT, "BOT", 1, 3.01)) == "correction"
    assert fills.add(_execution("r.1.02", LONG_PUT, "BOT", 1, 3.01)) == "duplicate"  # the correction replayed
    assert fills.add(_execution("r.2.01", stranger, "SLD", 1, 1.0)) == "unexpected"
    assert fills.add(_execution("r.3.01", stranger, "BOT", 1, 1.0)) == "unexpected"
    assert fills.add(_execution("r.4.01", SHORT_PUTS, "BOT", 2, 1.0)) == "unexpected"  # buys what it sells
    assert fills.filled("O1") == (0, 0.0)
    assert (execution_identity("r.1.02"), execution_identity("abc"), execution_identity(".5")) == ("r.1", "abc", ".5")


def test_the_bag_is_cross_checked_against_the_legs_once_when_they_cover_the_same_units():
    fills = _two_units()
    assert fills.add(_execution("x.9.01", None, "BOT", 1, 0.60)) == "new"
    assert fills.bag_mismatch("O1") is None  # one BAG unit against two leg units: not comparable yet
    fills.add(_execution("x.9.02.01", None, "BOT", 1, 0.65))
    assert fills.bag_mismatch("O1") == (
        "the BAG executions of O1 report 2 units at 0.6250 but its legs executed at 0.5750")
    assert fills.bag_mismatch("O1") is None  # reported once


def test_a_bag_within_half_a_cent_of_the_legs_agrees():
    fills = ComboFills()
    fills.open("O1", RATIO, 1)
    fills.add(_execution("t.1.01", LONG_PUT, "BOT", 1, 3.01))
    fills.add(_execution("t.2.01", SHORT_PUTS, "SLD", 2, 1.50))
    fills.add(_execution("t.3.01", None, "BOT", 1, 0.005))
    assert fills.filled("O1") == (1, 0.01) and fills.bag_mismatch("O1") is None


def _stock_execution(exec_id: str, side: str, shares: float, price: float, stock: str = "SPY") -> IbExecution:
    return IbExecution(exec_id=exec_id, client_order_id="S1", order_id=2, perm_id=2, contract=None, side=side,
                       shares=shares, price=price, stock=stock)  # type: ignore[arg-type]


def test_a_stock_orders_executions_are_each_a_fill_of_signed_shares_booked_once_commissioned():
    fills = ComboFills()
    fills.open("S1", (), -300, "SPY")
    assert fills.add(_stock_execution("s.1.01", "SLD", 100, 567.95)) == "completed"
    assert fills.add(_stock_execution("s.2.01", "SLD", 200, 567.94)) == "completed"
    assert fills.add(_stock_execution("s.1.01", "SLD", 100, 567.95)) == "duplicate"  # IB replays the day
    assert fills.add(_stock_execution("s.2.02", "SLD", 200, 567.94)) == "correction"
    assert fills.ready() == [] and fills.filled("S1") == (300, (100 * 567.95 + 200 * 567.94) / 300)
    assert fills.commission("s.2.01", 1.0)
    [second] = fills.ready()
    assert (second.exec_id, second.quantity, second.price, second.commission_usd) == ("s.2.01", -200, 567.94, 1.0)
    first = fills.force("s.1.01")
    assert first is not None and (first.quantity, first.missing_commissions) == (-100, ("s.1.01",))
    assert not fills.pending("S1")


def test_an_execution_that_is_not_the_stock_orders_own_is_never_booked_on_it():
    fills = ComboFills()
    fills.open("S1", (), -100, "SPY")
    fills.open("O1", RATIO, 1)
    assert fills.add(_stock_execution("s.1.01", "BOT", 100, 568.0)) == "unexpected"  # the wrong side
    assert fills.add(_stock_execution("s.2.01", "SLD", 100, 400.0, stock="QQQ")) == "unexpected"
    assert fills.add(_execution("s.3.01", LONG_PUT, "BOT", 1, 3.0, order="S1")) == "unexpected"  # an option
    assert fills.add(IbExecution(exec_id="s.4.01", client_order_id="O1", order_id=1, perm_id=1, contract=None,
                                 side="BOT", shares=100, price=568.0, stock="SPY")) == "unexpected"  # shares on a combo
    assert not fills.pending("S1") and not fills.pending("O1") and fills.filled("S1") == (0, 0.0)
