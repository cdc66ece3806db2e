"""Risk: approvals and denials of intents, trading state, circuit breaker, operator halt/resume."""

from __future__ import annotations

from messages.base import Command, Event, Legs
from messages.decisions import CloseStrategy, OpenStrategy, RollStrategy
from messages.enums import BreakerState, TradingState


class IntentApproved(Event, frozen=True, kw_only=True):
    intent: OpenStrategy | CloseStrategy | RollStrategy


class IntentDenied(Event, frozen=True, kw_only=True):
    strategy_id: str
    check: str
    reason: str


class WhatIfRequested(Command, frozen=True, kw_only=True):
    """Risk asks the broker what the exact opening order (these legs, quantity and limit) would do to the account's
    margin — IB's what-if order — before it approves the intent. Only a broker that can answer (IB) is asked."""

    strategy_id: str
    legs: Legs
    quantity: int
    limit_price: float


class WhatIfAnswered(Event, frozen=True, kw_only=True):
    """The broker's answer to a `WhatIfRequested`, in dollars; None where IB left a value unknown. A non-empty
    `error` means there are no numbers: IB refused the what-if, or it could not be asked."""

    strategy_id: str
    init_margin_before_usd: float | None = None
    init_margin_change_usd: float | None = None
    init_margin_after_usd: float | None = None
    maint_margin_after_usd: float | None = None
    equity_with_loan_after_usd: float | None = None
    commission_usd: float | None = None
    error: str = ""
    code: int = 0
    """IB's error code when IB itself refused the what-if (0: it answered, or was never asked or never answered)."""


class TradingStateChanged(Event, frozen=True, kw_only=True):
    state: TradingState
    reason: str


class BreakerStateChanged(Event, frozen=True, kw_only=True):
    state: BreakerState
    reason: str


class Halt(Command, frozen=True, kw_only=True):
    reason: str


class Resume(Command, frozen=True, kw_only=True):
    reason: str


class _RiskState(Event, frozen=True, kw_only=True):
    trading_state: TradingState
    trading_reason: str
    breaker_state: BreakerState
    breaker_since_ns: int
    failures_ns: tuple[int, ...]
    half_open_successes: int


class RiskStateSnapshot(_RiskState, frozen=True, kw_only=True):
    """The risk actor's durable state, published on every change and journaled."""


class RiskStateRestored(_RiskState, frozen=True, kw_only=True):
    """The last journaled `RiskStateSnapshot`, handed back to the risk actor of a starting node."""
