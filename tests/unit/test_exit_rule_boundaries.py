"""Every exit rule exactly at its threshold: the rules say "at or beyond", so the boundary value fires and the
nearest value inside stays quiet. The numbers are exact in binary (premium 200, P&L in whole dollars), so a
`<` written for a `<=` fails here rather than on some float. Also the reasons a trader reads, word for word."""

from __future__ import annotations

import pytest
from msgspec.structs import replace

from actors.decision.config import ExitSection
from actors.decision.rules import EXIT_RULES, PositionState, first_exit

# a credit of 2.00 (200 dollars, also the max profit), at break-even, far from expiry: no rule fires
FLAT = PositionState(strategy_id="IC-1", legs=(), quantity=1, entry_price=-2.0, max_profit_usd=200.0,
                     mark_price=-2.0, days_to_expiry=35, entry_iv=0.5, current_iv=0.5, entry_vix=20.0,
                     current_vix=20.0)
HALVES = ExitSection(trailing_activate_pct=0.5, trailing_giveback_pct=0.5, iv_crush_drop_pct=0.5,
                     iv_crush_min_profit_pct=0.25, catastrophe_iv_jump_pct=0.5)
ROLLING = ExitSection(roll_enabled=True)

BOUNDARIES: dict[str, tuple[str, dict, dict, ExitSection]] = {
    # case: (rule, at the boundary: fires, just inside: quiet, params)
    "underlying move": ("catastrophe", {"underlying_move_pct": -0.03}, {"underlying_move_pct": -0.0299},
                        ExitSection()),
    "IV jump": ("catastrophe", {"current_iv": 0.75}, {"current_iv": 0.7499}, HALVES),
    "stop loss 2x credit": ("stop_loss", {"mark_price": -6.0}, {"mark_price": -5.99}, ExitSection()),
    "near-expiry stop starts below 7 DTE": ("stop_loss", {"mark_price": -3.0, "days_to_expiry": 6},
                                            {"mark_price": -3.0, "days_to_expiry": 7}, ExitSection()),
    "near-expiry stop 0.5x credit": ("stop_loss", {"mark_price": -3.0, "days_to_expiry": 6},
                                     {"mark_price": -2.99, "days_to_expiry": 6}, ExitSection()),
    "short delta": ("delta_breach", {"short_leg_max_abs_delta": 0.35}, {"short_leg_max_abs_delta": 0.3499},
                    ExitSection()),
    "VIX level": ("vix_spike", {"entry_vix": 0.0, "current_vix": 35.0}, {"entry_vix": 0.0, "current_vix": 34.99},
                  ExitSection()),
    "VIX rise": ("vix_spike", {"current_vix": 25.0}, {"current_vix": 24.99}, ExitSection()),
    "VIX rise from a small entry": ("vix_spike", {"entry_vix": 0.5, "current_vix": 5.5},
                                    {"entry_vix": 0.0, "current_vix": 5.5}, ExitSection()),
    "gamma DTE": ("gamma_risk", {"days_to_expiry": 13, "short_leg_max_gamma": 0.1},
                  {"days_to_expiry": 14, "short_leg_max_gamma": 0.1}, ExitSection()),
    "gamma level": ("gamma_risk", {"days_to_expiry": 13, "short_leg_max_gamma": 0.1},
                    {"days_to_expiry": 13, "short_leg_max_gamma": 0.0999}, ExitSection()),
    "event days": ("event", {"days_to_event": 3}, {"days_to_event": 4}, ExitSection(event_exit_days=3)),
    "expiry day": ("expiry_day", {"days_to_expiry": 1}, {"days_to_expiry": 2}, ExitSection()),
    "trailing floor": ("trailing_stop", {"peak_pnl_usd": 100.0, "mark_price": -1.5},
                       {"peak_pnl_usd": 100.0, "mark_price": -1.49}, HALVES),
    "trailing activation": ("trailing_stop", {"peak_pnl_usd": 100.0, "mark_price": -1.6},
                            {"peak_pnl_usd": 99.99, "mark_price": -1.6}, HALVES),
    "trailing on a tiny max profit": ("trailing_stop", {"max_profit_usd": 1.0, "peak_pnl_usd": 1.0,
                                                        "mark_price": -1.995}, {"max_profit_usd": 0.0}, HALVES),
    "take profit": ("take_profit", {"mark_price": -1.0}, {"mark_price": -1.01}, ExitSection()),
    "take profit on a tiny max profit": ("take_profit", {"max_profit_usd": 1.0, "mark_price": -1.99},
                                         {"max_profit_usd": 0.0}, ExitSection()),
    "IV crush level": ("iv_crush", {"current_iv": 0.25, "mark_price": -1.5}, {"current_iv": 0.2501, "mark_price": -1.5},
                       HALVES),
    "IV crush profit": ("iv_crush", {"current_iv": 0.25, "mark_price": -1.5}, {"current_iv": 0.25, "mark_price": -1.51},
                        HALVES),
    "IV crush needs an entry IV": ("iv_crush", {"current_iv": 0.25, "mark_price": -1.5},
                                   {"entry_iv": 0.0, "current_iv": 0.0, "mark_price": -1.5}, HALVES),
    "roll": ("roll", {"days_to_expiry": 21}, {"days_to_expiry": 22}, ROLLING),
    "DTE exit": ("dte_exit", {"days_to_expiry": 21}, {"days_to_expiry": 22}, ExitSection()),
}


