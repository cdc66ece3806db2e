"""IB's order handling in the test gateway: what IB does with placeOrder, a modification and cancelOrder, and how it
reports fills — as unforgiving as the real thing.

- Refusals the way IB sends them: the Read-Only API (321), an unknown leg (200), a price off the contract's
  increment (110) and scripted rejects (201, 203, 383, ...) arrive as an `error` on the order id, mostly with no
  orderStatus at all; precautionary warnings (399, 163) come before an order that then works normally.
- A refused modification (201, 2102) leaves the original order working at its old price. An order IB held
  PreSubmitted (`held_at_ib`) goes Submitted when a modification comes, and says so before the answer.
- A cancel reports PendingCancel, then error 202 and Cancelled a moment later; 10147/10148 for unknown or finished
  orders. A DAY order still working when the market closes is cancelled by IB with a system 202.
- A fill is reported as IB reports a combo fill: one execution per leg with the leg's own side and (positive)
  price, a leg of several contracts split over two executions, and one execution for the BAG at the net price in
  the order's own terms (negative when a bought combo is a credit) — execution ids share the fill's prefix, the
  BAG's third field is 01 and the legs' follow (`0000e0d5.6571ea2c.01.01`). Commission reports come per leg
  execution, sometimes first with IB's unset value and the real one later; executions, commission reports and the
  order status reach the client in a shuffled order (a commission report never before its own execution).
- reqExecutions answers only the executions since the last nightly reset.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TYPE_CHECKING

from actors.broker.sim.fills import commission_usd, fill_threshold, limit_crosses
from messages import Leg, OptionContract, OptionQuote
from tests.ib import wire
from tests.ib.behaviour import INSTITUTIONAL_LEG_TEXT, Reject, ib_text
from tests.ib.gateway_orders import EXEC_ID_PREFIX, WORKING, Execution, GatewayOrder, on_increment

if TYPE_CHECKING:
    from tests.ib.gateway import TestGateway, _Client

FILL_AGGRESSIVENESS = 0.25


class OrderDesk:
    """The gateway's order book; every method runs on the gateway's event loop."""

    def __init__(self, gateway: TestGateway) -> None:
        self._gw = gateway
        self.orders: dict[tuple[int, int], GatewayOrder] = {}
        self.highest_order_id: dict[int, int] = {}
        self.executions: list[Execution] = []
        self._day_start = 0
        """Index of the first execution of the current trading day (reqExecutions answers from there)."""
        self._perm_ids = iter(range(9_000_001, 2**31))
        self.exec_serial = iter(range(0x6571EA2C, 2**32))
        self.orders_received: list[wire.PlaceOrder] = []
        self.on_place: Callable[[wire.PlaceOrder], None] | None = None
        self.cancels_received: list[int] = []
        self.most_working_per_strategy = 0
        """The most orders IB ever worked at once for one strategy (order refs `<strategy>-<purpose><n>`)..."""
        self.most_working_per_symbol = 0
        """...and for one underlying."""

    # new orders and modifications ----------------------------------------------------------------------------------
    def place(self, client: _Client, request: wire.PlaceOrder) -> None:
        gw, faults = self._gw, self._gw.faults
        self.orders_received.append(request)
        if self.on_place is not None:
            self.on_place(request)
        key = (client.client_id, request.order_id)
        existing = self.orders.get(key)
        if existing is not None:
            self._modify(client, existing, request)
            return
        if request.order_id <= self.highest_order_id.get(client.client_id, 0):
            client.send(wire.error(request.order_id, 103, ib_text(103)))
            return
        self.highest_order_id[client.client_id] = request.order_id
        if faults.drop_socket == "on_order":
            faults.drop_socket = ""
            client.writer.close()
            return
        refusal = self.validate(request)
        if refusal is not None:
            client.send(wire.error(request.order_id, refusal.code, refusal.message(request.order_id)))
            return
        legs = tuple(Leg(gw.contracts.option_by_con_id[leg.con_id], leg.ratio if leg.action == "BUY" else -leg.ratio)
                     for leg in request.contract.combo_legs)
        order = GatewayOrder(order_id=request.order_id, client_id=client.client_id, perm_id=next(self._perm_ids),
                             request=request, legs=legs, direction=1 if request.action == "BUY" else -1,
                             units=round(request.total_quantity), limit=float(request.lmt_price or 0.0))
        self.orders[key] = order
        if faults.held_at_ib:
            faults.held_at_ib -= 1
            order.held = True
        working = [o for o in self.orders.values() if o.status in WORKING]
        strategy = request.order_ref.rsplit("-", 1)[0]
        self.most_working_per_strategy = max(self.most_working_per_strategy, sum(
            1 for o in working if o.request.order_ref.rsplit("-", 1)[0] == strategy))
        self.most_working_per_symbol = max(self.most_working_per_symbol, sum(
            1 for o in working if o.request.contract.symbol == request.contract.symbol))
        if faults.rejects:
            reject = faults.rejects.pop(0)
            client.send(wire.error(order.order_id, reject.code, reject.message(order.order_id)))
            if reject.status:  # IB sometimes follows a reject with a status, often with nothing at all
                order.status, order.completed_time = reject.status, gw.ib_time()
                self._send_status(client, order)
            else:
                del self.orders[key]  # never entered IB's book: neither open nor completed
            return
        if not gw.settings.bypass_order_precautions:
            client.send(wire.error(order.order_id, 399, ib_text(399)))  # a warning: the order goes on
        delay = faults.ack_delay_s
        faults.ack_delay_s = 0.0
        if delay:
            gw.loop.call_later(delay, self._acknowledge, order)
        else:
            self._acknowledge(order)
        self.try_fill(order)

    def validate(self, request: wire.PlaceOrder) -> Reject | None:
        """IB's checks before an order enters its book, in IB's order; the answer is an error and no status."""
        gw = self._gw
        if gw.settings.read_only_api:
            return Reject(321)
        if request.contract.sec_type == "STK":
            return gw.stocks.validate(request)
        if any(leg.con_id not in gw.contracts.option_by_con_id for leg in request.contract.combo_legs):
            return Reject(200)
        # A retail account's combo legs are opening or closing "same as the parent" (openClose 0): IB decides it from
        # the account's holdings, leg by leg; 1/2 (open/close) are for institutional accounts only (ComboLeg docs).
        institutional = [n for n, leg in enumerate(request.contract.combo_legs) if leg.open_close != 0]
        if institutional:
            return Reject(321, INSTITUTIONAL_LEG_TEXT.format(leg=institutional[0]))
        if not on_increment(float(request.lmt_price or 0.0), gw.settings.price_increment):
            return Reject(110)
        return None

    def _modify(self, client: _Client, order: GatewayOrder, request: wire.PlaceOrder) -> None:
        faults = self._gw.faults
        if order.status not in WORKING:
            client.send(wire.error(order.order_id, 104, ib_text(104)))
            return
        if order.held:
            order.held, order.status = False, "Submitted"
            self._send_status(client, order)
        if faults.refuse_modifies:
            reject = faults.refuse_modifies.pop(0)
            client.send(wire.error(order.order_id, reject.code, reject.message(order.order_id)))
            return  # the original keeps working, unchanged
        if not on_increment(float(request.lmt_price or 0.0), self._gw.settings.price_increment):
            client.send(wire.error(order.order_id, 110, ib_text(110)))
            return
        order.limit = float(request.lmt_price or 0.0)
        self._report_order(client, order)
        self.try_fill(order)

    def _acknowledge(self, order: GatewayOrder) -> None:
        for client in self.clients_of(order):
            self._report_order(client, order)
        if order.status == "PreSubmitted" and not order.held:
            order.status = "Submitted"
            for client in self.clients_of(order):
                self._send_status(client, order)

    # cancels and expiry --------------------------------------------------------------------------------------------
    def cancel(self, client: _Client, order_id: int) -> None:
        self.cancels_received.append(order_id)
        if self._gw.faults.ignore_cancels:
            return
        order = self.orders.get((client.client_id, order_id))
        if order is None:
            client.send(wire.error(order_id, 10147, ib_text(10147, order_id=order_id)))
        elif order.status not in WORKING or order.status == "PendingCancel":
            client.send(wire.error(order_id, 10148, ib_text(10148, order_id=order_id, state=order.status)))
        else:
            order.status = "PendingCancel"
            self._send_status(client, order)
            self._gw.loop.call_later(self._gw.settings.cancel_delay_s, self._cancelled, order, ib_text(202))

    def _cancelled(self, order: GatewayOrder, text: str) -> None:
        if order.status not in WORKING:
            return  # it filled while the cancel was pending: the fill stands
        order.status, order.completed_time = "Cancelled", self._gw.ib_time()
        for client in self.clients_of(order):
            client.send(wire.error(order.order_id, 202, text))
            self._send_status(client, order)

    def expire_day_orders(self) -> None:
        """At the close IB cancels every DAY order still working, with a system 202."""
        for order in list(self.orders.values()):
            if order.status in WORKING and order.request.tif == "DAY":
                self._cancelled(order, ib_text(202))

    # fills -----------------------------------------------------------------------------------------------------------
    def match_working(self) -> None:
        for order in list(self.orders.values()):
            if order.status in WORKING:
                self.try_fill(order)

    def try_fill(self, order: GatewayOrder) -> None:
        gw, faults = self._gw, self._gw.faults
        if order.status in WORKING and order.request.contract.sec_type == "STK":
            gw.stocks.try_fill(order)
            return
        if faults.hold_fills or order.status not in WORKING or not gw.market_open():
            return
        contracts = [leg.contract for leg in order.legs]
        quotes = gw.option_quotes(contracts)
        if len(quotes) != len(contracts):
            return
        if not limit_crosses(order.legs, quotes, order.direction, order.limit, FILL_AGGRESSIVENESS):
            return
        threshold = round(fill_threshold(order.legs, quotes, order.direction, FILL_AGGRESSIVENESS), 2)
        price = min(order.limit, threshold) if order.direction > 0 else max(order.limit, threshold)
        units = order.units - order.filled
        if faults.partial_units:  # the rest of the order keeps working without filling
            units, faults.partial_units, faults.hold_fills = min(units, faults.partial_units), 0, True
        self._execute(order, units, price, quotes)

    def _execute(self, order: GatewayOrder, units: int, price: float,
                 quotes: dict[OptionContract, OptionQuote]) -> None:
        gw, faults = self._gw, self._gw.faults
        order.filled += units
        order.fill_value += units * price
        if order.filled == order.units:
            order.status, order.completed_time = "Filled", gw.ib_time()
        stamp, serial = gw.ib_time(), next(self.exec_serial)
        executions = self._leg_executions(order, units, price, quotes, stamp, serial)
        if not faults.no_bag_execution:
            # IB's BAG execution: the side of the order and the net price in the order's own terms, i.e. the same
            # sign convention as its limit price (a bought combo that takes in a credit executes below zero).
            executions.insert(0, Execution(order, f"{EXEC_ID_PREFIX:08x}.{serial:08x}.01.01", order.request.contract,
                                           "BOT" if order.direction > 0 else "SLD", units,
                                           round(price + faults.bag_price_offset, 4), stamp, order.filled, 0.0))
        self.executions += executions
        for leg in order.legs:
            gw.account_desk.holdings[leg.contract] += leg.ratio * order.direction * units
        for execution in executions:
            if execution.contract.sec_type != "BAG":
                contract = gw.contracts.option_by_con_id[execution.contract.con_id]
                sign = 1 if execution.side == "BOT" else -1
                gw.account_desk.costs[contract] += sign * execution.shares * execution.price * 100
        if faults.drop_socket == "after_fill":
            faults.drop_socket = ""
            for client in self.clients_of(order):
                client.writer.close()
            return
        unset = set()
        for execution in executions:
            if execution.contract.sec_type != "BAG" and faults.unset_commissions:
                faults.unset_commissions -= 1
                unset.add(execution.exec_id)
        for client in self.clients_of(order):
            self.report_fill(client, order, executions, unset)
        if faults.correct_executions:
            faults.correct_executions -= 1
            leg = next(e for e in executions if e.contract.sec_type != "BAG")
            correction = Execution(order, leg.exec_id[:-2] + "02", leg.contract, leg.side, leg.shares, leg.price,
                                   stamp, leg.cum_qty, leg.commission)
            for client in self.clients_of(order):
                self.send_execution(client, correction, -1)
        gw.account_desk.after_fill([leg.contract for leg in order.legs])

    def _leg_executions(self, order: GatewayOrder, units: int, price: float,
                        quotes: dict[OptionContract, OptionQuote], stamp: str, serial: int) -> list[Execution]:
        """Each leg at its own positive price (mids, with the net's rounding put on the dearest leg), a leg of
        several contracts split in two executions."""
        prices = leg_prices(order.legs, quotes, price)
        executions, number = [], 2
        for leg, leg_price in zip(order.legs, prices):
            side = "BOT" if leg.ratio * order.direction > 0 else "SLD"
            shares = abs(leg.ratio) * units
            parts = [shares // 2, shares - shares // 2] if shares > 1 and self._gw.faults.split_executions else [shares]
            cumulative = abs(leg.ratio) * (order.filled - units)
            for part in parts:
                cumulative += part
                commission = commission_usd((Leg(leg.contract, 1),), part, self._gw.sim.commission_per_contract_usd)
                executions.append(Execution(order, f"{EXEC_ID_PREFIX:08x}.{serial:08x}.{number:02d}.01",
                                            self._gw.contracts.wire_option(leg.contract), side, part, leg_price, stamp,
                                            cumulative, commission))
                number += 1
        return executions

    def report_fill(self, client: _Client, order: GatewayOrder, executions: list[Execution], unset: set[str]) -> None:
        """Executions, commission reports and the order's status, in the order IB happens to deliver them."""
        gw = self._gw
        reports: list[list[Callable[[], None]]] = []
        for execution in executions:  # every execution has a commission report: the BAG's is zero
            chain = [lambda e=execution: self.send_execution(client, e, -1)]
            if execution.exec_id in unset:
                chain.append(lambda e=execution: client.send(wire.commission_report(e.exec_id, wire.UNSET_DOUBLE)))
                gw.loop.call_later(gw.settings.commission_delay_s,
                                   lambda e=execution: client.send(wire.commission_report(e.exec_id, e.commission)))
            else:
                chain.append(lambda e=execution: client.send(wire.commission_report(e.exec_id, e.commission)))
            reports.append(chain)
        if order.status != "PreSubmitted":  # an order whose acknowledgement is delayed reports its status later
            reports.append([lambda: self._report_order(client, order)])
        seed = gw.faults.shuffle_seed
        steps = ([step for chain in reports for step in chain] if seed is None
                 else interleave(reports, random.Random(seed * 1_000_003 + order.perm_id * 31 + order.filled)))
        for step in steps:
            step()

    # reports --------------------------------------------------------------------------------------------------------
    def clients_of(self, order: GatewayOrder) -> list[_Client]:
        return [c for c in self._gw.clients if c.client_id == order.client_id]

    def _report_order(self, client: _Client, order: GatewayOrder) -> None:
        client.send(wire.open_order(order.wire_order(), order.status))
        self._send_status(client, order)

    def _send_status(self, client: _Client, order: GatewayOrder) -> None:
        avg = round(order.fill_value / order.filled, 4) if order.filled else 0.0
        client.send(wire.order_status(order.order_id, order.status, order.filled, order.units - order.filled, avg,
                                      order.perm_id, 0, avg, order.client_id))

    def send_execution(self, client: _Client, execution: Execution, req_id: int) -> None:
        order = execution.order
        client.send(wire.exec_details(req_id, order.order_id, execution.contract, execution.exec_id, execution.time,
                                      self._gw.account, "SMART", execution.side, execution.shares, execution.price,
                                      order.perm_id, order.client_id, execution.cum_qty, execution.price,
                                      order.request.order_ref))

    def answer_open_orders(self, client: _Client, every_client: bool) -> None:
        for order in self.orders.values():
            if order.status in WORKING and (every_client or order.client_id == client.client_id):
                self._report_order(client, order)
        client.send(wire.open_order_end())

    def answer_completed_orders(self, client: _Client) -> None:
        for order in self.orders.values():
            if order.status not in WORKING:
                client.send(wire.completed_order(order.wire_order(), order.status, order.completed_time,
                                                 order.status))
        client.send(wire.completed_orders_end())

    def answer_executions(self, client: _Client, req_id: int) -> None:
        for execution in self.executions[self._day_start:]:
            self.send_execution(client, execution, req_id)
            client.send(wire.commission_report(execution.exec_id, execution.commission))
        client.send(wire.exec_details_end(req_id))

    def new_trading_day(self) -> None:
        """IB's nightly reset: reqExecutions forgets everything before it."""
        self._day_start = len(self.executions)


def leg_prices(legs: tuple[Leg, ...], quotes: dict[OptionContract, OptionQuote], net: float) -> list[float]:
    """Positive per-leg prices, to the cent, whose ratio-weighted sum is the combo's net price."""
    prices = [round((quotes[leg.contract].bid + quotes[leg.contract].ask) / 2, 2) for leg in legs]
    residual = round(net - sum(leg.ratio * p for leg, p in zip(legs, prices)), 2)
    unit_legs = [i for i, leg in enumerate(legs) if abs(leg.ratio) == 1] or list(range(len(legs)))
    dearest = max(unit_legs, key=lambda i: prices[i])
    prices[dearest] = round(prices[dearest] + residual / legs[dearest].ratio, 4)
    return prices


def interleave(chains: list[list[Callable[[], None]]], rng: random.Random) -> list[Callable[[], None]]:
    """Merge the chains in a random order that keeps each chain's own order."""
    pending = [list(chain) for chain in chains if chain]
    merged = []
    while pending:
        chain = rng.choice(pending)
        merged.append(chain.pop(0))
        if not chain:
            pending.remove(chain)
    return merged
