"""Risk core: pre-trade checks, trading state ACTIVE / REDUCING / HALTED, and the order-failure circuit breaker.

ACTIVE allows everything, REDUCING only closing intents, HALTED nothing but cancels (which never pass through
risk). While the journal cannot be written nothing new opens; while the write-ahead log cannot be written nothing at
all is approved (no order could be sent). Its state is a pure function of its inputs, published as
`RiskStateSnapshot` on every change so the lake holds it and a restarted node comes back in the same state
(`RiskStateRestored`).
"""

from __future__ import annotations

import datetime as dt
from collections import deque

from actors.market_time import NS_PER_MINUTE, NS_PER_S, new_york_date
from actors.portfolio.account import Account
from actors.portfolio.greeks import structure_greeks
from actors.portfolio.view import PortfolioView
from actors.risk.breaker import CircuitBreaker
from actors.risk.checks import NODE_STATE_CHECK_NAMES, NODE_STATE_CHECKS, Book, first_denial
from actors.risk.config import RiskSection
from actors.risk.what_if import FAILURE_CHECKS, TIMEOUT_CHECK, timeout_reason, what_if_denial
from actors.runtime.core import ActorCore, Context
from messages import (
    REJECT_NOT_SENT,
    Alert,
    AssignedStockClosed,
    AssignedStockDividend,
    BreakerState,
    BreakerStateChanged,
    BrokerAccountValues,
    CloseStrategy,
    Halt,
    IntentApproved,
    IntentDenied,
    Message,
    OpenStrategy,
    OptionQuote,
    OptionQuotes,
    OrderOutcome,
    OrderPurpose,
    OrderRejected,
    OrderTerminated,
    Resume,
    RollStrategy,
    StorageStateChanged,
    StrategyClosed,
    StrategyOpened,
    StrategyPositionChanged,
    StrategyReduced,
    StrategySettled,
    TimerFired,
    TimerKey,
    TradingState,
    TradingStateChanged,
    WhatIfAnswered,
    WhatIfRequested,
)
from messages.risk import RiskStateRestored, RiskStateSnapshot


