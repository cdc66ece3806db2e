"""The portfolio as one actor sees it: pending and open strategies, their legs, closes in flight and the latest quote
of every contract held, built from the same messages by every actor that asks "may this open, and what do we hold?".

Pure and single-threaded: each actor (decision, risk, market data) owns its own instance and feeds it the messages
it receives with `apply`; nothing is shared between threads. Position sync remains the source of these facts (it
builds strategies from fills); this is the read side every other actor keeps of them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace

from msgspec import UnsetType

from actors.portfolio.greeks import GreekTotals, structure_delta, structure_greeks
from messages import (
    IntentApproved,
    IntentDenied,
    Leg,
    Message,
    OpenStrategy,
    OptionContract,
    OptionQuote,
    OptionQuotes,
    OrderOutcome,
    OrderPurpose,
    OrderTerminated,
    RollStrategy,
    StrategyClosed,
    StrategyOpened,
    StrategyPositionChanged,
    StrategySettled,
)


@dataclass(frozen=True)
class Holding:
    """An open strategy: what was filled, at what average price, and whether a close of it is in flight."""

    strategy_id: str
    symbol: str
    legs: tuple[Leg, ...]
    quantity: int
    entry_price: float
    max_profit_usd: float
    max_loss_usd: float
    closing: bool = False
    closing_to: int = 0
    """The quantity the close in flight leaves open: 0 for a whole close, the rest for a partial one."""


@dataclass(frozen=True)
class HeldContracts:
    """What a message changed in the set of contracts held: newly held ones need quotes, released ones no longer."""

    held: tuple[OptionContract, ...] = ()
    released: tuple[OptionContract, ...] = ()


UNCHANGED = HeldContracts()
_UNCACHED = object()


def strategy_expiry(legs: Iterable[Leg]) -> dt.date:
    """A strategy's expiry: its nearest leg's."""
    return min(leg.contract.expiry for leg in legs)


class _GreeksCache:
    """Each open strategy's greeks as last computed (dropped when a quote of one of its legs, its size or its legs
    change: the book's greeks then cost one strategy per quote, not every strategy held), and which strategies'
    greeks changed since `take_greeks_changed` last asked (None until anyone asks). Derived from the view's own
    facts: a snapshot holds none of it, and a restored view computes it again."""

    SNAPSHOT_STATELESS = True
    __slots__ = ("changed", "greeks")

    def __init__(self) -> None:
        self.greeks: dict[str, GreekTotals | None] = {}
        self.changed: set[str] | None = None

    def greeks_moved(self, strategy_ids: Collection[str]) -> None:
        greeks = self.greeks
        for strategy_id in strategy_ids:
            greeks.pop(strategy_id, None)
        if self.changed is not None:
            self.changed.update(strategy_ids)


class PortfolioView:
    def __init__(self) -> None:
        self._open: dict[str, Holding] = {}
        self._pending: dict[str, OpenStrategy] = {}
        self._holders: dict[OptionContract, set[str]] = {}
        self._quotes: dict[OptionContract, OptionQuote] = {}
        self._replacements: dict[str, str] = {}  # held strategy id -> the pending replacement its roll opens
        self._cache = _GreeksCache()

    # facts ------------------------------------------------------------------------------------------------------------
    def apply(self, message: Message) -> HeldContracts:
        """Fold one message in; the facts every owner reads the same way."""
        match message:
            case OptionQuote():
                self._quotes[message.contract] = message
                self._requoted(message.contract)
            case OptionQuotes():  # a burst: its quotes, one by one, as above (inlined: risk folds hundreds at once)
                quotes, holders, moved = self._quotes, self._holders, self._cache.greeks_moved
                for quote in message.quotes:
                    contract = quote.contract
                    quotes[contract] = quote
                    held = holders.get(contract)
                    if held:
                        moved(held)
            case StrategyOpened():
                return self._opened(message)
            case StrategyPositionChanged() if message.strategy_id in self._open:
                self._open[message.strategy_id] = self._resized(self._open[message.strategy_id], message)
                self._greeks_moved(message.strategy_id)
            case StrategyClosed():
                return self._closed(message.strategy_id)
            case StrategySettled(legs_left=left) if left and message.strategy_id in self._open:
                return self._settled_in_part(message.strategy_id, left, message.quantity_left)
            case IntentApproved(intent=OpenStrategy() as intent):
                self.add_pending(intent)
            case IntentApproved(intent=RollStrategy() as roll):
                self.add_pending(roll.open, replacing=roll.strategy_id)
            case IntentDenied():
                self._pending.pop(message.strategy_id, None)
                self._pending.pop(self._replacements.pop(message.strategy_id, ""), None)
                self.release_close(message.strategy_id)
            case OrderTerminated(purpose=OrderPurpose.OPEN) if message.filled_quantity == 0:
                self._pending.pop(message.strategy_id, None)
            case OrderTerminated(purpose=OrderPurpose.ROLL):  # its strategy id is the held one's
                replacement = self._replacements.pop(message.strategy_id, "")
                if message.filled_quantity == 0:
                    self._pending.pop(replacement, None)
                if message.status != OrderOutcome.FILLED:
                    self.release_close(message.strategy_id)
            case OrderTerminated(purpose=OrderPurpose.CLOSE) if message.status != OrderOutcome.FILLED:
                self.release_close(message.strategy_id)
        return UNCHANGED

    def add_pending(self, intent: OpenStrategy, replacing: str = "") -> None:
        """An opening intent on its way (sent, or approved): it counts as exposure until it opens or ends unfilled.
        `replacing`: the held strategy a roll closes to open it (the roll's order and denial carry that one's id)."""
        if intent.strategy_id not in self._open:
            self._pending.setdefault(intent.strategy_id, intent)
        if replacing:
            self._replacements[replacing] = intent.strategy_id

    def without(self, strategy_id: str) -> PortfolioView:
        """This portfolio once `strategy_id` is gone: a roll's replacement is judged against the rest of the book,
        since the same order closes the strategy it replaces."""
        view = PortfolioView()
        view._open = {s: h for s, h in self._open.items() if s != strategy_id}
        view._pending = dict(self._pending)
        view._holders = {c: h - {strategy_id} for c, h in self._holders.items() if h - {strategy_id}}
        view._quotes = dict(self._quotes)
        return view

    def note_quotes(self, quotes: Iterable[OptionQuote]) -> None:
        """Quotes carried by an intent: kept unless a newer quote of the contract is already here."""
        for quote in quotes:
            known = self._quotes.get(quote.contract)
            if known is None or known.ts <= quote.ts:
                self._quotes[quote.contract] = quote
                self._requoted(quote.contract)

    def _requoted(self, contract: OptionContract) -> None:
        held = self._holders.get(contract)
        if held:
            self._cache.greeks_moved(held)

    def _greeks_moved(self, strategy_id: str) -> None:
        self._cache.greeks_moved((strategy_id,))

    def take_greeks_changed(self) -> set[str]:
        """Strategies whose greeks may have changed (or which opened or closed) since the last call; the first call
        starts the tracking and returns none (the caller builds from `open_ids` then)."""
        changed, self._cache.changed = self._cache.changed or set(), set()
        return changed

    def mark_closing(self, strategy_id: str, leaving: int = 0) -> None:
        """A close is in flight; `leaving`: the quantity a partial close leaves open (it is over once reached)."""
        self._open[strategy_id] = replace(self._open[strategy_id], closing=True, closing_to=leaving)

    @staticmethod
    def _resized(holding: Holding, changed: StrategyPositionChanged) -> Holding:
        """The new quantity; maximum profit and loss stay the same per unit, and a partial close in flight is over
        once the quantity it leaves is reached."""
        scale = changed.quantity / holding.quantity if holding.quantity and changed.quantity else 1.0
        done = holding.closing and holding.closing_to and abs(changed.quantity) <= abs(holding.closing_to)
        return replace(holding, quantity=changed.quantity, entry_price=changed.avg_entry_price,
                       max_profit_usd=holding.max_profit_usd * scale, max_loss_usd=holding.max_loss_usd * scale,
                       closing=holding.closing and not done, closing_to=0 if done else holding.closing_to)

    def release_close(self, strategy_id: str) -> None:
        holding = self._open.get(strategy_id)
        if holding is not None and holding.closing:
            self._open[strategy_id] = replace(holding, closing=False, closing_to=0)

    def _opened(self, opened: StrategyOpened) -> HeldContracts:
        self._pending.pop(opened.strategy_id, None)
        self._greeks_moved(opened.strategy_id)
        self._open[opened.strategy_id] = Holding(opened.strategy_id, opened.symbol, opened.legs, opened.quantity,
                                                 opened.entry_price, opened.max_profit_usd, opened.max_loss_usd)
        held = []
        for leg in opened.legs:
            holders = self._holders.setdefault(leg.contract, set())
            if not holders and leg.contract not in held:
                held.append(leg.contract)
            holders.add(opened.strategy_id)
        return HeldContracts(held=tuple(held))

    def _settled_in_part(self, strategy_id: str, left: tuple[Leg, ...],
                         quantity_left: int | UnsetType) -> HeldContracts:
        """The broker settled some legs, or some contracts of a leg (an early assignment): the strategy holds only
        what is left, as `quantity_left` units of `left` (unset: as many units as before) at the same total entry."""
        holding = self._open[strategy_id]
        self._greeks_moved(strategy_id)
        gone = {leg.contract for leg in holding.legs} - {leg.contract for leg in left}
        units = quantity_left or holding.quantity
        self._open[strategy_id] = replace(holding, legs=left, quantity=units,
                                          entry_price=holding.entry_price * holding.quantity / units)
        released = []
        for contract in sorted(gone, key=str):
            holders = self._holders.get(contract, set())
            holders.discard(strategy_id)
            if not holders:
                self._holders.pop(contract, None)
                self._quotes.pop(contract, None)
                released.append(contract)
        return HeldContracts(released=tuple(released))

    def _closed(self, strategy_id: str) -> HeldContracts:
        self._pending.pop(strategy_id, None)
        self._greeks_moved(strategy_id)
        holding = self._open.pop(strategy_id, None)
        if holding is None:
            return UNCHANGED
        released = []
        for leg in holding.legs:
            holders = self._holders.get(leg.contract)
            if holders is None:
                continue
            holders.discard(strategy_id)
            if not holders:
                del self._holders[leg.contract]
                self._quotes.pop(leg.contract, None)
                released.append(leg.contract)
        return HeldContracts(released=tuple(released))

    # queries ----------------------------------------------------------------------------------------------------------
    def open_ids(self) -> list[str]:
        """Open strategies in id order: every owner walks them in the same order, so replays are deterministic."""
        return sorted(self._open)

    def holding(self, strategy_id: str) -> Holding | None:
        return self._open.get(strategy_id)

    def holders_of(self, contract: OptionContract) -> frozenset[str]:
        """Open strategies holding a contract: the ones a quote of it can move."""
        return frozenset(self._holders.get(contract, ()))

    def holds(self, contract: OptionContract) -> bool:
        return contract in self._holders

    @property
    def quotes(self) -> Mapping[OptionContract, OptionQuote]:
        return self._quotes

    def symbols(self) -> dict[str, str]:
        """strategy id → symbol of every open or pending strategy."""
        return {**{s: i.symbol for s, i in self._pending.items()}, **{s: h.symbol for s, h in self._open.items()}}

    def exposure(self, symbol: str) -> int:
        """Open and pending strategies on `symbol`."""
        return sum(1 for held in self.symbols().values() if held == symbol)

    def max_loss_at_risk_usd(self) -> float:
        """The most the open and pending strategies can lose, each by its (fill-adjusted) maximum loss."""
        return (sum(h.max_loss_usd for h in self._open.values())
                + sum(i.max_loss_usd for s, i in self._pending.items() if s not in self._open))

    def pending_max_loss_usd(self) -> float:
        """Max loss of the approved or sent intents not filled yet: exposure no broker report includes so far."""
        return sum(i.max_loss_usd for s, i in self._pending.items() if s not in self._open)

    def _max_loss_by(self, key) -> dict:  # noqa: ANN001 - key: (symbol, legs) -> group
        totals: dict = {}
        for strategy_id, symbol, legs, max_loss in (
                *((s, h.symbol, h.legs, h.max_loss_usd) for s, h in sorted(self._open.items())),
                *((s, i.symbol, i.legs, i.max_loss_usd) for s, i in sorted(self._pending.items()) if s not in self._open)):
            group = key(symbol, legs)
            totals[group] = totals.get(group, 0.0) + max_loss
        return totals

    def max_loss_by_symbol(self) -> dict[str, float]:
        """symbol → max loss of its open and pending strategies (dollars)."""
        return self._max_loss_by(lambda symbol, legs: symbol)

    def max_loss_by_expiry(self) -> dict[dt.date, float]:
        """expiry → max loss of the open and pending strategies expiring then (a strategy counts at its nearest
        leg's expiry: that is when its risk comes due)."""
        return self._max_loss_by(lambda symbol, legs: strategy_expiry(legs))

    def strategy_greeks(self, strategy_id: str) -> GreekTotals | None:
        """None until every leg has been quoted."""
        try:
            return self._cache.greeks[strategy_id]
        except KeyError:
            holding = self._open[strategy_id]
            greeks = self._cache.greeks[strategy_id] = structure_greeks(holding.legs, holding.quantity, self._quotes)
            return greeks

    def strategy_delta(self, strategy_id: str) -> float | None:
        """`strategy_greeks(strategy_id).delta`, without working out the other greeks when they are not cached."""
        greeks = self._cache.greeks.get(strategy_id, _UNCACHED)
        if greeks is not _UNCACHED:
            return None if greeks is None else greeks.delta
        holding = self._open[strategy_id]
        return structure_delta(holding.legs, holding.quantity, self._quotes)

    def greeks_by_symbol(self) -> dict[str, GreekTotals]:
        totals: dict[str, GreekTotals] = {}
        for strategy_id in self.open_ids():
            greeks = self.strategy_greeks(strategy_id)
            if greeks is not None:
                symbol = self._open[strategy_id].symbol
                totals[symbol] = totals.get(symbol, GreekTotals()) + greeks
        return totals
