"""Risk waiting for the broker's what-if (IB) before approving an opening intent, on the deterministic runtime; and
the IB core's reading of IB's what-if text."""

from __future__ import annotations

import msgspec
import pytest

from actors.broker.ib.config import IbSection
from actors.broker.ib.core import IbBrokerCore
from actors.broker.ib.what_if import answered, ib_amount
from actors.risk.config import RiskSection
from actors.risk.core import RiskCore
from actors.runtime.clock import VirtualClock
from actors.runtime.deterministic import DeterministicRuntime
from messages import (
    Alert,
    BreakerStateChanged,
    CloseStrategy,
    Halt,
    IbWhatIfResult,
    IntentApproved,
    IntentDenied,
    WhatIfAnswered,
    WhatIfRequested,
)
from tests.unit.account_values import account_values
from tests.unit.test_core_slices import CONDOR, NOW, SECOND, _intent

IB_UNSET_TEXT = "1.7976931348623157E308"


def _risk(what_if: bool = True, **params: object) -> DeterministicRuntime:
    runtime = DeterministicRuntime([lambda: RiskCore(RiskSection(**params), what_if=what_if)], VirtualClock(NOW))
    runtime.start()
    runtime.inject(account_values(net_liquidation_usd=100_000.0, available_funds_usd=20_000.0))
    return runtime


def _of(runtime: DeterministicRuntime, kind: type) -> list:
    return [m for m in runtime.history if isinstance(m, kind)]


def _answer(strategy_id: str = "IC-1", after: float | None = 5_340.0, change: float | None = 340.0,
            error: str = "") -> WhatIfAnswered:
    return WhatIfAnswered(strategy_id=strategy_id, init_margin_before_usd=5_000.0, init_margin_change_usd=change,
                          init_margin_after_usd=after, error=error)


def test_an_opening_intent_waits_for_the_what_if_of_its_exact_order_then_is_approved():
    runtime = _risk()
    intent = _intent()
    runtime.inject(intent)
    (asked,) = _of(runtime, WhatIfRequested)
    assert (asked.strategy_id, asked.legs, asked.quantity, asked.limit_price) == ("IC-1", CONDOR, 1, -1.60)
    assert not _of(runtime, IntentApproved) and not _of(runtime, IntentDenied)
    runtime.inject(_answer())
    assert [a.intent.strategy_id for a in _of(runtime, IntentApproved)] == [intent.strategy_id]
    assert not _of(runtime, IntentDenied)
    runtime.run_until(NOW + 60 * SECOND)  # the deadline passes after the answer: nothing more
    assert not _of(runtime, IntentDenied)


@pytest.mark.parametrize("answer, check", [
    (_answer(after=50_001.0), "margin_utilisation"),  # IB's margin after the trade: over 50% of 100 000
    (_answer(change=20_001.0), "buying_power"),  # the trade's margin: over the 20 000 available
    (_answer(error="IB 201: Order rejected - reason:The account has insufficient margin."), "what_if_refused"),
    (_answer(after=None), "what_if_incomplete"),  # IB left it at Double.MAX_VALUE
])
def test_ibs_numbers_decide(answer, check):
    runtime = _risk()
    runtime.inject(_intent())
    runtime.inject(answer)
    (denied,) = _of(runtime, IntentDenied)
    assert denied.check == check and not _of(runtime, IntentApproved)
    alerted = [a for a in _of(runtime, Alert) if "fail closed" in a.text]
    assert bool(alerted) == check.startswith("what_if")  # a limit is the account's business, a failure is not


def test_no_answer_by_the_deadline_denies_with_an_alert_and_a_late_answer_changes_nothing():
    runtime = _risk(what_if_timeout_s=5.0)
    runtime.inject(_intent())
    runtime.run_until(NOW + 4 * SECOND)
    assert not _of(runtime, IntentDenied)
    runtime.run_until(NOW + 6 * SECOND)
    (denied,) = _of(runtime, IntentDenied)
    assert denied.check == "what_if_timeout" and "5s" in denied.reason
    assert any("fail closed" in a.text for a in _of(runtime, Alert))
    runtime.inject(_answer())
    assert not _of(runtime, IntentApproved)


