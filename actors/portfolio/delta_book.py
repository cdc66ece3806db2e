"""Net delta per symbol and for the whole book, kept one strategy at a time: the book's delta exits are judged after
every exits pass (on each quote with no coalescing delay), and summing every open strategy each time made a tick's
cost grow with the positions held.

Deltas are kept in exact integers (greeks are rounded to 4 decimals, so a strategy's delta × 10,000 is whole): sums
never drift however many updates they take. They only say when a total is clearly within its limit; the judgement
itself (near a limit, or beyond it) is the exact float walk of `delta_exit`, so a decision never depends on how a
total was kept.
"""

from __future__ import annotations

from actors.portfolio.view import PortfolioView

UNITS_PER_SHARE = 10_000  # greeks are rounded to 4 decimals
UNITS_PER_CONTRACT = 100 * UNITS_PER_SHARE  # delta exits count contract-equivalents (share delta / 100)
_SLACK = 1e-9
"""Relative bound (of the sum of magnitudes) on how far a float sum of up to ~10^6 deltas, each divided by 100, can
stray from the exact total: a total closer than that to its limit is judged the exact way."""


class DeltaBook:
    SNAPSHOT_STATELESS = True  # derived: a snapshot holds none of it, a restored one is rebuilt on first use

    def __init__(self) -> None:
        self._by_strategy: dict[str, tuple[str, int]] = {}  # strategy id -> (symbol, delta units)
        self._by_symbol: dict[str, list[int]] = {}  # symbol -> [net units, sum of magnitudes]
        self._built = False

    def refresh(self, view: PortfolioView) -> None:
        """Fold in the strategies whose greeks changed since the last refresh (all of them the first time)."""
        changed = view.take_greeks_changed()
        if not self._built:
            changed = set(changed) | set(self._by_strategy) | set(view.open_ids())
            self._built = True
        for strategy_id in changed:
            old = self._by_strategy.pop(strategy_id, None)
            if old is not None:
                self._add(*old, sign=-1)
            holding = view.holding(strategy_id)
            if holding is None:
                continue
            delta = view.strategy_delta(strategy_id)
            units = round(delta * UNITS_PER_SHARE) if delta is not None else 0
            self._by_strategy[strategy_id] = (holding.symbol, units)
            self._add(holding.symbol, units)

    def _add(self, symbol: str, units: int, sign: int = 1) -> None:
        """A strategy's delta joins its symbol's totals (sign 1) or leaves them (sign -1)."""
        totals = self._by_symbol.setdefault(symbol, [0, 0])
        totals[0] += sign * units
        totals[1] += sign * abs(units)

    def clearly_within(self, symbol_limit: float, portfolio_limit: float) -> bool:
        """True when every symbol's and the portfolio's net delta is inside its limit (0: off) by more than a float
        sum could be off: no delta exit can fire, without walking the book."""
        net_all = magnitude_all = 0
        for net, magnitude in self._by_symbol.values():
            if symbol_limit and not _inside(net, magnitude, symbol_limit):
                return False
            net_all += net
            magnitude_all += magnitude
        return not portfolio_limit or _inside(net_all, magnitude_all, portfolio_limit)


def _inside(net_units: int, magnitude_units: int, limit: float) -> bool:
    return abs(net_units) / UNITS_PER_CONTRACT < limit - _SLACK * (1 + magnitude_units / UNITS_PER_CONTRACT)
