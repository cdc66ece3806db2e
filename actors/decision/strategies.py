"""Strategy construction from a real option chain: every strike chosen by its own delta (so the put and call sides
follow the skew), wings by width, liquid legs only; profit and loss extremes from the structure's expiry payoff."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from actors.decision.config import EntrySection
from actors.market_data.structure import structure_mid, structure_natural
from actors.market_time import days_to_expiry
from messages import CONTRACT_MULTIPLIER, Leg, OptionQuote

CREDIT_KINDS = frozenset({"iron_condor", "bull_put", "bear_call"})


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


class _Missing(Exception):
    """A leg the chain cannot supply; the text says which."""


def pick_expiry(quotes: Sequence[OptionQuote], now_ns: int, params: EntrySection) -> dt.date | None:
    expiries = {q.contract.expiry for q in quotes}
    in_window = [e for e in expiries if params.dte_min <= days_to_expiry(now_ns, e) <= params.dte_max]
    if not in_window:
        return None
    target = (params.dte_min + params.dte_max) / 2
    return min(in_window, key=lambda e: (abs(days_to_expiry(now_ns, e) - target), e))


def is_liquid(quote: OptionQuote, params: EntrySection) -> bool:
    if quote.bid <= 0 or quote.ask < quote.bid:
        return False
    spread = quote.ask - quote.bid
    return spread <= params.max_leg_spread and spread <= params.max_leg_spread_pct * (quote.bid + quote.ask) / 2


def by_delta(quotes: Sequence[OptionQuote], right: str, delta: float, tolerance: float) -> OptionQuote:
    side = [q for q in quotes if q.contract.right == right and abs(abs(q.delta) - delta) <= tolerance]
    if not side:
        raise _Missing(f"no liquid {right} within {delta:g}±{tolerance:g} delta")
    return min(side, key=lambda q: (abs(abs(q.delta) - delta), q.contract.strike))


def wing(quotes: Sequence[OptionQuote], inner: OptionQuote, width: float) -> OptionQuote:
    """The leg `width` further out of the money than `inner`, or the nearest liquid strike beyond it."""
    outward = -1.0 if inner.contract.right == "P" else 1.0
    wanted = inner.contract.strike + outward * width
    beyond = [q for q in quotes if q.contract.right == inner.contract.right
              and outward * (q.contract.strike - wanted) >= -1e-9]
    if not beyond:
        raise _Missing(f"no liquid {inner.contract.right} wing {width:g} beyond {inner.contract.strike:g}")
    return min(beyond, key=lambda q: abs(q.contract.strike - wanted))


def _legs_for(kind: str, quotes: Sequence[OptionQuote], p: EntrySection) -> list[tuple[OptionQuote, int]]:
    short = p.short_delta, p.short_delta_tolerance
    match kind:
        case "iron_condor":
            short_put, short_call = by_delta(quotes, "P", *short), by_delta(quotes, "C", *short)
            return [(wing(quotes, short_put, p.wing_width), 1), (short_put, -1), (short_call, -1),
                    (wing(quotes, short_call, p.wing_width), 1)]
        case "bull_put":
            short_put = by_delta(quotes, "P", *short)
            return [(wing(quotes, short_put, p.wing_width), 1), (short_put, -1)]
        case "bear_call":
            short_call = by_delta(quotes, "C", *short)
            return [(short_call, -1), (wing(quotes, short_call, p.wing_width), 1)]
        case "bull_call_debit":
            long_call = by_delta(quotes, "C", p.long_delta, p.short_delta_tolerance)
            return [(long_call, 1), (wing(quotes, long_call, p.wing_width), -1)]
        case "bear_put_debit":
            long_put = by_delta(quotes, "P", p.long_delta, p.short_delta_tolerance)
            return [(wing(quotes, long_put, p.wing_width), -1), (long_put, 1)]
        case _:
            return [(by_delta(quotes, leg.right, leg.delta, p.short_delta_tolerance), leg.ratio)
                    for leg in p.custom_legs]


def payoff_extremes(legs: Sequence[Leg], price: float) -> tuple[float, float]:
    """(max profit, max loss) per unit at expiry for a structure bought at signed `price`; loss is inf when a net
    short call position leaves the upside unbounded."""
    strikes = sorted({leg.contract.strike for leg in legs})
    net_calls = sum(leg.ratio for leg in legs if leg.contract.right == "C")
    grid = [0.0, *strikes, strikes[-1] * 2 + 1]

    def pnl(spot: float) -> float:
        value = sum(
            leg.ratio * max((spot - leg.contract.strike) if leg.contract.right == "C" else (leg.contract.strike - spot), 0.0)
            for leg in legs
        )
        return value - price

    values = [pnl(spot) for spot in grid]
    max_profit = float("inf") if net_calls > 0 else max(values)
    max_loss = float("inf") if net_calls < 0 else -min(values)
    return max_profit, max_loss


def select_structure(
    symbol: str, quotes: Sequence[OptionQuote], now_ns: int, params: EntrySection
) -> StructureCandidate | NoCandidate:
    kind = params.strategy
    expiry = pick_expiry(quotes, now_ns, params)
    if expiry is None:
        return NoCandidate(f"no {symbol} expiry within {params.dte_min}-{params.dte_max} DTE")
    liquid = [q for q in quotes if q.contract.expiry == expiry and is_liquid(q, params)]
    try:
        chosen = _legs_for(kind, liquid, params)
    except _Missing as missing:
        return NoCandidate(f"{kind} {expiry}: {missing}")
    if len({q.contract for q, _ in chosen}) != len(chosen):
        return NoCandidate(f"{kind} {expiry}: two legs landed on the same strike")
    legs = tuple(Leg(q.contract, ratio) for q, ratio in chosen)
    by_contract = {q.contract: q for q, _ in chosen}
    mid = structure_mid(legs, by_contract)
    natural = structure_natural(legs, by_contract, direction=1)
    max_profit, max_loss = payoff_extremes(legs, mid)
    if max_loss == float("inf"):
        return NoCandidate(f"{kind} {expiry}: unbounded loss (net short calls)")
    widths = [abs(a.contract.strike - b.contract.strike) for a, b in zip(legs, legs[1:], strict=False)
              if a.contract.right == b.contract.right]
    width = max(widths, default=0.0)
    if kind in CREDIT_KINDS:
        credit = -mid
        if credit < params.min_credit:
            return NoCandidate(f"{kind} {expiry}: credit {credit:.2f} below minimum {params.min_credit:.2f}")
        if width and credit / width < params.min_credit_to_width:
            return NoCandidate(f"{kind} {expiry}: credit {credit:.2f} is {credit / width:.0%} of width {width:g}, "
                               f"below {params.min_credit_to_width:.0%}")
    elif kind != "custom" and width and mid / width > params.max_debit_to_width:
        return NoCandidate(f"{kind} {expiry}: debit {mid:.2f} is {mid / width:.0%} of width {width:g}, "
                           f"above {params.max_debit_to_width:.0%}")
    units = params.quantity * CONTRACT_MULTIPLIER
    described = " / ".join(f"{ratio:+d} {q.contract.strike:g}{q.contract.right} Δ{q.delta:+.2f}" for q, ratio in chosen)
    return StructureCandidate(
        kind=kind,
        symbol=symbol,
        legs=legs,
        mid_price=round(mid, 4),
        natural_price=round(natural, 4),
        max_profit_usd=round(max_profit * units, 2),
        max_loss_usd=round(max_loss * units, 2),
        reason=f"{expiry} ({days_to_expiry(now_ns, expiry)} DTE) {described}, price {mid:+.2f}",
        leg_quotes=tuple(q for q, _ in chosen),
    )
