"""The simulated exchange trades a roll combo like IB trades any combo: all its legs together, unit by unit at the
net price, never some legs without the others; in parts, each part moves the old structure and the new one by the
same number of units, so the account never holds both nor neither."""

from __future__ import annotations

import datetime as dt

from actors.broker.sim.config import SimSection
from actors.broker.sim.core import SimBrokerCore
from actors.broker.sim.scripted import ScriptedQuoteSource
from actors.runtime.clock import VirtualClock
from actors.runtime.deterministic import DeterministicRuntime
from messages import (
    BrokerPositionsSnapshot,
    Leg,
    OptionContract,
    OrderFilled,
    PlaceOrder,
    RawQuote,
    UnderlyingQuote,
)

NOW = int(dt.datetime(2026, 3, 20, 15, 0, tzinfo=dt.UTC).timestamp() * 1e9)
NEAR, FAR = dt.date(2026, 4, 10), dt.date(2026, 5, 1)


def _condor(expiry: dt.date) -> tuple[Leg, ...]:
    return tuple(Leg(OptionContract("SPY", expiry, k, r), q)
                 for k, r, q in ((545.0, "P", 1), (550.0, "P", -1), (610.0, "C", -1), (615.0, "C", 1)))


def _requote(runtime: DeterministicRuntime) -> None:
    now = runtime.clock.now()
    runtime.inject(RawQuote(ts=now, quote=UnderlyingQuote(ts=now, symbol="SPY", bid=579.95, ask=580.05, last=580.0)))
    runtime.run_until(now + 1_000_000_000)


def test_a_roll_combo_fills_in_whole_units_of_all_its_legs():
    params = SimSection(market="scripted", partial_fill_probability=1.0, seed=7)
    runtime = DeterministicRuntime([lambda: SimBrokerCore(ScriptedQuoteSource(params), params, ("SPY",))],
                                   VirtualClock(NOW))
    runtime.start()
    _requote(runtime)
    runtime.inject(PlaceOrder(client_order_id="IC-1-O1", strategy_id="IC-1", purpose="open", legs=_condor(NEAR),
                              quantity=1, limit_price=5.0))
    runtime.inject(PlaceOrder(client_order_id="IC-1-O2", strategy_id="IC-1", purpose="open", legs=_condor(NEAR),
                              quantity=3, limit_price=5.0))  # partial fills on: 3 more units, in parts
    while sum(f.quantity for f in runtime.history if isinstance(f, OrderFilled)) < 4:
        _requote(runtime)
    roll_legs = tuple(Leg(leg.contract, -leg.ratio) for leg in _condor(NEAR)) + _condor(FAR)
    runtime.inject(PlaceOrder(client_order_id="IC-1-R3", strategy_id="IC-1", purpose="roll", legs=roll_legs,
                              quantity=4, limit_price=5.0))
    for _ in range(20):
        _requote(runtime)
    rolled = [f for f in runtime.history if isinstance(f, OrderFilled) and f.client_order_id == "IC-1-R3"]
    assert sum(f.quantity for f in rolled) == 4 and len(rolled) > 1  # in parts
    after_roll_sent = next(m.seq for m in runtime.history if isinstance(m, OrderFilled) and m in rolled) - 1
    near, far = {leg.contract: leg.ratio for leg in _condor(NEAR)}, {leg.contract: leg.ratio for leg in _condor(FAR)}
    units_rolled, checked = 0, 0
    for message in runtime.history:
        if message.seq <= after_roll_sent:
            continue
        if isinstance(message, OrderFilled):
            units_rolled += message.quantity
        elif isinstance(message, BrokerPositionsSnapshot):
            held = {p.contract: p.quantity for p in message.positions}
            expected = {c: r * (4 - units_rolled) for c, r in near.items() if 4 - units_rolled}
            expected |= {c: r * units_rolled for c, r in far.items() if units_rolled}
            assert held == expected, f"after {units_rolled} units rolled"
            checked += 1
    assert units_rolled == 4 and checked >= len(rolled)  # the exchange reports its positions after every fill
