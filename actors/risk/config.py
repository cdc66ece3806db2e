"""`[risk]`: pre-trade limits and the circuit breaker."""

from __future__ import annotations

from actors.config_section import Section


class RiskSection(Section, frozen=True, kw_only=True):
    LIMITS = {"max_positions": (0, 1000), "max_positions_per_symbol": (0, 1000), "max_portfolio_delta": (0, 1e6),
              "max_portfolio_gamma": (0, 1e6), "max_portfolio_vega": (0, 1e7), "max_symbol_delta": (0, 1e6),
              "max_daily_loss_usd": (1, 1e9), "max_intents_per_minute": (0, 10_000),
              "max_contracts_per_order": (1, 10_000), "price_collar_pct": (0.001, 1), "breaker_failures": (1, 1000),
              "breaker_window_s": (1, 86_400), "breaker_cooldown_s": (1, 7 * 86_400),
              "breaker_half_open_successes": (1, 1000), "max_loss_exposure_pct": (0, 10),
              "max_symbol_exposure_pct": (0, 10), "max_expiry_exposure_pct": (0, 10), "max_margin_utilisation": (0, 1),
              "what_if_timeout_s": (0.1, 600)}
    max_positions: int = 5
    """0 (like a zero greek or intent-rate limit) opens nothing: the most restrictive setting, not a disarmed one."""
    max_positions_per_symbol: int = 5
    max_portfolio_delta: float = 50.0
    """Greek limits are in contract-equivalent units (share delta / 100), checked after the new trade."""
    max_portfolio_gamma: float = 10.0
    max_portfolio_vega: float = 500.0
    max_symbol_delta: float = 20.0
    max_daily_loss_usd: float = 1_000.0
    """Realised loss today plus the new trade's max loss; a breach of the realised part alone → REDUCING."""
    max_intents_per_minute: int = 30
    max_contracts_per_order: int = 10
    price_collar_pct: float = 0.25
    """Natural may sit at most this fraction of |mid| away from mid: execution walks the limit up to natural."""
    max_loss_exposure_pct: float = 0.30
    """Dollar limits, as fractions of net liquidation: the max loss of every open and pending strategy plus the new
    one..."""
    max_symbol_exposure_pct: float = 0.20
    """...of those on the new trade's underlying..."""
    max_expiry_exposure_pct: float = 0.20
    """...and of those expiring with it (a strategy expires with its nearest leg)."""
    max_margin_utilisation: float = 0.50
    """Margin in use after the trade (the broker's initial margin, at least the open strategies' max loss, plus the
    pending and new trades' max loss) may be at most this fraction of net liquidation; the new trade's margin must
    also fit in the broker's available funds (buying power)."""
    what_if_timeout_s: float = 10.0
    """On IB, how long an opening intent waits for IB's what-if of its exact order; no answer by then denies it
    (`what_if_timeout`). The simulated broker computes margin locally and is never asked."""
    breaker_failures: int = 5
    breaker_window_s: float = 60.0
    breaker_cooldown_s: float = 300.0
    breaker_half_open_successes: int = 3
