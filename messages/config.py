"""Node configuration: TOML sections as frozen structs. Unknown keys and bad values are errors naming the field."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any, ClassVar, Literal

import msgspec


class ConfigError(ValueError):
    """A config that cannot be used; the text names the file and the field."""


DEFAULT_MAX = 1e9
"""Any number without a stated range must stay below this: a 23-digit integer is a typo, never a setting."""
EARLIEST = dt.datetime(1990, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)


class _Section(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    LIMITS: ClassVar[dict[str, tuple[float, float]]] = {}
    """Inclusive ranges of the section's limits; other numbers must be finite and within [0, DEFAULT_MAX]."""

    def __post_init__(self) -> None:
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if isinstance(value, dt.datetime) and not EARLIEST <= value < LATEST:
                raise ValueError(f"`{name}` must fall within {EARLIEST:%Y}-{LATEST:%Y}, got {value:%Y-%m-%d}")
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                continue
            if not math.isfinite(value):
                raise ValueError(f"`{name}` must be a finite number, got {value}")
            low, high = self.LIMITS.get(name, (0, DEFAULT_MAX))
            if not low <= value <= high:
                raise ValueError(f"`{name}` must be within [{low:g}, {high:g}], got {value}")

    @staticmethod
    def _ordered(low_name: str, low: float, high_name: str, high: float, strict: bool = True) -> None:
        if low > high or (strict and low == high):
            raise ValueError(f"`{low_name}` ({low:g}) must be {'below' if strict else 'at most'} `{high_name}` "
                             f"({high:g})")


class NodeSection(_Section, frozen=True, kw_only=True):
    session_id: str = ""
    broker: Literal["sim", "ib"] = "sim"
    clock: Literal["wall", "virtual", "shifted"] = "wall"
    """`virtual` runs `thetanode run` as fast as the actors go, continuing from the lake's last instant (or
    `sim.start`): accelerated paper sessions and recovery drills. `shifted` runs at wall-clock speed from
    `clock_start` (drills against a test gateway outside market hours). Live trading uses `wall`."""
    clock_start: dt.datetime = dt.datetime(2026, 3, 2, 14, 35, tzinfo=dt.UTC)
    lake_uri: str = "thetanode-data/lake"
    storage_options: dict[str, str] = {}

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.lake_uri.strip():
            raise ValueError("`lake_uri` must name a lake (a directory or an object-store URI)")


class SimSection(_Section, frozen=True, kw_only=True):
    LIMITS = {"seed": (0, 2**63 - 1), "tick_interval_s": (0.001, 86_400), "scripted_iv": (0.001, 5),
              "rate": (0, 1), "dividend_yield": (0, 1), "commission_per_contract_usd": (0, 100),
              "latency_ms": (0, 3_600_000), "positions_interval_s": (0.001, 86_400)}
    seed: int = 7
    start: dt.datetime = dt.datetime(2026, 3, 2, 14, 30, tzinfo=dt.UTC)
    market: Literal["generated", "scripted"] = "generated"
    tick_interval_s: float = 300.0
    scripted_iv: float = 0.18
    rate: float = 0.04
    dividend_yield: float = 0.013
    commission_per_contract_usd: float = 0.65
    partial_fill_probability: float = 0.0
    """Chance that a crossing combo order of several units fills only some of them this time."""
    reject_probability: float = 0.0
    latency_ms: int = 0
    """Delay of every acknowledgement, fill and cancel confirmation."""
    positions_interval_s: float = 900.0
    """How often the simulated account reports its positions (and after every fill)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("partial_fill_probability", "reject_probability"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"`{name}` must be within [0, 1]")


StrategyKind = Literal["iron_condor", "bull_put", "bear_call", "bull_call_debit", "bear_put_debit", "custom"]


class CustomLeg(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One leg of a custom structure: the strike whose |delta| is nearest `delta`, bought (+) or sold (-)."""

    right: Literal["C", "P"]
    delta: float
    ratio: int

    def __post_init__(self) -> None:
        if not 0 < self.delta < 1:
            raise ValueError(f"custom leg `delta` must be within (0, 1), got {self.delta}")
        if self.ratio == 0:
            raise ValueError("custom leg `ratio` must not be 0")


