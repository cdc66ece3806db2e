"""The IB adapter's dividends on the account's shares (actors/broker/ib/ex_dividends.py): paid at the ex-date's open on
the shares held going in, once per (symbol, ex-date), whatever IB announces next; rebuilt from its own history."""

from __future__ import annotations

import datetime as dt

from msgspec import UNSET

from actors.broker.ib.ex_dividends import ExDividends, ex_open_ns
from actors.runtime.core import MutedContext
from messages import BrokerPositionsSnapshot, Dividends, StockDividend, StockPosition, TimerFired, TimerKey

EX_DATE = dt.date(2026, 3, 3)
OPEN = ex_open_ns(EX_DATE)
MINUTE = 60 * 10**9


class Recorder(MutedContext):
    def __init__(self, clock_ns: int) -> None:
        super().__init__(clock_ns)
        self.published: list[object] = []
        self.timers: dict[str, int] = {}

    def publish(self, message) -> None:  # noqa: ANN001
        self.published.append(message)

    def set_timer(self, key: str, at_ns: int) -> None:
        self.timers[key] = at_ns

    def cancel_timer(self, key: str) -> None:
        self.timers.pop(key, None)


def announced(ts: int, ex_date: dt.date | None = EX_DATE, amount: float = 1.8) -> Dividends:
    return Dividends(ts=ts, symbol="SPY", ex_date=ex_date, amount=amount if ex_date else 0.0)


def held(ts: int, quantity: int) -> BrokerPositionsSnapshot:
    stock = (StockPosition(symbol="SPY", quantity=quantity, avg_cost=585.0),) if quantity else UNSET
    return BrokerPositionsSnapshot(ts=ts, positions=(), complete=True, stock=stock)


def run(book: ExDividends, messages: list, ctx: Recorder) -> list[StockDividend]:
    for message in messages:
        ctx.clock_ns = message.ts
        book.handle(message, ctx, "broker")
    return [m for m in ctx.published if isinstance(m, StockDividend)]


def timer(ts: int) -> TimerFired:
    return TimerFired(ts=ts, target="broker", key=TimerKey.IB_EX_DIVIDEND)


def test_the_shares_held_going_in_are_paid_at_the_open_and_later_trades_change_nothing():
    book, ctx = ExDividends(), Recorder(OPEN - 60 * MINUTE)
    paid = run(book, [held(OPEN - 60 * MINUTE, -100), announced(OPEN - 50 * MINUTE)], ctx)
    assert not paid and ctx.timers[TimerKey.IB_EX_DIVIDEND] == OPEN
    paid = run(book, [timer(OPEN), held(OPEN + MINUTE, 0), held(OPEN + 2 * MINUTE, 300)], ctx)
    assert [(p.quantity, p.amount, p.cash_usd, p.ex_date) for p in paid] == [(-100, 1.8, -180.0, EX_DATE)]


def test_a_snapshot_after_the_open_settles_on_the_one_before_it_when_the_timer_is_late():
    book, ctx = ExDividends(), Recorder(0)
    paid = run(book, [announced(OPEN - 90 * MINUTE), held(OPEN - 10 * MINUTE, 200), held(OPEN + MINUTE, 0)], ctx)
    assert [(p.quantity, p.cash_usd) for p in paid] == [(200, 360.0)]


def test_once_per_date_whatever_ib_announces_next():
    book, ctx = ExDividends(), Recorder(0)
    run(book, [held(OPEN - 10 * MINUTE, -100), announced(OPEN - 5 * MINUTE), timer(OPEN)], ctx)
    [payment] = [m for m in ctx.published if isinstance(m, StockDividend)]
    echo = StockDividend(ts=OPEN + 1, origin="broker", symbol="SPY", ex_date=EX_DATE, amount=1.8, quantity=-100,
                         cash_usd=-180.0)
    assert payment == StockDividend(ts=0, symbol="SPY", ex_date=EX_DATE, amount=1.8, quantity=-100, cash_usd=-180.0)
    paid = run(book, [echo, announced(OPEN + MINUTE), announced(OPEN + 2 * MINUTE, dt.date(2026, 6, 19), 1.9),
                      held(OPEN + 3 * MINUTE, -100), announced(OPEN + 4 * MINUTE), timer(OPEN + 5 * MINUTE)], ctx)
    assert len(paid) == 1


