"""Entry gates: pure checks that must all pass before the decision actor looks for a new position."""

from __future__ import annotations

import datetime as dt

from actors.decision.config import EntrySection
from messages import VolatilityStats


def entry_gate_failure(
    symbol: str, today: dt.date, vix: float, stats: VolatilityStats | None, params: EntrySection
) -> str | None:
    """Why no new `symbol` position may open now, or None."""
    if today in params.blackout_dates:
        return f"{today} is an event blackout date"
    if vix and not params.vix_min <= vix <= params.vix_max:
        return f"VIX {vix:.1f} outside {params.vix_min:g}-{params.vix_max:g}"
    if params.iv_rank_min > 0 or params.iv_rank_max < 100:
        if stats is None:
            return f"no IV rank for {symbol} yet"
        if stats.history_days < params.min_iv_history_days:
            return f"{symbol} IV history {stats.history_days} days, need {params.min_iv_history_days}"
        if not params.iv_rank_min <= stats.iv_rank <= params.iv_rank_max:
            return f"{symbol} IV rank {stats.iv_rank:.0f} outside {params.iv_rank_min:g}-{params.iv_rank_max:g}"
    return None
