"""IB's handling of stock (STK) orders in the test gateway, and the account's shares.

What the node sends to flatten shares an assignment left: a limit order for SPY on SMART in USD. IB checks it before
it enters the book — an unknown symbol or another currency is IB's 200 (no security definition), a zero size is 434,
a limit order without a price is 107 (an incomplete order), a price off the penny is 110 — each an error on the order
id and no status. A working stock order fills only when its limit reaches the touch (a buy at the ask, a sell at the
bid: the same rule as the simulated exchange's, `actors/broker/sim/stock.py`), in one execution of secType STK with
its commission report (IB's fixed rate, half a cent a share and at least a dollar an order, again the simulated
exchange's). The shares and the cash they moved show in positions and account values at once, like the shares an
exercise or assignment delivers (`deliver`).
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from actors.broker.sim.stock import add_shares, stock_commission_usd, stock_fill_price
from messages import UnderlyingQuote
from tests.ib import wire
from tests.ib.behaviour import Reject
from tests.ib.gateway_orders import EXEC_ID_PREFIX, Execution, GatewayOrder, on_increment

if TYPE_CHECKING:
    from tests.ib.gateway import TestGateway

STOCK_PRICE_INCREMENT = 0.01
"""US stocks above a dollar trade in pennies."""
STOCK_CURRENCY = "USD"


class StockDesk:
    """Stock orders and shares; every method runs on the gateway's event loop."""

    def __init__(self, gateway: TestGateway, stock_con_ids: dict[str, int]) -> None:
        self._gw = gateway
        self._con_ids = stock_con_ids
        self.shares: Counter[str] = Counter()
        self._costs: Counter[str] = Counter()
        """Total cost of the shares held, per symbol."""
        self.cash_usd = 0.0
        """Cash the shares moved: bought (negative) and sold (positive), deliveries at the strike included."""

    # positions -----------------------------------------------------------------------------------------------------
    def avg_cost(self, symbol: str) -> float:
        held = self.shares[symbol]
        return round(self._costs[symbol] / held, 4) if held else 0.0

    def deliver(self, symbol: str, quantity: int, price: float) -> None:
        """Shares change hands at `price`: an exercise or assignment at the strike, or a fill."""
        self._gw.dividends.record_entitlements()  # an ex-date that opened since: on the shares held going in
        self.shares[symbol], self._costs[symbol] = add_shares(self.shares[symbol], self._costs[symbol], quantity, price)
        self.cash_usd -= quantity * price

    def value_usd(self, mark) -> float:  # noqa: ANN001 - symbol -> price or None
        return sum(q * (mark(s) or self.avg_cost(s)) for s, q in self.shares.items() if q)

    def send_position(self, symbol: str) -> None:
        gw = self._gw
        for client in gw.clients:
            if client.positions:
                client.send(wire.position(gw.account, gw.contracts.wire_stock(symbol), self.shares[symbol],
                                          self.avg_cost(symbol)))

    # orders --------------------------------------------------------------------------------------------------------
    def validate(self, request: wire.PlaceOrder) -> Reject | None:
        """IB's checks of a stock order, in IB's order: the contract, the size, then the price."""
        contract = request.contract
        known = self._con_ids.get(contract.symbol)
        if known is None or (contract.con_id and contract.con_id != known) or \
                (contract.currency or STOCK_CURRENCY) != STOCK_CURRENCY:
            return Reject(200)
        if not request.total_quantity:
            return Reject(434)
        if request.order_type == "LMT" and request.lmt_price is None:
            return Reject(107)
        if request.order_type == "LMT" and not on_increment(request.lmt_price, STOCK_PRICE_INCREMENT):
            return Reject(110)
        return None

    def try_fill(self, order: GatewayOrder) -> None:
        gw, faults = self._gw, self._gw.faults
        if faults.hold_fills or not gw.market_open():
            return
        quote = gw.stock_quote(order.request.contract.symbol)
        limit = order.limit if order.request.order_type == "LMT" else order.direction * float("inf")
        price = None if quote is None else stock_fill_price(quote, order.direction, limit)
        if price is None:
            return
        shares = order.units - order.filled
        if faults.partial_units:  # the rest keeps working without filling
            shares, faults.partial_units, faults.hold_fills = min(shares, faults.partial_units), 0, True
        self._execute(order, shares, price)

    def _execute(self, order: GatewayOrder, shares: int, price: float) -> None:
        gw, desk, symbol = self._gw, self._gw.desk, order.request.contract.symbol
        order.filled += shares
        order.fill_value += shares * price
        if order.filled == order.units:
            order.status, order.completed_time = "Filled", gw.ib_time()
        serial = next(desk.exec_serial)
        execution = Execution(order, f"{EXEC_ID_PREFIX:08x}.{serial:08x}.01.01", gw.contracts.wire_stock(symbol),
                              "BOT" if order.direction > 0 else "SLD", shares, price, gw.ib_time(), order.filled,
                              stock_commission_usd(shares))
        desk.executions.append(execution)
        self.deliver(symbol, order.direction * shares, price)
        unset = set()
        if gw.faults.unset_commissions:
            gw.faults.unset_commissions -= 1
            unset.add(execution.exec_id)
        for client in desk.clients_of(order):
            desk.report_fill(client, order, [execution], unset)
        self.send_position(symbol)
        gw.account_desk.send_account()


def stock_quote(symbol: str, spot: float | None) -> UnderlyingQuote | None:
    """The gateway's book for a stock: a cent either side of its price."""
    if spot is None:
        return None
    return UnderlyingQuote(symbol=symbol, bid=round(spot - 0.01, 2), ask=round(spot + 0.01, 2), last=spot)
