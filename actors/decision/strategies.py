"""Strategy construction from a real option chain: strikes chosen by delta, wings by width."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from actors.decision.dte import days_to_expiry
from actors.market_data.structure import structure_mid, structure_natural
from messages import CONTRACT_MULTIPLIER, Leg, OptionQuote
from messages.config import EntrySection


@dataclass(frozen=True)
class StructureCandidate:
    kind: str
    symbol: str
    legs: tuple[Leg, ...]
    mid_price: float
    natural_price: float
    max_profit_usd: float
    max_loss_usd: float
    reason: str
    leg_quotes: tuple[OptionQuote, ...] = ()


@dataclass(frozen=True)
class NoCandidate:
    reason: str


def _pick_expiry(quotes: Sequence[OptionQuote], now_ns: int, params: EntrySection) -> dt.date | None:
    expiries = {q.contract.expiry for q in quotes}
    in_window = [e for e in expiries if params.dte_min <= days_to_expiry(now_ns, e) <= params.dte_max]
    if not in_window:
        return None
    target = (params.dte_min + params.dte_max) / 2
    return min(in_window, key=lambda e: (abs(days_to_expiry(now_ns, e) - target), e))


def _short_by_delta(quotes: Sequence[OptionQuote], params: EntrySection) -> OptionQuote | None:
    eligible = [
        q
        for q in quotes
        if abs(abs(q.delta) - params.short_delta) <= params.short_delta_tolerance and q.bid > 0 and q.ask >= q.bid
    ]
    if not eligible:
        return None
    return min(eligible, key=lambda q: (abs(abs(q.delta) - params.short_delta), q.contract.strike))


def _wing(quotes: Sequence[OptionQuote], short: OptionQuote, width: float) -> OptionQuote | None:
    """The long leg `width` further out of the money, or the nearest listed strike beyond it."""
    outward = -1.0 if short.contract.right == "P" else 1.0
    wanted = short.contract.strike + outward * width
    beyond = [q for q in quotes if outward * (q.contract.strike - wanted) >= -1e-9 and q.ask > 0]
    if not beyond:
        return None
    return min(beyond, key=lambda q: abs(q.contract.strike - wanted))


def select_iron_condor(
    symbol: str, quotes: Sequence[OptionQuote], now_ns: int, params: EntrySection
) -> StructureCandidate | NoCandidate:
    expiry = _pick_expiry(quotes, now_ns, params)
    if expiry is None:
        return NoCandidate(f"no {symbol} expiry within {params.dte_min}-{params.dte_max} DTE")
    by_right: dict[str, list[OptionQuote]] = defaultdict(list)
    for quote in quotes:
        if quote.contract.expiry == expiry:
            by_right[quote.contract.right].append(quote)
    short_put = _short_by_delta(by_right["P"], params)
    short_call = _short_by_delta(by_right["C"], params)
    if short_put is None or short_call is None:
        return NoCandidate(f"no {expiry} short strike within {params.short_delta:g}±{params.short_delta_tolerance:g} delta")
    long_put = _wing(by_right["P"], short_put, params.wing_width)
    long_call = _wing(by_right["C"], short_call, params.wing_width)
    if long_put is None or long_call is None:
        return NoCandidate(f"no {expiry} wing {params.wing_width:g} beyond the short strikes")
    if short_put.contract.strike >= short_call.contract.strike:
        return NoCandidate("short put strike is not below the short call strike")
    legs = (
        Leg(long_put.contract, 1),
        Leg(short_put.contract, -1),
        Leg(short_call.contract, -1),
        Leg(long_call.contract, 1),
    )
    quotes_by_contract = {q.contract: q for q in (long_put, short_put, short_call, long_call)}
    mid = structure_mid(legs, quotes_by_contract)
    natural = structure_natural(legs, quotes_by_contract, direction=1)
    credit = -mid
    if credit < params.min_credit:
        return NoCandidate(f"credit {credit:.2f} below minimum {params.min_credit:.2f}")
    width = max(
        short_put.contract.strike - long_put.contract.strike, long_call.contract.strike - short_call.contract.strike
    )
    units = params.quantity * CONTRACT_MULTIPLIER
    return StructureCandidate(
        leg_quotes=(long_put, short_put, short_call, long_call),
        kind="iron_condor",
        symbol=symbol,
        legs=legs,
        mid_price=round(mid, 4),
        natural_price=round(natural, 4),
        max_profit_usd=round(credit * units, 2),
        max_loss_usd=round((width - credit) * units, 2),
        reason=(
            f"{expiry} ({days_to_expiry(now_ns, expiry)} DTE) short {short_put.contract.strike:g}P "
            f"Δ{short_put.delta:+.2f} / {short_call.contract.strike:g}C Δ{short_call.delta:+.2f}, "
            f"wings {width:g}, credit {credit:.2f}"
        ),
    )
