"""Intents from the decision actor: open or close a strategy, and the record of why."""

from __future__ import annotations

from msgspec import UNSET, UnsetType

from messages.base import Command, Event, Legs
from messages.market import OptionQuote


class OpenStrategy(Command, frozen=True, kw_only=True):
    """Open `quantity` units of a structure, priced from the chain at decision time (signed net prices)."""

    strategy_id: str
    kind: str
    symbol: str
    legs: Legs
    quantity: int
    mid_price: float
    natural_price: float
    max_profit_usd: float
    max_loss_usd: float
    reason: str
    leg_quotes: tuple[OptionQuote, ...] = ()
    """The leg quotes it was priced from: risk checks the trade's greeks on exactly what the decision saw."""


class CloseStrategy(Command, frozen=True, kw_only=True):
    strategy_id: str
    symbol: str
    legs: Legs
    quantity: int
    mid_price: float
    natural_price: float
    rule: str
    reason: str
    roll_to_dte: int = 0
    """Non-zero makes this a roll: once closed, the same structure is reopened near this many days to expiry."""
    stock: str | UnsetType = UNSET
    """Set to close shares an assignment left (`exits.assignment_policy = "flatten"`): `quantity` signed shares of
    this symbol, prices per share, `legs` empty; see PlaceOrder.stock."""


class DecisionRecord(Event, frozen=True, kw_only=True):
    """Why the decision actor did (or did not) act: one line a trader can read."""

    strategy_id: str
    action: str
    rule: str
    detail: str
