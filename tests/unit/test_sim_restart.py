"""The simulated exchange lives in the node's process and dies with it: a restart rebuilds it from the journal, and
the rebuilt exchange must agree with what the node heard. A command whose answer never reached the journal is
answered at start (as IB reports an order's status on reconnect); nothing the node never heard is held against it."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from actors.broker.sim.config import SimSection
from actors.broker.sim.core import SimBrokerCore
from actors.broker.sim.generated import GeneratedQuoteSource
from actors.runtime.clock import VirtualClock
from actors.runtime.deterministic import DeterministicRuntime
from actors.runtime.rebuild import replay_quietly
from messages import (
    BrokerPositionsSnapshot,
    CancelOrder,
    CancelRejected,
    Leg,
    Message,
    ModifyOrder,
    ModifyRefused,
    OptionContract,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderModified,
    PlaceOrder,
)

NOON = int(dt.datetime(2026, 3, 2, 17, 0, tzinfo=dt.UTC).timestamp() * 1e9)
EXPIRY = dt.date(2026, 4, 10)
SPREAD = (Leg(OptionContract("SPY", EXPIRY, 545.0, "P"), 1), Leg(OptionContract("SPY", EXPIRY, 550.0, "P"), -1))
ORDER = PlaceOrder(client_order_id="BPS-1-O1", strategy_id="BPS-1", purpose="open", legs=SPREAD, quantity=1,
                   limit_price=-9.00)  # asks a credit nobody pays: it works
MARKETABLE = ModifyOrder(client_order_id="BPS-1-O1", limit_price=-0.01)  # asks almost nothing: it fills at once


def _exchange(start_ns: int, **sim) -> DeterministicRuntime:
    params = SimSection(start=dt.datetime.fromtimestamp(NOON / 1e9, dt.UTC), **sim)
    source = GeneratedQuoteSource(params, ("SPY",), NOON)
    return DeterministicRuntime([lambda: SimBrokerCore(source, params, ("SPY",))], VirtualClock(start_ns))


def _live(*commands: Message, **sim) -> list[Message]:
    runtime = _exchange(NOON, **sim)
    runtime.start()
    for command in commands:
        runtime.inject(command)
    return runtime.history


def _restarted(journal: list[Message], **sim) -> DeterministicRuntime:
    """A new exchange rebuilt from `journal` (what the node had written when it died), then started."""
    runtime = _exchange(journal[-1].ts, **sim)
    replay_quietly({"broker": runtime.core("broker")}, runtime.routes, journal)
    runtime.start()
    runtime.run_until(journal[-1].ts)  # its first positions report
    return runtime


def _held(messages: list[Message]) -> Counter:
    held: Counter = Counter()
    for fill in (m for m in messages if isinstance(m, OrderFilled)):
        for leg in SPREAD:
            held[leg.contract] += leg.ratio * fill.quantity
    return Counter({contract: quantity for contract, quantity in held.items() if quantity})


def _last_positions(messages: list[Message]) -> Counter:
    snapshot = [m for m in messages if isinstance(m, BrokerPositionsSnapshot)][-1]
    return Counter({p.contract: p.quantity for p in snapshot.positions})


def test_the_live_exchange_fills_the_marketable_modify():
    history = _live(ORDER, MARKETABLE)
    assert [type(m) for m in history if isinstance(m, (OrderAccepted, OrderModified, OrderFilled))] == [
        OrderAccepted, OrderModified, OrderFilled]


@pytest.mark.parametrize("cut_after", [PlaceOrder, OrderAccepted, ModifyOrder, OrderModified])
def test_a_rebuilt_exchange_agrees_with_what_the_node_heard(cut_after):
    """Killed right after `cut_after` was journaled: whatever the dead exchange did next is unknown to the node. The
    rebuilt one answers the unanswered command now, and holds exactly the positions the node was told of."""
    history = _live(ORDER, MARKETABLE)
    cut = max(i for i, m in enumerate(history) if type(m) is cut_after) + 1
    journal = history[:cut]
    restarted = _restarted(journal)
    restarted.inject(CancelOrder(client_order_id=ORDER.client_order_id, reason="restart: deadline"))
    heard = journal + restarted.history
    fills = [m for m in heard if isinstance(m, OrderFilled)]
    answer = [m for m in restarted.history if isinstance(m, (OrderCancelled, CancelRejected))][-1]
    if fills:  # the order finished, and the node knows how: the cancel comes too late
        assert isinstance(answer, CancelRejected)
        assert len({f.exec_id for f in fills}) == len(fills)
    else:  # still working at the rebuilt exchange, as the node believes: the cancel takes it
        assert isinstance(answer, OrderCancelled)
    assert _last_positions(restarted.history) == _held(heard)


def test_a_fill_the_node_journaled_is_not_made_again():
    history = _live(ORDER, MARKETABLE)
    journal = history[:max(i for i, m in enumerate(history) if isinstance(m, OrderFilled)) + 1]
    restarted = _restarted(journal)
    restarted.inject(CancelOrder(client_order_id=ORDER.client_order_id, reason="restart: deadline"))
    assert not [m for m in restarted.history if isinstance(m, (OrderFilled, OrderAccepted, OrderModified))]
    assert _last_positions(restarted.history) == _held(journal)


def test_a_refused_modify_stays_refused_after_a_restart():
    """The exchange refused the marketable step (`modify_refuse_probability`): the order works on at its old limit.
    A rebuilt exchange takes the refusal as that step's answer, so it neither applies the step nor fills on it."""
    history = _live(ORDER, MARKETABLE, modify_refuse_probability=1.0)
    refused = [m for m in history if isinstance(m, ModifyRefused)]
    assert [(r.limit_price, r.working_price) for r in refused] == [(MARKETABLE.limit_price, ORDER.limit_price)]
    assert not [m for m in history if isinstance(m, (OrderModified, OrderFilled))]
    restarted = _restarted(history, modify_refuse_probability=1.0)
    assert not [m for m in restarted.history if isinstance(m, (OrderModified, ModifyRefused, OrderFilled))]
    restarted.inject(CancelOrder(client_order_id=ORDER.client_order_id, reason="restart: deadline"))
    assert [m for m in restarted.history if isinstance(m, OrderCancelled)]
    assert not _last_positions(restarted.history)
