"""Rolling as one order: the roll combo's legs and net prices, its own limit walk, how one roll fill is booked on the
two strategies (once, also after a restart that lost the announcements), and how risk judges a roll."""

from __future__ import annotations

import datetime as dt
import math

import msgspec
import pytest

from actors.execution.config import ExecutionSection
from actors.execution.core import ExecutionCore
from actors.execution.walk import Walk, walk_for
from actors.market_data.chain import quote_contracts
from actors.position_sync.core import PositionSyncCore
from actors.position_sync.roll_fills import split_roll_fill
from actors.risk.config import RiskSection
from actors.risk.core import RiskCore
from actors.runtime.clock import VirtualClock
from actors.runtime.deterministic import DeterministicRuntime
from actors.runtime.rebuild import replay_quietly
from messages import (
    CloseStrategy,
    Halt,
    IntentApproved,
    IntentDenied,
    Leg,
    Message,
    OpenStrategy,
    OptionContract,
    OrderAccepted,
    OrderFilled,
    OrderTerminated,
    PlaceOrder,
    RollStrategy,
    StrategyClosed,
    StrategyOpened,
    StrategyPositionChanged,
    StrategyRolled,
)
from tests.unit.account_values import account_values

NOON = int(dt.datetime(2026, 3, 20, 16, 0, tzinfo=dt.UTC).timestamp() * 1e9)
NEAR, FAR = dt.date(2026, 4, 10), dt.date(2026, 5, 1)


def _spread(expiry: dt.date) -> tuple[Leg, ...]:
    return (Leg(OptionContract("SPY", expiry, 545.0, "P"), 1), Leg(OptionContract("SPY", expiry, 550.0, "P"), -1))


OLD = OpenStrategy(strategy_id="BPS-SPY-1", kind="bull_put", symbol="SPY", legs=_spread(NEAR), quantity=1,
                   mid_price=-1.20, natural_price=-1.10, max_profit_usd=120.0, max_loss_usd=380.0, reason="entry")
CLOSE = CloseStrategy(strategy_id="BPS-SPY-1", symbol="SPY", legs=_spread(NEAR), quantity=-1, mid_price=-0.40,
                      natural_price=-0.50, rule="roll", reason="21 DTE: roll to 45 DTE", roll_to_dte=45)
NEW = OpenStrategy(strategy_id="BPS-SPY-2", kind="bull_put", symbol="SPY", legs=_spread(FAR), quantity=1,
                   mid_price=-1.30, natural_price=-1.15, max_profit_usd=130.0, max_loss_usd=370.0, reason="replaces",
                   leg_quotes=tuple(quote_contracts([leg.contract for leg in _spread(FAR)], 580.0, 0.18, NOON, 0.04,
                                                    0.013)))
ROLL = RollStrategy(strategy_id="BPS-SPY-1", close=CLOSE, open=NEW)


# the roll combo --------------------------------------------------------------------------------------------------------
def test_the_roll_combo_closes_the_held_legs_and_opens_the_new_ones_at_one_net_price():
    assert ROLL.combo_legs == (Leg(OptionContract("SPY", NEAR, 545.0, "P"), -1),
                               Leg(OptionContract("SPY", NEAR, 550.0, "P"), 1),
                               Leg(OptionContract("SPY", FAR, 545.0, "P"), 1),
                               Leg(OptionContract("SPY", FAR, 550.0, "P"), -1))
    assert ROLL.combo_quantity == 1
    # pay 0.40 to close, take in 1.30 to open: a 0.90 credit, bought at -0.90 like any credit combo
    assert ROLL.mid_price == pytest.approx(-0.90)
    assert ROLL.natural_price == pytest.approx(0.50 - 1.15)
    assert ROLL.natural_price > ROLL.mid_price  # walking toward natural pays more for the roll


def test_a_contract_in_both_parts_nets_out_of_the_combo():
    same_strike = msgspec.structs.replace(NEW, legs=(Leg(OptionContract("SPY", NEAR, 550.0, "P"), -1),
                                                     Leg(OptionContract("SPY", FAR, 550.0, "P"), 1)))
    legs = msgspec.structs.replace(ROLL, open=same_strike).combo_legs
    assert Leg(OptionContract("SPY", NEAR, 550.0, "P"), 1) not in legs
    assert all(leg.ratio for leg in legs) and len(legs) == 2


# the walk --------------------------------------------------------------------------------------------------------------
def test_a_walk_goes_from_mid_toward_natural_and_never_past_its_concession():
    walk = Walk(steps=4, step_interval_s=10, deadline_s=60, max_concession=0.10)
    assert [walk.limit(-0.90, -0.50, step) for step in range(6)] == [-0.90, -0.80, -0.80, -0.80, -0.80, -0.80]
    sell = Walk(steps=2, step_interval_s=10, deadline_s=60, max_concession=0.25)
    assert [sell.limit(1.00, 0.80, step) for step in range(3)] == [1.00, 0.90, 0.80]
    unbounded = Walk(steps=4, step_interval_s=10, deadline_s=60)
    assert unbounded.limit(-0.90, -0.50, 4) == -0.50 and unbounded.limit(-0.90, -0.50, 9) == -0.50


