"""The early-assignment rule: a short call worth less alive than its dividend on the last day to exercise for it, any
short leg deep in the money with no extrinsic value left; and everything that must not fire."""

from __future__ import annotations

import datetime as dt

import pytest
from msgspec.structs import replace

from actors.config import config_from_mapping
from actors.config_section import ConfigError
from actors.decision.assignment_risk import (
    DividendAhead,
    ShortLegMark,
    deep_in_the_money,
    dividend_ahead,
    dividend_exercise,
    sessions_until,
)
from actors.decision.config import ExitSection
from actors.decision.exit_baseline import ExitBaseline
from actors.decision.leg_plan import leg_plan
from actors.decision.market_context import MarketContext
from actors.decision.position_state import position_state
from actors.decision.rules import EXIT_RULES, PositionState, first_exit
from actors.market_data.marks import LegView
from actors.portfolio.view import Holding
from messages import Dividends, Leg, OptionContract, UnderlyingQuote

EXPIRY = dt.date(2026, 4, 10)
CALL = ShortLegMark("SPY 2026-04-10 610C", "C", 610.0, EXPIRY, 36.30, 0.89)  # 35 intrinsic at 645: 1.30 extrinsic
PUT = ShortLegMark("SPY 2026-04-10 550P", "P", 550.0, EXPIRY, 0.40, -0.05)
TOMORROW = DividendAhead(dt.date(2026, 3, 20), 1.80, sessions_to_ex=1)
ON = ExitSection(assignment_risk_enabled=True)
HELD = PositionState(strategy_id="IC-1", legs=(), quantity=1, entry_price=-1.58, max_profit_usd=158.0,
                     mark_price=-4.5, days_to_expiry=22, underlying_price=645.0, short_marks=(PUT, CALL),
                     dividend=TOMORROW)


def test_a_short_call_worth_less_alive_than_the_dividend_closes_on_the_last_day_before_the_ex_date():
    signal = EXIT_RULES["assignment_risk"](HELD, ON)
    assert signal is not None and signal.rule == "assignment_risk" and signal.roll is False
    assert signal.reason == ("short SPY 2026-04-10 610C extrinsic 1.30 below the 1.80 dividend going ex on 2026-03-20 "
                             "(1 session(s) away): early exercise likely")


def test_the_dividend_case_does_not_fire_when_any_of_its_conditions_is_missing():
    assert dividend_exercise((CALL,), 645.0, replace(TOMORROW, amount=1.20), 1) is None  # extrinsic above it
    assert dividend_exercise((CALL,), 645.0, replace(TOMORROW, sessions_to_ex=2), 1) is None  # not the last day yet
    assert dividend_exercise((CALL,), 645.0, replace(TOMORROW, sessions_to_ex=2), 2) is not None  # ...unless asked
    assert dividend_exercise((CALL,), 645.0, None, 1) is None  # no dividend announced
    otm = replace(CALL, strike=650.0, mark=1.10)  # worth less than the dividend, but nobody exercises it
    assert dividend_exercise((otm,), 645.0, TOMORROW, 1) is None
    put = replace(PUT, strike=660.0, mark=15.5, delta=-0.8)  # in the money, but a put is not exercised for a dividend
    assert dividend_exercise((put,), 645.0, TOMORROW, 1) is None
    expiring_before = replace(CALL, expiry=dt.date(2026, 3, 19))  # gone before the ex-date
    assert dividend_exercise((expiring_before,), 645.0, TOMORROW, 1) is None
    assert dividend_exercise((CALL,), 0.0, TOMORROW, 1) is None  # no underlying price: nothing to judge


def test_a_deep_in_the_money_leg_with_no_extrinsic_value_closes_any_day():
    deep_put = ShortLegMark("SPY 2026-04-10 550P", "P", 550.0, EXPIRY, 39.77, -0.93)  # -0.23 extrinsic at 510
    assert deep_in_the_money((deep_put,), 510.0, 0.90, 0.05) == (
        "short SPY 2026-04-10 550P deep in the money (delta -0.93) with extrinsic -0.23 below 0.05: "
        "early assignment likely")
    assert deep_in_the_money((replace(deep_put, mark=40.10),), 510.0, 0.90, 0.05) is None  # 0.10 extrinsic left
    assert deep_in_the_money((replace(deep_put, delta=-0.85),), 510.0, 0.90, 0.05) is None  # not deep enough
    assert deep_in_the_money((deep_put,), 560.0, 0.90, 0.05) is None  # out of the money (a stale delta)
    state = replace(HELD, underlying_price=510.0, short_marks=(deep_put,), dividend=None)
    assert first_exit(state, ON).rule == "assignment_risk"


