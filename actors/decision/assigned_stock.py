"""What the broker settled by itself leaves for the decision: shares an exercise or assignment left, under
`exits.assignment_policy` — `flatten` closes them with a stock limit order (priced from the underlying's quote, mid
walked toward the touch by execution like any close), one order at a time per strategy, asked again on each
evaluation until none are left; `keep` holds them and says so once — and the legs left of a strategy the broker
settled only in part (an early assignment), which are closed."""

from __future__ import annotations

from dataclasses import dataclass

from messages import AssignedStockClosed, CloseStrategy, DecisionRecord, Message, StrategySettled, UnderlyingQuote

ASSIGNMENT_RULE = "assignment"


@dataclass
class AssignedShares:
    symbol: str
    quantity: int
    working: bool = False
    """A close of them is on its way (asked for, approved or working) until its order ends or it is denied."""


class AssignedStockDesk:
    def __init__(self, policy: str) -> None:
        self._policy = policy
        self._held: dict[str, AssignedShares] = {}  # strategy id -> shares its settlement left
        self._quotes: dict[str, UnderlyingQuote] = {}
        self._broken: set[str] = set()  # strategies the broker settled only in part: their other legs are closed

    def broken(self) -> list[str]:
        """Strategies whose remaining legs are to be closed (rule `assignment`) until they close."""
        return sorted(self._broken)

    def forget(self, strategy_id: str) -> None:
        self._broken.discard(strategy_id)

    def on_underlying(self, quote: UnderlyingQuote) -> None:
        self._quotes[quote.symbol] = quote

    def apply(self, message: Message) -> list[Message]:
        """Settlements and stock fills change what is held; returns what the decision publishes about it."""
        match message:
            case StrategySettled():
                records = []
                if message.legs_left:
                    self._broken.add(message.strategy_id)
                    records.append(DecisionRecord(
                        strategy_id=message.strategy_id, action="close", rule=ASSIGNMENT_RULE,
                        detail=f"the broker settled {len(message.settled)} legs, {len(message.legs_left)} left: "
                               "closing them"))
                self._held.pop(message.strategy_id, None)  # the settlement reports all the strategy's shares now
                if message.stock_quantity:
                    self._held[message.strategy_id] = AssignedShares(message.symbol, message.stock_quantity)
                    records.append(DecisionRecord(
                        strategy_id=message.strategy_id, action=self._policy, rule=ASSIGNMENT_RULE,
                        detail=f"{message.stock_quantity:+d} {message.symbol} shares at {message.stock_avg_price:.2f} "
                               f"from {message.strategy_id}'s settlement: policy {self._policy}"))
                return records
            case AssignedStockClosed() if message.strategy_id in self._held:
                if message.remaining_quantity == 0:
                    del self._held[message.strategy_id]
                else:
                    self._held[message.strategy_id].quantity = message.remaining_quantity
        return []

    def order_ended(self, strategy_id: str) -> None:
        """Its close order ended (filled, cancelled at the deadline, rejected) or was denied: free to ask again."""
        held = self._held.get(strategy_id)
        if held is not None:
            held.working = False

    def closes(self) -> list[CloseStrategy]:
        """Stock closes to ask for now (flatten policy): one per strategy whose shares have no close on its way, whose
        other legs are closed (execution works one order per strategy) and whose underlying has a two-sided quote."""
        if self._policy != "flatten":
            return []
        intents = []
        for strategy_id, held in sorted(self._held.items()):
            quote = self._quotes.get(held.symbol)
            if held.working or strategy_id in self._broken or quote is None or not (0 < quote.bid <= quote.ask):
                continue
            selling = held.quantity > 0
            held.working = True
            intents.append(CloseStrategy(
                strategy_id=strategy_id, symbol=held.symbol, legs=(), quantity=-held.quantity,
                mid_price=round((quote.bid + quote.ask) / 2, 4), natural_price=quote.bid if selling else quote.ask,
                rule=ASSIGNMENT_RULE, stock=held.symbol,
                reason=f"flatten {held.quantity:+d} {held.symbol} shares left by an exercise or assignment"))
        return intents