class EntrySection(_Section, frozen=True, kw_only=True):
    LIMITS = {"evaluate_interval_s": (0.01, 86_400), "dte_min": (0, 3650), "dte_max": (0, 3650),
              "short_delta_tolerance": (0, 0.5), "long_delta": (0.01, 0.99), "wing_width": (0.01, 10_000),
              "min_credit": (0, 10_000), "min_credit_to_width": (0, 1), "max_debit_to_width": (0.01, 1),
              "max_leg_spread": (0, 10_000), "max_leg_spread_pct": (0, 10), "quantity": (1, 10_000),
              "min_iv_history_days": (0, 3650), "vix_min": (0, 500), "vix_max": (0, 500)}
    symbols: tuple[str, ...] = ("SPY",)
    strategy: StrategyKind = "iron_condor"
    evaluate_interval_s: float = 900.0
    dte_min: int = 30
    dte_max: int = 45
    short_delta: float = 0.18
    short_delta_tolerance: float = 0.04
    long_delta: float = 0.55
    """Debit verticals buy the strike nearest this delta and sell `wing_width` further out."""
    wing_width: float = 5.0
    min_credit: float = 0.30
    min_credit_to_width: float = 0.10
    max_debit_to_width: float = 0.65
    max_leg_spread: float = 0.50
    """Liquidity: a leg whose bid/ask is wider than this (dollars) or than `max_leg_spread_pct` of its mid is skipped."""
    max_leg_spread_pct: float = 0.30
    custom_legs: tuple[CustomLeg, ...] = ()
    quantity: int = 1
    iv_rank_min: float = 0.0
    iv_rank_max: float = 100.0
    min_iv_history_days: int = 0
    """The IV-rank gate needs at least this many daily samples (0: judge from whatever history exists)."""
    vix_min: float = 0.0
    vix_max: float = 35.0
    blackout_dates: tuple[dt.date, ...] = ()
    """No new positions on these New York dates (FOMC, CPI, earnings of a heavy index member...)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.dte_min > self.dte_max:
            raise ValueError(f"`dte_min` ({self.dte_min}) exceeds `dte_max` ({self.dte_max})")
        if not 0 < self.short_delta < 0.5:
            raise ValueError(f"`short_delta` must be within (0, 0.5), got {self.short_delta}")
        if self.quantity < 1:
            raise ValueError("`quantity` must be at least 1")
        if not self.symbols:
            raise ValueError("`symbols` must name at least one underlying")
        if self.strategy == "custom" and not self.custom_legs:
            raise ValueError("`strategy = \"custom\"` needs `custom_legs`")
        if not 0 <= self.iv_rank_min <= self.iv_rank_max <= 100:
            raise ValueError("`iv_rank_min` and `iv_rank_max` must satisfy 0 <= min <= max <= 100")
        self._ordered("vix_min", self.vix_min, "vix_max", self.vix_max)


EXIT_RULE_NAMES = (
    "catastrophe", "stop_loss", "delta_breach", "vix_spike", "gamma_risk", "expiry_day", "trailing_stop",
    "take_profit", "iv_crush", "roll", "dte_exit",
)


class ExitSection(_Section, frozen=True, kw_only=True):
    LIMITS = {"stop_loss_multiple": (0.01, 100), "near_expiry_dte": (0, 3650), "near_expiry_stop_multiple": (0.01, 100),
              "dte_exit": (0, 3650), "short_delta_breach": (0.01, 1), "gamma_risk_threshold": (0.0001, 100),
              "gamma_risk_dte": (0, 3650), "iv_crush_drop_pct": (0.01, 1), "iv_crush_min_profit_pct": (0, 1),
              "catastrophe_move_pct": (0.001, 1), "catastrophe_window_s": (1, 30 * 86_400),
              "catastrophe_iv_jump_pct": (0.01, 100), "vix_spike_level": (1, 500), "vix_spike_rise": (0.01, 500),
              "trailing_activate_pct": (0.01, 1), "trailing_giveback_pct": (0.01, 1), "expiry_close_dte": (0, 3650),
              "roll_at_dte": (0, 3650), "roll_to_dte": (0, 3650), "evaluation_delay_ms": (0, 3_600_000),
              "max_quote_age_s": (1, 30 * 86_400)}
    take_profit_pct: float = 0.50
    """Of max profit."""
    stop_loss_multiple: float = 2.0
    """Loss as a multiple of the credit (debit trades: fraction of the debit, at most 1)."""
    near_expiry_dte: int = 7
    near_expiry_stop_multiple: float = 0.5
    dte_exit: int = 21
    short_delta_breach: float = 0.35
    gamma_risk_threshold: float = 0.10
    gamma_risk_dte: int = 14
    iv_crush_drop_pct: float = 0.30
    iv_crush_min_profit_pct: float = 0.20
    catastrophe_move_pct: float = 0.03
    catastrophe_window_s: float = 3600.0
    catastrophe_iv_jump_pct: float = 0.50
    vix_spike_level: float = 35.0
    vix_spike_rise: float = 5.0
    trailing_activate_pct: float = 0.40
    """The trailing stop arms once P&L reaches this fraction of max profit..."""
    trailing_giveback_pct: float = 0.40
    """...and fires when P&L falls this fraction back from its peak."""
    expiry_close_dte: int = 1
    roll_enabled: bool = False
    roll_at_dte: int = 21
    roll_to_dte: int = 45
    priority: tuple[str, ...] = ()
    """Rule order, highest first; empty = the default order in actors/decision/rules.py."""
    evaluation_delay_ms: int = 250
    """Exit rules run this long after a leg quote arrives, once for the whole burst of leg quotes (coalescing): IB
    updates a move leg by leg and tick by tick, and a mark mixing new and old legs is a price nobody quotes."""
    max_quote_age_s: float = 900.0
    """Rules judge a position only on leg quotes at most this old: a mark from stale quotes is not a price."""
    close_retry_initial_s: float = 2.0
    """A close the broker refused is tried again after this long, doubling with each refusal..."""
    close_retry_max_s: float = 60.0
    """...up to this."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 < self.close_retry_initial_s <= self.close_retry_max_s:
            raise ValueError("`close_retry_initial_s` must be positive and at most `close_retry_max_s`")
        if not 0 < self.take_profit_pct <= 1:
            raise ValueError(f"`take_profit_pct` must be within (0, 1], got {self.take_profit_pct}")
        unknown = [name for name in self.priority if name not in EXIT_RULE_NAMES]
        if unknown:
            raise ValueError(f"`priority` names unknown rule {unknown[0]!r}; rules: {', '.join(EXIT_RULE_NAMES)}")
        if self.priority and sorted(self.priority) != sorted(EXIT_RULE_NAMES):
            missing = sorted(set(EXIT_RULE_NAMES) - set(self.priority))
            raise ValueError(f"`priority` must list every rule exactly once; missing or repeated: {missing}")
        if self.roll_enabled and self.roll_to_dte <= self.roll_at_dte:
            raise ValueError("`roll_to_dte` must be beyond `roll_at_dte`")


