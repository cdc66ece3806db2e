"""The risk core and its breaker, judged by every message they publish, field by field: denials with their check and
reason, state changes, alerts and their levels, snapshots, restores, the cool-down timer and the book of open risk."""

from __future__ import annotations

import msgspec

from actors.risk.breaker import CircuitBreaker
from actors.risk.config import RiskSection
from actors.risk.core import RiskCore
from actors.runtime.clock import VirtualClock
from actors.runtime.deterministic import DeterministicRuntime
from messages import (
    ActorFailed,
    Alert,
    BreakerStateChanged,
    CloseStrategy,
    Halt,
    IntentApproved,
    IntentDenied,
    OrderRejected,
    OrderTerminated,
    Resume,
    StorageStateChanged,
    StrategyClosed,
    StrategyOpened,
    StrategyPositionChanged,
    StrategyReduced,
    TradingStateChanged,
)
from messages.risk import RiskStateRestored, RiskStateSnapshot
from tests.unit.account_values import account_values
from tests.unit.test_risk_engine import CONDOR, INTENT, NOW, QUOTES, SECOND

CLOSE = CloseStrategy(strategy_id="IC-1", symbol="SPY", legs=CONDOR, quantity=-1, mid_price=-1.0, natural_price=-1.1,
                      rule="stop_loss", reason="t")
OUTPUT = (IntentApproved, IntentDenied, TradingStateChanged, BreakerStateChanged, Alert, RiskStateSnapshot)


def _runtime(params: RiskSection | None = None, start: int = NOW) -> DeterministicRuntime:
    runtime = DeterministicRuntime([lambda: RiskCore(params or RiskSection())], VirtualClock(start))
    runtime.start()
    runtime.inject(account_values())  # the account's own limits are far away: only the line under test binds
    return runtime


def _said(runtime: DeterministicRuntime, since: int = 0) -> list:
    """What the core published, without the runtime's stamps. The core never failed on the way."""
    assert not [m for m in runtime.history if isinstance(m, ActorFailed)]
    def unstamped(m):  # noqa: ANN001, ANN202
        return msgspec.structs.replace(m, ts=0, seq=0, origin="")

    return [IntentApproved(intent=unstamped(m.intent)) if isinstance(m, IntentApproved) else unstamped(m)
            for m in runtime.history[since:] if isinstance(m, OUTPUT) and m.origin == "risk"]


def _denied(strategy_id: str, check: str, reason: str) -> IntentDenied:
    return IntentDenied(strategy_id=strategy_id, check=check, reason=reason)


def _opened(strategy_id: str, quantity: int = 1, max_loss: float = 340.0) -> StrategyOpened:
    return StrategyOpened(strategy_id=strategy_id, kind="iron_condor", symbol="SPY", legs=CONDOR, quantity=quantity,
                          entry_price=-1.6, max_profit_usd=160.0, max_loss_usd=max_loss)


def _snapshot(trading="ACTIVE", reason="", breaker="CLOSED", since=0, failures=(), successes=0) -> RiskStateSnapshot:
    return RiskStateSnapshot(trading_state=trading, trading_reason=reason, breaker_state=breaker,
                             breaker_since_ns=since, failures_ns=failures, half_open_successes=successes)


# trading states and storage ----------------------------------------------------------------------------------------
def test_halt_and_resume_publish_the_state_an_alert_and_a_snapshot_once_each():
    runtime = _runtime()
    runtime.inject(Halt(reason="operator"))
    runtime.inject(Halt(reason="again"))  # already halted: nothing new
    runtime.inject(CLOSE)
    runtime.inject(Resume(reason="all clear"))
    runtime.inject(CLOSE)
    assert _said(runtime) == [
        TradingStateChanged(state="HALTED", reason="operator"),
        Alert(level="critical", source="risk", text="HALTED: operator"),
        _snapshot("HALTED", "operator"),
        _denied("IC-1", "trading_state", "node is HALTED: only cancels"),
        TradingStateChanged(state="ACTIVE", reason="all clear"),
        _snapshot("ACTIVE", "all clear"),
        IntentApproved(intent=CLOSE),
    ]


