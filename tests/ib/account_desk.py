"""The account as the test gateway reports it: the option positions and what they cost, position rows (reqPositions,
then every change as it happens), account values and portfolio rows (reqAccountUpdates, reqAccountUpdatesMulti), and
OCC's overnight settlements. Cash starts at $100,000; margin is Reg T's for defined-risk spreads. Every method runs on
the gateway's event loop.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING

from actors.portfolio.margin import worst_expiry_value_usd
from messages import OptionContract
from tests.ib import wire

if TYPE_CHECKING:
    from tests.ib.gateway import TestGateway, _Client

STARTING_CASH_USD = 100_000.0


class AccountDesk:
    def __init__(self, gateway: TestGateway, spots: Mapping[str, float]) -> None:
        self._gw = gateway
        self._spots = spots
        """The underlyings' prices the test set: what the account's shares are worth."""
        self.holdings: Counter[OptionContract] = Counter()
        self.costs: Counter[OptionContract] = Counter()
        """What each option position cost, in dollars (negative: a credit taken in)."""

    # what the account is worth -----------------------------------------------------------------------------------
    def avg_cost(self, contract: OptionContract) -> float:
        quantity = self.holdings[contract]
        return round(self.costs[contract] / quantity, 4) if quantity else 0.0

    def cash_usd(self) -> float:
        return STARTING_CASH_USD - sum(self.costs.values()) + self._gw.stocks.cash_usd

    def net_liquidation_usd(self) -> float:
        return (self.cash_usd() + sum(q * self._mark(c) * 100 for c, q in self.holdings.items())
                + self._gw.stocks.value_usd(self._spots.get))

    @staticmethod
    def margin_usd(holdings: Mapping[OptionContract, int]) -> float:
        """Reg T: a defined-risk spread holds its width × 100 × quantity (the credit is cash, not a margin offset)."""
        return -sum(worst_expiry_value_usd({c: q for c, q in holdings.items() if (c.symbol, c.expiry) == group and q})
                    or 0.0 for group in {(c.symbol, c.expiry) for c, q in holdings.items() if q})

    def _account_values(self) -> list[tuple[str, str]]:
        cash, net, margin = self.cash_usd(), self.net_liquidation_usd(), self.margin_usd(self.holdings)
        return [("NetLiquidation", f"{net:.2f}"), ("TotalCashValue", f"{cash:.2f}"),
                ("BuyingPower", f"{4 * (net - margin):.2f}"), ("InitMarginReq", f"{margin:.2f}"),
                ("MaintMarginReq", f"{margin:.2f}"), ("AvailableFunds", f"{net - margin:.2f}"),
                ("ExcessLiquidity", f"{net - margin:.2f}")]

    def _mark(self, contract: OptionContract) -> float:
        quote = self._gw.option_quotes([contract]).get(contract)
        return (quote.bid + quote.ask) / 2 if quote else 0.0

    # requests ----------------------------------------------------------------------------------------------------
    def answer_positions(self, client: _Client) -> None:
        """reqPositions: every option and stock row, then positionEnd; later changes follow as they happen."""
        gw = self._gw
        client.positions = True
        for contract, quantity in sorted(self.holdings.items(), key=lambda item: str(item[0])):
            client.send(wire.position(gw.account, gw.contracts.wire_option(contract), quantity,
                                      self.avg_cost(contract)))
        for symbol, quantity in sorted(gw.stocks.shares.items()):
            client.send(wire.position(gw.account, gw.contracts.wire_stock(symbol), quantity,
                                      gw.stocks.avg_cost(symbol)))
        client.send(wire.position_end())

    def answer_account_updates(self, client: _Client, subscribe: bool) -> None:
        client.account_updates = subscribe
        if subscribe:
            self._send_account(client)
            client.send(wire.account_download_end(self._gw.account))

    def answer_account_multi(self, client: _Client, req_id: int) -> None:
        account = self._gw.account
        for key, value in self._account_values():
            client.send(wire.account_update_multi(req_id, account, "", key, value, "USD"))
        client.send(wire.account_update_multi_end(req_id))

    # changes -----------------------------------------------------------------------------------------------------
    def after_fill(self, contracts: list[OptionContract]) -> None:
        gw = self._gw
        for client in gw.clients:
            for contract in contracts:
                if client.positions:
                    client.send(wire.position(gw.account, gw.contracts.wire_option(contract),
                                              self.holdings[contract], self.avg_cost(contract)))
                if client.account_updates:
                    self._send_portfolio_row(client, contract)
            if client.account_updates:
                self._send_account(client)

    def settle(self, contract: OptionContract, exercised: bool, contracts: int | None = None) -> None:
        """OCC settles an option (see `TestGateway.settle`): its row goes to what is left, the shares to their own."""
        gw = self._gw
        held = self.holdings.get(contract, 0)
        quantity = held if contracts is None else -contracts if held < 0 else contracts
        left = held - quantity
        if left:
            self.holdings[contract] = left
            self.costs[contract] = self.costs.get(contract, 0.0) * left / held
        else:
            self.holdings.pop(contract, None)
            self.costs.pop(contract, None)
        sign = 1 if contract.right == "C" else -1
        if exercised:
            gw.stocks.deliver(contract.symbol, sign * quantity * 100, contract.strike)
        for client in gw.clients:
            if client.positions:
                client.send(wire.position(gw.account, gw.contracts.wire_option(contract), left,
                                          self.avg_cost(contract) if left else 0.0))
        if exercised:
            gw.stocks.send_position(contract.symbol)

    def send_account(self) -> None:
        for client in self._gw.clients:
            if client.account_updates:
                self._send_account(client)

    def _send_account(self, client: _Client) -> None:
        gw = self._gw
        for key, value in self._account_values():
            client.send(wire.update_account_value(key, value, "USD", gw.account))
        for contract in self.holdings:
            self._send_portfolio_row(client, contract)
        client.send(wire.update_account_time(dt.datetime.fromtimestamp(gw.clock() / 1e9, dt.UTC).strftime("%H:%M")))

    def _send_portfolio_row(self, client: _Client, contract: OptionContract) -> None:
        quantity, mark = self.holdings[contract], self._mark(contract)
        value = quantity * mark * 100
        client.send(wire.update_portfolio(self._gw.contracts.wire_option(contract), quantity, mark, value,
                                          self.avg_cost(contract), value - self.costs[contract], 0.0, self._gw.account))
