"""Recognising what the broker settled without an order of ours: option legs that vanished at their expiry (expired
worthless, or exercised and assigned) and shares that appeared from an exercise or assignment, early or at expiry.

A strategy's legs are settled when they are gone from the broker's positions (all of them, or some while the others
are still there; a short leg also in part, when OCC assigned only some of its contracts early), each either past its
expiry's settlement (actors/settlement.py) or a short leg assigned early, and the shares the broker shows beyond
what earlier settlements left are exactly those the exercises and assignments deliver. Past expiry, the underlying's
last price at or before the settlement says which legs OCC exercised. When the broker's shares disagree (the price
moved after the last quote, a holder's contrary instruction), the legs struck near that price (all legs, without a
price) may have gone either way: a choice of them that delivers exactly the shares shown is accepted if it is the only
one. A long leg gone before its expiry is never a settlement (the node does not exercise early). Anything else stays
an unexplained difference: reconciliation fails closed on it."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from itertools import product
from math import gcd

from actors.settlement import delivered_shares, exercised_at, settles_at_ns
from messages import Leg, OptionContract, SettledLeg

MAX_UNDECIDED_LEGS = 12
"""Legs whose outcome the price cannot decide, searched exhaustively (2**n choices) per underlying."""

PIN_RANGE = 0.01
"""A strike within this fraction of the last price may have settled either way (the price moves after the last quote,
holders instruct OCC): when the broker's shares disagree with the price, only such legs are reconsidered."""

ClosingPrice = Callable[[str, dt.date], float | None]


@dataclass(frozen=True)
class Holding:
    strategy_id: str
    symbol: str
    legs: tuple[Leg, ...]
    quantity: int


def _vanished(holdings: Iterable[Holding], broker: Mapping[OptionContract, int],
              now_ns: int) -> dict[str, dict[OptionContract, int]]:
    """Strategies (in id order) some of whose contracts the broker no longer holds, each with the contracts it lost
    and how many (signed as held): all of a leg, or part of it before its expiry (OCC assigns a short position of
    several contracts early in part; an expiry settles all of them). Each contract's missing quantity is handed out
    to its holders in id order."""
    expected: Counter[OptionContract] = Counter()
    ordered = sorted(holdings, key=lambda h: h.strategy_id)
    for holding in ordered:
        for leg in holding.legs:
            expected[leg.contract] += leg.ratio * holding.quantity
    missing = {c: q - broker.get(c, 0) for c, q in expected.items()}
    gone: dict[str, dict[OptionContract, int]] = {}
    for holding in ordered:
        lost = {}
        for leg in holding.legs:
            held, short_of = leg.ratio * holding.quantity, missing[leg.contract]
            if not held or short_of * held <= 0:
                continue
            if abs(short_of) < abs(held) and now_ns >= settles_at_ns(leg.contract.expiry):
                continue  # part of a leg gone at its expiry: no settlement explains that
            lost[leg.contract] = held if abs(short_of) >= abs(held) else short_of
            missing[leg.contract] -= lost[leg.contract]
        if lost:
            gone[holding.strategy_id] = lost
    return gone


def recognise_settlements(holdings: Iterable[Holding], broker_options: Mapping[OptionContract, int],
                          stock_appeared: Mapping[str, int], now_ns: int,
                          closing_price: ClosingPrice) -> dict[str, tuple[SettledLeg, ...]]:
    """The strategies the broker settled, each with the outcomes of the legs it settled (all of them, or some: an
    early assignment, or the front month of a calendar). `stock_appeared` is per symbol the shares the broker shows
    beyond those earlier settlements left."""
    symbols = {h.strategy_id: h.symbol for h in holdings}
    gone = _vanished(holdings, broker_options, now_ns)
    settled: dict[str, tuple[SettledLeg, ...]] = {}
    for symbol in sorted({symbols[strategy_id] for strategy_id in gone}):
        legs = [(strategy_id, contract, quantity) for strategy_id, lost in gone.items()
                if symbols[strategy_id] == symbol for contract, quantity in lost.items()]
        outcome = _explain(legs, stock_appeared.get(symbol, 0), now_ns, closing_price)
        if outcome is not None:
            settled |= outcome
    return settled


def _explain(legs: list[tuple[str, OptionContract, int]], shares_shown: int, now_ns: int,
             closing_price: ClosingPrice) -> dict[str, tuple[SettledLeg, ...]] | None:
    """Which of the lost (strategy, contract, quantity) were exercised or assigned, if the shares shown say so."""
    by_price: list[bool | None] = []  # exercised? None = undecided
    near_money: list[bool] = []
    for _, contract, quantity in legs:
        if now_ns < settles_at_ns(contract.expiry):
            if quantity > 0:
                return None  # we never exercise early: a long leg gone before its expiry is no settlement
            by_price.append(True)  # a short leg gone before expiry: only an early assignment takes it away
            near_money.append(False)
            continue
        price = closing_price(contract.symbol, contract.expiry)
        by_price.append(None if price is None else exercised_at(contract, price))
        near_money.append(price is not None and abs(contract.strike - price) <= PIN_RANGE * price)
    choice = _only_choice(legs, by_price, shares_shown)
    if choice is None:  # the broker disagrees with the last price: a strike near it may have gone either way
        choice = _only_choice(legs, [None if near else fixed for fixed, near in zip(by_price, near_money, strict=True)],
                              shares_shown)
    if choice is None:
        return None
    settled: dict[str, list[SettledLeg]] = {strategy_id: [] for strategy_id, _, _ in legs}
    for (strategy_id, contract, quantity), exercised in zip(legs, choice, strict=True):
        outcome = "expired" if not exercised else "assigned" if quantity < 0 else "exercised"
        shares = delivered_shares(contract, quantity) if exercised else 0
        settled[strategy_id].append(SettledLeg(contract=contract, quantity=quantity, outcome=outcome, shares=shares))
    return {strategy_id: tuple(legs) for strategy_id, legs in settled.items()}


