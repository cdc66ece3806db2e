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
