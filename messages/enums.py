"""The closed sets of names messages carry: states, purposes, outcomes, levels and timer keys.

`StrEnum`s whose values are the strings the journal has always held, so old journals decode and new ones are
byte-identical; a member compares equal to its value, and msgspec refuses any other value at the boundary.
"""

from __future__ import annotations

from enum import StrEnum


class TradingState(StrEnum):
    ACTIVE = "ACTIVE"
    """Everything allowed."""
    REDUCING = "REDUCING"
    """Only closing intents."""
    HALTED = "HALTED"
    """Nothing but cancels."""


class BreakerState(StrEnum):
    CLOSED = "CLOSED"
    OPEN = "OPEN"
    HALF_OPEN = "HALF_OPEN"


class OrderPurpose(StrEnum):
    OPEN = "open"
    CLOSE = "close"
    ROLL = "roll"
    """One combo that closes a held strategy and opens its replacement (`RollStrategy`)."""


class OrderOutcome(StrEnum):
    """How an order ended (`OrderTerminated.status`)."""

    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


class AlertLevel(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class ConnectionState(StrEnum):
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    DEGRADED = "degraded"
    """Up, but the outcome of some orders is unknown."""


class StorageState(StrEnum):
    OK = "ok"
    FAILING = "failing"
    UNFLUSHED = "unflushed"


class TimerKey(StrEnum):
    """Every timer a core arms. A key ending in ':' is a family: one timer per order, `key.of(order_id)`."""

    FLUSH = "flush"
    DERIVED_COMMIT = "derived_commit"
    BREAKER_COOLDOWN = "breaker_cooldown"
    ENTRY = "evaluate"
    EXITS = "exits"
    STALE = "stale"
    GREEKS = "greeks"
    SIM_TICK = "tick"
    SIM_DELIVER = "deliver"
    SIM_POSITIONS = "positions"
    IB_RESTART_WINDOW = "restart_window"
    IB_ORDER_SYNC = "order_sync"
    IB_EX_DIVIDEND = "ex_dividend"
    ANNOUNCE_AGAIN = "announce_again"
    ORDER_STEP = "step:"
    ORDER_DEADLINE = "deadline:"
    IB_COMMISSION = "commission:"
    IB_FILL_CHECK = "fill_check:"
    WHAT_IF = "what_if:"

    def of(self, ident: str) -> str:
        return f"{self.value}{ident}"

    def owns(self, key: str) -> bool:
        return key.startswith(self.value) if self.value.endswith(":") else key == self.value
