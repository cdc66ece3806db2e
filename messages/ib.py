"""The Interactive Brokers link: what the IB session shell hears from ib_async, and what the IB broker core asks
of it.

The session actor owns ib_async on its own asyncio thread and is pure I/O: it turns every order-relevant callback
into one of the events below, and carries out the requests. The broker core decides everything from these
messages alone, so the whole broker conversation is journaled and a restarted core rebuilds its order book,
execution ids and order-id high-water mark by replaying it.
"""

from __future__ import annotations

from typing import Literal

from msgspec import UNSET, UnsetType

from messages.base import Command, Event, Legs, OptionContract

ExecutionSide = Literal["BOT", "SLD"]


# session -> core: what IB said ------------------------------------------------------------------------------------
class IbConnected(Event, frozen=True, kw_only=True):
    """The API session is up (logged in, account chosen, positions asked). Which orders IB works is not known yet:
    the core asks for that with `IbResync` and trades only once a complete answer came."""

    next_valid_id: int
    accounts: tuple[str, ...]
    server_version: int
    open_order_refs: tuple[str, ...] = ()
    """Unused: kept so journals written before the order sync (`IbOpenOrders`) existed still decode."""


class IbOpenOrders(Event, frozen=True, kw_only=True):
    """IB's answer to an `IbResync`, published after the statuses and executions it brought.

    `working` are the order references IB lists as open for this client id. Only a `complete` answer (IB sent its
    end-of-list before the timeout) may end an order: any of the `judged` orders it does not list is not working at
    IB. An incomplete answer says nothing about any order."""

    sync_id: int
    judged: tuple[str, ...]
    working: tuple[str, ...]
    complete: bool


class IbDisconnected(Event, frozen=True, kw_only=True):
    reason: str


class IbError(Event, frozen=True, kw_only=True):
    """An IB error or notice: `req_id` is an order id, a request id, or -1 for link-wide notices (1100, 2104...)."""

    req_id: int
    code: int
    text: str


class IbOrderSubmitted(Event, frozen=True, kw_only=True):
    """The session handed the order to IB under `order_id` (taken from ib_async's id counter)."""

    client_order_id: str
    order_id: int


class IbOrderNotSent(Event, frozen=True, kw_only=True):
    """The session could not hand the order (or, with `modify`, its new limit) to IB (link down, a leg IB does not
    know, an order IB's book on this connection does not hold): nothing reached the broker."""

    client_order_id: str
    reason: str
    modify: bool = False


class IbOrderStatus(Event, frozen=True, kw_only=True):
    """IB's orderStatus or openOrder for one of our orders; quantities are combo units."""

    client_order_id: str
    order_id: int
    perm_id: int
    status: str
    filled: float
    remaining: float
    avg_fill_price: float
    limit_price: float


class IbExecution(Event, frozen=True, kw_only=True):
    """One execDetails: of the whole combo (`contract` None, shares in combo units, net price), of one leg, or of a
    stock order (`stock` the symbol, `contract` None, shares and price per share)."""

    exec_id: str
    client_order_id: str
    order_id: int
    perm_id: int
    contract: OptionContract | None
    side: ExecutionSide
    shares: float
    price: float
    stock: str | UnsetType = UNSET
    """Unset (and not encoded, so older journals decode byte for byte) for every option or combo execution."""


class IbCommission(Event, frozen=True, kw_only=True):
    exec_id: str
    commission_usd: float


class IbWhatIfResult(Event, frozen=True, kw_only=True):
    """IB's answer to an `IbWhatIf` as it came: the OrderState's margin values as IB's text (an unknown one is
    "1.7976931348623157E308" or empty), or IB's error (`error_code` 0: the what-if could not be asked or IB did
    not answer in time). `order_id` is the id the what-if used up."""

    strategy_id: str
    order_id: int = 0
    init_margin_before: str = ""
    init_margin_change: str = ""
    init_margin_after: str = ""
    maint_margin_after: str = ""
    equity_with_loan_after: str = ""
    commission: float | None = None
    error_code: int = 0
    error: str = ""


# core -> session: what to ask IB ----------------------------------------------------------------------------------
class IbPlaceOrder(Command, frozen=True, kw_only=True):
    """Place (or, with `modify`, change the limit of) one combo (BAG) limit order, or with `stock` a stock (STK)
    limit order for `quantity` signed shares; `min_order_id` is the lowest id the core allows, so an id IB rolled back
    is never reused."""

    client_order_id: str
    legs: Legs
    quantity: int
    limit_price: float
    min_order_id: int
    modify: bool = False
    stock: str | UnsetType = UNSET


class IbWhatIf(Command, frozen=True, kw_only=True):
    """Send the combo as a what-if order (Order.whatIf): IB reports its margin and commission and places nothing.
    It uses up an order id like an order does, so `min_order_id` applies."""

    strategy_id: str
    legs: Legs
    quantity: int
    limit_price: float
    min_order_id: int


class IbCancelOrder(Command, frozen=True, kw_only=True):
    client_order_id: str
    order_id: int
    """IB's id of the order, for an order placed before the session's current connection."""


class IbResync(Command, frozen=True, kw_only=True):
    """Ask IB again for open and completed orders, executions and positions (with `resubscribe`, all market data
    too) and answer with `IbOpenOrders` for `sync_id`, judging the orders listed in `judge`."""

    reason: str
    resubscribe: bool = False
    sync_id: int = 0
    judge: tuple[str, ...] = ()
