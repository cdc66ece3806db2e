"""Market-data core: keeps the broker streaming quotes for every leg of every open strategy."""

from __future__ import annotations

from collections import Counter

from actors.runtime.core import ActorCore, Context
from messages import Message, OptionContract, StrategyClosed, StrategyOpened, SubscribeQuotes, UnsubscribeQuotes


class MarketDataCore(ActorCore):
    name = "market_data"
    subscriptions = (StrategyOpened, StrategyClosed)
    lossless = False

    def __init__(self) -> None:
        self._legs_of: dict[str, tuple[OptionContract, ...]] = {}
        self._holders: Counter[OptionContract] = Counter()

    def handle(self, message: Message, ctx: Context) -> None:
        match message:
            case StrategyOpened():
                contracts = tuple(leg.contract for leg in message.legs)
                self._legs_of[message.strategy_id] = contracts
                new = tuple(c for c in contracts if self._holders[c] == 0)
                self._holders.update(contracts)
                if new:
                    ctx.publish(SubscribeQuotes(contracts=new))
            case StrategyClosed():
                contracts = self._legs_of.pop(message.strategy_id, ())
                self._holders.subtract(contracts)
                released = tuple(c for c in contracts if self._holders[c] <= 0)
                self._holders = +self._holders
                if released:
                    ctx.publish(UnsubscribeQuotes(contracts=released))