def test_a_roll_walks_on_its_own_settings_and_other_orders_on_the_common_ones():
    params = ExecutionSection(roll_price_steps=3, roll_step_interval_s=5, roll_deadline_s=40, roll_max_concession=0.2)
    assert walk_for(params, "roll") == Walk(3, 5, 40, 0.2)
    assert walk_for(params, "close") == Walk(params.price_steps, params.step_interval_s, params.deadline_s, math.inf)


@pytest.mark.parametrize("bad", [{"roll_price_steps": 0}, {"roll_max_concession": -0.1}, {"roll_deadline_s": 0}])
def test_roll_walk_settings_out_of_range_are_refused(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        ExecutionSection(**bad)


# booking a roll fill -------------------------------------------------------------------------------------------------
def test_a_roll_fill_books_the_close_at_its_decided_mark_and_the_rest_as_the_new_entry():
    closing, opening = split_roll_fill(ROLL, OrderFilled(client_order_id="R", exec_id="E-2", quantity=1, price=-0.85,
                                                         commission_usd=2.60))
    assert (closing.quantity, closing.price, closing.commission_usd) == (-1, -0.40, 1.30)
    # -0.85 = +0.40 paid to close + the new spread at -1.25 (0.05 conceded by the walk is the new entry's slippage)
    assert (opening.quantity, opening.price, opening.commission_usd) == (1, -1.25, 1.30)
    assert closing.exec_id == opening.exec_id == "E-2"


def _node(start_ns: int) -> DeterministicRuntime:
    return DeterministicRuntime([lambda: ExecutionCore(ExecutionSection()), PositionSyncCore], VirtualClock(start_ns))


def _order_of(runtime: DeterministicRuntime, purpose: str) -> str:
    return next(m.client_order_id for m in runtime.history if isinstance(m, PlaceOrder) and m.purpose == purpose)


def _live() -> list[Message]:
    return _rolled().history


def _rolled(roll_fills: tuple[int, ...] = (1,)) -> DeterministicRuntime:
    """The old spread opened at -1.20, then rolled in one order."""
    runtime = _node(NOON)
    runtime.start()
    runtime.inject(IntentApproved(intent=OLD))
    opening = _order_of(runtime, "open")
    runtime.inject(OrderFilled(client_order_id=opening, exec_id="E-1", quantity=1, price=-1.20, commission_usd=1.30))
    runtime.inject(IntentApproved(intent=ROLL))
    rolling = _order_of(runtime, "roll")
    runtime.inject(OrderAccepted(client_order_id=rolling, broker_order_id=2))
    for n, quantity in enumerate(roll_fills):
        runtime.inject(OrderFilled(client_order_id=rolling, exec_id=f"E-R{n}", quantity=quantity, price=-0.85,
                                   commission_usd=2.60))
    return runtime


BOOKED = (StrategyRolled, StrategyClosed, StrategyOpened)


def test_one_roll_order_is_sent_and_its_fill_closes_the_old_strategy_and_opens_the_new_once():
    history = _live()
    orders = [m for m in history if isinstance(m, PlaceOrder)]
    assert [(o.purpose, o.quantity, o.limit_price) for o in orders] == [("open", 1, -1.20), ("roll", 1, -0.90)]
    assert orders[1].legs == ROLL.combo_legs
    booked = [m for m in history if isinstance(m, (*BOOKED, StrategyPositionChanged)) and m.origin == "positions"]
    assert [type(m) for m in booked] == [StrategyOpened, StrategyRolled, StrategyPositionChanged, StrategyClosed,
                                         StrategyOpened]
    rolled, closed, opened = booked[1], booked[3], booked[4]
    assert (rolled.strategy_id, rolled.replacement, rolled.rule) == ("BPS-SPY-1", "BPS-SPY-2", "roll")
    # opened at -1.20, closed at -0.40: 80 dollars, less 1.30 + 1.30 commissions
    assert (closed.strategy_id, closed.exit_price, closed.realized_pnl_usd, closed.rule) == ("BPS-SPY-1", -0.40,
                                                                                              77.40, "roll")
    assert (opened.strategy_id, opened.quantity, opened.entry_price, opened.legs) == ("BPS-SPY-2", 1, -1.25,
                                                                                      _spread(FAR))
    assert opened.max_profit_usd == pytest.approx(125.0) and opened.max_loss_usd == pytest.approx(375.0)
    ended = [m for m in history if isinstance(m, OrderTerminated)]
    assert [(m.purpose, m.status) for m in ended] == [("open", "filled"), ("roll", "filled")]


def test_a_re_delivered_roll_fill_is_booked_once():
    runtime = _rolled()
    booked = len([m for m in runtime.history if isinstance(m, (*BOOKED, StrategyPositionChanged))])
    for message in [m for m in runtime.history if isinstance(m, OrderFilled)]:
        runtime.inject(msgspec.structs.replace(message, ts=0, seq=0))  # IB replays the day's executions on reconnect
    assert len([m for m in runtime.history if isinstance(m, (*BOOKED, StrategyPositionChanged))]) == booked


@pytest.mark.parametrize("lost", [(StrategyRolled, StrategyClosed, StrategyOpened), (StrategyOpened,), ()],
                         ids=["all lost", "opened lost", "nothing lost"])
def test_a_restart_announces_what_the_journal_lost_of_a_roll_once(lost):
    history = _live()
    rolled_at = next(m.seq for m in history if isinstance(m, PlaceOrder) and m.purpose == "roll")
    journal = [m for m in history if not (isinstance(m, lost) and m.seq > rolled_at)]  # the crash lost them
    runtime = _node(journal[-1].ts)
    replay_quietly({name: runtime.core(name) for name in ("execution", "positions")}, runtime.routes, journal)
    runtime.start()
    runtime.run_until(journal[-1].ts)
    again = [m for m in runtime.history if isinstance(m, BOOKED)]
    kept = [m for m in journal if isinstance(m, BOOKED)]
    assert len(kept) + len(again) == len([m for m in history if isinstance(m, BOOKED)])
    assert sorted(type(m).__name__ for m in again) == sorted(c.__name__ for c in lost)
    originals = {type(m): m for m in history if isinstance(m, BOOKED) and m.seq > rolled_at}
    for message in again:  # the same fact, word for word
        assert all(getattr(message, f) == getattr(originals[type(message)], f)
                   for f in message.__struct_fields__ if f not in ("ts", "seq"))


def test_a_roll_filled_in_parts_reduces_the_old_and_grows_the_new_with_each_part():
    two = msgspec.structs.replace(ROLL, close=msgspec.structs.replace(CLOSE, quantity=-2),
                                  open=msgspec.structs.replace(NEW, quantity=2))
    runtime = _node(NOON)
    runtime.start()
    runtime.inject(IntentApproved(intent=msgspec.structs.replace(OLD, quantity=2)))
    opening = _order_of(runtime, "open")
    runtime.inject(OrderFilled(client_order_id=opening, exec_id="E-1", quantity=2, price=-1.20, commission_usd=2.60))
    runtime.inject(IntentApproved(intent=two))
    rolling = _order_of(runtime, "roll")
    runtime.inject(OrderFilled(client_order_id=rolling, exec_id="E-R1", quantity=1, price=-0.85, commission_usd=2.6))
    changed = [(m.strategy_id, m.quantity) for m in runtime.history if isinstance(m, (StrategyPositionChanged,
                                                                                      StrategyOpened))]
    assert changed[-2:] == [("BPS-SPY-1", 1), ("BPS-SPY-2", 1)]  # never both whole, never neither
    runtime.inject(OrderFilled(client_order_id=rolling, exec_id="E-R2", quantity=1, price=-0.85, commission_usd=2.6))
    changed = [(m.strategy_id, m.quantity) for m in runtime.history if isinstance(m, (StrategyPositionChanged,
                                                                                      StrategyOpened))]
    assert changed[-2:] == [("BPS-SPY-1", 0), ("BPS-SPY-2", 2)]
    assert [m.strategy_id for m in runtime.history if isinstance(m, StrategyClosed)] == ["BPS-SPY-1"]
    assert len([m for m in runtime.history if isinstance(m, StrategyRolled)]) == 1


# risk ---------------------------------------------------------------------------------------------------------------
def _risk(params: RiskSection) -> DeterministicRuntime:
    runtime = DeterministicRuntime([lambda: RiskCore(params)], VirtualClock(NOON))
    runtime.start()
    runtime.inject(account_values())
    runtime.inject(StrategyOpened(strategy_id="BPS-SPY-1", kind="bull_put", symbol="SPY", legs=_spread(NEAR),
                                  quantity=1, entry_price=-1.20, max_profit_usd=120.0, max_loss_usd=380.0))
    return runtime


def _answers(runtime: DeterministicRuntime) -> list:
    return [m for m in runtime.history if isinstance(m, (IntentApproved, IntentDenied)) and m.origin == "risk"]


def test_risk_judges_the_replacement_without_the_strategy_it_replaces():
    runtime = _risk(RiskSection(max_positions_per_symbol=1, max_positions=1))
    runtime.inject(msgspec.structs.replace(NEW, strategy_id="BPS-SPY-3"))  # a second position: over the limit
    runtime.inject(ROLL)  # one position before and after: within it
    answers = _answers(runtime)
    assert isinstance(answers[0], IntentDenied) and answers[0].check == "max_positions"
    assert isinstance(answers[1], IntentApproved)
    assert msgspec.structs.replace(answers[1].intent, ts=0, seq=0) == ROLL


def test_a_denied_roll_is_denied_under_the_held_strategy_with_the_opening_check_that_refused_it():
    runtime = _risk(RiskSection())
    runtime.inject(Halt(reason="operator"))
    runtime.inject(ROLL)
    denied = _answers(runtime)[-1]
    assert isinstance(denied, IntentDenied)
    assert (denied.strategy_id, denied.check) == ("BPS-SPY-1", "trading_state")
