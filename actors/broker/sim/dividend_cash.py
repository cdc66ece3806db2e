"""Cash dividends on the simulated account's shares (`sim.dividends`): at the open of an ex-date, when the stock
starts trading without the dividend, shares held then receive it (long) or owe it (short: the lender of the shares
is paid by the borrower) — what an early-assigned short call leaves behind the day before an ex-date. The account's
cash moves at once (IB credits or debits it on the pay date; the node books it at the ex-date, when it is earned or
owed) and the exchange reports each payment as a `StockDividend`."""

from __future__ import annotations

from collections.abc import Callable

from actors.broker.sim.dividends import DividendSection
from actors.market_data.pricing import ex_dividend_years
from messages import StockDividend


class DividendCash:
    def __init__(self, schedule: tuple[DividendSection, ...]) -> None:
        self._schedule = sorted(schedule, key=lambda d: (d.ex_date, d.symbol))
        self._paid_through: int | None = None
        """Dividends going ex up to this time are settled; None until the exchange first looks (a dividend that went
        ex before it opened is history, not a payment)."""
        self._owed: list[StockDividend] = []
        """Payments due and not yet made. A rebuilt exchange owes what it paid before the crash until it hears the
        payment back from the journal: one that died in its latency outbox is still owed when it starts, and paid."""

    def due(self, now_ns: int, shares_held: Callable[[str], int]) -> list[StockDividend]:
        """The payments of every dividend that went ex since the last look, on the shares held now."""
        since, self._paid_through = self._paid_through, now_ns
        if since is None:
            return []
        payments = []
        for dividend in self._schedule:
            quantity = shares_held(dividend.symbol)
            if quantity and ex_dividend_years(since, dividend.ex_date) > 0 >= ex_dividend_years(now_ns, dividend.ex_date):
                payments.append(StockDividend(symbol=dividend.symbol, ex_date=dividend.ex_date, amount=dividend.amount,
                                              quantity=quantity, cash_usd=round(quantity * dividend.amount, 2)))
        return payments

    def owe(self, payments: list[StockDividend]) -> None:
        self._owed += payments

    def heard(self, payment: StockDividend) -> None:
        """A payment the exchange made, heard back from the journal while it is rebuilt: no longer owed."""
        paid = next((p for p in self._owed if (p.symbol, p.ex_date) == (payment.symbol, payment.ex_date)), None)
        if paid is not None:
            self._owed.remove(paid)

    def take_owed(self) -> list[StockDividend]:
        """What to pay now (the exchange is live), each payment once."""
        owed, self._owed = self._owed, []
        return owed
