"""What an order is placed on at IB: the combo (BAG) of its legs, or, for a stock order (the shares an assignment or
exercise left, sold or bought back), the stock on SMART in USD. Every contract is qualified with IB first (its conId),
so an order naming a leg or a symbol IB does not know is never sent."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from ib_async import IB, Contract
from msgspec import UNSET

from actors.broker.ib import translate
from messages import IbPlaceOrder, OptionContract


class OrderContracts:
    def __init__(self, ib: IB, timeout_s: float,
                 qualify: Callable[[list[OptionContract]], Awaitable[list[OptionContract]]],
                 qualified: dict[OptionContract, Contract]) -> None:
        self._ib = ib
        self._timeout_s = timeout_s
        self._qualify = qualify
        self._qualified = qualified
        """The session's option contracts IB qualified (shared with market data)."""
        self._stocks: dict[str, Contract] = {}

    async def of(self, request: IbPlaceOrder) -> Contract | str:
        """The contract to place `request` on, or why there is none."""
        if request.stock is not UNSET:
            return await self._stock(request.stock)
        contracts = [leg.contract for leg in request.legs]
        missing = [c for c in await self._qualify(contracts) if c not in self._qualified]
        if missing:
            return f"IB does not know {', '.join(map(str, missing))}"
        return translate.combo(request.legs, {c: self._qualified[c].conId for c in contracts})

    async def _stock(self, symbol: str) -> Contract | str:
        if symbol not in self._stocks:
            results = await asyncio.wait_for(self._ib.qualifyContractsAsync(translate.stock(symbol)), self._timeout_s)
            qualified = next(iter(results), None)
            if isinstance(qualified, Contract) and qualified.conId:
                self._stocks[symbol] = qualified
        return self._stocks.get(symbol) or f"IB does not know the stock {symbol}"
