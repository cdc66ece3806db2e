"""The IB broker core's combo fills, fed IB's callbacks as messages: booked once from the leg executions whatever
order they arrive in, checked against the BAG execution and the order status, commissions, corrections, foreign
executions and executions IB reported but never delivered."""

from __future__ import annotations

import random

from messages import (
    Alert,
    CancelOrder,
    IbCancelOrder,
    IbCommission,
    IbError,
    IbExecution,
    IbResync,
    OptionContract,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    PlaceOrder,
)
from tests.unit.ib_core_driver import (
    CONDOR,
    EXPIRY,
    NOON,
    SECOND,
    combo_executions,
    ib_core_runtime,
    ib_status,
    place,
    seen,
)


# combo fills -------------------------------------------------------------------------------------------------------
def test_a_combo_fill_is_booked_once_from_its_legs_whatever_order_ibs_callbacks_arrive_in():
    for seed in range(20):
        runtime = ib_core_runtime()
        place(runtime, "O1", quantity=2)
        legs, bag, commissions = combo_executions("O1", 100, units=2, serial=1)
        events = [*legs, bag, *commissions]
        random.Random(seed).shuffle(events)
        for event in events + events:  # IB replays the day's executions on reconnect: the second pass is a replay
            runtime.inject(event)
        fills = seen(runtime, OrderFilled)
        assert [(f.quantity, f.price, f.commission_usd) for f in fills] == [(2, -1.18, 5.2)], seed
        assert not [a for a in seen(runtime, Alert) if a.level == "critical"], seed
        assert not [a for a in seen(runtime, Alert) if "corrected" in a.text], seed  # a replay is no correction


def test_a_fill_without_a_bag_execution_is_booked_from_its_legs():
    runtime = ib_core_runtime()
    place(runtime, "O1")
    legs, _, commissions = combo_executions("O1", 100, units=1, serial=1)
    for event in (*legs, *commissions):
        runtime.inject(event)
    assert [(f.quantity, f.price, f.commission_usd) for f in seen(runtime, OrderFilled)] == [(1, -1.18, 2.6)]


def test_a_closing_sale_of_the_structure_books_negative_units_at_the_structures_price():
    runtime = ib_core_runtime()
    runtime.inject(PlaceOrder(client_order_id="C1", strategy_id="IC-1", purpose="close", legs=CONDOR, quantity=-1,
                              limit_price=-0.60))
    legs, bag, commissions = combo_executions("C1", 100, units=1, serial=2, direction=-1)
    for event in (*legs, bag, *commissions):
        runtime.inject(event)
    assert [(f.quantity, f.price) for f in seen(runtime, OrderFilled)] == [(-1, -1.18)]


def test_legs_split_over_several_executions_complete_units_as_they_arrive():
    runtime = ib_core_runtime()
    place(runtime, "O1", quantity=3)
    legs, _, _ = combo_executions("O1", 100, units=3, serial=1)
    parts = []
    for leg in legs:  # each leg fills 1 then 2 contracts
        for n, shares in ((1, 1.0), (2, 2.0)):
            part = IbExecution(**{**{f: getattr(leg, f) for f in leg.__struct_fields__},
                                  "exec_id": f"{leg.exec_id[:-5]}{n}{leg.exec_id[-4:]}", "shares": shares})
            parts.append(part)
    for part in sorted(parts, key=lambda p: p.shares):  # first every leg's single contract, then the pairs
        runtime.inject(part)
        runtime.inject(IbCommission(exec_id=part.exec_id, commission_usd=0.65 * part.shares))
    assert [f.quantity for f in seen(runtime, OrderFilled)] == [1, 2]
    assert all(f.price == -1.18 for f in seen(runtime, OrderFilled))


