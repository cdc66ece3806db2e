"""Intents from the decision actor: open or close a strategy, and the record of why."""

from __future__ import annotations

from msgspec import UNSET, UnsetType

from messages.base import Command, Event, Leg, Legs
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
    """Non-zero only on the close part of a `RollStrategy`: the days to expiry its replacement was chosen near. A close
    on its own (the fallback of a roll that failed included) carries 0."""
    stock: str | UnsetType = UNSET
    """Set to close shares an assignment left (`exits.assignment_policy = "flatten"`): `quantity` signed shares of
    this symbol, prices per share, `legs` empty; see PlaceOrder.stock."""


class RollStrategy(Command, frozen=True, kw_only=True):
    """Close a held strategy and open its replacement in one combo order (`exits.roll_enabled`): the close legs and
    the open legs trade together or not at all, so the account never holds both structures nor neither.

    The combo buys `combo_quantity` units of `combo_legs`: the close legs turned the way `close.quantity` trades them
    and the open legs the way `open.quantity` does, at a net price per unit that is the close part's signed price plus
    the open part's (`mid_price`, `natural_price`). Both parts trade the same number of units."""

    strategy_id: str
    """The held strategy (the one closed); the replacement is `open.strategy_id`."""
    close: CloseStrategy
    open: OpenStrategy

    @property
    def combo_quantity(self) -> int:
        return abs(self.open.quantity)

    @property
    def close_sign(self) -> int:
        return 1 if self.close.quantity > 0 else -1

    @property
    def open_sign(self) -> int:
        return 1 if self.open.quantity > 0 else -1

    @property
    def combo_legs(self) -> Legs:
        """Close legs then open legs, per combo unit; a contract in both nets out (a zero ratio is left out)."""
        ratios: dict = {}
        for legs, sign in ((self.close.legs, self.close_sign), (self.open.legs, self.open_sign)):
            for leg in legs:
                ratios[leg.contract] = ratios.get(leg.contract, 0) + leg.ratio * sign
        return tuple(Leg(contract, ratio) for contract, ratio in ratios.items() if ratio)

    @property
    def mid_price(self) -> float:
        return round(self.close_sign * self.close.mid_price + self.open_sign * self.open.mid_price, 4)

    @property
    def natural_price(self) -> float:
        return round(self.close_sign * self.close.natural_price + self.open_sign * self.open.natural_price, 4)


class DecisionRecord(Event, frozen=True, kw_only=True):
    """Why the decision actor did (or did not) act: one line a trader can read."""

    strategy_id: str
    action: str
    rule: str
    detail: str
