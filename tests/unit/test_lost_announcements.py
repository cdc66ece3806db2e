"""A crash that journals a fill but not what the fill made execution and position tracking announce (the order's
end, the strategy opened): the rebuilt cores announce it again once they run, exactly once, and never what the
journal already holds."""

from __future__ import annotations

import datetime as dt

import pytest

from actors.execution.config import ExecutionSection
from actors.execution.core import ExecutionCore
from actors.position_sync.core import PositionSyncCore
from actors.runtime.clock import VirtualClock
from actors.runtime.deterministic import DeterministicRuntime
from actors.runtime.rebuild import replay_quietly
from messages import (
    IntentApproved,
    Leg,
    Message,
    OpenStrategy,
    OptionContract,
    OrderAccepted,
    OrderFilled,
    OrderTerminated,
    PlaceOrder,
    StrategyOpened,
)

NOON = int(dt.datetime(2026, 3, 2, 17, 0, tzinfo=dt.UTC).timestamp() * 1e9)
EXPIRY = dt.date(2026, 4, 10)
SPREAD = (Leg(OptionContract("SPY", EXPIRY, 545.0, "P"), 1), Leg(OptionContract("SPY", EXPIRY, 550.0, "P"), -1))
INTENT = OpenStrategy(strategy_id="BPS-1", kind="bull_put_spread", symbol="SPY", legs=SPREAD, quantity=1,
                      mid_price=-1.20, natural_price=-1.10, max_profit_usd=120.0, max_loss_usd=380.0, reason="test")
ANNOUNCED = (OrderTerminated, StrategyOpened)


def _node(start_ns: int) -> DeterministicRuntime:
    return DeterministicRuntime([lambda: ExecutionCore(ExecutionSection()), PositionSyncCore], VirtualClock(start_ns))


def _live() -> list[Message]:
    """An opening order placed, accepted and filled: execution ends it, position tracking opens the strategy."""
    runtime = _node(NOON)
    runtime.start()
    runtime.inject(IntentApproved(intent=INTENT))
    order_id = next(m.client_order_id for m in runtime.history if isinstance(m, PlaceOrder))
    runtime.inject(OrderAccepted(client_order_id=order_id, broker_order_id=1))
    runtime.inject(OrderFilled(client_order_id=order_id, exec_id="E-1", quantity=1, price=-1.20, commission_usd=2.6))
    return runtime.history


def _restarted(journal: list[Message]) -> list[Message]:
    runtime = _node(journal[-1].ts)
    replay_quietly({name: runtime.core(name) for name in ("execution", "positions")}, runtime.routes, journal)
    runtime.start()
    runtime.run_until(journal[-1].ts)
    return runtime.history


@pytest.mark.parametrize("lost", [(OrderTerminated, StrategyOpened), (StrategyOpened,), ()],
                         ids=["both lost", "opened lost", "nothing lost"])
def test_what_the_journal_lost_is_announced_again_once(lost):
    history = _live()
    assert [type(m) for m in history if isinstance(m, ANNOUNCED)] == [OrderTerminated, StrategyOpened]
    journal = [m for m in history if not isinstance(m, lost)]
    again = [m for m in _restarted(journal) if isinstance(m, ANNOUNCED)]
    assert [type(m) for m in again] == list(lost)
    originals = {type(m): m for m in history if isinstance(m, ANNOUNCED)}
    for message in again:  # the same fact, word for word
        assert message.__struct_fields__ and all(
            getattr(message, f) == getattr(originals[type(message)], f)
            for f in message.__struct_fields__ if f not in ("ts", "seq"))
