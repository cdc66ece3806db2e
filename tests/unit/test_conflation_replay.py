"""A conflating actor that falls behind ends where replaying its journal ends.

On a wall clock, the decision's mailbox conflates market data while the actor is busy; replay delivers every journaled
message in order. A snapshot taken live must restore what replay-from-zero builds (`tests/snapshot_state.py` checks
that of a real node), and the live node must judge what replay judges. So conflation may drop only quotes whose
state the next one replaces whole, and never carry a newer quote ahead of a message the actor acts on."""

from __future__ import annotations

from collections.abc import Callable

import msgspec
import pytest

from actors.config import config_from_mapping
from actors.decision.core import DecisionCore
from actors.market_data.core import MarketDataCore
from actors.risk.core import RiskCore
from actors.runtime.actor import Envelope
from actors.runtime.core import ActorCore, MutedContext
from actors.runtime.delivery import classifier_of
from actors.runtime.mailbox import Mailbox
from actors.runtime.snapshot_codec import encode_state
from messages import (
    BrokerConnectionChanged,
    CloseStrategy,
    Leg,
    Message,
    OptionQuote,
    OptionQuotes,
    ReconciliationResult,
    StrategyOpened,
    TimerFired,
    TimerKey,
    UnderlyingQuote,
    VolatilityStats,
)
from tests.snapshot_state import differing_attributes
from tests.unit.account_values import account_values
from tests.unit.spy_condor import CONDOR, NOON

MS = 1_000_000


def _leg_quote(leg: Leg, spot: float, ts: int, ask: float | None = None) -> OptionQuote:
    price = {545.0: 1.0, 550.0: 1.6, 610.0: 0.7, 615.0: 0.3}[leg.contract.strike]
    price = round(price + (0.05 if leg.contract.right == "P" else -0.02) * (580.0 - spot), 2)
    return OptionQuote(ts=ts, contract=leg.contract, bid=price - 0.05, ask=price + 0.05 if ask is None else ask,
                       iv=0.1, delta=0.1, gamma=0.01, vega=0.2, theta=-0.03, underlying_price=spot)


def _burst(spot: float, ts: int, short_call_ask: float | None = None, legs: tuple[Leg, ...] = CONDOR) -> OptionQuotes:
    return OptionQuotes(ts=ts, quotes=tuple(
        _leg_quote(leg, spot, ts, short_call_ask if leg is CONDOR[2] else None) for leg in legs))


def _stats(percentile: float, ts: int) -> VolatilityStats:
    return VolatilityStats(ts=ts, symbol="SPY", atm_iv=0.2, iv_rank=percentile, iv_percentile=percentile,
                           history_days=252)


def _underlying(spot: float, ts: int) -> UnderlyingQuote:
    return UnderlyingQuote(ts=ts, symbol="SPY", bid=spot - 0.01, ask=spot + 0.01, last=spot)


def _journal() -> tuple[list[Message], list[Message]]:
    """What the decision heard before it fell behind, and what queued while it was busy, stamped in journal order."""
    def at(ms: int) -> int:
        return NOON + ms * MS

    heard = [BrokerConnectionChanged(state="connected", reason="test"), ReconciliationResult(ok=True, mismatches=()),
             account_values(), StrategyOpened(strategy_id="IC-1", kind="iron_condor", symbol="SPY", legs=CONDOR,
                                              quantity=1, entry_price=-1.2, max_profit_usd=120.0, max_loss_usd=380.0),
             _underlying(580.0, at(0)), _burst(580.0, at(0))]
    queued = [
        _underlying(579.0, at(1)),  # the move window keeps every price: the catastrophe rule reads its start
        _underlying(578.0, at(2)),
        _burst(578.0, at(3)),  # a good ask for the short call, newer than the one heard ...
        _burst(578.0, at(4), short_call_ask=0.0),  # ... then nobody offers it: its mark leans on its last good ask
        TimerFired(ts=at(5), target="decision", key=TimerKey.EXITS),  # judges what came before it, nothing newer
        CloseStrategy(ts=at(5), strategy_id="IC-1", symbol="SPY", legs=CONDOR, quantity=1, mid_price=0.9,
                      natural_price=1.0, rule="stop_loss", reason="test"),  # risk judges it on the book of then
        _burst(577.0, at(6), legs=CONDOR[:2]),  # IB streams changes only: the calls did not move
        _stats(10.0, at(7)),  # below the IV-percentile exit: replay closes the condor here ...
        _stats(50.0, at(8)),  # ... though the next percentile, heard alone, would not
    ]
    stamped = [msgspec.structs.replace(message, seq=number, ts=message.ts or NOON)
               for number, message in enumerate(heard + queued, start=1)]
    return stamped[:len(heard)], stamped[len(heard):]


def _decision() -> DecisionCore:
    config = config_from_mapping({"exits": {"iv_percentile_exit": 30.0}})
    return DecisionCore(config.entry, config.exits)


CORES: dict[str, Callable[[], ActorCore]] = {
    "decision": _decision,
    "risk": lambda: RiskCore(config_from_mapping({}).risk),
    "market_data": lambda: MarketDataCore(config_from_mapping({}).market_data),
}


def _to(core: ActorCore, messages: list[Message]) -> list[Message]:
    """What the runtime routes to `core`: its subscriptions, and its own timers."""
    return [m for m in messages if (m.target == core.name if isinstance(m, TimerFired) else
                                    isinstance(m, core.subscriptions))]


def _handle(core: ActorCore, messages: list[Message]) -> None:
    for message in messages:
        core.handle(message, MutedContext(message.ts))


@pytest.mark.parametrize("name", CORES)
def test_a_conflating_core_that_fell_behind_holds_what_replaying_its_journal_builds(name):
    heard, queued = _journal()
    replayed, live = CORES[name](), CORES[name]()
    assert not live.lossless
    heard, queued = _to(live, heard), _to(live, queued)
    _handle(replayed, heard + queued)

    _handle(live, heard)
    mailbox = Mailbox(name, classifier_of(live), 10_000, 1.0, 100)
    for message in queued:
        mailbox.put(Envelope(message))
    taken = []
    while not mailbox.empty():
        taken.append(mailbox.get().message)
    _handle(live, taken)

    assert mailbox.metrics.conflated > 0, "the test must make the mailbox conflate"
    assert not differing_attributes(encode_state(live, keep_fresh=True)[0], encode_state(replayed, keep_fresh=True)[0])
