"""Circuit breaker on order failures: CLOSED → OPEN after N failures in a window, HALF_OPEN after a cool-down,
CLOSED again after M successes (a failure while HALF_OPEN re-opens it). Pure: time comes from the caller."""

from __future__ import annotations

from dataclasses import dataclass, field

from actors.market_time import NS_PER_S
from actors.risk.config import RiskSection
from messages import BreakerState


@dataclass
class CircuitBreaker:
    params: RiskSection
    state: BreakerState = BreakerState.CLOSED
    since_ns: int = 0
    failures_ns: list[int] = field(default_factory=list)
    half_open_successes: int = 0

    def on_failure(self, now_ns: int) -> str | None:
        """Record a failure; returns the reason when it changes the state."""
        if self.state == BreakerState.HALF_OPEN:
            return self._move(BreakerState.OPEN, now_ns, "a trial order failed while half-open")
        window_ns = int(self.params.breaker_window_s * NS_PER_S)
        self.failures_ns = [t for t in self.failures_ns if t > now_ns - window_ns] + [now_ns]
        if self.state == BreakerState.CLOSED and len(self.failures_ns) >= self.params.breaker_failures:
            return self._move(BreakerState.OPEN, now_ns, f"{len(self.failures_ns)} order failures within "
                                              f"{self.params.breaker_window_s:g}s")
        return None

    def on_success(self, now_ns: int) -> str | None:
        if self.state != BreakerState.HALF_OPEN:
            return None
        self.half_open_successes += 1
        if self.half_open_successes >= self.params.breaker_half_open_successes:
            return self._move(BreakerState.CLOSED, now_ns, f"{self.half_open_successes} successful orders while half-open")
        return None

    def cooldown_due_ns(self) -> int | None:
        return self.since_ns + int(self.params.breaker_cooldown_s * NS_PER_S) if self.state == BreakerState.OPEN else None

    def on_cooldown(self, now_ns: int) -> str | None:
        due = self.cooldown_due_ns()
        if due is None or now_ns < due:
            return None
        return self._move(BreakerState.HALF_OPEN, now_ns, f"cool-down of {self.params.breaker_cooldown_s:g}s over")

    def allows_opening(self) -> bool:
        return self.state != BreakerState.OPEN

    def _move(self, state: BreakerState, now_ns: int, reason: str) -> str:
        self.state = state
        self.since_ns = now_ns
        self.half_open_successes = 0
        self.failures_ns = []  # every state counts its own failures from its start
        return reason