class RiskSection(_Section, frozen=True, kw_only=True):
    LIMITS = {"max_positions": (0, 1000), "max_positions_per_symbol": (0, 1000), "max_portfolio_delta": (0, 1e6),
              "max_portfolio_gamma": (0, 1e6), "max_portfolio_vega": (0, 1e7), "max_symbol_delta": (0, 1e6),
              "max_daily_loss_usd": (1, 1e9), "max_intents_per_minute": (0, 10_000),
              "max_contracts_per_order": (1, 10_000), "price_collar_pct": (0.001, 1), "breaker_failures": (1, 1000),
              "breaker_window_s": (1, 86_400), "breaker_cooldown_s": (1, 7 * 86_400),
              "breaker_half_open_successes": (1, 1000)}
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
    breaker_failures: int = 5
    breaker_window_s: float = 60.0
    breaker_cooldown_s: float = 300.0
    breaker_half_open_successes: int = 3


class ExecutionSection(_Section, frozen=True, kw_only=True):
    LIMITS = {"step_interval_s": (0.01, 3600), "price_steps": (1, 100), "deadline_s": (0.1, 86_400)}
    step_interval_s: float = 30.0
    price_steps: int = 4
    deadline_s: float = 300.0
    cancel_retry_s: float = 10.0
    """A cancel the broker has neither confirmed nor refused after this long is sent again; a refused one too."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.cancel_retry_s > 0:
            raise ValueError(f"`cancel_retry_s` must be positive, got {self.cancel_retry_s}")


class MarketDataSection(_Section, frozen=True, kw_only=True):
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


class PersistenceSection(_Section, frozen=True, kw_only=True):
    LIMITS = {"batch_max": (1, 1_000_000), "flush_interval_ms": (1, 86_400_000), "max_buffer": (1, 10_000_000),
              "retry_max_s": (0.01, 3600), "compact_interval_h": (0, 8760)}
    batch_max: int = 2000
    flush_interval_ms: int = 100
    max_buffer: int = 50_000
    """Messages held while storage fails; beyond this the writer blocks and retries, so back-pressure reaches
    every publisher through the mailboxes instead of memory growing without bound."""
    retry_max_s: float = 5.0
    """Cap of the exponential backoff between commits while storage fails."""
    local_dir: str = "thetanode-data/lakes"
    """Where the write-ahead log of an object-store lake lives (a local lake keeps it inside itself)."""
    compact_interval_h: float = 24.0
    """`thetanode run` compacts and vacuums every table this often (0: only by `thetanode compact`)."""


class MailboxSection(_Section, frozen=True, kw_only=True):
    LIMITS = {"block_bound": (1, 10_000_000), "block_timeout_s": (0.01, 3600), "drop_oldest_bound": (1, 10_000_000)}
    block_bound: int = 10_000
    block_timeout_s: float = 5.0
    drop_oldest_bound: int = 1_000


class SupervisorSection(_Section, frozen=True, kw_only=True):
    LIMITS = {"max_restarts": (0, 1000), "restart_window_s": (0.01, 86_400), "backoff_initial_s": (0, 60),
              "backoff_max_s": (0, 3600)}
    max_restarts: int = 3
    restart_window_s: float = 60.0
    backoff_initial_s: float = 0.05
    backoff_max_s: float = 2.0

    def __post_init__(self) -> None:
        super().__post_init__()
        self._ordered("backoff_initial_s", self.backoff_initial_s, "backoff_max_s", self.backoff_max_s, strict=False)


class AlertsSection(_Section, frozen=True, kw_only=True):
    LIMITS = {"webhook_timeout_s": (0.1, 300), "webhook_attempts": (1, 100)}
    webhook_url: str = ""
    """POST every alert at or above `min_level` as JSON here (Slack/Teams/PagerDuty-style incoming webhook)."""
    min_level: Literal["info", "warning", "critical"] = "warning"
    webhook_timeout_s: float = 5.0
    webhook_attempts: int = 3

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.webhook_url and not self.webhook_url.startswith(("http://", "https://")):
            raise ValueError(f"`webhook_url` must be an http(s) URL, got {self.webhook_url!r}")


class ServiceSection(_Section, frozen=True, kw_only=True):
    LIMITS = {"health_port": (0, 65_535), "heartbeat_interval_s": (0.01, 3600), "control_poll_s": (0.01, 3600),
              "shutdown_timeout_s": (0.1, 3600), "client_id": (0, 2**31 - 1), "lease_s": (3, 3600)}
    health_host: str = "127.0.0.1"
    health_port: int = 8787
    """`/health` and `/metrics` (Prometheus); 0 disables the endpoint."""
    heartbeat_file: str = "thetanode-data/heartbeat.json"
    heartbeat_interval_s: float = 5.0
    control_dir: str = "thetanode-data/control"
    """Where `thetanode halt|resume` leave commands for the running node, and where its lock file lives."""
    control_poll_s: float = 1.0
    shutdown_timeout_s: float = 20.0
    cancel_working_orders_on_stop: bool = True
    client_id: int = 1
    """The IB API client id. One node per lake whatever its client id (the lake's lock, README)."""
    lease_s: float = 30.0
    """An object-store lake's writer lease: renewed every third of this; another node may take it over only after
    it expired."""
    log_file: str = ""
    """JSON-lines log with rotation; empty logs to stderr only."""
    log_rotation: str = "50 MB"
    log_retention: str = "14 days"


PAPER_PORTS = (7497, 4002)
"""TWS and IB Gateway paper-trading API ports."""
LIVE_PORTS = (7496, 4001)
"""TWS and IB Gateway live-trading API ports: refused unless `ib.live = true`."""
MARKET_DATA_TYPES = {"live": 1, "frozen": 2, "delayed": 3, "delayed_frozen": 4, "auto": 1}
"""`auto` starts live and falls back to delayed (3) for requests IB refuses for want of a subscription."""
IB_PACING_LIMIT_PER_S = 50


class IbSection(_Section, frozen=True, kw_only=True):
    LIMITS = {"port": (1, 65_535), "connect_timeout_s": (0.1, 600), "reconnect_initial_s": (0.01, 3600),
              "reconnect_max_s": (0.01, 86_400), "market_data_lines": (10, 100_000),
              "chain_quote_timeout_s": (0.1, 600), "chain_expiries": (1, 52), "commission_wait_s": (0.01, 600),
              "positions_settle_s": (0.01, 600), "executions_sweep_s": (1, 86_400),
              "restart_pause_before_min": (0, 600), "restart_pause_after_min": (0, 600)}
    host: str = "127.0.0.1"
    port: int = 7497
    """TWS paper port; IB Gateway's paper port is 4002. Live ports (7496, 4001) need `live = true`."""
    live: bool = False
    """Trade real money. Without it the node refuses live ports and accounts that are not paper (DU...)."""
    account: str = ""
    """The managed account to trade; empty = the only one the login manages."""
    readonly: bool = False
    """Connect read-only: market data, positions and account only; every order is refused before IB."""
    connect_timeout_s: float = 10.0
    reconnect_initial_s: float = 1.0
    reconnect_max_s: float = 60.0
    max_requests_per_s: int = 45
    """Outgoing API messages per second; IB disconnects a client above 50."""
    market_data_lines: int = 90
    """Market-data lines the node may hold at once, streams and chain scans together. IB counts lines per
    username across every client and TWS window (100 by default), so keep headroom; when IB still answers 101 the
    node frees a chain-scan line and retries, and lowers its budget to what IB allowed."""
    market_data_type: Literal["live", "frozen", "delayed", "delayed_frozen", "auto"] = "live"
    """`auto`: live, and delayed (15-20 min late, alerted) where IB refuses live data for want of a subscription."""
    generic_ticks: str = ""
    """Generic ticks asked with every option quote (e.g. "100,101,106": volume, open interest, IV). No rule reads
    them today, and each may need its own subscription (10090), so none by default."""
    index_underlyings: dict[str, str] = msgspec.field(
        default_factory=lambda: {"SPX": "CBOE", "NDX": "NASDAQ", "RUT": "RUSSELL", "XSP": "CBOE"})
    """Underlyings that are indexes, with their exchange: streamed as IND, their chains asked with secType IND."""
    trading_classes: dict[str, str] = msgspec.field(default_factory=lambda: {"SPX": "SPXW", "NDX": "NDXP",
                                                                              "RUT": "RUTW"})
    """Option trading class per underlying where the symbol alone is ambiguous (SPX monthlies vs SPXW weeklies share
    third Fridays); others use their symbol."""
    chain_strike_range_pct: float = 0.10
    """A chain request quotes strikes within this fraction of spot..."""
    chain_expiries: int = 1
    """...of this many listed expiries nearest the middle of the requested DTE window."""
    chain_quote_timeout_s: float = 10.0
    """How long a chain batch waits for bid, ask and model greeks before it reports what arrived."""
    commission_wait_s: float = 2.0
    """A combo fill waits this long for its legs' commission reports before it is booked without them."""
    positions_settle_s: float = 1.0
    """Position, portfolio and account updates are published once they have been quiet this long."""
    executions_sweep_s: float = 60.0
    """Every this often the session asks IB for the day's executions again: no fill is lost to a missed event."""
    daily_restart: str = "23:45"
    """New York time of the gateway's daily auto-restart (HH:MM; empty: none). No order goes out around it."""
    restart_pause_before_min: float = 5.0
    restart_pause_after_min: float = 10.0
    volatility_index: str = "VIX"
    volatility_index_exchange: str = "CBOE"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.port in LIVE_PORTS and not self.live:
            raise ValueError(f"`port` {self.port} is a live-trading port; set `live = true` to trade real money, or "
                             f"use a paper port ({', '.join(map(str, PAPER_PORTS))})")
        if self.live and self.port in PAPER_PORTS:
            raise ValueError(f"`live = true` but `port` {self.port} is a paper-trading port")
        if not 1 <= self.max_requests_per_s < IB_PACING_LIMIT_PER_S:
            raise ValueError(f"`max_requests_per_s` must be within [1, {IB_PACING_LIMIT_PER_S}), IB's pacing limit")
        if self.market_data_lines < 10:
            raise ValueError("`market_data_lines` must be at least 10")
        if self.chain_expiries < 1 or not 0 < self.chain_strike_range_pct < 1:
            raise ValueError("`chain_expiries` must be at least 1 and `chain_strike_range_pct` within (0, 1)")
        self._ordered("reconnect_initial_s", self.reconnect_initial_s, "reconnect_max_s", self.reconnect_max_s,
                      strict=False)
        self.restart_time()  # a bad time fails here, at load, naming the field

    def restart_time(self) -> dt.time | None:
        if not self.daily_restart:
            return None
        hour, _, minute = self.daily_restart.partition(":")
        if not (hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60):
            raise ValueError(f"`daily_restart` must be HH:MM (New York time), got {self.daily_restart!r}")
        return dt.time(int(hour), int(minute))


class NodeConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    node: NodeSection = NodeSection()
    sim: SimSection = SimSection()
    entry: EntrySection = EntrySection()
    exits: ExitSection = ExitSection()
    risk: RiskSection = RiskSection()
    execution: ExecutionSection = ExecutionSection()
    market_data: MarketDataSection = MarketDataSection()
    persistence: PersistenceSection = PersistenceSection()
    mailbox: MailboxSection = MailboxSection()
    supervisor: SupervisorSection = SupervisorSection()
    alerts: AlertsSection = AlertsSection()
    service: ServiceSection = ServiceSection()
    ib: IbSection = IbSection()

    def __post_init__(self) -> None:
        if self.ib.live and self.node.clock != "wall":
            raise ValueError(f"`ib.live = true` trades real money on the wall clock only, not `node.clock = "
                             f"\"{self.node.clock}\"`")
        if self.node.clock == "shifted" and self.node.broker == "sim":
            raise ValueError("`node.clock = \"shifted\"` is for drills against an IB test gateway; the simulated "
                             "broker runs on `wall` or `virtual`")


DEFAULT_CONFIG = NodeConfig()


def _merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def config_from_mapping(
    overrides: dict[str, Any], *, source: str = "config", base: NodeConfig = DEFAULT_CONFIG
) -> NodeConfig:
    """`base` (the defaults) overlaid with `overrides` (nested tables merge key by key)."""
    if not isinstance(overrides, dict):
        raise ConfigError(f"{source}: expected a table of sections, got {type(overrides).__name__}")
    merged = _merge(msgspec.to_builtins(base), overrides)
    try:
        return msgspec.convert(merged, NodeConfig)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{source}: {exc}") from None


def load_config(path: str | Path) -> NodeConfig:
    path = Path(path)
    try:
        raw = msgspec.toml.decode(path.read_bytes())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a config file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text file (TOML must be UTF-8)") from None
    except msgspec.DecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {' '.join(str(exc).split())}") from None
    return config_from_mapping(raw, source=str(path))
