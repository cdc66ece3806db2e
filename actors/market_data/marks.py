"""Conservative marks: what each leg of a held position is worth to us when its quote is one-sided or quiet.

The exit rules must judge a position in exactly the moves where quotes go bad (a far wing quoted bid −1 / size 0 in a
sell-off, a leg IB stops updating because nothing changed), so every leg always has a mark, and when the mark is not
the mid of a fresh two-sided quote it errs against us and says so:

| leg (as held) | quote | mark |
|---|---|---|
| any | fresh, two-sided | mid |
| long | no bid | 0: nobody would pay anything for it |
| long | no ask | the bid: what selling it fetches |
| short | no bid | the ask: what buying it back costs |
| short | no ask | the higher of its last good ask, its bid and its model value, plus `no_ask_penalty_pct` |
| long | quiet (older than `exits.max_quote_age_s`) or behind | its model value at the current underlying price, less the penalty |
| short | quiet or behind | the higher of its model value and its last good ask, plus the penalty |

A quote is behind when the underlying price it was priced off is more than `BEHIND_PCT` from the current one: IB
updates a move leg by leg and tick by tick, and a mark mixing legs from before and after the move is a price nobody
quotes (a close limited at it may never fill).

Model values are Black-Scholes at the leg's last implied volatility; a quiet leg's delta and gamma are recomputed at the
current underlying price too, so the delta rule sees the move. Closing prices (natural) sell long legs at their bid
(0 without one) and buy short legs at their ask, or at the conservative mark without one.
"""

from __future__ import annotations

import msgspec

from actors.market_data.config import MarketDataSection
from actors.market_data.pricing import bsm_greeks, year_fraction
from messages import OptionContract, OptionQuote

BEHIND_PCT = 0.005


class LegView(msgspec.Struct, frozen=True):
    """A held leg as the exits judge it, built per leg on every quote that moves the position (a struct: cheap)."""

    mark: float
    """Per share, never negative, always finite."""
    natural: float
    """What closing this leg trades at: a long leg sells at its bid, a short leg buys at its ask."""
    delta: float
    gamma: float
    iv: float
    note: str = ""
    """Why the mark is conservative; empty when it is the mid of a fresh two-sided quote."""


class MarkBook:
    """Remembers each held contract's last good ask as judged: a short leg nobody offers is never marked below it.

    Kept from the quotes the exits judge, not from every quote that comes: a lagging actor's mailbox conflates quotes
    (a two-sided one can be replaced by a one-sided one before the actor reads it) while replay reads every one, and
    state kept per quote would then differ between the live node and its replay."""

    def __init__(self, params: MarketDataSection) -> None:
        self._params = params
        self._last_ask: dict[OptionContract, float] = {}

    def forget(self, contract: OptionContract) -> None:
        self._last_ask.pop(contract, None)

    def view(self, quote: OptionQuote, long: bool, quiet: bool, spot: float | None, now_ns: int) -> LegView:
        """The leg's mark and greeks; `spot` (the current underlying price) reprices a quiet or behind leg."""
        penalty = self._params.no_ask_penalty_pct
        contract = quote.contract
        if quote.ask > 0 and quote.bid > 0:
            self._last_ask[contract] = quote.ask
        behind = bool(spot) and abs(quote.underlying_price / spot - 1) > BEHIND_PCT
        if quiet or behind:
            model = self._model(quote, spot or quote.underlying_price, now_ns)
            if long:
                mark = model.price * (1 - penalty)
                return LegView(mark, min(quote.bid, mark), model.delta, model.gamma, quote.iv,
                               f"{contract} quiet or behind: model {model.price:.2f} less {penalty:.0%}")
            mark = max(model.price, self._last_ask.get(contract, 0.0)) * (1 + penalty)
            return LegView(mark, mark, model.delta, model.gamma, quote.iv,
                           f"{contract} quiet or behind: model {model.price:.2f} or last ask, plus {penalty:.0%}")
        bid, ask = quote.bid, quote.ask
        if bid > 0 and ask > 0:
            return LegView((bid + ask) / 2, bid if long else ask, quote.delta, quote.gamma, quote.iv)
        if long:
            note = f"{contract} long, no bid: worth 0" if bid == 0 else f"{contract} long, no ask: the bid {bid:.2f}"
            return LegView(bid, bid, quote.delta, quote.gamma, quote.iv, note)
        if ask > 0:
            return LegView(ask, ask, quote.delta, quote.gamma, quote.iv, f"{contract} short, no bid: the ask {ask:.2f}")
        model = self._model(quote, spot or quote.underlying_price, now_ns)
        mark = max(self._last_ask.get(contract, 0.0), bid, model.price) * (1 + penalty)
        return LegView(mark, mark, quote.delta, quote.gamma, quote.iv,
                       f"{contract} short, no ask: last ask, bid or model, plus {penalty:.0%} = {mark:.2f}")

    def _model(self, quote: OptionQuote, spot: float, now_ns: int) -> _Model:
        contract = quote.contract
        t = year_fraction(now_ns, contract.expiry)
        g = bsm_greeks(spot, contract.strike, t, quote.iv, self._params.model_rate, self._params.model_dividend_yield,
                       contract.right == "C")
        return _Model(max(float(g.price), 0.0), float(g.delta), float(g.gamma))


class _Model(msgspec.Struct, frozen=True):
    price: float
    delta: float
    gamma: float
