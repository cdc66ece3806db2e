"""Every exit rule fires on its own trigger, stays quiet otherwise, and wins only by its explicit priority."""

from __future__ import annotations

import datetime as dt

import pytest
from msgspec.structs import replace

from actors.config import config_from_mapping
from actors.config_section import ConfigError
from actors.decision.assignment_risk import ShortLegMark
from actors.decision.config import EXIT_RULE_NAMES, ExitSection
from actors.decision.rules import EXIT_RULES, PositionState, evaluate_exits, first_exit

CALM = PositionState(
    strategy_id="IC-1", legs=(), quantity=1, entry_price=-1.60, max_profit_usd=160.0, mark_price=-1.40,
    days_to_expiry=35, peak_pnl_usd=20.0, short_leg_max_abs_delta=0.18, short_leg_max_gamma=0.02,
    entry_iv=0.20, current_iv=0.20, underlying_move_pct=0.002, entry_vix=18.0, current_vix=18.5,
)
ROLLING = ExitSection(roll_enabled=True)

TRIGGERS: dict[str, tuple[dict, ExitSection]] = {
    "catastrophe": ({"underlying_move_pct": -0.035}, ExitSection()),
    "stop_loss": ({"mark_price": -4.80}, ExitSection()),
    "delta_breach": ({"short_leg_max_abs_delta": 0.40}, ExitSection()),
    "vix_spike": ({"current_vix": 24.0}, ExitSection()),
    "gamma_risk": ({"days_to_expiry": 10, "short_leg_max_gamma": 0.12}, ExitSection(dte_exit=5)),
    "event": ({"days_to_event": 2, "event": "earnings (AAPL) on 2026-04-30"}, ExitSection(event_exit_days=3)),
    "pin_risk": ({"days_to_expiry": 0, "pin_distance_pct": 0.004, "minutes_to_close": 60.0},
                 ExitSection(expiry_close_dte=-1, dte_exit=-1)),
    "assignment_risk": ({"underlying_price": 600.0, "short_marks": (
        ShortLegMark("SPY 2026-04-17 560P", "P", 560.0, dt.date(2026, 4, 17), 0.5, -0.10),
        ShortLegMark("SPY 2026-04-17 580C", "C", 580.0, dt.date(2026, 4, 17), 20.02, 0.95))},
        ExitSection(assignment_risk_enabled=True)),
    "expiry_day": ({"days_to_expiry": 1}, ExitSection(dte_exit=0)),
    "trailing_stop": ({"peak_pnl_usd": 75.0, "mark_price": -1.20}, ExitSection()),
    "take_profit": ({"mark_price": -0.78, "peak_pnl_usd": 82.0}, ExitSection()),
    "iv_crush": ({"current_iv": 0.13, "mark_price": -1.20, "peak_pnl_usd": 40.0}, ExitSection()),
    "iv_percentile": ({"iv_percentile": 12.0}, ExitSection(iv_percentile_exit=20.0)),
    "roll": ({"days_to_expiry": 21}, ROLLING),
    "dte_exit": ({"days_to_expiry": 21}, ExitSection()),
}


def test_every_rule_has_a_trigger_case():
    assert set(TRIGGERS) == set(EXIT_RULES) == set(EXIT_RULE_NAMES)


@pytest.mark.parametrize("rule", list(TRIGGERS))
def test_each_rule_can_win(rule):
    changes, params = TRIGGERS[rule]
    signal = first_exit(replace(CALM, **changes), params)
    assert signal is not None and signal.rule == rule, signal


@pytest.mark.parametrize("rule", list(TRIGGERS))
def test_each_rule_is_quiet_on_a_calm_position(rule):
    _, params = TRIGGERS[rule]
    assert EXIT_RULES[rule](CALM, params) is None


def test_pin_risk_waits_for_its_window_and_its_distance():
    expiring = replace(CALM, days_to_expiry=0, pin_distance_pct=0.004, minutes_to_close=180.0)
    params = ExitSection(expiry_close_dte=-1, dte_exit=-1)
    assert EXIT_RULES["pin_risk"](expiring, params) is None  # three hours before the close: not yet
    assert EXIT_RULES["pin_risk"](replace(expiring, minutes_to_close=120.0), params) is not None
    assert EXIT_RULES["pin_risk"](replace(expiring, minutes_to_close=30.0, pin_distance_pct=0.02), params) is None
    # on expiration day pin_risk outranks expiry_day: the close names the pin
    assert first_exit(replace(expiring, minutes_to_close=30.0), ExitSection()).rule == "pin_risk"


