"""What the exit rules remember of a position beyond the portfolio's facts (held by the decision core per strategy)."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class ExitBaseline:
    """What the exit rules remember of a position beyond the portfolio's facts: IV and VIX at its first complete
    quote set after the fill, and its best P&L so far (the trailing stop's peak)."""

    entry_iv: float = 0.0
    entry_vix: float = 0.0
    peak_pnl_usd: float = 0.0
    opened_quantity: int = 0
    """The most units it ever held: the scaled take-profit's tiers are fractions of it."""
    opened_at: int = 0
    """Its StrategyOpened's time: the IV-percentile exit judges only stats computed since."""

    def resized(self, old_quantity: int, new_quantity: int) -> ExitBaseline:
        """Part closed (or a late fill): the peak P&L stays the same per unit."""
        scale = new_quantity / old_quantity if old_quantity and new_quantity else 1.0
        return replace(self, peak_pnl_usd=self.peak_pnl_usd * scale,
                       opened_quantity=max(self.opened_quantity, abs(new_quantity)))
