"""Restart policy: restart a failed actor with exponential backoff; give up after too many failures in a window."""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass

from actors.market_time import NS_PER_S
from actors.runtime.config import SupervisorSection


@dataclass(frozen=True)
class RestartDecision:
    restart: bool
    delay_s: float
    attempt: int
    reason: str


class RestartPolicy:
    def __init__(self, config: SupervisorSection) -> None:
        self._config = config
        self._failures: dict[str, deque[int]] = defaultdict(deque)

    def on_failure(self, actor: str, now_ns: int) -> RestartDecision:
        window_ns = int(self._config.restart_window_s * NS_PER_S)
        failures = self._failures[actor]
        failures.append(now_ns)
        while failures and failures[0] < now_ns - window_ns:
            failures.popleft()
        attempt = len(failures)
        if attempt > self._config.max_restarts:
            return RestartDecision(
                False,
                0.0,
                attempt,
                f"{actor} failed {attempt} times within {self._config.restart_window_s:g}s; stopping the node",
            )
        delay = min(self._config.backoff_initial_s * 2 ** (attempt - 1), self._config.backoff_max_s)
        return RestartDecision(True, delay, attempt, f"restarting {actor} (attempt {attempt}) after {delay:g}s")