def test_a_bag_execution_that_disagrees_with_the_legs_raises_a_critical_alert_and_the_legs_win():
    runtime = ib_core_runtime()
    place(runtime, "O1")
    legs, bag, commissions = combo_executions("O1", 100, units=1, serial=1, bag_price=1.18)  # sign inverted
    for event in (bag, *legs, *commissions):
        runtime.inject(event)
    assert [f.price for f in seen(runtime, OrderFilled)] == [-1.18]
    assert any(a.level == "critical" and "BAG executions of O1 report 1 units at 1.1800" in a.text
               for a in seen(runtime, Alert))


def test_an_average_fill_price_that_disagrees_with_the_legs_raises_a_critical_alert():
    runtime = ib_core_runtime()
    place(runtime, "O1", order_id=100)
    legs, _, commissions = combo_executions("O1", 100, units=1, serial=1)
    for event in (*legs, *commissions):
        runtime.inject(event)
    runtime.inject(ib_status("O1", "Filled", filled=1, avg=-1.30))
    runtime.inject(ib_status("O1", "Filled", filled=1, avg=-1.30))  # IB repeats its status: one alert per fill
    [alert] = [a for a in seen(runtime, Alert) if "average fill price" in a.text]
    assert alert.level == "critical" and "(-1.3000) differs from its legs' executions (-1.1800)" in alert.text
    assert [f.price for f in seen(runtime, OrderFilled)] == [-1.18]


def test_an_average_fill_price_that_agrees_raises_nothing():
    runtime = ib_core_runtime()
    place(runtime, "O1", order_id=100)
    legs, _, commissions = combo_executions("O1", 100, units=1, serial=1)
    for event in (*legs, *commissions):
        runtime.inject(event)
    runtime.inject(ib_status("O1", "Filled", filled=1, avg=-1.18))
    assert not seen(runtime, Alert)


def test_an_execution_of_a_leg_the_order_does_not_have_is_not_booked():
    runtime = ib_core_runtime()
    place(runtime, "O1")
    stranger = IbExecution(exec_id="0000e0d5.00000009.02.01", client_order_id="O1", order_id=100, perm_id=9100,
                           contract=OptionContract("SPY", EXPIRY, 500.0, "P"), side="BOT", shares=1.0, price=0.5)
    runtime.inject(stranger)
    assert not seen(runtime, OrderFilled)
    assert any(a.level == "critical" and "not a leg of the order" in a.text for a in seen(runtime, Alert))


def test_ibs_unset_commission_is_missing_and_the_real_report_books_the_fill():
    runtime = ib_core_runtime()
    place(runtime, "O1")
    legs, bag, commissions = combo_executions("O1", 100, units=1, serial=1)
    for event in (*legs, bag, *commissions[:3]):
        runtime.inject(event)
    runtime.inject(IbCommission(exec_id=legs[3].exec_id, commission_usd=1.7976931348623157e308))
    assert not seen(runtime, OrderFilled)
    runtime.inject(commissions[3])
    assert [f.commission_usd for f in seen(runtime, OrderFilled)] == [2.6]


def test_execution_corrections_are_recognised_and_not_booked_again():
    runtime = ib_core_runtime()
    place(runtime, "O1")
    legs, bag, commissions = combo_executions("O1", 100, units=1, serial=1)
    for event in (*legs, bag, *commissions):
        runtime.inject(event)
    corrected = IbExecution(**{**{f: getattr(legs[0], f) for f in legs[0].__struct_fields__},
                               "exec_id": legs[0].exec_id[:-2] + "02"})
    runtime.inject(corrected)
    assert len(seen(runtime, OrderFilled)) == 1
    assert any("corrected execution" in a.text for a in seen(runtime, Alert))


def test_execution_before_open_order_books_the_fill_and_no_late_acceptance():
    runtime = ib_core_runtime()
    place(runtime, "O1")
    legs, bag, commissions = combo_executions("O1", 100, units=1, serial=1)
    for event in (bag, *legs, *commissions):
        runtime.inject(event)
    runtime.inject(ib_status("O1", "Submitted"))
    assert len(seen(runtime, OrderFilled)) == 1
    assert not seen(runtime, OrderAccepted)


