"""Property: random bad ticks interleaved with good ones, through the full node in deterministic replay.

No actor fails, no published field is NaN or infinite, and a tick the gate rejects never causes an order: the node
places exactly the orders, at exactly the instants, of the same run without the bad ticks.
"""

from __future__ import annotations

import datetime as dt
import math
from functools import cache

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors.config import config_from_mapping
from actors.node import core_factories
from actors.replay.scenario import SCENARIO_DEFAULTS
from actors.runtime.clock import VirtualClock
from actors.runtime.deterministic import DeterministicRuntime
from messages import (
    ActorFailed,
    BadTick,
    IndexQuote,
    Message,
    OptionQuote,
    PlaceOrder,
    RawQuote,
    StrategyClosed,
    StrategyOpened,
    UnderlyingQuote,
)

START = dt.datetime(2026, 3, 2, 14, 30, tzinfo=dt.UTC)
MINUTE = 60_000_000_000
CONFIG = config_from_mapping(SCENARIO_DEFAULTS, source="property test")
BAD_PRICES = (math.nan, math.inf, -math.inf, -1.0, 0.0)


def _good_feed() -> list[tuple[int, float]]:
    """(ts, SPY price) every 10 minutes: a quiet first session to open a condor, then a slide that closes it."""
    feed = []
    day1 = int(START.timestamp() * 1e9) + MINUTE
    feed += [(day1 + i * 10 * MINUTE, 580.0) for i in range(10)]
    day2 = int(dt.datetime(2026, 3, 3, 15, 0, tzinfo=dt.UTC).timestamp() * 1e9)
    feed += [(day2 + i * 10 * MINUTE, round(580.0 * (1 - 0.006 * i), 2)) for i in range(12)]
    return feed


FEED = _good_feed()


def _good(ts: int, price: float) -> list[Message]:
    return [UnderlyingQuote(ts=ts, symbol="SPY", bid=round(price - 0.05, 2), ask=round(price + 0.05, 2), last=price),
            IndexQuote(ts=ts, symbol="VIX", value=18.0)]


def _run(bad: dict[int, Message]) -> list[Message]:
    start_ns = int(START.timestamp() * 1e9)
    runtime = DeterministicRuntime(core_factories(CONFIG, "property", None, start_ns), VirtualClock(start_ns))
    runtime.start()
    for step, (ts, price) in enumerate(FEED):
        for quote in _good(ts, price):
            runtime.inject(RawQuote(ts=ts, quote=quote))
        if step in bad:
            runtime.inject(RawQuote(ts=ts + 1_000_000_000, quote=msgspec.structs.replace(bad[step], ts=ts + 10**9)))
    runtime.run_until(FEED[-1][0] + 60 * MINUTE)
    return runtime.history


@cache
def _clean() -> tuple[list[Message], tuple]:
    history = _run({})
    opened = next(m for m in history if isinstance(m, StrategyOpened))
    return history, opened.legs


def _orders(history: list[Message]) -> list[tuple]:
    return [(m.ts, m.client_order_id, m.quantity, m.limit_price, m.legs) for m in history if isinstance(m, PlaceOrder)]


def _non_finite_fields(history: list[Message]) -> list[str]:
    found = []

    def walk(value: object, path: str) -> None:
        if isinstance(value, float) and not math.isfinite(value):
            found.append(path)
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{path}.{key}")
        elif isinstance(value, (list, tuple)):
            for n, item in enumerate(value):
                walk(item, f"{path}[{n}]")

    for message in history:
        if message.origin:  # what the node published; the feed's own ticks (no origin) are the input under test
            walk(msgspec.to_builtins(message), f"{type(message).__name__}#{message.seq}")
    return found


