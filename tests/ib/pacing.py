"""IB's message pacing, as the test gateway enforces it: a client that sends more than 50 messages in any one second
(its handshake aside) gets error 100 and is cut off. Every message's arrival is kept, so a test can measure the
busiest second the node produced."""

from __future__ import annotations

import time
from collections import deque

PACING_LIMIT = 50


class Pacing:
    def __init__(self) -> None:
        self.message_times: list[float] = []
        """When each message of every client arrived (monotonic seconds)."""
        self.violations = 0

    def over(self, sent_times: deque[float]) -> bool:
        """Count a message arriving now against its client's last second (`sent_times`): True when over the limit."""
        now = time.monotonic()
        self.message_times.append(now)
        sent_times.append(now)
        while now - sent_times[0] >= 1.0:
            sent_times.popleft()
        if len(sent_times) > PACING_LIMIT:
            self.violations += 1
            return True
        return False

    def max_messages_per_second(self) -> int:
        times = list(self.message_times)
        best, start = 0, 0
        for end, at in enumerate(times):
            while at - times[start] >= 1.0:
                start += 1
            best = max(best, end - start + 1)
        return best
