"""IB's dividends: generic tick 456 ("IB Dividends") on an underlying's stream, answered by tickString type 59 with
`past12m,next12m,nextDate,nextAmount` (e.g. `0.83,0.92,20130219,0.23`; /work/coord/ib_facts.md §8), becomes one
`Dividends` message per symbol when it is first known and whenever it changes.

The node reads the raw string itself: ib_async's own parse drops a malformed value with only a log line (its ticker
keeps the previous value, no event fires) and reads a digits-only date that is not 8 long as a Unix timestamp (a 1970
date). Here a bad, empty or partial value is a counted `BadTick` (alerted once per symbol), never a traceback and
never a dividend.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass

from ib_async import IB

from messages import Alert, BadTick, Dividends, Message

GENERIC_TICK = "456"
TICK_TYPE = 59
"""IB_DIVIDENDS: what generic tick 456 answers, as a tickString."""


@dataclass(frozen=True)
class DividendTick:
    past_12m: float
    next_12m: float
    ex_date: dt.date | None
    amount: float


def parse_dividend_tick(value: str) -> DividendTick | str:
    """IB's four comma-separated fields, or why they are not a dividend (for the rejection's detail). An empty sum is
    0; the next date and amount come together or not at all (",,," : nothing announced)."""
    fields = value.split(",")
    if len(fields) != 4:
        return f"{len(fields)} fields, not 4 (past12m,next12m,nextDate,nextAmount): {value!r}"
    past, upcoming, date_text, amount_text = (f.strip() for f in fields)
    numbers: list[float] = []
    for name, text in (("past12m", past), ("next12m", upcoming), ("nextAmount", amount_text)):
        try:
            number = float(text) if text else 0.0
        except ValueError:
            return f"{name} {text!r} is not a number: {value!r}"
        if not math.isfinite(number) or number < 0:
            return f"{name} {text!r} is not a non-negative amount: {value!r}"
        numbers.append(number)
    ex_date = None
    if date_text:
        try:
            if len(date_text) != 8 or not date_text.isdigit():
                raise ValueError
            ex_date = dt.date(int(date_text[:4]), int(date_text[4:6]), int(date_text[6:]))
        except ValueError:
            return f"nextDate {date_text!r} is not a YYYYMMDD date: {value!r}"
    if (ex_date is None) != (numbers[2] == 0):
        return f"partial: a next date needs a positive next amount and the other way round: {value!r}"
    return DividendTick(past_12m=numbers[0], next_12m=numbers[1], ex_date=ex_date, amount=numbers[2])


class IbDividends:
    """Watches the tickString type 59 of the underlyings' streams (on the session's asyncio thread)."""

    def __init__(self, ib: IB, publish: Callable[[Message], None], today: Callable[[], dt.date]) -> None:
        self._ib = ib
        self._publish = publish
        self._today = today
        self._symbols: dict[int, str] = {}
        """conId → symbol of every underlying stream that asked for tick 456."""
        self._last: dict[str, DividendTick] = {}
        self._alerted: set[str] = set()
        self.rejected = 0
        wrapped = ib.wrapper.tickString  # the decoder looks the handler up on the wrapper for every message

        def tick_string(req_id: int, tick_type: int, value: str) -> None:
            if tick_type == TICK_TYPE:
                self._on_tick(req_id, value)
            wrapped(req_id, tick_type, value)

        ib.wrapper.tickString = tick_string  # type: ignore[method-assign]

    def watch(self, con_id: int, symbol: str) -> None:
        self._symbols[con_id] = symbol

    def forget(self, con_id: int) -> None:
        self._symbols.pop(con_id, None)

    def reset(self) -> None:
        """A new connection streams from scratch; IB sends the current value again on subscription."""
        self._symbols.clear()
        self._last.clear()

    def _on_tick(self, req_id: int, value: str) -> None:
        ticker = self._ib.wrapper.reqId2Ticker.get(req_id)
        symbol = self._symbols.get(ticker.contract.conId) if ticker is not None else None
        if symbol is None:
            return  # not a stream of ours (or cancelled since)
        parsed = parse_dividend_tick(value)
        if isinstance(parsed, DividendTick) and parsed.ex_date is not None and parsed.ex_date < self._today():
            parsed = f"next date {parsed.ex_date} is already past: {value!r}"
        if isinstance(parsed, str):
            self._reject(symbol, parsed)
            return
        if self._last.get(symbol) == parsed:
            return
        self._last[symbol] = parsed
        self._publish(Dividends(symbol=symbol, ex_date=parsed.ex_date, amount=parsed.amount,
                                past_12m=parsed.past_12m, next_12m=parsed.next_12m))

    def _reject(self, symbol: str, detail: str) -> None:
        self.rejected += 1
        self._publish(BadTick(symbol=symbol, key=f"{symbol} dividends", reason="bad_dividend_tick", detail=detail))
        if symbol not in self._alerted:
            self._alerted.add(symbol)
            self._publish(Alert(level="warning", source="ib_session",
                                text=f"IB dividend tick (456) for {symbol} rejected: {detail}; the dividend "
                                     f"check of the assignment exit has no dividend for {symbol} until a good one"))
