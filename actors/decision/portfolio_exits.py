"""Exits judged on the whole book rather than one position: the symbol and portfolio delta exits.

Choice rule: when a symbol's (or the portfolio's) net delta is beyond its limit, close the one open position whose
own delta points furthest the same way as the breach (ties: the lower strategy id) — the single close that cuts the
breach most. One at a time: while a position in that scope is closing, nothing more is chosen; once it is gone the
totals are judged again. Delta is in contract-equivalents (share delta / 100), like the risk limits.
"""

from __future__ import annotations

from dataclasses import dataclass

from actors.decision.config import ExitSection
from actors.portfolio.delta_book import DeltaBook
from actors.portfolio.view import PortfolioView

CONTRACT_DELTA = 100.0


@dataclass(frozen=True)
class BookExit:
    strategy_id: str
    rule: str
    reason: str


def _choose(view: PortfolioView, ids: list[str], deltas: dict[str, float], rule: str, scope: str, limit: float
            ) -> BookExit | None:
    if not limit or any(view.holding(s).closing for s in ids):
        return None
    total = sum(deltas.get(s, 0.0) for s in ids)
    if abs(total) <= limit:
        return None
    sign = 1.0 if total > 0 else -1.0
    worst = max((s for s in ids if s in deltas and deltas[s] * sign > 0), key=lambda s: (deltas[s] * sign, -ids.index(s)),
                default=None)
    if worst is None:
        return None
    return BookExit(worst, rule, f"{scope} delta {total:+.2f} beyond ±{limit:g}: closing the position adding the "
                                 f"most ({deltas[worst]:+.2f})")


def delta_exit(view: PortfolioView, params: ExitSection, book: DeltaBook | None = None) -> BookExit | None:
    """Judged after every exits pass. With a `book` (kept across calls, one strategy per change), totals clearly
    inside their limits end it there; else it walks the book once, each strategy's greeks from the view's cache."""
    if not params.symbol_delta_exit and not params.portfolio_delta_exit:
        return None
    if book is not None:
        book.refresh(view)
        if book.clearly_within(params.symbol_delta_exit, params.portfolio_delta_exit):
            return None
    ids = view.open_ids()
    deltas: dict[str, float] = {}
    by_symbol: dict[str, list[str]] = {}
    for strategy_id in ids:
        by_symbol.setdefault(view.holding(strategy_id).symbol, []).append(strategy_id)
        greeks = view.strategy_greeks(strategy_id)
        if greeks is not None:
            deltas[strategy_id] = greeks.delta / CONTRACT_DELTA
    for symbol in sorted(by_symbol):
        chosen = _choose(view, by_symbol[symbol], deltas, "symbol_delta", symbol, params.symbol_delta_exit)
        if chosen is not None:
            return chosen
    return _choose(view, ids, deltas, "portfolio_delta", "portfolio", params.portfolio_delta_exit)
