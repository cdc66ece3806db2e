"""The pure cores of the walking skeleton, one behaviour at a time, driven through the deterministic runtime."""

from __future__ import annotations

import datetime as dt

import pytest

from actors.broker.sim.fills import commission_usd, limit_crosses
from actors.decision.config import EntrySection, ExitSection
from actors.decision.rules import PositionState, first_exit
from actors.decision.strategies import NoCandidate, select_structure
from actors.execution.config import ExecutionSection
from actors.execution.core import ExecutionCore
from actors.market_data.chain import chain_contracts, quote_contracts
from actors.position_sync.core import PositionSyncCore
from actors.risk.config import RiskSection
from actors.risk.core import RiskCore
from actors.runtime.clock import VirtualClock
from actors.runtime.deterministic import DeterministicRuntime
from tests.unit.account_values import account_values
from messages import (
    CancelOrder,
    Halt,
    IntentApproved,
    IntentDenied,
    Leg,
    ModifyOrder,
    OpenStrategy,
    OptionContract,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderTerminated,
    PlaceOrder,
    Resume,
    StrategyOpened,
    TradingStateChanged,
)

NOW = int(dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC).timestamp() * 1e9)
SECOND = 1_000_000_000
EXPIRY = dt.date(2026, 4, 10)


def _contract(strike: float, right: str) -> OptionContract:
    return OptionContract("SPY", EXPIRY, strike, right)  # type: ignore[arg-type]


CONDOR = (Leg(_contract(545, "P"), 1), Leg(_contract(550, "P"), -1), Leg(_contract(610, "C"), -1),
          Leg(_contract(615, "C"), 1))


def _intent(strategy_id: str = "IC-1", symbol: str = "SPY") -> OpenStrategy:
    quotes = tuple(quote_contracts([leg.contract for leg in CONDOR], 580.0, 0.18, NOW, 0.04, 0.013))
    return OpenStrategy(strategy_id=strategy_id, kind="iron_condor", symbol=symbol, legs=CONDOR, quantity=1,
                        mid_price=-1.60, natural_price=-1.40, max_profit_usd=160.0, max_loss_usd=340.0, reason="t",
                        leg_quotes=quotes)


def _state(entry: float, mark: float, dte: int = 30, quantity: int = 1) -> PositionState:
    return PositionState("IC-1", CONDOR, quantity, entry, max_profit_usd=abs(entry) * 100, mark_price=mark,
                         days_to_expiry=dte)


# exit rules ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("entry", "mark", "dte", "rule"),
    [
        (-1.60, -0.80, 30, "take_profit"),  # credit halved: +80 of 160
        (-1.60, -4.80, 30, "stop_loss"),  # loss 320 = 2x credit
        (-1.60, -1.50, 21, "dte_exit"),
        (-1.60, -1.50, 30, None),
        (2.00, 3.00, 30, "take_profit"),  # debit trade gaining half its max profit (max profit = 200 here)
        (2.00, 0.00, 30, "stop_loss"),  # debit trade worth nothing: the whole debit lost
    ],
)
def test_exit_rules_are_credit_and_debit_aware(entry, mark, dte, rule):
    signal = first_exit(_state(entry, mark, dte), ExitSection())
    assert (signal.rule if signal else None) == rule


def test_stop_loss_outranks_dte_exit():
    signal = first_exit(_state(-1.60, -5.0, dte=10), ExitSection())
    assert signal is not None and signal.rule == "stop_loss"


# strategy selection ----------------------------------------------------------------------------------------------
def test_iron_condor_is_chosen_from_the_chain_by_delta():
    quotes = quote_contracts(chain_contracts("SPY", 580.0, NOW, 30, 45), 580.0, 0.18, NOW, 0.04, 0.013)
    candidate = select_structure("SPY", quotes, NOW, EntrySection())
    assert not isinstance(candidate, NoCandidate), candidate
    by_role = {(leg.contract.right, leg.ratio): leg.contract for leg in candidate.legs}
    deltas = {q.contract: q.delta for q in quotes}
    assert abs(abs(deltas[by_role[("P", -1)]]) - 0.18) <= 0.04
    assert abs(deltas[by_role[("C", -1)]] - 0.18) <= 0.04
    assert by_role[("P", 1)].strike < by_role[("P", -1)].strike < 580 < by_role[("C", -1)].strike < by_role[("C", 1)].strike
    assert candidate.mid_price < 0 and candidate.max_profit_usd == pytest.approx(-candidate.mid_price * 100)


def test_no_candidate_names_the_reason():
    assert isinstance(select_structure("SPY", (), NOW, EntrySection()), NoCandidate)
    quotes = quote_contracts(chain_contracts("SPY", 580.0, NOW, 30, 45), 580.0, 0.18, NOW, 0.04, 0.013)
    expensive = select_structure("SPY", quotes, NOW, EntrySection(min_credit=9.0))
    assert isinstance(expensive, NoCandidate) and "below minimum" in expensive.reason


