"""Both brokers refuse the same unsendable orders, before anything reaches an exchange."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest

from actors.broker.ib.config import IbSection
from actors.broker.ib.core import IbBrokerCore
from actors.broker.order_desk import order_problem
from actors.broker.sim.config import SimSection
from actors.broker.sim.core import SimBrokerCore
from actors.broker.sim.generated import GeneratedQuoteSource
from actors.runtime.clock import VirtualClock
from actors.runtime.deterministic import DeterministicRuntime
from messages import IbConnected, IbOpenOrders, IbPlaceOrder, IbResync, Leg, OptionContract, OrderAccepted, OrderRejected, PlaceOrder

NOON = int(dt.datetime(2026, 3, 2, 17, 0, tzinfo=dt.UTC).timestamp() * 1e9)
EXPIRY = dt.date(2026, 4, 10)
SPREAD = (Leg(OptionContract("SPY", EXPIRY, 545.0, "P"), 1), Leg(OptionContract("SPY", EXPIRY, 550.0, "P"), -1))
GOOD = PlaceOrder(client_order_id="BPS-1-O1", strategy_id="BPS-1", purpose="open", legs=SPREAD, quantity=1,
                  limit_price=-1.20)
BAD = {
    "no legs": msgspec.structs.replace(GOOD, legs=()),
    "quantity is zero": msgspec.structs.replace(GOOD, quantity=0),
    "span several underlyings": msgspec.structs.replace(
        GOOD, legs=(SPREAD[0], Leg(OptionContract("QQQ", EXPIRY, 480.0, "P"), -1))),
    "not a number": msgspec.structs.replace(GOOD, limit_price=float("nan")),
}


@pytest.mark.parametrize("problem", list(BAD))
def test_order_problem_names_what_is_wrong(problem):
    assert problem in order_problem(BAD[problem], set())
    assert order_problem(GOOD, set()) is None
    assert "duplicate" in order_problem(GOOD, {GOOD.client_order_id})


def _sim() -> DeterministicRuntime:
    params = SimSection(start=dt.datetime.fromtimestamp(NOON / 1e9, dt.UTC))
    source = GeneratedQuoteSource(params, ("SPY",), NOON)
    runtime = DeterministicRuntime([lambda: SimBrokerCore(source, params, ("SPY",))], VirtualClock(NOON))
    runtime.start()
    return runtime


def _ib() -> DeterministicRuntime:
    runtime = DeterministicRuntime([lambda: IbBrokerCore(IbSection())], VirtualClock(NOON))
    runtime.start()
    runtime.inject(IbConnected(next_valid_id=100, accounts=("DU123",), server_version=176))
    resync = [m for m in runtime.history if isinstance(m, IbResync)][-1]
    runtime.inject(IbOpenOrders(sync_id=resync.sync_id, judged=resync.judge, working=(), complete=True))
    return runtime


@pytest.mark.parametrize("broker", [_sim, _ib], ids=["sim", "ib"])
def test_both_brokers_refuse_an_unsendable_order_and_take_a_good_one(broker):
    runtime = broker()
    for order in BAD.values():
        runtime.inject(msgspec.structs.replace(order, client_order_id=f"X-{len(runtime.history)}"))
    runtime.inject(GOOD)
    runtime.inject(GOOD)  # the same id twice: the second is refused, never sent
    rejected = [m for m in runtime.history if isinstance(m, OrderRejected)]
    assert len(rejected) == len(BAD) + 1 and "duplicate" in rejected[-1].reason
    sent = [m for m in runtime.history if isinstance(m, (IbPlaceOrder, OrderAccepted))]
    assert [m.client_order_id for m in sent] == [GOOD.client_order_id]
