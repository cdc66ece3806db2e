import datetime as dt

import pytest

from actors.market_data.chain import chain_contracts, quote_contracts
from actors.market_data.config import MarketDataSection
from actors.market_data.core import MarketDataCore
from actors.market_data.iv_history import IvHistory
from actors.runtime.clock import VirtualClock
from actors.runtime.core import ActorCore, Context
from actors.runtime.deterministic import DeterministicRuntime
from actors.runtime.threaded import ThreadedRuntime
from messages import (
    ChainSnapshot,
    IvHistoryRestored,
    IvPoint,
    IvSample,
    Leg,
    Message,
    OptionContract,
    OptionQuote,
    PortfolioGreeks,
    QuoteStale,
    StrategyClosed,
    StrategyGreeks,
    StrategyOpened,
    SubscribeQuotes,
    UnsubscribeQuotes,
    VolatilityStats,
)

OPEN = int(dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC).timestamp() * 1e9)  # Monday 10:00 New York
SECOND = 1_000_000_000
EXPIRY = dt.date(2026, 4, 10)
PUT = OptionContract("SPY", EXPIRY, 550.0, "P")
CALL = OptionContract("SPY", EXPIRY, 610.0, "C")


def _opened(strategy_id: str, legs: tuple[Leg, ...], ts: int = OPEN) -> StrategyOpened:
    return StrategyOpened(ts=ts, strategy_id=strategy_id, kind="strangle", symbol="SPY", legs=legs, quantity=2,
                          entry_price=-3.0, max_profit_usd=600.0, max_loss_usd=9999.0)


def _quote(contract: OptionContract, ts: int, delta: float) -> OptionQuote:
    return OptionQuote(ts=ts, contract=contract, bid=1.0, ask=1.1, iv=0.2, delta=delta, gamma=0.01, vega=0.5,
                       theta=-0.1, underlying_price=580.0)


def _runtime(params: MarketDataSection | None = None) -> DeterministicRuntime:
    runtime = DeterministicRuntime([lambda: MarketDataCore(params or MarketDataSection())], VirtualClock(OPEN))
    runtime.start()
    return runtime


def _of(runtime: DeterministicRuntime, kind: type[Message]) -> list:
    return [m for m in runtime.history if isinstance(m, kind)]


def test_subscriptions_are_reference_counted_across_strategies():
    runtime = _runtime()
    runtime.inject(_opened("A", (Leg(PUT, -1), Leg(CALL, -1))))
    runtime.inject(_opened("B", (Leg(PUT, -1),)))
    runtime.inject(StrategyClosed(strategy_id="A", exit_price=-1.0, realized_pnl_usd=1, commissions_usd=1, rule="x"))
    runtime.inject(StrategyClosed(strategy_id="B", exit_price=-1.0, realized_pnl_usd=1, commissions_usd=1, rule="x"))
    assert [m.contracts for m in _of(runtime, SubscribeQuotes)] == [(PUT, CALL)]
    assert [m.contracts for m in _of(runtime, UnsubscribeQuotes)] == [(CALL,), (PUT,)]


def test_stale_quote_reported_once_per_episode_and_rearmed_by_a_fresh_quote():
    runtime = _runtime(MarketDataSection(stale_after_s=120, stale_check_interval_s=30))
    runtime.inject(_opened("A", (Leg(PUT, -1),)))
    runtime.inject(_quote(PUT, OPEN + 10 * SECOND, -0.2))
    runtime.run_until(OPEN + 300 * SECOND)
    stale = _of(runtime, QuoteStale)
    assert [s.key for s in stale] == [str(PUT)]
    assert stale[0].age_ns > 120 * SECOND
    runtime.inject(_quote(PUT, OPEN + 310 * SECOND, -0.2))
    runtime.run_until(OPEN + 600 * SECOND)
    assert len(_of(runtime, QuoteStale)) == 2


def test_no_staleness_while_the_market_is_closed():
    runtime = _runtime(MarketDataSection(stale_after_s=120, stale_check_interval_s=30))
    runtime.inject(_opened("A", (Leg(PUT, -1),)))
    runtime.inject(_quote(PUT, OPEN + 10 * SECOND, -0.2))
    evening = int(dt.datetime(2026, 3, 2, 22, 0, tzinfo=dt.UTC).timestamp() * 1e9)
    runtime.run_until(evening)
    count = len(_of(runtime, QuoteStale))
    next_morning_before_limit = int(dt.datetime(2026, 3, 3, 14, 31, tzinfo=dt.UTC).timestamp() * 1e9)
    runtime.run_until(next_morning_before_limit)
    assert len(_of(runtime, QuoteStale)) == count == 1