def test_reducing_is_announced_with_a_critical_alert_and_denies_opens_with_the_state_in_the_reason():
    runtime = _runtime(RiskSection(max_daily_loss_usd=100.0))
    runtime.inject(StrategyClosed(strategy_id="OLD", exit_price=-3.0, realized_pnl_usd=-150.0, commissions_usd=5,
                                  rule="stop_loss"))
    runtime.inject(INTENT)
    reason = "realised loss -150.00 today reached 100.00"
    assert _said(runtime) == [
        TradingStateChanged(state="REDUCING", reason=reason),
        _snapshot("REDUCING", reason),
        Alert(level="critical", source="risk", text=f"REDUCING: {reason}"),
        _denied("IC-1", "trading_state", "node is REDUCING: no new positions"),
    ]


def test_a_loss_while_halted_does_not_turn_the_node_reducing():
    runtime = _runtime(RiskSection(max_daily_loss_usd=100.0))
    runtime.inject(Halt(reason="operator"))
    runtime.inject(StrategyClosed(strategy_id="OLD", exit_price=-3.0, realized_pnl_usd=-150.0, commissions_usd=5,
                                  rule="stop_loss"))
    assert [m.state for m in _said(runtime) if isinstance(m, TradingStateChanged)] == ["HALTED"]


def test_failing_storage_denies_opens_and_a_failing_write_ahead_log_denies_closes_until_each_is_ok():
    runtime = _runtime()
    runtime.inject(StorageStateChanged(store="journal", state="failing", reason="disk full"))
    runtime.inject(StorageStateChanged(store="write_ahead", state="failing", reason="EIO"))
    runtime.inject(INTENT)
    runtime.inject(CLOSE)
    runtime.inject(StorageStateChanged(store="write_ahead", state="ok", reason="writable"))
    runtime.inject(msgspec.structs.replace(INTENT, strategy_id="IC-2"))
    runtime.inject(CLOSE)
    runtime.inject(StorageStateChanged(store="journal", state="ok", reason="writable"))
    runtime.inject(StorageStateChanged(store="journal", state="ok", reason="still writable"))  # was not failing
    runtime.inject(msgspec.structs.replace(INTENT, strategy_id="IC-3"))
    assert _said(runtime) == [
        _denied("IC-1", "persistence", "journal cannot be written (disk full): no new positions"),
        _denied("IC-1", "persistence", "write-ahead log cannot be written (EIO)"),
        _denied("IC-2", "persistence", "journal cannot be written (disk full): no new positions"),
        IntentApproved(intent=CLOSE),
        IntentApproved(intent=msgspec.structs.replace(INTENT, strategy_id="IC-3")),
    ]


# the breaker through the core --------------------------------------------------------------------------------------
def test_the_breaker_cycle_publishes_its_states_alerts_snapshots_and_cooldown():
    runtime = _runtime(RiskSection(breaker_failures=2, breaker_window_s=60, breaker_cooldown_s=100,
                                   breaker_half_open_successes=1))
    for n in range(2):
        runtime.inject(msgspec.structs.replace(OrderRejected(client_order_id=f"O{n}", code=201, reason="no"),
                                               ts=NOW + n * SECOND))
    runtime.inject(INTENT)
    runtime.run_until(NOW + 101 * SECOND)
    runtime.inject(OrderTerminated(client_order_id="F", strategy_id="S", purpose="open", status="filled",
                                   filled_quantity=1, avg_price=-1.5))
    opened_at = NOW + SECOND
    half_open_at = opened_at + 100 * SECOND
    assert _said(runtime) == [
        BreakerStateChanged(state="OPEN", reason="2 order failures within 60s"),
        Alert(level="critical", source="risk", text="circuit breaker OPEN: 2 order failures within 60s"),
        _snapshot(breaker="OPEN", since=opened_at),
        _denied("IC-1", "circuit_breaker", "circuit breaker OPEN: no new positions"),
        BreakerStateChanged(state="HALF_OPEN", reason="cool-down of 100s over"),
        Alert(level="warning", source="risk", text="circuit breaker HALF_OPEN: cool-down of 100s over"),
        _snapshot(breaker="HALF_OPEN", since=half_open_at),
        BreakerStateChanged(state="CLOSED", reason="1 successful orders while half-open"),
        Alert(level="info", source="risk", text="circuit breaker CLOSED: 1 successful orders while half-open"),
        _snapshot(breaker="CLOSED", since=NOW + 101 * SECOND),
    ]


