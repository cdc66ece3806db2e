"""The simulated exchange's expiry: at an expiry's session close every option $0.01 or more in the money is
exercised or assigned (shares delivered, cash moved at the strike), the rest vanish; and, with
`sim.early_assignment`, short calls assigned early for a dividend. Pure: the core applies it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Set
from dataclasses import dataclass
from math import ceil

from actors.broker.sim.dividends import DividendSection
from actors.market_time import market_hours
from actors.settlement import delivered_shares, exercised_at, intrinsic, settles_at_ns
from messages import OptionContract


@dataclass(frozen=True)
class Settlement:
    contract: OptionContract
    quantity: int
    """Contracts held (signed) that left the account."""
    shares: int
    """Shares delivered (signed; 0 when the option expired worthless)."""
    ex_date: dt.date | None = None
    """For an early assignment: the ex-date of the dividend it was exercised for."""
    early: bool = False
    """Assigned before its expiry (a recalled one, `settled_before`, knows no ex-date)."""


def due_settlements(positions: Mapping[OptionContract, int], now_ns: int,
                    closing_price: Callable[[str, int], float | None]) -> list[Settlement]:
    """Settlements of every held option whose expiry has settled by `now_ns`, in contract order, at the underlying's
    closing price (`closing_price(symbol, settlement instant)`). An underlying with no known price settles nothing
    yet: the exchange would not guess a closing price."""
    settled = []
    for contract in sorted(positions, key=str):
        quantity = positions[contract]
        settles_ns = settles_at_ns(contract.expiry)
        if not quantity or now_ns < settles_ns:
            continue
        price = closing_price(contract.symbol, settles_ns)
        if price is None:
            continue
        shares = delivered_shares(contract, quantity) if exercised_at(contract, price) else 0
        settled.append(Settlement(contract=contract, quantity=quantity, shares=shares))
    return settled


def exercise_window_ns(ex_date: dt.date) -> tuple[int, int]:
    """When a holder exercises a call for its dividend: from the close of the last session before the ex-date to
    the next open (OCC processes the notices overnight; the account shows the shares the next morning)."""
    hours = market_hours()
    close = hours.session_bounds(hours.last_session_on_or_before(ex_date - dt.timedelta(days=1)))[1]
    return close, hours.next_open(close)


@dataclass(frozen=True)
class EarlyAssignment:
    """Which short calls are assigned early, and how much of each (`share`, rounded up to whole contracts)."""

    dividends: Iterable[DividendSection]
    share: float = 1.0
    done: Set[tuple[OptionContract, dt.date]] = frozenset()
    """(contract, ex-date) already assigned: a position assigned in part keeps the rest through that night."""


def due_early_assignments(positions: Mapping[OptionContract, int], now_ns: int, early: EarlyAssignment,
                          underlying_price: Callable[[str], float | None],
                          option_mid: Callable[[OptionContract], float | None]) -> list[Settlement]:
    """Short calls assigned early for a dividend: in the money, with less extrinsic value (the call's mid less its
    intrinsic value) than the dividend, held into the close of the session before the ex-date."""
    assigned = []
    for dividend in early.dividends:
        start, end = exercise_window_ns(dividend.ex_date)
        if not start <= now_ns <= end:
            continue
        price = underlying_price(dividend.symbol)
        for contract in sorted(positions, key=str):
            quantity = positions[contract]
            if (quantity >= 0 or contract.symbol != dividend.symbol or contract.right != "C"
                    or contract.expiry < dividend.ex_date or price is None or not exercised_at(contract, price)
                    or (contract, dividend.ex_date) in early.done):
                continue
            mid = option_mid(contract)
            if mid is not None and mid - intrinsic(contract, price) < dividend.amount:
                quantity = -ceil(-quantity * early.share - 1e-9)
                assigned.append(Settlement(contract=contract, quantity=quantity,
                                           shares=delivered_shares(contract, quantity), ex_date=dividend.ex_date,
                                           early=True))
    return assigned


def nights_of(contract: OptionContract, dividends: Iterable[DividendSection], at_ns: int) -> set[tuple[OptionContract,
                                                                                                dt.date]]:
    """The (contract, ex-date) whose exercise window `at_ns` falls in: the night an early assignment then belongs to."""
    return {(contract, dividend.ex_date) for dividend in dividends
            if dividend.symbol == contract.symbol and _within(at_ns, exercise_window_ns(dividend.ex_date))}


def _within(at_ns: int, window: tuple[int, int]) -> bool:
    return window[0] <= at_ns <= window[1]


def due_at(positions: Mapping[OptionContract, int], now_ns: int, early: EarlyAssignment | None,
           underlying_price: Callable[[str], float | None],
           option_mid: Callable[[OptionContract], float | None],
           closing_price: Callable[[str, int], float | None]) -> list[Settlement]:
    """Everything the exchange settles by `now_ns`: expiries (at their closing prices), then (`early` dividends given)
    early assignments (at the prices of now)."""
    settled = due_settlements(positions, now_ns, closing_price)
    expiring = {settlement.contract for settlement in settled}
    if early is not None:
        settled += [s for s in due_early_assignments(positions, now_ns, early, underlying_price, option_mid)
                    if s.contract not in expiring]
    return settled