def test_a_missing_commission_report_delays_the_fill_then_books_it_with_a_warning():
    runtime = ib_core_runtime(commission_wait_s=2.0)
    place(runtime, "O1")
    legs, bag, commissions = combo_executions("O1", 100, units=1, serial=1)
    for event in (*legs, bag, *commissions[:3]):
        runtime.inject(event)
    assert not seen(runtime, OrderFilled)
    runtime.run_until(NOON + 3 * SECOND)
    fill = seen(runtime, OrderFilled)[0]
    assert fill.commission_usd == round(3 * 0.65, 2)
    assert any("without commission reports" in a.text for a in seen(runtime, Alert))


def test_partial_combo_fill_then_cancel_reports_the_filled_units():
    runtime = ib_core_runtime()
    place(runtime, "O1", quantity=3, order_id=100)
    runtime.inject(ib_status("O1", "Submitted"))
    legs, bag, commissions = combo_executions("O1", 100, units=2, serial=1)
    for event in (*legs, bag):
        runtime.inject(event)
    runtime.inject(CancelOrder(client_order_id="O1", reason="deadline"))
    assert seen(runtime, IbCancelOrder)
    runtime.inject(IbError(req_id=100, code=202, text="Order Canceled - reason:"))
    runtime.inject(ib_status("O1", "Cancelled", filled=2))
    assert not seen(runtime, OrderCancelled)  # the cancel waits for the fill it follows
    for event in commissions:
        runtime.inject(event)
    assert [f.quantity for f in seen(runtime, OrderFilled)] == [2]
    assert [(c.filled_quantity, c.reason) for c in seen(runtime, OrderCancelled)] == [(2, "cancel confirmed")]


def test_a_replayed_completed_order_keeps_its_id_and_a_foreign_execution_is_flagged_once():
    runtime = ib_core_runtime()
    place(runtime, "O1", order_id=100)
    runtime.inject(ib_status("O1", "Filled", filled=1, avg=-1.2, order_id=0))
    runtime.inject(CancelOrder(client_order_id="O1", reason="deadline"))
    assert seen(runtime, IbCancelOrder)[0].order_id == 100
    _, bag, _ = combo_executions("MANUAL", 0, units=1, serial=7)
    for _ in range(3):  # replayed at every connect and sweep
        runtime.inject(bag)
    assert len([a for a in seen(runtime, Alert) if "is not ours" in a.text]) == 1


def test_a_fill_ib_reports_without_its_executions_raises_an_alert_and_a_resync():
    runtime = ib_core_runtime(commission_wait_s=1.0)
    place(runtime, "O1", quantity=2)
    runtime.inject(ib_status("O1", "Filled", filled=2, avg=-1.2))
    runtime.run_until(NOON + 3 * SECOND)
    assert any("IB reports 2 units of O1 filled but executions delivered 0" in a.text for a in seen(runtime, Alert))
    assert seen(runtime, IbResync)[-1].reason == "missing executions of O1"
    legs, bag, commissions = combo_executions("O1", 100, units=2, serial=1)  # the resync brings them
    for event in (*legs, bag, *commissions):
        runtime.inject(event)
    assert [f.quantity for f in seen(runtime, OrderFilled)] == [2]


def test_executions_arriving_with_their_status_raise_no_alarm():
    runtime = ib_core_runtime(commission_wait_s=1.0)
    place(runtime, "O1")
    legs, bag, commissions = combo_executions("O1", 100, units=1, serial=1)
    runtime.inject(ib_status("O1", "Filled", filled=1, avg=-1.18))
    for event in (*legs, bag, *commissions):
        runtime.inject(event)
    resyncs = len(seen(runtime, IbResync))
    runtime.run_until(NOON + 3 * SECOND)
    assert len(seen(runtime, IbResync)) == resyncs and not seen(runtime, Alert)
