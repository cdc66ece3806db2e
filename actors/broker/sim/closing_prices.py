"""What an expiry settles at: the underlying's last price the simulated exchange heard before the expiry's close.

The live exchange settles at its first look after the close, when the last price it heard is still the closing one.
A rebuilt exchange looks later — at its first report after a restart, or at the positions report it journaled — and
may have heard after-hours prints by then: it settles at the price remembered for that close instead."""

from __future__ import annotations

from actors.market_time import market_hours

CLOSES_KEPT = 10
"""Sessions whose closing price each symbol keeps: an expiry settles at the first look after its close."""


class ClosingPrices:
    def __init__(self) -> None:
        self._last_before: dict[str, dict[int, float]] = {}
        """symbol -> {a session close: the last price heard before it (and after the close before it)}"""
        self._last: dict[str, float] = {}

    def note(self, symbol: str, price: float, heard_ns: int) -> None:
        prices = self._last_before.setdefault(symbol, {})
        hours = market_hours()  # its session span is cached: a quote during the session costs a comparison
        close = hours.session_close(heard_ns)
        if heard_ns >= close:  # after the close: the next session's
            close = hours.session_close(hours.next_open(heard_ns))
        prices[close] = price
        self._last[symbol] = price
        if len(prices) > CLOSES_KEPT:
            del prices[min(prices)]

    def at(self, symbol: str, settles_ns: int) -> float | None:
        """The last price of `symbol` heard before `settles_ns` (a session close), else the last heard (none before it:
        what was heard after it is all the exchange has), else None."""
        prices = self._last_before.get(symbol, {})
        before = [close for close in prices if close <= settles_ns]
        return prices[max(before)] if before else self._last.get(symbol)
