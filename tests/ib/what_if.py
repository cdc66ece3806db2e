"""IB's answer to a what-if order (placeOrder with Order.whatIf set) in the test gateway.

Like IB: nothing is placed, worked or filled, and no orderStatus comes; the order id is used up all the same (a later
order reusing it gets 103). The answer is openOrder messages with whatIf set whose OrderState carries the margin as
text: first one with every value unknown ("1.7976931348623157E308", Java's Double.MAX_VALUE as IB prints it), then
the numbers — initial and maintenance margin and equity with loan value, before, change and after, and the
commission. Margin is Reg T (width × 100 × quantity of a defined-risk spread) plus the scripted house margin. A
what-if IB refuses (Read-Only API, unknown leg, a scripted reject) gets only an error on its id; a scripted silent
one gets nothing at all.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from actors.broker.sim.fills import commission_usd
from messages import Leg
from tests.ib import wire
from tests.ib.behaviour import ib_text

if TYPE_CHECKING:
    from tests.ib.gateway import TestGateway, _Client

UNKNOWN = "1.7976931348623157E308"


def _money(value: float) -> str:
    return f"{value:.2f}"


class WhatIfDesk:
    """Runs on the gateway's event loop."""

    def __init__(self, gateway: TestGateway) -> None:
        self._gw = gateway
        self.received: list[wire.PlaceOrder] = []
        """Every what-if order that arrived (they never appear among the gateway's orders)."""

    def answer(self, client: _Client, request: wire.PlaceOrder) -> None:
        gw, faults, desk = self._gw, self._gw.faults, self._gw.desk
        self.received.append(request)
        if request.order_id <= desk.highest_order_id.get(client.client_id, 0):
            client.send(wire.error(request.order_id, 103, ib_text(103)))
            return
        desk.highest_order_id[client.client_id] = request.order_id
        if faults.what_if_silent:
            faults.what_if_silent -= 1
            return
        refusal = desk.validate(request) or (faults.what_if_rejects.pop(0) if faults.what_if_rejects else None)
        if refusal is not None:
            client.send(wire.error(request.order_id, refusal.code, refusal.message(request.order_id)))
            return
        direction = 1 if request.action == "BUY" else -1
        units = round(request.total_quantity)
        legs = [Leg(gw.contracts.option_by_con_id[leg.con_id], leg.ratio if leg.action == "BUY" else -leg.ratio)
                for leg in request.contract.combo_legs]
        after_holdings = Counter(gw.account_desk.holdings)
        for leg in legs:
            after_holdings[leg.contract] += leg.ratio * direction * units
        before = gw.account_desk.margin_usd(gw.account_desk.holdings)
        after = gw.account_desk.margin_usd(after_holdings) + faults.house_margin_usd
        commission = commission_usd(legs, units, gw.sim.commission_per_contract_usd)
        equity = gw.account_desk.net_liquidation_usd()
        order = wire.WireOrder(order_id=request.order_id, client_id=client.client_id, perm_id=0,
                               contract=request.contract, action=request.action,
                               total_quantity=request.total_quantity, order_type=request.order_type,
                               lmt_price=request.lmt_price, tif=request.tif, account=request.account,
                               order_ref=request.order_ref)
        client.send(wire.open_order(order, "PreSubmitted", [UNKNOWN] * 9))  # IB's first word: nothing computed yet
        client.send(wire.open_order(order, "PreSubmitted", [
            _money(before), _money(before), _money(equity),
            _money(after - before), _money(after - before), _money(-commission),
            _money(after), _money(after), _money(equity - commission)], commission))