def test_greeks_aggregate_in_position_units_and_only_on_change():
    runtime = _runtime(MarketDataSection(greeks_interval_s=10))
    runtime.inject(_opened("A", (Leg(PUT, -1), Leg(CALL, -1))))
    runtime.inject(_quote(PUT, OPEN + SECOND, -0.2))
    runtime.inject(_quote(CALL, OPEN + SECOND, 0.15))
    runtime.run_until(OPEN + 35 * SECOND)
    strategy = _of(runtime, StrategyGreeks)
    assert len(strategy) == 1
    # short 2 of each: delta = -(−0.2 + 0.15) × 2 × 100 = +10 shares; theta = +0.1 × 2 legs × 2 × 100 = $40/day
    assert strategy[0].delta == pytest.approx(10.0) and strategy[0].theta == pytest.approx(40.0)
    assert strategy[0].gamma == pytest.approx(-4.0) and strategy[0].vega == pytest.approx(-200.0)
    portfolio = _of(runtime, PortfolioGreeks)
    assert len(portfolio) == 1 and portfolio[0].strategies == 1 and portfolio[0].delta == pytest.approx(10.0)


def _chain(ts: int, iv: float) -> ChainSnapshot:
    quotes = quote_contracts(chain_contracts("SPY", 580.0, ts, 25, 35), 580.0, iv, ts, 0.04, 0.013)
    return ChainSnapshot(ts=ts, symbol="SPY", underlying_price=580.0, quotes=tuple(quotes))


def test_iv_rank_and_percentile_from_restored_history():
    runtime = _runtime()
    history = tuple(IvPoint(dt.date(2026, 2, d), iv) for d, iv in ((2, 0.12), (3, 0.16), (4, 0.20), (5, 0.24)))
    runtime.inject(IvHistoryRestored(symbol="SPY", points=history))
    runtime.inject(_chain(OPEN, 0.18))
    stats = _of(runtime, VolatilityStats)[-1]
    assert stats.atm_iv == pytest.approx(0.18, abs=0.002)
    assert stats.history_days == 5
    assert stats.iv_rank == pytest.approx(50.0, abs=2.0)
    assert stats.iv_percentile == pytest.approx(40.0)
    assert _of(runtime, IvSample)[-1].point.session_date == dt.date(2026, 3, 2)


def test_iv_history_keeps_one_sample_per_day_within_the_window():
    history = IvHistory(window=3)
    for day, iv in ((1, 0.1), (1, 0.2), (2, 0.3), (3, 0.4), (4, 0.5)):
        history.record(IvPoint(dt.date(2026, 3, day), iv))
    assert len(history) == 3
    assert history.rank_and_percentile(0.3) == (0.0, 0.0)
    assert history.rank_and_percentile(0.5) == (100.0, 66.67)


class _Sink(ActorCore):
    name = "sink"
    subscriptions = (OptionQuote,)
    lossless = False

    def __init__(self) -> None:
        self.seen: list[float] = []

    def handle(self, message: Message, ctx: Context) -> None:
        self.seen.append(message.bid)  # type: ignore[attr-defined]


def test_threaded_mailbox_conflates_a_burst_to_the_latest_quote():
    sink = _Sink()
    runtime = ThreadedRuntime([lambda: sink], VirtualClock(OPEN))
    mailbox = runtime.mailboxes["sink"]
    for n in range(500):  # before the actor starts: the whole burst waits in the mailbox
        runtime.publish(OptionQuote(contract=PUT, bid=float(n), ask=n + 0.1, iv=0.2, delta=-0.2, gamma=0.01,
                                    vega=0.5, theta=-0.1, underlying_price=580.0))
    runtime.start()
    try:
        assert runtime.work.wait_idle(timeout=10)
    finally:
        runtime.stop()
    assert mailbox.metrics.conflated == 499 and mailbox.metrics.high_water == 1
    assert sink.seen == [499.0]
