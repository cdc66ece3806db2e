"""Risk: every pre-trade check denies and passes, trading states, and the circuit breaker's whole cycle."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import msgspec
import pytest

from actors.market_data.chain import quote_contracts
from actors.portfolio.account import Account
from actors.portfolio.greeks import GreekTotals
from actors.risk.breaker import CircuitBreaker
from actors.risk.checks import PRE_TRADE_CHECKS, Book, first_denial
from actors.risk.config import RiskSection
from actors.risk.core import RiskCore
from actors.runtime.clock import VirtualClock
from actors.runtime.deterministic import DeterministicRuntime
from messages import (
    Alert,
    BreakerStateChanged,
    CloseStrategy,
    Halt,
    IntentApproved,
    IntentDenied,
    OpenStrategy,
    OrderRejected,
    OrderTerminated,
    StrategyClosed,
    TradingState,
    TradingStateChanged,
)
from messages.risk import RiskStateRestored, RiskStateSnapshot
from tests.unit.account_values import account_values
from tests.unit.spy_condor import CONDOR, EXPIRY, SECOND

NOW = int(dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC).timestamp() * 1e9)
QUOTES = tuple(quote_contracts([leg.contract for leg in CONDOR], 580.0, 0.18, NOW, 0.04, 0.013))
INTENT = OpenStrategy(strategy_id="IC-1", kind="iron_condor", symbol="SPY", legs=CONDOR, quantity=1,
                      mid_price=-1.60, natural_price=-1.45, max_profit_usd=160.0, max_loss_usd=340.0, reason="t",
                      leg_quotes=QUOTES)
CALM_BOOK = Book(symbols={}, greeks_by_symbol={}, new_trade_greeks=GreekTotals(5.0, -1.0, -20.0, 3.0),
                 realized_today_usd=0.0, open_max_loss_usd=0.0, intents_last_minute=0,
                 account=Account(net_liquidation_usd=10_000.0, init_margin_usd=0.0, available_funds_usd=10_000.0))

DENIALS = {
    "max_positions": (INTENT, replace(CALM_BOOK, symbols={f"S{i}": "QQQ" for i in range(5)}), RiskSection()),
    "max_positions_per_symbol": (INTENT, replace(CALM_BOOK, symbols={"A": "SPY"}),
                                 RiskSection(max_positions_per_symbol=1)),
    "max_contracts": (msgspec.structs.replace(INTENT, quantity=11), CALM_BOOK, RiskSection()),
    "order_rate": (INTENT, replace(CALM_BOOK, intents_last_minute=30), RiskSection()),
    "price_collar": (msgspec.structs.replace(INTENT, natural_price=-0.90), CALM_BOOK, RiskSection()),
    "max_daily_loss": (INTENT, replace(CALM_BOOK, realized_today_usd=-700.0), RiskSection()),
    "greeks_unknown": (INTENT, replace(CALM_BOOK, new_trade_greeks=None), RiskSection()),
    "portfolio_delta": (INTENT, replace(CALM_BOOK, greeks_by_symbol={"QQQ": GreekTotals(delta=4_999.0)}),
                        RiskSection()),
    "portfolio_gamma": (INTENT, replace(CALM_BOOK, greeks_by_symbol={"QQQ": GreekTotals(gamma=-1_000.0)}),
                        RiskSection()),
    "portfolio_vega": (INTENT, replace(CALM_BOOK, greeks_by_symbol={"QQQ": GreekTotals(vega=-490.0)}),
                       RiskSection()),
    "symbol_delta": (INTENT, replace(CALM_BOOK, greeks_by_symbol={"SPY": GreekTotals(delta=1_996.0)}),
                     RiskSection()),
    "trading_state": (INTENT, replace(CALM_BOOK, trading_state=TradingState.REDUCING), RiskSection()),
    "persistence": (INTENT, replace(CALM_BOOK, storage_failing={"journal": "disk full"}), RiskSection()),
    "circuit_breaker": (INTENT, replace(CALM_BOOK, breaker_allows_opening=False), RiskSection()),
    "account_values": (INTENT, replace(CALM_BOOK, account=Account()), RiskSection()),
    # 10 000 net liquidation; the intent risks 340: 2 700 open elsewhere makes 30.4% > 30%
    "max_loss_exposure": (INTENT, replace(CALM_BOOK, open_max_loss_usd=2_700.0), RiskSection(max_daily_loss_usd=1e6)),
    "symbol_concentration": (INTENT, replace(CALM_BOOK, open_max_loss_usd=1_700.0,
                                             max_loss_by_symbol={"SPY": 1_700.0}), RiskSection(max_daily_loss_usd=1e6)),
    "expiry_concentration": (INTENT, replace(CALM_BOOK, open_max_loss_usd=1_700.0,
                                             max_loss_by_expiry={EXPIRY: 1_700.0}), RiskSection(max_daily_loss_usd=1e6)),
    "margin": (INTENT, replace(CALM_BOOK, account=Account(net_liquidation_usd=10_000.0)), RiskSection()),
    "margin_utilisation": (INTENT, replace(CALM_BOOK, account=Account(10_000.0, 4_700.0, 5_300.0)), RiskSection()),
    "buying_power": (INTENT, replace(CALM_BOOK, account=Account(10_000.0, 0.0, 300.0)), RiskSection()),
}


@pytest.mark.parametrize("check", list(DENIALS))
def test_each_check_denies(check):
    intent, book, params = DENIALS[check]
    denial = first_denial(intent, book, params)
    assert denial is not None and denial[0] == check, denial


def test_the_node_state_is_asked_before_the_account_and_in_one_list():
    """A halted node with an open breaker and a failing journal names the trading state: the first check asked."""
    everything_wrong = replace(CALM_BOOK, trading_state=TradingState.HALTED, storage_failing={"journal": "full"},
                               breaker_allows_opening=False, symbols={f"S{i}": "SPY" for i in range(9)})
    assert first_denial(INTENT, everything_wrong, RiskSection())[0] == "trading_state"
    assert first_denial(INTENT, replace(everything_wrong, trading_state=TradingState.ACTIVE),
                        RiskSection())[0] == "persistence"
    assert {check.__name__ for check in PRE_TRADE_CHECKS} >= {"trading_state", "persistence", "circuit_breaker"}


def test_a_calm_intent_passes_every_check():
    assert all(check(INTENT, CALM_BOOK, RiskSection()) is None for check in PRE_TRADE_CHECKS)


def _runtime(params: RiskSection | None = None) -> DeterministicRuntime:
    runtime = DeterministicRuntime([lambda: RiskCore(params or RiskSection())], VirtualClock(NOW))
    runtime.start()
    runtime.inject(account_values())
    return runtime


def _of(runtime, kind):
    return [m for m in runtime.history if isinstance(m, kind)]


def test_halted_denies_opening_and_closing_reducing_allows_only_closing():
    runtime = _runtime(RiskSection(max_daily_loss_usd=100.0))
    close = CloseStrategy(strategy_id="X", symbol="SPY", legs=CONDOR, quantity=-1, mid_price=-1.0,
                          natural_price=-1.1, rule="stop_loss", reason="t")
    runtime.inject(StrategyClosed(strategy_id="OLD", exit_price=-3.0, realized_pnl_usd=-150.0, commissions_usd=5,
                                  rule="stop_loss"))
    assert _of(runtime, TradingStateChanged)[-1].state == "REDUCING"
    runtime.inject(INTENT)
    runtime.inject(close)
    runtime.inject(Halt(reason="operator"))
    runtime.inject(msgspec.structs.replace(close, strategy_id="Y"))
    verdicts = [(m.strategy_id, m.check) if isinstance(m, IntentDenied) else (m.intent.strategy_id, "approved")
                for m in runtime.history if isinstance(m, (IntentApproved, IntentDenied))]
    # the trading state denies, not the daily-loss check that would also deny the open after such a loss
    assert verdicts == [("IC-1", "trading_state"), ("X", "approved"), ("Y", "trading_state")]
    assert any(a.level == "critical" and "HALTED" in a.text for a in _of(runtime, Alert))


def _reject(n: int) -> OrderRejected:
    return OrderRejected(client_order_id=f"O{n}", code=201, reason="rejected")


def _filled(n: int) -> OrderTerminated:
    return OrderTerminated(client_order_id=f"F{n}", strategy_id=f"S{n}", purpose="open", status="filled",
                           filled_quantity=1, avg_price=-1.5)


def test_breaker_opens_cools_down_half_opens_and_closes():
    runtime = _runtime()
    for n in range(5):
        runtime.inject(msgspec.structs.replace(_reject(n), ts=NOW + n * SECOND))
    assert [b.state for b in _of(runtime, BreakerStateChanged)] == ["OPEN"]
    runtime.inject(msgspec.structs.replace(INTENT, ts=NOW + 10 * SECOND))
    assert _of(runtime, IntentDenied)[-1].check == "circuit_breaker"
    runtime.run_until(NOW + 305 * SECOND)
    assert _of(runtime, BreakerStateChanged)[-1].state == "HALF_OPEN"
    for n in range(3):
        runtime.inject(_filled(n))
    assert [b.state for b in _of(runtime, BreakerStateChanged)] == ["OPEN", "HALF_OPEN", "CLOSED"]
    assert _of(runtime, RiskStateSnapshot)[-1].breaker_state == "CLOSED"


def test_failure_while_half_open_reopens():
    breaker = CircuitBreaker(RiskSection())
    for n in range(5):
        breaker.on_failure(n)
    assert breaker.state == "OPEN"
    breaker.on_cooldown(300 * SECOND + 4)
    assert breaker.state == "HALF_OPEN"
    assert breaker.on_failure(301 * SECOND) is not None and breaker.state == "OPEN"


def test_failures_outside_the_window_do_not_open():
    breaker = CircuitBreaker(RiskSection())
    for n in range(5):
        breaker.on_failure(n * 20 * SECOND)
    assert breaker.state == "CLOSED"


def test_restored_state_comes_back_and_keeps_its_cooldown():
    runtime = _runtime()
    runtime.inject(RiskStateRestored(trading_state="HALTED", trading_reason="operator", breaker_state="OPEN",
                                     breaker_since_ns=NOW - 100 * SECOND, failures_ns=(), half_open_successes=0))
    runtime.inject(INTENT)
    assert _of(runtime, IntentDenied)[-1].check == "trading_state"
    runtime.run_until(NOW + 201 * SECOND)
    assert _of(runtime, BreakerStateChanged)[-1].state == "HALF_OPEN"


def test_node_restores_the_last_journaled_risk_state(tmp_path):
    from actors.node import restored_state
    from storage.journal import DeltaJournal

    journal = DeltaJournal(str(tmp_path))
    snapshot = RiskStateSnapshot(ts=NOW, seq=1, origin="risk", trading_state="HALTED", trading_reason="operator",
                                 breaker_state="OPEN", breaker_since_ns=NOW, failures_ns=(NOW,), half_open_successes=0)
    from messages import NodeStarted

    journal.append("s1", [NodeStarted(ts=NOW - 1, seq=0, session_id="s1", mode="run"), snapshot])
    journal.append("demo", [NodeStarted(ts=NOW + 5, seq=1, session_id="demo", mode="demo"),
                            msgspec.structs.replace(snapshot, ts=NOW + 6, trading_state="ACTIVE")])
    restored = [m for m in restored_state(journal) if isinstance(m, RiskStateRestored)]
    assert len(restored) == 1 and restored[0].trading_state == "HALTED" and restored[0].breaker_state == "OPEN"