def test_an_order_that_never_reached_the_broker_is_not_a_breaker_failure():
    runtime = _runtime(RiskSection(breaker_failures=1))
    runtime.inject(OrderRejected(client_order_id="O1", code=0, reason="write-ahead log failing"))
    assert _said(runtime) == []


def test_a_restore_brings_back_every_field_and_rearms_the_cooldown():
    runtime = _runtime()
    runtime.inject(RiskStateRestored(trading_state="REDUCING", trading_reason="loss", breaker_state="OPEN",
                                     breaker_since_ns=NOW - 10 * SECOND, failures_ns=(NOW - 20 * SECOND,),
                                     half_open_successes=2))
    core = runtime.core("risk")
    assert (core._breaker.failures_ns, core._breaker.half_open_successes) == ([NOW - 20 * SECOND], 2)
    runtime.run_until(NOW + 291 * SECOND)
    assert _said(runtime) == [
        TradingStateChanged(state="REDUCING", reason="restored: loss"),
        BreakerStateChanged(state="OPEN", reason="restored"),
        BreakerStateChanged(state="HALF_OPEN", reason="cool-down of 300s over"),
        Alert(level="warning", source="risk", text="circuit breaker HALF_OPEN: cool-down of 300s over"),
        _snapshot("REDUCING", "loss", "HALF_OPEN", NOW + 290 * SECOND),
    ]


def test_a_core_rebuilt_open_arms_its_cooldown_when_it_starts():
    runtime = DeterministicRuntime([lambda: RiskCore(RiskSection())], VirtualClock(NOW))
    core = runtime.core("risk")
    core._breaker.state, core._breaker.since_ns = "OPEN", NOW - 200 * SECOND
    runtime.start()
    runtime.run_until(NOW + 101 * SECOND)
    assert [m.state for m in _said(runtime) if isinstance(m, BreakerStateChanged)] == ["HALF_OPEN"]


def test_the_breaker_counts_failures_inside_its_window_only_and_each_state_from_its_start():
    breaker = CircuitBreaker(RiskSection(breaker_failures=2, breaker_window_s=60, breaker_half_open_successes=2))
    assert breaker.on_failure(0) is None
    assert breaker.on_failure(60 * SECOND) is None  # the first is exactly one window old: out
    assert breaker.on_failure(61 * SECOND) == "2 order failures within 60s"
    assert (breaker.state, breaker.since_ns, breaker.failures_ns, breaker.half_open_successes) == (
        "OPEN", 61 * SECOND, [], 0)
    assert breaker.on_cooldown(61 * SECOND + 300 * SECOND - 1) is None and breaker.state == "OPEN"
    assert breaker.on_cooldown(361 * SECOND) == "cool-down of 300s over" and breaker.since_ns == 361 * SECOND
    assert breaker.on_success(362 * SECOND) is None and breaker.half_open_successes == 1
    assert breaker.on_failure(363 * SECOND) == "a trial order failed while half-open"
    assert (breaker.state, breaker.since_ns, breaker.half_open_successes) == ("OPEN", 363 * SECOND, 0)
    breaker.on_cooldown(663 * SECOND)
    breaker.on_success(664 * SECOND)
    assert breaker.on_success(665 * SECOND) == "2 successful orders while half-open"
    assert (breaker.state, breaker.since_ns) == ("CLOSED", 665 * SECOND)
    assert breaker.on_cooldown(10_000 * SECOND) is None and breaker.on_success(10_001 * SECOND) is None