def test_the_date_that_goes_ex_today_stays_owed_when_ib_moves_on_before_the_open_and_a_moved_date_is_dropped():
    book, ctx = ExDividends(), Recorder(0)
    early_today = OPEN - 8 * 60 * MINUTE  # 01:30 in New York
    run(book, [held(OPEN - 24 * 60 * MINUTE, -100), announced(OPEN - 24 * 60 * MINUTE),
               announced(early_today, dt.date(2026, 6, 19), 1.9)], ctx)  # IB rolls at midnight
    # a future date replaced by another before it went ex is not paid
    run(book, [announced(early_today + 1, dt.date(2026, 6, 18), 1.9)], ctx)
    paid = run(book, [timer(OPEN)], ctx)
    assert [(p.ex_date, p.quantity) for p in paid] == [(EX_DATE, -100)]
    assert book.next_open_ns() == ex_open_ns(dt.date(2026, 6, 18))


def test_no_shares_no_payment_and_unknown_holdings_are_said():
    book, ctx = ExDividends(), Recorder(0)
    assert not run(book, [held(OPEN - MINUTE, 0), announced(OPEN - MINUTE), timer(OPEN)], ctx)
    assert not [m for m in ctx.published if not isinstance(m, StockDividend)]
    fresh, ctx = ExDividends(), Recorder(0)  # a first start on the ex-date, after the open, holding shares
    assert not run(fresh, [held(OPEN + MINUTE, -100), announced(OPEN + 2 * MINUTE)], ctx)
    [alert] = ctx.published
    assert "shares held going in are unknown" in alert.text and alert.level == "warning"
    run(fresh, [announced(OPEN + 3 * MINUTE)], ctx)  # said once, not at every re-announcement
    assert len(ctx.published) == 1


def test_a_rebuild_pays_what_never_reached_the_journal_and_not_what_did():
    history = [held(OPEN - 10 * MINUTE, -100), announced(OPEN - 5 * MINUTE), timer(OPEN)]
    lost, muted = ExDividends(), MutedContext(0)
    for message in history:  # rebuilt from a journal that ends before the payment's echo
        lost.handle(message, muted, "broker")
    ctx = Recorder(OPEN + MINUTE)
    lost.on_start(ctx)
    assert ctx.timers[TimerKey.IB_EX_DIVIDEND] == OPEN + MINUTE
    assert [p.quantity for p in run(lost, [timer(OPEN + MINUTE)], ctx)] == [-100]

    echo = StockDividend(ts=OPEN + 1, origin="broker", symbol="SPY", ex_date=EX_DATE, amount=1.8, quantity=-100,
                         cash_usd=-180.0)
    kept = ExDividends()
    for message in [*history, echo]:
        kept.handle(message, muted, "broker")
    ctx = Recorder(OPEN + MINUTE)
    kept.on_start(ctx)
    assert not run(kept, [timer(OPEN + MINUTE), held(OPEN + 2 * MINUTE, 0), announced(OPEN + 3 * MINUTE)], ctx)


def test_a_simulated_exchanges_dividend_is_not_taken_for_ours():
    book, ctx = ExDividends(), Recorder(0)
    run(book, [held(OPEN - 10 * MINUTE, -100), announced(OPEN - 5 * MINUTE)], ctx)
    other = StockDividend(ts=OPEN, origin="elsewhere", symbol="SPY", ex_date=EX_DATE, amount=1.8, quantity=-100,
                          cash_usd=-180.0)
    assert len(run(book, [other, timer(OPEN)], ctx)) == 1