def test_off_by_default_and_quiet_on_a_calm_position():
    assert EXIT_RULES["assignment_risk"](HELD, ExitSection()) is None
    calm = replace(HELD, underlying_price=590.0, short_marks=(PUT, replace(CALL, mark=1.2, delta=0.2)))
    assert EXIT_RULES["assignment_risk"](calm, ON) is None


def test_roll_action_rolls():
    signal = EXIT_RULES["assignment_risk"](HELD, ExitSection(assignment_risk_enabled=True, assignment_action="roll"))
    assert signal is not None and signal.roll is True


def test_sessions_to_the_ex_date_count_trading_days_only():
    thursday, friday, monday = dt.date(2026, 3, 19), dt.date(2026, 3, 20), dt.date(2026, 3, 23)
    assert sessions_until(thursday, friday, 5) == 1
    assert sessions_until(dt.date(2026, 3, 20), monday, 5) == 1  # the weekend is no session
    assert sessions_until(dt.date(2026, 4, 2), dt.date(2026, 4, 6), 5) == 1  # Good Friday 2026-04-03: closed
    assert sessions_until(thursday, dt.date(2026, 12, 31), 2) == 3  # counting stops past the window
    assert dividend_ahead(friday, friday, 1.8, 1) is None  # trading ex today: already in the price
    assert dividend_ahead(thursday, None, 0.0, 1) is None
    assert dividend_ahead(thursday, friday, 1.8, 1) == DividendAhead(friday, 1.8, 1)


@pytest.mark.parametrize("exits, message", [
    ({"assignment_action": "hold"}, "assignment_action"),
    ({"assignment_deep_itm_delta": 0.3}, "assignment_deep_itm_delta"),
    ({"assignment_extrinsic_floor": -1}, "assignment_extrinsic_floor"),
    ({"assignment_dividend_days": 0}, "assignment_dividend_days"),
])
def test_bad_settings_are_one_line_errors(exits, message):
    with pytest.raises(ConfigError, match=message) as caught:
        config_from_mapping({"exits": exits})
    assert "\n" not in str(caught.value)


def test_a_priority_list_must_name_the_new_rule():
    without = ("catastrophe", "stop_loss", "delta_breach", "vix_spike", "gamma_risk", "event", "pin_risk", "expiry_day",
               "trailing_stop", "take_profit", "iv_crush", "iv_percentile", "roll", "dte_exit")
    with pytest.raises(ConfigError, match="assignment_risk"):
        config_from_mapping({"exits": {"priority": list(without)}})
    assert config_from_mapping({"exits": {"priority": [*without, "assignment_risk"]}}).exits.priority[-1] == \
        "assignment_risk"


def _ns(text: str) -> int:
    return int(dt.datetime.fromisoformat(text).timestamp()) * 1_000_000_000


def test_a_quiet_short_call_is_valued_with_the_dividend_not_by_its_conservative_mark():
    """Its conservative mark (model at a continuous yield, plus a penalty) would put its extrinsic above the dividend
    and hide the risk; valued with the dividend as a discrete cash dividend it is below intrinsic on the eve."""
    now = _ns("2026-03-19T15:00:00+00:00")
    call = OptionContract("SPY", dt.date(2026, 3, 27), 600.0, "C")  # 6 days, 45 in the money at 645
    wing = OptionContract("SPY", dt.date(2026, 3, 27), 605.0, "C")
    holding = Holding("BCS-1", "SPY", (Leg(call, -1), Leg(wing, 1)), 1, -1.5, 150.0, 350.0)
    market = MarketContext(3600 * 1_000_000_000)
    market.on_underlying(UnderlyingQuote(ts=now, symbol="SPY", bid=644.95, ask=645.05, last=645.0))
    market.on_dividends(Dividends(symbol="SPY", ex_date=dt.date(2026, 3, 20), amount=1.8))
    quiet = LegView(47.6, 47.6, 0.97, 0.002, 0.16, note=f"{call} quiet or behind: model 45.33 or last ask, plus 5%")
    views = {call: quiet, wing: LegView(40.1, 40.0, 0.96, 0.002, 0.16)}

    def state(exits: ExitSection):
        return position_state(leg_plan(holding), views, ExitBaseline(), market, now, event=None, iv_percentile=-1.0,
                              exits=exits, model_rate=0.04)

    judged = state(ON)
    [short] = judged.short_marks
    assert short.mark < 45.0  # the discrete-dividend model: below intrinsic (45), not the conservative 47.60
    assert judged.dividend == DividendAhead(dt.date(2026, 3, 20), 1.8, 1) and judged.underlying_price == 645.0
    assert EXIT_RULES["assignment_risk"](judged, ON).reason.startswith(f"short {call} extrinsic -")
    fresh = replace(quiet, note="")  # a fresh two-sided mid is the market's own price: used as it is
    views[call] = fresh
    assert state(ON).short_marks[0].mark == 47.6
    assert state(ExitSection()).short_marks == () and state(ExitSection()).dividend is None  # rule off: not gathered
