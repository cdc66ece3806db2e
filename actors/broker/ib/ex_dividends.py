"""Dividends on the IB account's shares, booked at the ex-date: IB itself reports a dividend only as cash on the pay
date, weeks later, so the adapter turns what tick 456 announced (`Dividends`: the next ex-date and amount) and the
account's STK position rows into the `StockDividend` the simulated exchange publishes, and position sync books it
against the strategies holding the shares.

Who receives or owes it is decided the way the market decides it: the shares held going into the ex-date — bought or
sold up to the previous session's close, plus the exercises and assignments of that session, which IB shows overnight
— that is, the last positions snapshot reported before the ex-date's open (09:30 New York). Shares sold during the
ex-date still receive it, shares bought then do not, short shares owe it. Paid once per (symbol, ex-date): a payment
counts as made only once the core hears its own `StockDividend` back, which the journal keeps, so a reconnect (IB
announces the same date again) or a restart (the core is rebuilt from the journal; a payment published but never
journaled is made again) never pays twice.

IB moves the announcement to the next dividend once a date goes ex (possibly before the node looked), so a date that
is today or past stays owed whatever IB announces next; a future date IB no longer announces was moved or withdrawn.
"""

from __future__ import annotations

import datetime as dt

from actors.market_data.pricing import EX_DIVIDEND_OPEN
from actors.market_time import NEW_YORK, NS_PER_S, new_york_date
from actors.runtime.core import Context
from messages import Alert, BrokerPositionsSnapshot, Dividends, Message, StockDividend, TimerFired, TimerKey

SUBSCRIPTIONS = (Dividends, BrokerPositionsSnapshot, StockDividend)
"""What the broker core hears for it (with its own timer)."""

SETTLED_KEPT_DAYS = 400
"""Ex-dates remembered (so that a late re-announcement of an old date is recognised): longer than IB's horizon."""

Key = tuple[str, dt.date]


def ex_open_ns(ex_date: dt.date) -> int:
    """When the stock starts trading without the dividend: the open of its ex-date."""
    return int(dt.datetime.combine(ex_date, EX_DIVIDEND_OPEN, tzinfo=NEW_YORK).timestamp()) * NS_PER_S


class ExDividends:
    def __init__(self) -> None:
        self._announced: dict[Key, float] = {}
        """Announced dividends not yet gone ex (or not yet looked at since): (symbol, ex-date) -> amount per share."""
        self._held: dict[str, int] | None = None
        """The account's shares per symbol in the last positions snapshot; None until one arrives."""
        self._held_ts = 0
        self._due: dict[Key, StockDividend] = {}
        """Gone ex on shares held going in: payments to publish, until heard back."""
        self._sent: set[Key] = set()
        """Published by this process and not heard back yet (forgotten at a restart: the journal decides)."""
        self._settled: dict[Key, int] = {}
        """Gone ex and looked at (paid, nothing held, or holdings unknown), with when: never settled twice."""

    # the broker core's part ------------------------------------------------------------------------------------------
    def handle(self, message: Message, ctx: Context, source: str) -> bool:
        """Take `message` if it is one of ours (the broker core `source` hears it), publish what is due, look again
        at the next ex-date's open; False for any other message."""
        match message:
            case Dividends():
                problems = self.announced(message)
            case BrokerPositionsSnapshot():
                problems = self.positions(message)
            case StockDividend():
                if message.origin == source:
                    self.paid(message)
                return True
            case TimerFired(key=key) if key == TimerKey.IB_EX_DIVIDEND:
                problems = self.advance(ctx.now())
            case _:
                return False
        for problem in problems:
            ctx.publish(Alert(level="warning", source=source, text=problem))
        for payment in self.to_publish():
            ctx.publish(payment)
        next_open = self.next_open_ns()
        if next_open is None:
            ctx.cancel_timer(TimerKey.IB_EX_DIVIDEND)
        else:
            ctx.set_timer(TimerKey.IB_EX_DIVIDEND, max(next_open, ctx.now()))
        return True

    def on_start(self, ctx: Context) -> None:
        """After a rebuild: what was published but never heard back did not reach the journal, so it is owed again;
        look at once (before IB's first positions report can show the shares sold since)."""
        self._sent.clear()
        ctx.set_timer(TimerKey.IB_EX_DIVIDEND, ctx.now())

    # what it hears -----------------------------------------------------------------------------------------------
    def announced(self, dividends: Dividends) -> list[str]:
        """IB's latest word on `dividends.symbol`: replaces the dates it announced that are still in the future."""
        problems = self.advance(dividends.ts)
        today = new_york_date(dividends.ts)
        for key in [k for k in self._announced if k[0] == dividends.symbol and k[1] > today]:
            del self._announced[key]
        key = (dividends.symbol, dividends.ex_date) if dividends.ex_date is not None else None
        if key is not None and key not in self._settled:
            self._announced[key] = dividends.amount
            problems += self.advance(dividends.ts)  # announced only after it went ex (a restart on the ex-date)
        return problems

    def positions(self, snapshot: BrokerPositionsSnapshot) -> list[str]:
        """Dividends that went ex before this snapshot are settled on the holdings before it, then it is the holding."""
        problems = self.advance(snapshot.ts)
        held: dict[str, int] = {}
        for stock in snapshot.stock_positions:
            held[stock.symbol] = held.get(stock.symbol, 0) + stock.quantity
        self._held, self._held_ts = held, snapshot.ts
        return problems

    def paid(self, payment: StockDividend) -> None:
        """Our own payment heard back (live, or replayed from the journal after a restart)."""
        key = (payment.symbol, payment.ex_date)
        self._settled.setdefault(key, payment.ts)
        self._due.pop(key, None)
        self._announced.pop(key, None)
        self._sent.discard(key)

    # what the core does ----------------------------------------------------------------------------------------------
    def advance(self, now_ns: int) -> list[str]:
        """Settle every announced dividend whose ex-date opened by `now_ns` on the shares held going in; the problems
        (holdings unknown) for an alert."""
        problems = []
        for key, amount in sorted(self._announced.items()):
            symbol, ex_date = key
            opening = ex_open_ns(ex_date)
            if opening > now_ns:
                continue
            del self._announced[key]
            self._settled[key] = now_ns
            if self._held is None or self._held_ts >= opening:
                if self._held is None or self._held.get(symbol):  # none held now (a first start): nothing to say
                    problems.append(f"{symbol} went ex a {amount:.2f} dividend on {ex_date}, but no IB positions "
                                    f"report from before that open is known: the shares held going in are unknown; "
                                    f"not booked")
                continue
            quantity = self._held.get(symbol, 0)
            if quantity:
                self._due[key] = StockDividend(symbol=symbol, ex_date=ex_date, amount=amount, quantity=quantity,
                                               cash_usd=round(quantity * amount, 2))
        oldest = now_ns - SETTLED_KEPT_DAYS * 86_400 * NS_PER_S
        for old in [k for k, ts in self._settled.items() if ts < oldest]:
            del self._settled[old]
        return problems

    def to_publish(self) -> list[StockDividend]:
        """Payments due and not yet published by this process (each then awaits its echo)."""
        fresh = [payment for key, payment in sorted(self._due.items()) if key not in self._sent]
        self._sent.update((p.symbol, p.ex_date) for p in fresh)
        return fresh

    def next_open_ns(self) -> int | None:
        """The open of the earliest ex-date still to settle: when to look next."""
        return min((ex_open_ns(ex_date) for _, ex_date in self._announced), default=None)
