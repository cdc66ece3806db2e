"""Exit rules: pure functions of one position's state, evaluated in priority order; the first that fires wins.

P&L is credit-aware through signed prices: a position's value per unit is `sum(ratio * leg_mid)`; profit per unit is
`mark - entry`, which is positive when a credit structure gets cheaper to buy back or a debit structure gains value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from messages import CONTRACT_MULTIPLIER, Leg
from messages.config import ExitSection


@dataclass(frozen=True)
class PositionState:
    strategy_id: str
    legs: tuple[Leg, ...]
    quantity: int
    entry_price: float
    max_profit_usd: float
    mark_price: float
    days_to_expiry: int

    @property
    def pnl_usd(self) -> float:
        return (self.mark_price - self.entry_price) * self.quantity * CONTRACT_MULTIPLIER

    @property
    def is_credit(self) -> bool:
        return self.entry_price < 0

    @property
    def premium_usd(self) -> float:
        """Credit received or debit paid, in dollars, always positive."""
        return abs(self.entry_price) * abs(self.quantity) * CONTRACT_MULTIPLIER


@dataclass(frozen=True)
class ExitSignal:
    rule: str
    reason: str


ExitRule = Callable[[PositionState, ExitSection], ExitSignal | None]


def take_profit(position: PositionState, params: ExitSection) -> ExitSignal | None:
    target = params.take_profit_pct * position.max_profit_usd
    if position.max_profit_usd > 0 and position.pnl_usd >= target:
        return ExitSignal(
            "take_profit",
            f"P&L {position.pnl_usd:+.2f} reached {params.take_profit_pct:.0%} of max profit {position.max_profit_usd:.2f}",
        )
    return None


def stop_loss(position: PositionState, params: ExitSection) -> ExitSignal | None:
    """Credit trades: loss of `stop_loss_multiple` × credit; debit trades: the same multiple of the debit, capped at it."""
    multiple = params.stop_loss_multiple if position.is_credit else min(params.stop_loss_multiple, 1.0)
    limit = multiple * position.premium_usd
    if position.pnl_usd <= -limit:
        return ExitSignal(
            "stop_loss", f"loss {position.pnl_usd:+.2f} reached {multiple:g}× premium {position.premium_usd:.2f}"
        )
    return None


def dte_exit(position: PositionState, params: ExitSection) -> ExitSignal | None:
    if position.days_to_expiry <= params.dte_exit:
        return ExitSignal("dte_exit", f"{position.days_to_expiry} DTE at or below {params.dte_exit}")
    return None


EXIT_RULES: tuple[ExitRule, ...] = (stop_loss, take_profit, dte_exit)


def first_exit(position: PositionState, params: ExitSection) -> ExitSignal | None:
    for rule in EXIT_RULES:
        signal = rule(position, params)
        if signal is not None:
            return signal
    return None