def _only_choice(legs: list[tuple[str, OptionContract, int]], fixed: list[bool | None],
                 shares_shown: int) -> list[bool] | None:
    open_at = [i for i, f in enumerate(fixed) if f is None]
    if len(open_at) > MAX_UNDECIDED_LEGS:
        return None
    found = []
    for bits in product((False, True), repeat=len(open_at)):
        choice = list(fixed)
        for index, bit in zip(open_at, bits, strict=True):
            choice[index] = bit
        shares = sum(delivered_shares(c, q) for (_, c, q), exercised in zip(legs, choice, strict=True) if exercised)
        if shares == shares_shown:
            found.append(choice)
    return found[0] if len(found) == 1 else None


def left_after(legs: Iterable[Leg], quantity: int, settled: Iterable[SettledLeg]) -> tuple[tuple[Leg, ...], int]:
    """The legs a strategy of `quantity` units still holds after `settled`, and its units: the contracts left of
    each leg over their greatest common divisor (the same legs and quantity when whole legs went)."""
    gone = Counter[OptionContract]()
    for leg in settled:
        gone[leg.contract] += leg.quantity
    left = [(leg.contract, leg.ratio * quantity - gone[leg.contract]) for leg in legs]
    left = [(contract, held) for contract, held in left if held]
    if not left:
        return (), 0
    units = gcd(*(held for _, held in left)) * (1 if quantity > 0 else -1)
    return tuple(Leg(contract, held // units) for contract, held in left), units


@dataclass
class HeldStock:
    """Shares a settlement left a strategy, at their cost in dollars (booked at the strikes)."""

    symbol: str
    quantity: int
    cost_usd: float
    exec_ids: set[str] = field(default_factory=set)


def book_shares(legs: Iterable[SettledLeg]) -> tuple[int, float, float]:
    """(shares left, their cost in dollars, dollars realised) of a settlement booked at the strikes: bought and sold
    shares offset each other (both legs of a spread exercised) and realise their strike difference at once; what is
    left keeps the average strike of its side."""
    bought = [(leg.shares, leg.contract.strike) for leg in legs if leg.shares > 0]
    sold = [(-leg.shares, leg.contract.strike) for leg in legs if leg.shares < 0]
    bought_shares, sold_shares = sum(n for n, _ in bought), sum(n for n, _ in sold)
    buy_price = sum(n * k for n, k in bought) / bought_shares if bought_shares else 0.0
    sell_price = sum(n * k for n, k in sold) / sold_shares if sold_shares else 0.0
    offset = min(bought_shares, sold_shares)
    left = bought_shares - sold_shares
    cost = left * (buy_price if left > 0 else sell_price)
    return left, cost, offset * (sell_price - buy_price)


def merge_lots(held: int, cost_usd: float, shares: int, shares_cost_usd: float) -> tuple[int, float, float]:
    """Shares held plus shares delivered: (shares, their cost, dollars realised where the two offset)."""
    if not held or not shares or (held > 0) == (shares > 0):
        return held + shares, cost_usd + shares_cost_usd, 0.0
    matched = min(abs(held), abs(shares))
    held_price, new_price = cost_usd / held, shares_cost_usd / shares
    realised = matched * (new_price - held_price) * (1 if held > 0 else -1)
    left = held + shares
    return left, left * (held_price if abs(held) > abs(shares) else new_price), realised


def close_shares(held: HeldStock, quantity: int, price: float) -> float:
    """Trade `quantity` of the held shares away at `price`: returns the dollars realised against their cost."""
    released = held.cost_usd * (-quantity / held.quantity) if held.quantity else 0.0
    held.cost_usd -= released
    held.quantity += quantity
    return -quantity * price - released


def stock_mismatches(expected: Mapping[str, int], reported: Mapping[str, int]) -> list[str]:
    return [f"unknown stock: {symbol} broker {reported.get(symbol, 0):+d} shares, strategies {expected.get(symbol, 0):+d}"
            for symbol in sorted(set(expected) | set(reported)) if expected.get(symbol, 0) != reported.get(symbol, 0)]


def describe(strategy_id: str, legs: Iterable[SettledLeg], shares: int, cost_usd: float) -> str:
    parts = [f"{leg.contract} {leg.quantity:+d} {leg.outcome}" + (f" ({leg.shares:+d} shares)" if leg.shares else "")
             for leg in legs]
    held = f"; holding {shares:+d} shares at {cost_usd / shares:.2f}" if shares else ""
    return f"{strategy_id} settled by the broker: {', '.join(parts)}{held}"