class RiskCore(ActorCore):
    name = "risk"
    subscriptions = (
        OpenStrategy,
        CloseStrategy,
        RollStrategy,
        IntentDenied,
        StrategyOpened,
        StrategyPositionChanged,
        StrategyClosed,
        StrategyReduced,
        StrategySettled,
        AssignedStockClosed,
        AssignedStockDividend,
        OrderTerminated,
        OrderRejected,
        OptionQuote,
        OptionQuotes,
        Halt,
        Resume,
        RiskStateRestored,
        TimerFired,
        StorageStateChanged,
        BrokerAccountValues,
        WhatIfAnswered,
    )
    lossless = False
    """Quotes conflate (only the latest greeks matter); intents, fills and commands are never dropped."""
    wakes_on_market_data = False  # a quote only updates the book an intent is judged against: nothing to do at once

    def __init__(self, params: RiskSection, what_if: bool = False) -> None:
        self._params = params
        self._what_if = what_if
        """Ask the broker's what-if (IB) before approving an opening intent."""
        self._awaiting: dict[str, tuple[OpenStrategy, int]] = {}
        """Opening intents waiting for their what-if: strategy id → (intent, deadline)."""
        self._rolls: dict[str, RollStrategy] = {}
        """Rolls whose replacement (by its strategy id) waits for its what-if: approved or denied as a whole."""
        self._state = TradingState.ACTIVE
        self._state_reason = ""
        self._breaker = CircuitBreaker(params)
        self._portfolio = PortfolioView()
        self._intent_times: deque[int] = deque()
        self._realized: dict[dt.date, float] = {}  # New York trading date -> realised P&L
        self._booked_parts: dict[str, float] = {}  # strategy id -> realised P&L of its parts closed so far
        self._storage_failing: dict[str, str] = {}  # store -> first error of its current outage
        self._account = Account()

    def on_start(self, ctx: Context) -> None:
        due = self._breaker.cooldown_due_ns()
        if due is not None:  # rebuilt OPEN from the journal: its cool-down still runs
            ctx.set_timer(TimerKey.BREAKER_COOLDOWN, due)
        for strategy_id, (_, deadline) in self._awaiting.items():  # an answer lost with the old run: deny by then
            ctx.set_timer(TimerKey.WHAT_IF.of(strategy_id), deadline)

    def handle(self, message: Message, ctx: Context) -> None:
        match message:
            case OpenStrategy():
                self._on_open_intent(message, ctx)
            case CloseStrategy():
                self._on_close_intent(message, ctx)
            case RollStrategy():  # its replacement passes every opening check, judged without what it replaces
                self._on_open_intent(message.open, ctx, roll=message)
            case (OptionQuote() | OptionQuotes() | StrategyOpened() | StrategyPositionChanged() | IntentDenied()
                  | StrategySettled()):
                self._portfolio.apply(message)  # an opening fill after a cancel opens it too; a settled leg is gone
            case StrategyClosed():
                self._portfolio.apply(message)
                booked_earlier = self._booked_parts.pop(message.strategy_id, 0.0)
                self._on_realized(message.realized_pnl_usd - booked_earlier, ctx)
            case AssignedStockClosed() | AssignedStockDividend():  # an assignment's shares: sold, or a dividend on them
                self._on_realized(message.realized_pnl_usd, ctx)
            case StrategyReduced():  # a take-profit tier: its P&L counts on the day it was taken
                self._booked_parts[message.strategy_id] = (self._booked_parts.get(message.strategy_id, 0.0)
                                                           + message.realized_pnl_usd)
                self._on_realized(message.realized_pnl_usd, ctx)
            case OrderTerminated(purpose=OrderPurpose.OPEN | OrderPurpose.ROLL) if message.filled_quantity == 0:
                self._portfolio.apply(message)
            case OrderRejected() if message.code != REJECT_NOT_SENT:  # never reached the broker: not its failure
                self._breaker_event(self._breaker.on_failure(ctx.now()), ctx)
            case OrderTerminated(status=OrderOutcome.FILLED):
                self._breaker_event(self._breaker.on_success(ctx.now()), ctx)
            case TimerFired(key=key) if key == TimerKey.BREAKER_COOLDOWN:
                self._breaker_event(self._breaker.on_cooldown(ctx.now()), ctx)
            case TimerFired(key=key) if TimerKey.WHAT_IF.owns(key):
                self._on_what_if_timeout(key.removeprefix(TimerKey.WHAT_IF), ctx)
            case WhatIfAnswered():
                self._on_what_if(message, ctx)
            case Halt():
                self._set_state(TradingState.HALTED, message.reason, ctx)
            case Resume():
                self._set_state(TradingState.ACTIVE, message.reason, ctx)
            case RiskStateRestored():
                self._restore(message, ctx)
            case StorageStateChanged(state="failing"):
                self._storage_failing[message.store] = message.reason
            case StorageStateChanged(state="ok"):
                self._storage_failing.pop(message.store, None)
            case BrokerAccountValues():
                self._account = Account.from_values(message)

    # intents ---------------------------------------------------------------------------------------------------------
    def _deny(self, strategy_id: str, check: str, reason: str, ctx: Context) -> None:
        ctx.publish(IntentDenied(strategy_id=strategy_id, check=check, reason=reason))

    def _on_open_intent(self, intent: OpenStrategy, ctx: Context, roll: RollStrategy | None = None) -> None:
        """An opening, or a roll's replacement (`roll`: approved or denied as a whole, under the held strategy's id)."""
        # the intent's own time, not the handling instant: on the wall clock only the former is what a restart's
        # replay sees, so the rate window a snapshot holds is the one replaying the journal builds
        now = intent.ts or ctx.now()
        self._portfolio.note_quotes(intent.leg_quotes)
        while self._intent_times and self._intent_times[0] <= now - NS_PER_MINUTE:
            self._intent_times.popleft()
        denial = first_denial(intent, self._book(intent, now, roll), self._params)
        if denial is None or denial[0] not in NODE_STATE_CHECK_NAMES:
            self._intent_times.append(now)
        if denial is not None:
            self._deny(roll.strategy_id if roll else intent.strategy_id, *denial, ctx)
            return
        # counts against the next intents while it waits for its what-if too
        self._portfolio.add_pending(intent, replacing=roll.strategy_id if roll else "")
        if roll is not None:
            self._rolls[intent.strategy_id] = roll
        if self._what_if:
            self._ask_what_if(intent, ctx)
            return
        ctx.publish(IntentApproved(intent=self._rolls.pop(intent.strategy_id, intent)))

    # the broker's what-if ----------------------------------------------------------------------------------------------
    def _ask_what_if(self, intent: OpenStrategy, ctx: Context) -> None:
        deadline = ctx.now() + int(self._params.what_if_timeout_s * NS_PER_S)
        self._awaiting[intent.strategy_id] = (intent, deadline)
        ctx.set_timer(TimerKey.WHAT_IF.of(intent.strategy_id), deadline)
        ctx.publish(WhatIfRequested(strategy_id=intent.strategy_id, legs=intent.legs, quantity=intent.quantity,
                                    limit_price=intent.mid_price))

    def _on_what_if(self, answer: WhatIfAnswered, ctx: Context) -> None:
        awaited = self._awaiting.pop(answer.strategy_id, None)
        if awaited is None:
            return  # too late: the intent was denied on its deadline
        intent = awaited[0]
        ctx.cancel_timer(TimerKey.WHAT_IF.of(intent.strategy_id))
        others = max(0.0, self._portfolio.pending_max_loss_usd() - intent.max_loss_usd)
        book = self._book(intent, ctx.now(), self._rolls.get(intent.strategy_id))
        # the node's state may have changed while IB was asked (a halt, a storage outage, the breaker)
        denial = (first_denial(intent, book, self._params, NODE_STATE_CHECKS)
                  or what_if_denial(answer, self._account, others, self._params))
        if denial is not None:
            self._deny_awaited(intent.strategy_id, *denial, ctx)
        else:
            ctx.publish(IntentApproved(intent=self._rolls.pop(intent.strategy_id, intent)))
        if answer.code:  # IB refused it as it would refuse the order (Read-Only API, a reject): a broker failure
            self._breaker_event(self._breaker.on_failure(ctx.now()), ctx)

    def _on_what_if_timeout(self, strategy_id: str, ctx: Context) -> None:
        if self._awaiting.pop(strategy_id, None) is not None:
            self._deny_awaited(strategy_id, TIMEOUT_CHECK, timeout_reason(self._params), ctx)

    def _deny_awaited(self, strategy_id: str, check: str, reason: str, ctx: Context) -> None:
        denied = IntentDenied(strategy_id=strategy_id, check=check, reason=reason)
        self._portfolio.apply(denied)  # no longer pending
        roll = self._rolls.pop(strategy_id, None)  # a roll is denied under the strategy it would have replaced
        ctx.publish(denied if roll is None else IntentDenied(strategy_id=roll.strategy_id, check=check, reason=reason))
        if check in FAILURE_CHECKS:
            ctx.publish(Alert(level="warning", source=self.name, text=f"opening {strategy_id} denied, fail closed: "
                              f"{reason}"))

    def _on_close_intent(self, intent: CloseStrategy, ctx: Context) -> None:
        if self._state == TradingState.HALTED:
            self._deny(intent.strategy_id, "trading_state", "node is HALTED: only cancels", ctx)
        elif "write_ahead" in self._storage_failing:
            error = self._storage_failing["write_ahead"]
            self._deny(intent.strategy_id, "persistence", f"write-ahead log cannot be written ({error})", ctx)
        else:
            ctx.publish(IntentApproved(intent=intent))

    def _book(self, intent: OpenStrategy, now_ns: int, roll: RollStrategy | None = None) -> Book:
        """What the intent is judged against; a roll's replacement against the book without what it replaces."""
        portfolio = self._portfolio if roll is None else self._portfolio.without(roll.strategy_id)
        return Book(
            symbols=portfolio.symbols(),
            greeks_by_symbol=portfolio.greeks_by_symbol(),
            new_trade_greeks=structure_greeks(intent.legs, intent.quantity, portfolio.quotes),
            realized_today_usd=self._realized.get(new_york_date(now_ns), 0.0),
            open_max_loss_usd=portfolio.max_loss_at_risk_usd(),
            intents_last_minute=len(self._intent_times),
            trading_state=self._state,
            storage_failing=self._storage_failing,
            breaker_allows_opening=self._breaker.allows_opening(),
            account=self._account,
            max_loss_by_symbol=portfolio.max_loss_by_symbol(),
            max_loss_by_expiry=portfolio.max_loss_by_expiry(),
            pending_max_loss_usd=portfolio.pending_max_loss_usd(),
        )

    def _on_realized(self, pnl_usd: float, ctx: Context) -> None:
        day = new_york_date(ctx.now())
        self._realized[day] = self._realized.get(day, 0.0) + pnl_usd
        if self._state == TradingState.ACTIVE and -self._realized[day] >= self._params.max_daily_loss_usd:
            reason = f"realised loss {self._realized[day]:+.2f} today reached {self._params.max_daily_loss_usd:.2f}"
            self._set_state(TradingState.REDUCING, reason, ctx)
            ctx.publish(Alert(level="critical", source=self.name, text=f"REDUCING: {reason}"))

    # state -------------------------------------------------------------------------------------------------------------
    def _set_state(self, state: TradingState, reason: str, ctx: Context) -> None:
        if state == self._state:
            return
        self._state, self._state_reason = state, reason
        ctx.publish(TradingStateChanged(state=state, reason=reason))
        if state == TradingState.HALTED:
            ctx.publish(Alert(level="critical", source=self.name, text=f"HALTED: {reason}"))
        self._snapshot(ctx)

    def _breaker_event(self, reason: str | None, ctx: Context) -> None:
        if reason is None:
            return
        state = self._breaker.state
        ctx.publish(BreakerStateChanged(state=state, reason=reason))
        level = "critical" if state == BreakerState.OPEN else "warning" if state == BreakerState.HALF_OPEN else "info"
        ctx.publish(Alert(level=level, source=self.name, text=f"circuit breaker {state}: {reason}"))
        due = self._breaker.cooldown_due_ns()
        if due is not None:
            ctx.set_timer(TimerKey.BREAKER_COOLDOWN, due)
        self._snapshot(ctx)

    def _snapshot(self, ctx: Context) -> None:
        ctx.publish(
            RiskStateSnapshot(
                trading_state=self._state,
                trading_reason=self._state_reason,
                breaker_state=self._breaker.state,
                breaker_since_ns=self._breaker.since_ns,
                failures_ns=tuple(self._breaker.failures_ns),
                half_open_successes=self._breaker.half_open_successes,
            )
        )

    def _restore(self, restored: RiskStateRestored, ctx: Context) -> None:
        self._state, self._state_reason = restored.trading_state, restored.trading_reason
        self._breaker.state = restored.breaker_state
        self._breaker.since_ns = restored.breaker_since_ns
        self._breaker.failures_ns = list(restored.failures_ns)
        self._breaker.half_open_successes = restored.half_open_successes
        due = self._breaker.cooldown_due_ns()
        if due is not None:
            ctx.set_timer(TimerKey.BREAKER_COOLDOWN, due)
        ctx.publish(TradingStateChanged(state=self._state, reason=f"restored: {self._state_reason}"))
        ctx.publish(BreakerStateChanged(state=self._breaker.state, reason="restored"))