def _rejected_underlying(price: float) -> st.SearchStrategy[Message]:
    """A SPY tick the gate must refuse, relative to the good price it follows."""
    sentinel = st.tuples(st.sampled_from(BAD_PRICES), st.sampled_from(BAD_PRICES)).map(
        lambda p: UnderlyingQuote(symbol="SPY", bid=p[0], ask=p[1], last=p[0]))
    crossed = st.just(UnderlyingQuote(symbol="SPY", bid=price + 1.0, ask=price - 1.0, last=price))
    wide = st.just(UnderlyingQuote(symbol="SPY", bid=round(price * 0.97, 2), ask=round(price * 1.03, 2), last=price))
    jump = st.one_of(st.floats(0.01, 0.93), st.floats(1.07, 3.0)).map(
        lambda f: UnderlyingQuote(symbol="SPY", bid=round(price * f - 0.05, 2), ask=round(price * f + 0.05, 2),
                                  last=round(price * f, 2)))
    vix = st.one_of(st.sampled_from(BAD_PRICES), st.floats(30.0, 200.0), st.floats(0.001, 8.0)).map(
        lambda v: IndexQuote(symbol="VIX", value=v))
    return st.one_of(sentinel, crossed, wide, jump, vix)


def _rejected_option(legs: tuple) -> st.SearchStrategy[Message]:
    def quote(leg, sides: tuple[float, float]) -> OptionQuote:  # noqa: ANN001 - a Leg
        return OptionQuote(contract=leg.contract, bid=sides[0], ask=sides[1], iv=0.2, delta=0.1, gamma=0.01,
                           vega=0.1, theta=-0.05, underlying_price=580.0)

    sides = st.one_of(
        st.tuples(st.sampled_from((math.nan, math.inf)), st.floats(0.05, 5.0)),
        st.tuples(st.sampled_from((-1.0, 0.0)), st.sampled_from((-1.0, 0.0))),
        st.floats(0.5, 5.0).map(lambda p: (p + 0.5, p)),
    )
    return st.builds(quote, st.sampled_from(legs), sides)


@st.composite
def _bad_ticks(draw, rejected_only: bool) -> dict[int, Message]:  # noqa: ANN001 - hypothesis draw
    _, legs = _clean()
    steps = draw(st.lists(st.integers(0, len(FEED) - 1), unique=True, max_size=12))
    bad = {}
    for step in steps:
        options = _rejected_option(legs) if step >= 10 else st.nothing()
        kinds = [_rejected_underlying(FEED[step][1]), options]
        if not rejected_only:
            kinds.append(_dirty_but_usable(legs))
        bad[step] = draw(st.one_of(*kinds))
    return bad


def _dirty_but_usable(legs: tuple) -> st.SearchStrategy[Message]:
    """One-sided option quotes and IB's "not computed" greeks: delivered (marked conservatively, greeks repaired)."""
    return st.builds(
        lambda leg, bid, ask, greek: OptionQuote(contract=leg.contract, bid=bid, ask=ask, iv=-1.0, delta=greek,
                                                 gamma=greek, vega=greek, theta=greek, underlying_price=-1.0),
        st.sampled_from(legs), st.sampled_from((-1.0, 0.0, 0.3)), st.sampled_from((-1.0, 0.4, 2.5)),
        st.sampled_from((-2.0, math.nan)))


SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(bad=_bad_ticks(rejected_only=True))
def test_rejected_ticks_never_cause_an_order_nor_a_failure(bad):
    clean, _ = _clean()
    history = _run(bad)
    assert not [m for m in history if isinstance(m, ActorFailed)]
    assert _non_finite_fields(history) == []
    assert _orders(history) == _orders(clean)
    rejected = sum(m.count for m in history if isinstance(m, BadTick) and m.action == "rejected")
    assert rejected == len(bad)


@SETTINGS
@given(bad=_bad_ticks(rejected_only=False))
def test_dirty_ticks_never_fail_an_actor_nor_publish_a_non_finite_value(bad):
    history = _run(bad)
    assert not [m for m in history if isinstance(m, ActorFailed)]
    assert _non_finite_fields(history) == []
    assert any(isinstance(m, StrategyClosed) for m in history)  # the position is still judged and closed


def test_the_clean_feed_opens_and_closes_a_condor():
    history, _ = _clean()
    assert [m.purpose for m in history if isinstance(m, PlaceOrder)][:2] == ["open", "close"]
