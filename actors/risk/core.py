"""Risk core: pre-trade checks on intents and the node's trading state (ACTIVE / REDUCING / HALTED)."""

from __future__ import annotations

from actors.runtime.core import ActorCore, Context
from messages import (
    CloseStrategy,
    Halt,
    IntentApproved,
    IntentDenied,
    Message,
    OpenStrategy,
    OrderTerminated,
    Resume,
    StrategyClosed,
    StrategyOpened,
    TradingStateChanged,
)
from messages.config import RiskSection


class RiskCore(ActorCore):
    name = "risk"
    subscriptions = (OpenStrategy, CloseStrategy, StrategyOpened, StrategyClosed, OrderTerminated, Halt, Resume)

    def __init__(self, params: RiskSection) -> None:
        self._params = params
        self._state = "ACTIVE"
        self._symbol_of: dict[str, str] = {}  # strategy_id -> symbol, for pending and open strategies

    def handle(self, message: Message, ctx: Context) -> None:
        match message:
            case OpenStrategy():
                denial = self._check_open(message)
                if denial is None:
                    self._symbol_of[message.strategy_id] = message.symbol
                    ctx.publish(IntentApproved(intent=message))
                else:
                    check, reason = denial
                    ctx.publish(IntentDenied(strategy_id=message.strategy_id, check=check, reason=reason))
            case CloseStrategy():
                if self._state == "HALTED":
                    ctx.publish(
                        IntentDenied(strategy_id=message.strategy_id, check="trading_state", reason="node is HALTED")
                    )
                else:
                    ctx.publish(IntentApproved(intent=message))
            case StrategyClosed():
                self._symbol_of.pop(message.strategy_id, None)
            case OrderTerminated(purpose="open") if message.filled_quantity == 0:
                self._symbol_of.pop(message.strategy_id, None)
            case Halt():
                self._set_state("HALTED", message.reason, ctx)
            case Resume():
                self._set_state("ACTIVE", message.reason, ctx)

    def _check_open(self, intent: OpenStrategy) -> tuple[str, str] | None:
        if self._state != "ACTIVE":
            return "trading_state", f"node is {self._state}: no new positions"
        if len(self._symbol_of) >= self._params.max_positions:
            return "max_positions", f"{len(self._symbol_of)} positions open or pending, limit {self._params.max_positions}"
        on_symbol = sum(1 for symbol in self._symbol_of.values() if symbol == intent.symbol)
        if on_symbol >= self._params.max_positions_per_symbol:
            return (
                "max_positions_per_symbol",
                f"{on_symbol} {intent.symbol} positions open or pending, limit {self._params.max_positions_per_symbol}",
            )
        return None

    def _set_state(self, state: str, reason: str, ctx: Context) -> None:
        if state != self._state:
            self._state = state
            ctx.publish(TradingStateChanged(state=state, reason=reason))