@pytest.mark.parametrize("case", list(BOUNDARIES))
def test_a_rule_fires_at_its_boundary_and_not_inside_it(case):
    rule, at, inside, params = BOUNDARIES[case]
    assert EXIT_RULES[rule](replace(FLAT, **at), params) is not None, "quiet at its boundary"
    assert EXIT_RULES[rule](replace(FLAT, **inside), params) is None, "fired inside its boundary"


def test_a_debit_stop_is_the_whole_debit_at_most():
    debit = replace(FLAT, entry_price=2.0, mark_price=0.0)
    assert EXIT_RULES["stop_loss"](debit, ExitSection()) is not None
    assert EXIT_RULES["stop_loss"](replace(debit, mark_price=0.01), ExitSection()) is None


def test_each_rule_says_why_it_fired():
    def reason(rule: str, params: ExitSection = ExitSection(), **changes) -> str:
        signal = EXIT_RULES[rule](replace(FLAT, **changes), params)
        assert signal is not None and signal.rule == rule
        return signal.reason

    assert reason("catastrophe", underlying_move_pct=-0.04) == "underlying moved -4.0% within 60 min"
    assert reason("catastrophe", HALVES, current_iv=1.0) == "IV 100.0% is +100% since entry"
    assert reason("stop_loss", mark_price=-6.0) == "loss -400.00 reached 2× premium 200.00"
    assert reason("delta_breach", short_leg_max_abs_delta=0.4) == "short strike delta 0.40 reached 0.35"
    assert reason("vix_spike", current_vix=36.0) == "VIX 36.0 (entry 20.0)"
    assert reason("gamma_risk", days_to_expiry=10, short_leg_max_gamma=0.2) == "short gamma 0.200 with 10 DTE"
    assert (reason("event", ExitSection(event_exit_days=5), days_to_event=2, event="earnings (AAPL) on 2026-04-30")
            == "earnings (AAPL) on 2026-04-30 is 2 days away and the position would hold through it")
    assert EXIT_RULES["event"](replace(FLAT, days_to_event=0), ExitSection()) is None  # off by default
    assert reason("expiry_day", days_to_expiry=0) == "0 DTE: never hold into expiration"
    assert (reason("trailing_stop", HALVES, peak_pnl_usd=120.0, mark_price=-1.5)
            == "P&L +50.00 gave back to 60.00 from peak 120.00")
    assert reason("take_profit", mark_price=-1.0) == "P&L +100.00 reached 50% of max profit 200.00"
    assert (reason("iv_crush", HALVES, current_iv=0.2, mark_price=-1.5)
            == "IV 20.0% down from 50.0% with 25% of max profit")
    assert reason("dte_exit", days_to_expiry=20) == "20 DTE at or below 21"
    roll = EXIT_RULES["roll"](replace(FLAT, days_to_expiry=20), ROLLING)
    assert roll is not None and roll.roll is True and roll.reason == "20 DTE: roll to 45 DTE"
    assert EXIT_RULES["dte_exit"](replace(FLAT, days_to_expiry=20), ExitSection()).roll is False


def test_the_winner_keeps_its_own_reason_and_roll_flag_and_names_every_other_rule():
    both = replace(FLAT, days_to_expiry=20, short_leg_max_abs_delta=0.4)
    roll_first = ("roll", *[r for r in EXIT_RULES if r != "roll"])
    signal = first_exit(both, ExitSection(roll_enabled=True, priority=roll_first))
    assert signal is not None and signal.rule == "roll" and signal.roll is True
    assert signal.reason == "20 DTE: roll to 45 DTE (also firing: delta_breach, dte_exit)"
    first = first_exit(both, ROLLING)
    assert first is not None and first.rule == "delta_breach" and first.roll is False
    assert first.reason == "short strike delta 0.40 reached 0.35 (also firing: roll, dte_exit)"
    alone = first_exit(replace(FLAT, days_to_expiry=30, short_leg_max_abs_delta=0.4), ExitSection())
    assert alone is not None and alone.reason == "short strike delta 0.40 reached 0.35"