def test_ibs_own_refusal_counts_toward_the_breaker_a_link_that_could_not_ask_does_not():
    runtime = _risk(breaker_failures=1)
    runtime.inject(_intent("IC-1"))
    runtime.inject(_answer("IC-1", error="not asked: IB link disconnected"))
    assert not _of(runtime, BreakerStateChanged)
    runtime.inject(_intent("IC-2"))
    runtime.inject(msgspec.structs.replace(_answer("IC-2", error="IB 321: Read-Only"), code=321))
    assert [b.state for b in _of(runtime, BreakerStateChanged)] == ["OPEN"]


def test_a_halt_while_waiting_denies_on_the_answer():
    runtime = _risk()
    runtime.inject(_intent())
    runtime.inject(Halt(reason="operator"))
    runtime.inject(_answer())
    (denied,) = _of(runtime, IntentDenied)
    assert denied.check == "trading_state" and not _of(runtime, IntentApproved)


def test_an_intent_waiting_for_its_what_if_counts_as_pending_for_the_next():
    runtime = _risk(max_positions=1)
    runtime.inject(_intent("IC-1"))
    runtime.inject(_intent("IC-2"))
    assert [d.check for d in _of(runtime, IntentDenied)] == ["max_positions"]
    assert [r.strategy_id for r in _of(runtime, WhatIfRequested)] == ["IC-1"]


def test_other_pending_intents_count_on_top_of_ibs_margin():
    runtime = _risk()
    runtime.inject(_intent("IC-1"))
    runtime.inject(_answer("IC-1"))  # approved, not filled: IB's next what-if does not include it
    runtime.inject(_intent("IC-2"))
    runtime.inject(_answer("IC-2", after=49_800.0))  # 49 800 + 340 pending > 50 000
    (denied,) = _of(runtime, IntentDenied)
    assert denied.strategy_id == "IC-2" and denied.check == "margin_utilisation" and "pending" in denied.reason


def test_closing_intents_never_wait_for_a_what_if():
    runtime = _risk()
    close = CloseStrategy(strategy_id="IC-9", symbol="SPY", legs=CONDOR, quantity=-1, mid_price=1.0,
                          natural_price=1.1, rule="take_profit", reason="t")
    runtime.inject(close)
    assert [a.intent.strategy_id for a in _of(runtime, IntentApproved)] == [close.strategy_id]
    assert not _of(runtime, WhatIfRequested)


def test_without_a_what_if_broker_the_intent_is_approved_at_once():
    runtime = _risk(what_if=False)
    runtime.inject(_intent())
    assert _of(runtime, IntentApproved) and not _of(runtime, WhatIfRequested)


# the IB core ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, amount", [("1234.56", 1234.56), ("-2.60", -2.6), (IB_UNSET_TEXT, None), ("", None),
                                          ("n/a", None), ("inf", None), (None, None), (1.7976931348623157e308, None)])
def test_ib_amounts_unknown_are_none_never_numbers(text, amount):
    assert ib_amount(text) == amount


def test_ibs_what_if_text_is_translated_with_unknown_values_as_none():
    result = IbWhatIfResult(strategy_id="IC-1", order_id=12, init_margin_before="0.00", init_margin_change="500.00",
                            init_margin_after="500.00", maint_margin_after=IB_UNSET_TEXT, equity_with_loan_after="",
                            commission=1.7976931348623157e308)
    answer = answered(result)
    assert (answer.init_margin_change_usd, answer.init_margin_after_usd) == (500.0, 500.0)
    assert answer.maint_margin_after_usd is None and answer.equity_with_loan_after_usd is None
    assert answer.commission_usd is None and answer.error == ""
    refused = answered(msgspec.structs.replace(result, error_code=201, error="Order rejected"))
    assert refused.error == "IB 201: Order rejected" and refused.init_margin_after_usd is None


def test_the_ib_core_answers_at_once_when_the_link_cannot_ask():
    runtime = DeterministicRuntime([lambda: IbBrokerCore(IbSection())], VirtualClock(NOW))
    runtime.start()
    runtime.inject(WhatIfRequested(strategy_id="IC-1", legs=CONDOR, quantity=1, limit_price=-1.6))
    (answer,) = _of(runtime, WhatIfAnswered)
    assert answer.error.startswith("not asked: IB link disconnected")
