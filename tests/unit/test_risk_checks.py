"""Pre-trade checks exactly at their limits (a limit is allowed, one step beyond is denied), the reasons they give,
and the daily-loss line from both sides: the pre-trade check and the REDUCING trigger."""

from __future__ import annotations

from dataclasses import replace

import msgspec
import pytest

from actors.portfolio.greeks import GreekTotals
from actors.risk.checks import (
    daily_loss,
    first_denial,
    greek_limits,
    max_contracts,
    max_positions,
    order_rate,
    price_collar,
)
from actors.risk.config import RiskSection
from actors.risk.core import RiskCore
from actors.runtime.clock import VirtualClock
from actors.runtime.deterministic import DeterministicRuntime
from messages import Alert, IntentApproved, IntentDenied, Leg, StrategyClosed, TradingStateChanged
from tests.unit.test_risk_engine import CALM_BOOK, CONDOR, INTENT, NOW
from tests.unit.account_values import account_values

LIMITS = RiskSection()
RATIO_TWO = (*CONDOR[:3], Leg(CONDOR[3].contract, 2))

# case: (check, intent, book at the limit: allowed, book or intent one step beyond: denied)
AT_THE_LIMIT = {
    "positions": (max_positions, {}, {"symbols": {f"S{i}": "QQQ" for i in range(4)}},
                  {"symbols": {f"S{i}": "QQQ" for i in range(5)}}),
    "positions per symbol": (max_positions, {}, {"symbols": {f"S{i}": "SPY" for i in range(4)}},
                             {"symbols": {f"S{i}": "SPY" for i in range(5)}}),
    "contracts": (max_contracts, {"quantity": 10}, {}, {"quantity": 11}),
    "contracts of a ratio-2 leg": (max_contracts, {"quantity": 5, "legs": RATIO_TWO}, {},
                                   {"quantity": 6, "legs": RATIO_TWO}),
    "intent rate": (order_rate, {}, {"intents_last_minute": 29}, {"intents_last_minute": 30}),
    "collar": (price_collar, {"mid_price": -2.0, "natural_price": -1.5}, {}, {"natural_price": -1.49}),
    "collar on a tiny mid": (price_collar, {"mid_price": -0.04, "natural_price": -0.052}, {},
                             {"natural_price": -0.06}),
    "max profit": (price_collar, {"max_profit_usd": 0.5}, {}, {"max_profit_usd": 0.0}),
    "max loss": (price_collar, {"max_loss_usd": 0.5}, {}, {"max_loss_usd": 0.0}),
    "daily loss": (daily_loss, {}, {"realized_today_usd": -360.0, "open_max_loss_usd": 300.0},
                   {"open_max_loss_usd": 301.0}),
    "portfolio delta": (greek_limits, {}, {"greeks_by_symbol": {"QQQ": GreekTotals(delta=4_995.0)}},
                        {"greeks_by_symbol": {"QQQ": GreekTotals(delta=4_995.5)}}),
    "portfolio gamma": (greek_limits, {}, {"greeks_by_symbol": {"QQQ": GreekTotals(gamma=-999.0)}},
                        {"greeks_by_symbol": {"QQQ": GreekTotals(gamma=-999.5)}}),
    "portfolio vega": (greek_limits, {}, {"greeks_by_symbol": {"QQQ": GreekTotals(vega=-480.0)}},
                       {"greeks_by_symbol": {"QQQ": GreekTotals(vega=-480.5)}}),
    "symbol delta": (greek_limits, {}, {"greeks_by_symbol": {"SPY": GreekTotals(delta=1_995.0)}},
                     {"greeks_by_symbol": {"SPY": GreekTotals(delta=1_995.5)}}),
}
INTENT_FIELDS = set(INTENT.__struct_fields__)


@pytest.mark.parametrize("case", list(AT_THE_LIMIT))
def test_a_check_allows_its_limit_and_denies_one_step_beyond(case):
    check, intent_changes, at_limit, beyond = AT_THE_LIMIT[case]
    intent = msgspec.structs.replace(INTENT, **intent_changes)
    book = replace(CALM_BOOK, **at_limit)
    assert check(intent, book, LIMITS) is None, "denied at its limit"
    beyond_intent = {k: v for k, v in beyond.items() if k in INTENT_FIELDS}
    beyond_book = {k: v for k, v in beyond.items() if k not in INTENT_FIELDS}
    assert check(msgspec.structs.replace(intent, **beyond_intent), replace(book, **beyond_book), LIMITS) is not None


