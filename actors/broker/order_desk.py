"""What every broker does with the node's order commands: the same three commands, the same checks before anything
is sent, one dispatch. Each broker says only how it places, modifies, cancels and refuses."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Container

from msgspec import UNSET

from actors.runtime.core import ActorCore, Context
from messages import CancelOrder, Message, ModifyOrder, PlaceOrder

ORDER_COMMANDS = (PlaceOrder, ModifyOrder, CancelOrder)


def order_problem(order: PlaceOrder, known_order_ids: Container[str]) -> str | None:
    """Why an order must not reach an exchange, or None. A client order id is used once, ever: it is how a
    restarted node recognises its own orders at the broker."""
    if order.client_order_id in known_order_ids:
        return f"duplicate client order id {order.client_order_id}"
    if order.stock is not UNSET and order.legs:
        return "a stock order carries no option legs"
    if order.stock is UNSET and not order.legs:
        return "order has no legs"
    if order.quantity == 0:
        return "order quantity is zero"
    if order.stock is UNSET and len({leg.contract.symbol for leg in order.legs}) != 1:
        return "combo legs span several underlyings"
    if not math.isfinite(order.limit_price):
        return f"limit price {order.limit_price} is not a number"
    return None


class BrokerCore(ActorCore, ABC):
    """Base of the simulated and the IB broker cores."""

    def handle_order_command(self, message: Message, ctx: Context) -> bool:
        """Dispatch an order command; False for any other message."""
        match message:
            case PlaceOrder():
                problem = order_problem(message, self.known_order_ids())
                if problem is None:
                    self.place(message, ctx)
                else:
                    self.refuse(message, problem, ctx)
            case ModifyOrder():
                self.modify(message, ctx)
            case CancelOrder():
                self.cancel(message, ctx)
            case _:
                return False
        return True

    @abstractmethod
    def known_order_ids(self) -> Container[str]:
        """Every client order id this broker was ever given."""

    @abstractmethod
    def place(self, order: PlaceOrder, ctx: Context) -> None: ...

    @abstractmethod
    def refuse(self, order: PlaceOrder, problem: str, ctx: Context) -> None:
        """Answer an order that failed `order_problem` (never sent)."""

    @abstractmethod
    def modify(self, modify: ModifyOrder, ctx: Context) -> None: ...

    @abstractmethod
    def cancel(self, cancel: CancelOrder, ctx: Context) -> None: ...
