"""A holding's leg plan and the one-pass marks the exits judge by: the same numbers the plain functions give, and a
fresh plan whenever the holding changes."""

import datetime as dt
from dataclasses import replace

from msgspec import structs

from actors.decision.leg_plan import LegPlans, leg_plan, legs_marked
from actors.decision.position_state import combo_mark, conservative_note, pin_distance_pct
from actors.market_data.marks import LegView
from actors.portfolio.view import Holding
from messages import Leg, OptionContract

NEAR, FAR = dt.date(2026, 3, 20), dt.date(2026, 4, 17)
SHORT_PUT, LONG_PUT = OptionContract("SPY", NEAR, 570.0, "P"), OptionContract("SPY", NEAR, 565.0, "P")
SHORT_CALL, LONG_CALL = OptionContract("SPY", FAR, 590.0, "C"), OptionContract("SPY", FAR, 595.0, "C")
CONDOR = (Leg(LONG_PUT, 1), Leg(SHORT_PUT, -1), Leg(SHORT_CALL, -1), Leg(LONG_CALL, 1))
HELD = Holding("IC-1", "SPY", CONDOR, 2, -1.6, 320.0, 680.0)
VIEWS = {
    LONG_PUT: LegView(0.41, 0.40, -0.08, 0.010, 0.19),
    SHORT_PUT: LegView(1.13, 1.15, -0.21, 0.020, 0.17, note=f"{SHORT_PUT} short, no bid: the ask 1.13"),
    SHORT_CALL: LegView(0.97, 0.99, 0.23, 0.025, 0.14),
    LONG_CALL: LegView(0.33, 0.31, 0.09, 0.011, 0.13, note=f"{LONG_CALL} long, no ask: the bid 0.33"),
}


def test_the_plan_reads_the_legs_as_held():
    plan = leg_plan(HELD)
    assert plan.shorts == (SHORT_PUT, SHORT_CALL) and plan.iv_legs == plan.shorts
    assert [long for _, _, long in plan.sides] == [True, False, False, True]
    assert (plan.nearest_expiry, plan.furthest_expiry) == (NEAR, FAR)
    # held short (a debit condor sold back to open): the sides swap, and every leg sets the IV when none is short
    flipped = leg_plan(replace(HELD, quantity=-1))
    assert flipped.shorts == (LONG_PUT, LONG_CALL)
    assert leg_plan(replace(HELD, legs=(Leg(LONG_PUT, 1),))).iv_legs == (LONG_PUT,)
    assert leg_plan(replace(HELD, quantity=0)).shorts == ()  # all closed: nothing is short any more


def test_the_one_pass_marks_are_the_plain_functions_numbers():
    plan = leg_plan(HELD)
    marked = legs_marked(plan, VIEWS)
    assert marked.mark == combo_mark(HELD, VIEWS)
    assert marked.note == conservative_note(HELD, VIEWS)
    assert marked.iv == (0.17 + 0.14) / 2
    assert (marked.short_max_abs_delta, marked.short_max_gamma) == (0.23, 0.025)
    # the maxima are the plain `max`'s, even of values below zero (a model gamma a hair under it)
    odd = {**VIEWS, SHORT_PUT: structs.replace(VIEWS[SHORT_PUT], gamma=-0.002),
           SHORT_CALL: structs.replace(VIEWS[SHORT_CALL], gamma=-0.001)}
    assert legs_marked(plan, odd).short_max_gamma == -0.001
    # no short leg: no short delta or gamma, and the IV is every leg's
    longs = leg_plan(replace(HELD, legs=(Leg(LONG_PUT, 1), Leg(LONG_CALL, 1))))
    assert legs_marked(longs, VIEWS).short_max_gamma == 0.0 and legs_marked(longs, VIEWS).iv == (0.19 + 0.13) / 2


def test_pin_distance_only_on_a_short_legs_expiry_day():
    plan = leg_plan(HELD)
    assert pin_distance_pct(plan, 571.0, NEAR) == 1.0 / 571.0
    assert pin_distance_pct(plan, 571.0, NEAR - dt.timedelta(days=1)) == -1.0
    assert pin_distance_pct(plan, None, NEAR) == -1.0
    assert pin_distance_pct(plan, 591.0, FAR) == 1.0 / 591.0  # the near legs are gone: the far short call pins


def test_a_changed_holding_gets_a_new_plan():
    plans = LegPlans()
    first = plans.of(HELD)
    assert plans.of(HELD) is first
    settled = replace(HELD, legs=CONDOR[2:])  # the puts settled: only the calls are left
    assert plans.of(settled).shorts == (SHORT_CALL,) and plans.of(settled).nearest_expiry == FAR
    plans.forget("IC-1")
    assert plans.of(HELD) is not first and plans.of(HELD) == first
