"""The one boundary for market data: every quote passes here before any core sees it (both brokers, replay included).

What passes is finite, positive and uncrossed: an underlying or index quote with both prices > 0, an option quote
with at least one side (a side nobody quotes is 0.0) and greeks that mean something. What does not pass is a
`BadTick` — counted per symbol and reason on `/metrics`, alerted at most once per symbol and reason every
`market_data.bad_tick_alert_interval_s` — and never reaches a rule.

Policy (README "Market data you can stake money on"):
- NaN or infinite prices, non-positive prices (IB's −1 "no quote" included) on an underlying or the index: rejected.
- An option side at or below 0 (IB's −1 with size 0) is a missing side, not an error: the quote is one-sided and
  its mark is conservative (`marks.py`). Both sides missing: rejected (`no_quote`). Crossed (bid > ask): rejected.
- An underlying wider than `max_underlying_spread_pct` of its mid: rejected (`wide`); a locked quote (bid = ask) is a
  price and passes.
- IB's "not computed" greeks (−1 IV or underlying price, −2 delta/gamma/vega/theta, NaN, a delta of the wrong sign):
  replaced by the node's own Black-Scholes greeks from the quote's mid (or the contract's last good IV) and the
  underlying price (`repaired`); rejected only when nothing can be priced.
- A jump — an underlying moving more than `max_tick_move_pct` in one tick (the index: `max_index_move_pct`) — is
  rejected unless corroborated: an option of that underlying reporting an underlying price near the new level, the
  volatility index moving `jump_index_move_pct`, or a second tick at the new level (a bad print does not repeat).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import msgspec

from actors.market_data.config import MarketDataSection
from actors.market_data.pricing import bsm_greeks, implied_volatility, year_fraction
from actors.market_time import NS_PER_S
from actors.runtime.core import Context
from messages import Alert, BadTick, ChainSnapshot, IndexQuote, Message, OptionContract, OptionQuote, UnderlyingQuote

GREEK_SENTINEL = -2.0
"""IB's "not computed" for delta, gamma, vega and theta (−1 for IV and the underlying price)."""

Quote = UnderlyingQuote | OptionQuote | IndexQuote


@dataclass(frozen=True)
class Verdict:
    accepted: Message | None
    """The quote to publish (possibly repaired), or None when it was rejected."""
    notes: tuple[Message, ...] = ()
    """`BadTick` and rate-limited `Alert` messages to publish beside it."""

    def publish(self, ctx: Context) -> Message | None:
        """Publish the notes, then the accepted quote; return it."""
        for note in self.notes:
            ctx.publish(note)
        if self.accepted is not None:
            ctx.publish(self.accepted)
        return self.accepted


@dataclass
class _Level:
    price: float
    ts: int
    index: float
    """The volatility index when this level was accepted: an index move since then corroborates a jump."""