def test_credit_and_debit_pnl():
    credit = replace(CALM, entry_price=-1.60, mark_price=-0.80)
    debit = replace(CALM, entry_price=2.00, mark_price=3.00, max_profit_usd=300.0)
    short_debit_structure = replace(CALM, quantity=-1, entry_price=1.60, mark_price=0.80)
    assert credit.pnl_usd == pytest.approx(80.0) and credit.is_credit
    assert debit.pnl_usd == pytest.approx(100.0) and not debit.is_credit
    assert short_debit_structure.pnl_usd == pytest.approx(80.0) and short_debit_structure.is_credit


def test_trailing_stop_reads_pnl_not_premium():
    # a credit trade whose premium rose is losing: the trailing stop must not treat it as a profit peak
    losing = replace(CALM, mark_price=-2.50, peak_pnl_usd=0.0)
    assert EXIT_RULES["trailing_stop"](losing, ExitSection()) is None


def test_debit_stop_never_exceeds_the_debit():
    debit = replace(CALM, entry_price=2.00, mark_price=0.10, max_profit_usd=300.0, peak_pnl_usd=0.0)
    signal = EXIT_RULES["stop_loss"](debit, ExitSection(stop_loss_multiple=2.0))
    assert signal is None  # lost 190 of a 200 debit: not all of it yet
    assert EXIT_RULES["stop_loss"](replace(debit, mark_price=0.0), ExitSection(stop_loss_multiple=2.0))


def test_roll_outranks_dte_exit_but_not_gamma_or_expiry():
    near = replace(CALM, days_to_expiry=10, short_leg_max_gamma=0.15)
    fired = [s.rule for s in evaluate_exits(near, ROLLING)]
    assert fired.index("gamma_risk") < fired.index("roll") < fired.index("dte_exit")


def test_first_exit_names_the_other_rules_that_also_fired():
    signal = first_exit(replace(CALM, mark_price=-4.80, short_leg_max_abs_delta=0.5), ExitSection())
    assert signal is not None and signal.rule == "stop_loss" and "also firing: delta_breach" in signal.reason


def test_priority_is_configurable_and_validated():
    order = ("take_profit",) + tuple(r for r in EXIT_RULE_NAMES if r != "take_profit")
    both = replace(CALM, mark_price=-0.70, short_leg_max_abs_delta=0.5, peak_pnl_usd=90.0)
    assert first_exit(both, ExitSection(priority=order)).rule == "take_profit"
    assert first_exit(both, ExitSection()).rule == "delta_breach"
    with pytest.raises(ConfigError, match="unknown rule 'profit'"):
        config_from_mapping({"exits": {"priority": ["profit"]}})
    with pytest.raises(ConfigError, match="every rule exactly once"):
        config_from_mapping({"exits": {"priority": ["stop_loss"]}})


def test_trailing_peak_survives_a_restart_of_the_decision_actor():
    """A restarted core is rebuilt from its journaled inputs: the rebuilt peak equals the live one."""
    from pathlib import Path

    from actors.node import core_factories
    from actors.replay.scenario import load_scenario
    from actors.runtime.clock import VirtualClock
    from actors.runtime.core import MutedContext
    from actors.runtime.deterministic import DeterministicRuntime

    scenario = load_scenario(Path(__file__).parents[1] / "scenarios" / "trailing_stop.jsonl")
    factories = core_factories(scenario.config, scenario.name, None, scenario.start_ns)
    runtime = DeterministicRuntime(factories, VirtualClock(scenario.start_ns))
    runtime.start()
    peak_day = next(step for step in scenario.steps if step.kind == "expect_none")
    for step in scenario.steps:
        if step.at_ns > peak_day.at_ns:
            break
        runtime.run_until(step.at_ns)
        if step.kind == "send":
            runtime.inject(step.message)
    live = runtime.core("decision")
    (strategy_id, baseline), = live._memory.baselines.items()
    assert baseline.peak_pnl_usd > 0.4 * live._portfolio.holding(strategy_id).max_profit_usd

    rebuilt = next(f for f in factories if f().name == "decision")()
    muted = MutedContext(scenario.start_ns)
    for message in runtime.history:
        if "decision" in runtime.routes.subscribers(message):
            muted.clock_ns = message.ts
            rebuilt.handle(message, muted)
    assert rebuilt._memory.baselines[strategy_id].peak_pnl_usd == baseline.peak_pnl_usd