# the book ----------------------------------------------------------------------------------------------------------
def test_the_book_holds_open_and_pending_risk_and_forgets_what_ended():
    runtime = _runtime()
    for quote in QUOTES:
        runtime.inject(quote)
    runtime.inject(_opened("A", quantity=2, max_loss=300.0))
    core = runtime.core("risk")
    one_lot = core._book(msgspec.structs.replace(INTENT, quantity=1), NOW).new_trade_greeks
    assert core._book(INTENT, NOW).greeks_by_symbol == {"SPY": (one_lot + one_lot).rounded()}
    runtime.inject(StrategyPositionChanged(strategy_id="A", quantity=1, avg_entry_price=-1.6))
    runtime.inject(msgspec.structs.replace(INTENT, strategy_id="B"))  # approved: pending
    runtime.inject(OrderTerminated(client_order_id="X", strategy_id="C", purpose="open", status="cancelled",
                                   filled_quantity=0, avg_price=0.0))
    book = core._book(INTENT, NOW)
    assert dict(book.symbols) == {"A": "SPY", "B": "SPY"}
    assert book.open_max_loss_usd == 150.0 + 340.0  # A's max loss is now that of the one lot it holds
    assert book.greeks_by_symbol == {"SPY": one_lot}  # A holds one lot after its change
    runtime.inject(_opened("D", quantity=1, max_loss=100.0))  # a second open strategy on the symbol adds up
    assert core._book(INTENT, NOW).greeks_by_symbol == {"SPY": (one_lot + one_lot).rounded()}
    runtime.inject(StrategyClosed(strategy_id="D", exit_price=-1.0, realized_pnl_usd=0.0, commissions_usd=5,
                                  rule="take_profit"))
    assert book.intents_last_minute == 1 and book.realized_today_usd == 0.0
    runtime.inject(OrderTerminated(client_order_id="B-O1", strategy_id="B", purpose="open", status="cancelled",
                                   filled_quantity=0, avg_price=0.0))
    runtime.inject(StrategyClosed(strategy_id="A", exit_price=-1.0, realized_pnl_usd=-25.0, commissions_usd=5,
                                  rule="stop_loss"))
    book = core._book(INTENT, NOW)
    assert (dict(book.symbols), book.greeks_by_symbol, book.open_max_loss_usd, book.realized_today_usd) == (
        {}, {}, 0.0, -25.0)


def test_quotes_in_an_intent_update_only_older_quotes_and_the_rate_window_is_one_minute():
    runtime = _runtime(RiskSection(max_intents_per_minute=2, max_daily_loss_usd=1e6))
    newer = tuple(msgspec.structs.replace(q, ts=NOW + 5 * SECOND, delta=q.delta * 2) for q in QUOTES)
    for quote in newer:
        runtime.inject(quote)
    runtime.inject(INTENT)  # at NOW + 5 s, carrying older quotes: the newer ones stay
    core = runtime.core("risk")
    assert all(core._portfolio.quotes[q.contract].delta == q.delta for q in newer)
    runtime.inject(msgspec.structs.replace(INTENT, strategy_id="IC-2", ts=NOW + 30 * SECOND))
    runtime.inject(msgspec.structs.replace(INTENT, strategy_id="IC-3", ts=NOW + 65 * SECOND))  # IC-1 one minute old
    runtime.inject(msgspec.structs.replace(INTENT, strategy_id="IC-4", ts=NOW + 66 * SECOND))
    verdicts = [(m.strategy_id, m.check) if isinstance(m, IntentDenied) else (m.intent.strategy_id, "approved")
                for m in _said(runtime) if isinstance(m, (IntentApproved, IntentDenied))]
    assert verdicts == [("IC-1", "approved"), ("IC-2", "approved"), ("IC-3", "approved"),
                        ("IC-4", "order_rate")]


def test_a_quote_in_an_intent_as_old_as_the_held_one_replaces_it_as_the_decision_saw_it():
    runtime = _runtime()
    for quote in QUOTES:
        runtime.inject(quote)
    as_seen = tuple(msgspec.structs.replace(q, delta=q.delta * 3) for q in QUOTES)
    runtime.inject(msgspec.structs.replace(INTENT, leg_quotes=as_seen))
    assert all(runtime.core("risk")._portfolio.quotes[q.contract].delta == q.delta for q in as_seen)


def test_a_take_profit_tier_counts_on_its_own_day_and_the_close_only_adds_the_rest():
    runtime = _runtime()
    runtime.inject(_opened("A", quantity=2, max_loss=300.0))
    core = runtime.core("risk")
    runtime.inject(StrategyReduced(strategy_id="A", closed_quantity=-1, remaining_quantity=1, exit_price=-0.8,
                                   realized_pnl_usd=75.0, commissions_usd=2.6, rule="take_profit"))
    assert core._book(INTENT, NOW).realized_today_usd == 75.0
    runtime.run_until(NOW + 86_400 * SECOND)  # the rest closes the next day: the whole life is +120
    runtime.inject(StrategyClosed(strategy_id="A", exit_price=-0.6, realized_pnl_usd=120.0, commissions_usd=5.2,
                                  rule="take_profit"))
    assert core._book(INTENT, NOW + 86_400 * SECOND).realized_today_usd == 45.0