def test_an_intent_without_legs_counts_no_contracts():
    assert max_contracts(msgspec.structs.replace(INTENT, legs=(), quantity=11), CALM_BOOK, LIMITS) is None


def test_each_check_names_itself_and_says_why():
    def denial(intent_changes=None, **book_changes):
        return first_denial(msgspec.structs.replace(INTENT, **(intent_changes or {})),
                            replace(CALM_BOOK, **book_changes), LIMITS)

    assert denial(symbols={f"S{i}": "QQQ" for i in range(5)}) == (
        "max_positions", "5 positions open or pending, limit 5")
    assert denial({"quantity": 6, "legs": RATIO_TWO}) == ("max_contracts", "12 contracts per leg exceeds 10")
    assert denial(intents_last_minute=31) == ("order_rate", "31 intents in the last minute, limit 30")
    assert denial({"natural_price": -0.90}) == (
        "price_collar", "natural -0.90 is 0.70 from mid -1.60, collar 0.40: the walk to natural would give away "
        "too much")
    assert denial({"max_profit_usd": -5.0}) == ("price_collar", "max profit -5.00 / max loss 340.00: mispriced")
    assert denial(realized_today_usd=-360.0, open_max_loss_usd=301.0) == (
        "max_daily_loss", "realised -360.00 today and 641.00 max loss at risk exceed 1000.00")
    assert denial(new_trade_greeks=None) == (
        "greeks_unknown", "a leg of the intent has no quote yet; its greeks cannot be checked")
    assert denial(greeks_by_symbol={"QQQ": GreekTotals(vega=-490.0)}) == (
        "portfolio_vega", "portfolio vega would be -510.00 after this trade, limit ±500")


# the daily-loss line from the risk core ----------------------------------------------------------------------------
def _core_after_a_loss(loss_usd: float) -> DeterministicRuntime:
    runtime = DeterministicRuntime([lambda: RiskCore(RiskSection(max_daily_loss_usd=1_000.0))], VirtualClock(NOW))
    runtime.start()
    runtime.inject(account_values())  # the account's own limits are far away: only the line under test binds
    runtime.inject(StrategyClosed(strategy_id="OLD", exit_price=-3.0, realized_pnl_usd=-loss_usd / 2,
                                  commissions_usd=5, rule="stop_loss"))
    runtime.inject(StrategyClosed(strategy_id="OLDER", exit_price=-3.0, realized_pnl_usd=-loss_usd / 2,
                                  commissions_usd=5, rule="stop_loss"))
    return runtime


def test_a_realised_loss_of_exactly_the_daily_limit_turns_the_node_reducing():
    runtime = _core_after_a_loss(1_000.0)  # two closes: the day's losses add up
    changes = [m for m in runtime.history if isinstance(m, TradingStateChanged)]
    assert [(c.state, c.reason) for c in changes] == [
        ("REDUCING", "realised loss -1000.00 today reached 1000.00")]
    assert [a.text for a in runtime.history if isinstance(a, Alert) and a.level == "critical"] == [
        "REDUCING: realised loss -1000.00 today reached 1000.00"]
    runtime.inject(msgspec.structs.replace(INTENT, max_loss_usd=0.01))
    assert [m.check for m in runtime.history if isinstance(m, IntentDenied)] == ["trading_state"]


def test_a_realised_loss_just_under_the_limit_stays_active_and_the_intent_is_judged_by_the_daily_loss_check():
    runtime = _core_after_a_loss(999.0)
    assert not [m for m in runtime.history if isinstance(m, TradingStateChanged)]
    runtime.inject(msgspec.structs.replace(INTENT, strategy_id="FITS", max_loss_usd=1.0))  # 999 + 1: at the limit
    runtime.inject(msgspec.structs.replace(INTENT, strategy_id="TOO-MUCH", max_loss_usd=1.5))
    approved = [m.intent.strategy_id for m in runtime.history if isinstance(m, IntentApproved)]
    denied = [(m.strategy_id, m.check) for m in runtime.history if isinstance(m, IntentDenied)]
    assert approved == ["FITS"] and denied == [("TOO-MUCH", "max_daily_loss")]
