"""`[ib]`: the IB session, its ports, pacing and market-data lines."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import msgspec

from actors.config_section import Section

PAPER_PORTS = (7497, 4002)
"""TWS and IB Gateway paper-trading API ports."""
LIVE_PORTS = (7496, 4001)
"""TWS and IB Gateway live-trading API ports: refused unless `ib.live = true`."""
MARKET_DATA_TYPES = {"live": 1, "frozen": 2, "delayed": 3, "delayed_frozen": 4, "auto": 1}
"""`auto` starts live and falls back to delayed (3) for requests IB refuses for want of a subscription."""
IB_PACING_LIMIT_PER_S = 50


class IbSection(Section, frozen=True, kw_only=True):
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
