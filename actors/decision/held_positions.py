"""What the IV-percentile exit needs of the positions held: fresh volatility stats for their underlyings.

Market data computes an underlying's IV percentile from its option chain, and the decision core asks for a chain only
for the symbols it may enter, never for one it already holds. While the exit is on, every held underlying's chain is
asked for once per entry interval (with the entry's expiry window, so the daily IV samples stay comparable); the
chain's only use is the `VolatilityStats` it produces.
"""

from __future__ import annotations

from collections.abc import Iterator

from actors.decision.config import EntrySection
from actors.portfolio.view import PortfolioView
from messages import ChainRequest, VolatilityStats


def held_on(portfolio: PortfolioView, symbol: str) -> list[str]:
    """Open strategies on `symbol`, in id order."""
    return [s for s in portfolio.open_ids() if portfolio.holding(s).symbol == symbol]


def held_vol_requests(portfolio: PortfolioView, entry: EntrySection, awaited: set[str]) -> Iterator[ChainRequest]:
    """A chain request per held underlying whose chain is not already on its way (for an entry or a roll)."""
    for symbol in sorted({portfolio.holding(s).symbol for s in portfolio.open_ids()} - awaited):
        yield ChainRequest(symbol=symbol, min_dte=entry.dte_min, max_dte=entry.dte_max)


def percentile_since(stats: VolatilityStats | None, opened_at_ns: int) -> float:
    """The percentile if it was computed after the position opened, else -1: the stats the entry was judged on say
    nothing about what the volatility has done since."""
    return stats.iv_percentile if stats is not None and stats.ts > opened_at_ns else -1.0
