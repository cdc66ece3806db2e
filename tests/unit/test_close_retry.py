"""A close the broker refuses stays wanted: the decision tries again after a growing pause, and calls for a human
once the refusals reach the circuit breaker's threshold."""

from __future__ import annotations

from actors.decision.config import EntrySection, ExitSection
from actors.decision.core import DecisionCore
from actors.runtime.clock import VirtualClock
from actors.runtime.deterministic import DeterministicRuntime
from messages import (
    Alert,
    CloseStrategy,
    OptionQuote,
    OrderTerminated,
    StrategyOpened,
    UnderlyingQuote,
)
from tests.unit.spy_condor import CONDOR, NOON, SECOND


def _losing_quotes(now_ns: int) -> list[OptionQuote | UnderlyingQuote]:
    """The short put deep in trouble: a mark far beyond the stop loss."""
    prices = {545.0: 6.0, 550.0: 9.5, 610.0: 0.2, 615.0: 0.1}
    return [UnderlyingQuote(ts=now_ns, symbol="SPY", bid=550.95, ask=551.05, last=551.0)] + [OptionQuote(ts=now_ns, contract=leg.contract, bid=prices[leg.contract.strike] - 0.05,
                        ask=prices[leg.contract.strike] + 0.05, iv=0.3, delta=-0.5 if leg.contract.right == "P" else 0.05,
                        gamma=0.02, vega=0.3, theta=-0.05, underlying_price=551.0) for leg in CONDOR]


def test_a_refused_close_is_retried_after_a_growing_pause_and_raises_a_critical_alert_at_the_threshold():
    exits = ExitSection(close_retry_initial_s=2.0, close_retry_max_s=8.0, evaluation_delay_ms=0)
    runtime = DeterministicRuntime([lambda: DecisionCore(EntrySection(), exits, refusals_alert_after=3)],
                                   VirtualClock(NOON))
    runtime.start()
    runtime.inject(StrategyOpened(strategy_id="IC-1", kind="iron_condor", symbol="SPY", legs=CONDOR, quantity=1,
                                  entry_price=-1.2, max_profit_usd=120.0, max_loss_usd=380.0))
    def closes() -> list[CloseStrategy]:
        return [m for m in runtime.history if isinstance(m, CloseStrategy)]

    def quote_until_a_close(count: int) -> float:
        """Requote every half second until the decision closes again; the seconds that took."""
        started = runtime.clock.now()
        while len(closes()) < count:
            for quote in _losing_quotes(runtime.clock.now()):
                runtime.inject(quote)
            runtime.run_until(runtime.clock.now() + SECOND // 2)
            assert runtime.clock.now() - started < 60 * SECOND
        assert len(closes()) == count  # one close per try: never two in flight
        return (closes()[-1].ts - started) / SECOND

    quote_until_a_close(1)
    waits = []
    for refusal in range(4):
        runtime.inject(OrderTerminated(client_order_id=f"IC-1-C{refusal}", strategy_id="IC-1", purpose="close",
                                       status="rejected", filled_quantity=0, avg_price=0.0))
        waits.append(quote_until_a_close(refusal + 2))
    assert waits == [2.0, 4.0, 8.0, 8.0]  # doubling from close_retry_initial_s, capped at close_retry_max_s
    [alert] = [a for a in runtime.history if isinstance(a, Alert)]
    assert alert.level == "critical" and "closing IC-1 was refused 3 times" in alert.text
