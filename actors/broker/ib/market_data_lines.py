"""The IB session's market-data lines: IB counts them per username across every client and TWS window, and answers
101 beyond its limit. The session's streams and its chain scans take them from one budget.
"""

from __future__ import annotations

from ib_async import IB, Contract


class LineBudget:
    """Lines held by streams and by the current chain-scan batch, never more than `limit` together. Everything runs
    on one event-loop thread and no await sits between a check and its take, so the budget is atomic."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.streams = 0
        self.scan = 0

    def free(self) -> int:
        return self.limit - self.streams - self.scan

    def learn(self) -> None:
        """IB answered 101 (the refused request's line already given back): the username's other clients hold lines
        too, so we may hold only what we still do."""
        self.limit = max(min(self.limit, self.streams + self.scan), 1)


def forget_ticker(ib: IB, contract: Contract) -> None:
    """A request IB refused holds no line, and cancelling it would only earn a 300: ib_async's ticker for it is ended
    locally."""
    ticker = ib.ticker(contract)
    if ticker is not None:
        ib.wrapper.endTicker(ticker, "mktData")