class _Reject(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _finite(*values: float) -> bool:
    return all(isinstance(v, (int, float)) and math.isfinite(v) for v in values)


class QuoteGate:
    """Stateful only for what a judgement needs: the last accepted level per symbol, the latest underlying price its
    options reported, the last good IV of streamed contracts, and when each (symbol, reason) was last alerted."""

    def __init__(self, params: MarketDataSection, source: str, volatility_index: str = "VIX") -> None:
        self._p = params
        self._source = source
        self._volatility_index = volatility_index
        self._levels: dict[str, _Level] = {}
        self._candidates: dict[str, float] = {}
        self._option_spot: dict[str, tuple[float, int]] = {}
        self._last_iv: dict[OptionContract, float] = {}
        self._chain_iv: dict[str, dict[OptionContract, float]] = {}
        """The IVs of each symbol's latest chain: a leg IB never computed greeks for is priced from its chain IV."""
        self._alerted: dict[tuple[str, str], tuple[int, int]] = {}

    def last_price(self, symbol: str) -> float | None:
        level = self._levels.get(symbol)
        return level.price if level else None

    def forget(self, contract: OptionContract) -> None:
        """A contract no longer streamed: its last IV is not needed any more."""
        self._last_iv.pop(contract, None)

    # one quote -------------------------------------------------------------------------------------------------------
    def admit(self, quote: Quote, now_ns: int) -> Verdict:
        symbol, key = _identity(quote)
        try:
            match quote:
                case UnderlyingQuote():
                    accepted: Message = self._underlying(quote, now_ns)
                    notes: tuple[Message, ...] = ()
                case IndexQuote():
                    accepted, notes = self._index(quote, now_ns), ()
                case OptionQuote():
                    accepted, repair = self._option(quote, now_ns, remember=True)
                    notes = self._note(symbol, key, "greeks_uncomputed", repair, now_ns, "repaired") if repair else ()
        except _Reject as rejected:
            return Verdict(None, self._note(symbol, key, rejected.reason, rejected.detail, now_ns))
        return Verdict(accepted, notes)

    def admit_chain(self, chain: ChainSnapshot, now_ns: int) -> Verdict:
        """Every quote of a chain judged alone; one `BadTick` per reason summarises what was dropped or repaired."""
        if not chain.quotes:
            return Verdict(chain)
        if not _finite(chain.underlying_price) or chain.underlying_price <= 0:
            detail = f"chain underlying price {chain.underlying_price!r}"
            return Verdict(None, self._note(chain.symbol, f"chain {chain.symbol}", "non_positive", detail, now_ns,
                                            count=len(chain.quotes)))
        kept: list[OptionQuote] = []
        problems: dict[tuple[str, str], list[str]] = {}
        for quote in chain.quotes:
            try:
                accepted, repair = self._option(quote, now_ns, remember=False)
            except _Reject as rejected:
                problems.setdefault((rejected.reason, "rejected"), []).append(rejected.detail)
                continue
            if repair:
                problems.setdefault(("greeks_uncomputed", "repaired"), []).append(repair)
            kept.append(accepted)
        notes: list[Message] = []
        for (reason, action), details in sorted(problems.items()):
            detail = f"{len(details)} of {len(chain.quotes)} chain quotes, e.g. {details[0]}"
            notes += self._note(chain.symbol, f"chain {chain.symbol}", reason, detail, now_ns, action, len(details))
        accepted_chain = chain if len(kept) == len(chain.quotes) and not problems else \
            msgspec.structs.replace(chain, quotes=tuple(kept))
        self._chain_iv[chain.symbol] = {q.contract: q.iv for q in kept}
        return Verdict(accepted_chain, tuple(notes))

    # judgements ------------------------------------------------------------------------------------------------------
    def _underlying(self, quote: UnderlyingQuote, now_ns: int) -> UnderlyingQuote:
        bid, ask = quote.bid, quote.ask
        if not _finite(bid, ask):
            raise _Reject("non_finite", f"bid {bid} ask {ask}")
        if bid <= 0 or ask <= 0:
            raise _Reject("non_positive", f"bid {bid:g} ask {ask:g}")
        if bid > ask:
            raise _Reject("crossed", f"bid {bid:g} above ask {ask:g}")
        mid = (bid + ask) / 2
        if (ask - bid) / mid > self._p.max_underlying_spread_pct:
            raise _Reject("wide", f"bid {bid:g} ask {ask:g} is {(ask - bid) / mid:.2%} wide, over "
                                  f"{self._p.max_underlying_spread_pct:.2%}")
        self._check_jump(quote.symbol, mid, self._p.max_tick_move_pct, now_ns, corroborate=True)
        if not _finite(quote.last) or quote.last <= 0:
            quote = msgspec.structs.replace(quote, last=round(mid, 4))  # no trade yet (IB: −1 / NaN): the mid
        return quote

    def _index(self, quote: IndexQuote, now_ns: int) -> IndexQuote:
        if not _finite(quote.value):
            raise _Reject("non_finite", f"value {quote.value}")
        if quote.value <= 0:
            raise _Reject("non_positive", f"value {quote.value:g}")
        self._check_jump(quote.symbol, quote.value, self._p.max_index_move_pct, now_ns, corroborate=False)
        return quote

    def _check_jump(self, symbol: str, price: float, limit: float, now_ns: int, corroborate: bool) -> None:
        previous = self._levels.get(symbol)
        if previous is not None and abs(price / previous.price - 1) > limit:
            candidate = self._candidates.get(symbol)
            repeated = candidate is not None and self._near(candidate, price)
            if not repeated and not (corroborate and self._corroborated(symbol, price, previous)):
                self._candidates[symbol] = price
                raise _Reject("jump", f"{previous.price:g} → {price:g} ({price / previous.price - 1:+.1%}) in one "
                                      f"tick, and no option, index or second tick moved with it")
        self._candidates.pop(symbol, None)
        index = self._levels.get(self._volatility_index)
        self._levels[symbol] = _Level(price, now_ns, index.price if index else 0.0)
        if symbol == self._volatility_index:
            for level in self._levels.values():
                level.index = level.index or price  # levels accepted before the first index quote get a baseline

    def _corroborated(self, symbol: str, price: float, previous: _Level) -> bool:
        option_spot = self._option_spot.get(symbol)
        if option_spot is not None and option_spot[1] >= previous.ts and self._near(option_spot[0], price):
            return True
        index = self._levels.get(self._volatility_index)
        return bool(index and previous.index and abs(index.price / previous.index - 1) >= self._p.jump_index_move_pct)

    def _near(self, a: float, b: float) -> bool:
        return abs(a / b - 1) <= self._p.jump_confirm_pct

    def _option(self, quote: OptionQuote, now_ns: int, remember: bool) -> tuple[OptionQuote, str]:
        """The quote with missing sides at 0.0 and meaningful greeks, and what was repaired ("" if nothing)."""
        bid, ask = quote.bid, quote.ask
        if not _finite(bid, ask):
            raise _Reject("non_finite", f"{quote.contract} bid {bid} ask {ask}")
        bid, ask = max(bid, 0.0), max(ask, 0.0)  # IB's −1 (no one bids / offers): a missing side
        if bid == 0 and ask == 0:
            raise _Reject("no_quote", f"{quote.contract} has neither a bid nor an ask")
        if ask and bid > ask:
            raise _Reject("crossed", f"{quote.contract} bid {bid:g} above ask {ask:g}")
        if (bid, ask) != (quote.bid, quote.ask):
            quote = msgspec.structs.replace(quote, bid=bid, ask=ask)
        repair = ""
        if not _greeks_computed(quote):
            quote, repair = self._model_greeks(quote, now_ns)
        if _finite(quote.underlying_price) and quote.underlying_price > 0:
            self._option_spot[quote.contract.symbol] = (quote.underlying_price, now_ns)
        if remember:
            self._last_iv[quote.contract] = quote.iv
        return quote, repair

    def _model_greeks(self, quote: OptionQuote, now_ns: int) -> tuple[OptionQuote, str]:
        contract = quote.contract
        spot = quote.underlying_price if _finite(quote.underlying_price) and quote.underlying_price > 0 else \
            self.last_price(contract.symbol)
        if spot is None:
            raise _Reject("greeks_uncomputed", f"{contract}: greeks not computed and no underlying price")
        t = year_fraction(now_ns, contract.expiry)
        is_call = contract.right == "C"
        iv = quote.iv if _finite(quote.iv) and quote.iv > 0 else math.nan
        if math.isnan(iv) and quote.bid > 0 and quote.ask > 0:
            solved, _ = implied_volatility((quote.bid + quote.ask) / 2, spot, contract.strike, t, self._p.model_rate,
                                           self._p.model_dividend_yield, is_call)
            iv = float(solved)
        if math.isnan(iv):
            iv = self._last_iv.get(contract) or self._chain_iv_near(contract)
        if math.isnan(iv) or t <= 0:
            raise _Reject("greeks_uncomputed", f"{contract}: greeks not computed and no implied volatility to price it")
        g = bsm_greeks(spot, contract.strike, t, iv, self._p.model_rate, self._p.model_dividend_yield, is_call)
        repaired = msgspec.structs.replace(
            quote, iv=round(iv, 6), delta=round(float(g.delta), 6), gamma=round(float(g.gamma), 6),
            vega=round(float(g.vega), 6), theta=round(float(g.theta), 6), underlying_price=round(spot, 4))
        return repaired, f"{contract}: IB sent no greeks; the node's model priced them at IV {iv:.1%}"

    def _chain_iv_near(self, contract: OptionContract) -> float:
        """The contract's IV in its symbol's latest chain, or that of the nearest strike of its expiry and right."""
        chain = self._chain_iv.get(contract.symbol, {})
        if contract in chain:
            return chain[contract]
        near = [c for c in chain if c.expiry == contract.expiry and c.right == contract.right]
        return chain[min(near, key=lambda c: abs(c.strike - contract.strike))] if near else math.nan

    # counting and alerting ---------------------------------------------------------------------------------------------
    def _note(self, symbol: str, key: str, reason: str, detail: str, now_ns: int, action: str = "rejected",
              count: int = 1) -> tuple[Message, ...]:
        notes: list[Message] = [BadTick(symbol=symbol, key=key, reason=reason, detail=detail, action=action,
                                         count=count)]  # type: ignore[arg-type]
        last, suppressed = self._alerted.get((symbol, reason), (None, 0))
        interval = int(self._p.bad_tick_alert_interval_s * NS_PER_S)
        if last is not None and now_ns - last < interval:
            self._alerted[(symbol, reason)] = (last, suppressed + count)
            return tuple(notes)
        more = f" ({suppressed} more since the last alert)" if suppressed else ""
        verb = "rejected" if action == "rejected" else "repaired"
        level = "warning" if action == "rejected" else "info"
        notes.append(Alert(level=level, source=self._source, text=f"bad tick {verb}: {symbol} {reason}: {detail}{more}"))
        self._alerted[(symbol, reason)] = (now_ns, 0)
        return tuple(notes)


def _identity(quote: Quote) -> tuple[str, str]:
    if isinstance(quote, OptionQuote):
        return quote.contract.symbol, str(quote.contract)
    return quote.symbol, quote.symbol


def _greeks_computed(q: OptionQuote) -> bool:
    values = (q.iv, q.delta, q.gamma, q.vega, q.theta, q.underlying_price)
    if not _finite(*values) or GREEK_SENTINEL in (q.delta, q.gamma, q.vega, q.theta):
        return False
    signed = 0 <= q.delta <= 1 if q.contract.right == "C" else -1 <= q.delta <= 0
    return signed and q.iv > 0 and q.gamma >= 0 and q.vega >= 0 and q.underlying_price > 0
