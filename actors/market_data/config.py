"""`[market_data]`: quote gate, staleness, marks and greeks."""

from __future__ import annotations

from actors.config_section import Section


class MarketDataSection(Section, frozen=True, kw_only=True):
    LIMITS = {"stale_after_s": (1, 30 * 86_400), "stale_check_interval_s": (0.01, 86_400), "iv_history_days": (2, 3650),
              "iv_sample_target_dte": (1, 3650), "greeks_interval_s": (0.01, 86_400)}
    stale_after_s: float = 900.0
    """A subscribed quote older than this while the market is open raises `QuoteStale`."""
    stale_check_interval_s: float = 60.0
    iv_history_days: int = 252
    iv_sample_target_dte: int = 30
    """The daily ATM IV sample is read from the chain expiry closest to this many days."""
    greeks_interval_s: float = 60.0
    max_tick_move_pct: float = 0.05
    """An underlying tick more than this fraction away from the last accepted one is a jump: it is rejected unless
    another source corroborates it (its options' underlying price, the volatility index, or a second tick)."""
    max_index_move_pct: float = 0.50
    """The same for the volatility index (corroborated only by a second tick at the new level)."""
    jump_confirm_pct: float = 0.01
    """How close a corroborating price (an option's underlying price, a second tick) must be to the jump's level."""
    jump_index_move_pct: float = 0.10
    """A volatility-index move this large since the last accepted tick corroborates an underlying's jump."""
    max_underlying_spread_pct: float = 0.01
    """An underlying quote wider than this fraction of its mid is rejected (a broken or pre-market book)."""
    bad_tick_alert_interval_s: float = 300.0
    """At most one alert per symbol and reason in this interval; the next one says how many were rejected since."""
    no_ask_penalty_pct: float = 0.25
    """A short leg nobody offers is marked at the higher of its last good ask and its model value, plus this."""
    model_rate: float = 0.04
    model_dividend_yield: float = 0.013
    """Rate and dividend yield of the node's own option model (greeks IB did not compute, marks of quiet legs)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 < self.max_tick_move_pct < 1 or not 0 < self.jump_confirm_pct < self.max_tick_move_pct:
            raise ValueError("`max_tick_move_pct` must be within (0, 1) and `jump_confirm_pct` within (0, it)")
        if self.stale_check_interval_s <= 0 or self.greeks_interval_s <= 0:
            raise ValueError("`stale_check_interval_s` and `greeks_interval_s` must be positive")
        if self.iv_history_days < 2:
            raise ValueError("`iv_history_days` must be at least 2 for a rank to mean anything")