# sim exchange fill rule ------------------------------------------------------------------------------------------
def test_combo_fills_between_mid_and_natural_only():
    quotes = {q.contract: q for q in quote_contracts([leg.contract for leg in CONDOR], 580.0, 0.18, NOW, 0.04, 0.013)}
    assert not limit_crosses(CONDOR, quotes, 1, -1.65, 0.25)  # asking the full mid credit
    assert limit_crosses(CONDOR, quotes, 1, -1.38, 0.25)  # natural always fills
    assert commission_usd(CONDOR, 2, 0.65) == 5.20


# risk ------------------------------------------------------------------------------------------------------------
def test_risk_caps_positions_and_halts():
    runtime = DeterministicRuntime([lambda: RiskCore(RiskSection(max_positions=1))], VirtualClock(NOW))
    runtime.start()
    runtime.inject(account_values())
    runtime.inject(_intent("IC-1"))
    runtime.inject(_intent("IC-2"))
    runtime.inject(Halt(reason="operator"))
    runtime.inject(Resume(reason="operator"))
    verdicts = [m for m in runtime.history if isinstance(m, (IntentApproved, IntentDenied, TradingStateChanged))]
    assert isinstance(verdicts[0], IntentApproved)
    assert isinstance(verdicts[1], IntentDenied) and verdicts[1].check == "max_positions"
    assert [v.state for v in verdicts[2:]] == ["HALTED", "ACTIVE"]


# execution -------------------------------------------------------------------------------------------------------
def _execution() -> DeterministicRuntime:
    params = ExecutionSection(step_interval_s=30, price_steps=2, deadline_s=120)
    runtime = DeterministicRuntime([lambda: ExecutionCore(params)], VirtualClock(NOW))
    runtime.start()
    runtime.inject(IntentApproved(ts=NOW, intent=_intent()))
    return runtime


def test_execution_walks_from_mid_to_natural_then_cancels_at_deadline():
    runtime = _execution()
    placed = next(m for m in runtime.history if isinstance(m, PlaceOrder))
    runtime.inject(OrderAccepted(ts=NOW, client_order_id=placed.client_order_id, broker_order_id=1))
    runtime.run_until(NOW + 130 * SECOND)
    assert placed.limit_price == -1.60
    assert [m.limit_price for m in runtime.history if isinstance(m, ModifyOrder)] == [-1.50, -1.40]
    cancel = next(m for m in runtime.history if isinstance(m, CancelOrder))
    assert cancel.ts == NOW + 120 * SECOND
    runtime.inject(OrderCancelled(client_order_id=placed.client_order_id, filled_quantity=0, reason="deadline"))
    done = next(m for m in runtime.history if isinstance(m, OrderTerminated))
    assert done.status == "cancelled" and done.filled_quantity == 0


def test_execution_ignores_duplicate_fills_and_refuses_a_second_order_per_strategy():
    runtime = _execution()
    placed = next(m for m in runtime.history if isinstance(m, PlaceOrder))
    runtime.inject(IntentApproved(intent=_intent()))
    denied = next(m for m in runtime.history if isinstance(m, IntentDenied))
    assert denied.check == "execution"
    fill = OrderFilled(client_order_id=placed.client_order_id, exec_id="E1", quantity=1, price=-1.55, commission_usd=2.6)
    runtime.inject(fill)
    runtime.inject(fill)
    done = [m for m in runtime.history if isinstance(m, OrderTerminated)]
    assert len(done) == 1 and done[0].status == "filled" and done[0].avg_price == -1.55


# position sync ---------------------------------------------------------------------------------------------------
def test_position_sync_books_fills_into_a_strategy_with_fill_based_extremes():
    runtime = DeterministicRuntime([PositionSyncCore], VirtualClock(NOW))
    runtime.start()
    intent = _intent()
    runtime.inject(IntentApproved(intent=intent))
    runtime.inject(PlaceOrder(client_order_id="O1", strategy_id="IC-1", purpose="open", legs=CONDOR, quantity=1,
                              limit_price=-1.6))
    runtime.inject(OrderFilled(client_order_id="O1", exec_id="E1", quantity=1, price=-1.50, commission_usd=2.6))
    runtime.inject(OrderTerminated(client_order_id="O1", strategy_id="IC-1", purpose="open", status="filled",
                                   filled_quantity=1, avg_price=-1.50))
    opened = next(m for m in runtime.history if isinstance(m, StrategyOpened))
    assert opened.entry_price == -1.50
    assert opened.max_profit_usd == 150.0 and opened.max_loss_usd == 350.0
