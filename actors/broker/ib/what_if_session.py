"""The IB session's what-if orders: the exact combo sent with Order.whatIf, IB's margin report published as it came.

Each what-if runs as its own task so a slow answer never holds up orders and cancels behind it. Its answer is always
published: IB's OrderState, IB's error on the what-if's id, or that it could not be asked or was not answered within
`connect_timeout_s` (risk has its own, usually shorter, deadline and denies on it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from ib_async import IB, Contract, OrderState

from actors.broker.ib import translate
from actors.broker.ib.config import IbSection
from messages import IbWhatIf, IbWhatIfResult, Message, OptionContract


class WhatIfAsker:
    def __init__(self, ib: IB, params: IbSection, publish: Callable[[Message], None],
                 qualify: Callable[[list[OptionContract]], Awaitable[list[OptionContract]]],
                 qualified: dict[OptionContract, Contract], account: Callable[[], str]) -> None:
        self._ib = ib
        self._params = params
        self._publish = publish
        self._qualify = qualify
        self._qualified = qualified
        self._account = account
        self._in_flight: dict[int, asyncio.Future] = {}
        """The answer each what-if in flight waits for, by its order id."""
        self._errors: dict[int, tuple[int, str]] = {}
        """IB's error on a what-if in flight."""

    def on_error(self, req_id: int, code: int, text: str) -> None:
        """IB's error on a what-if's id means no answer comes, even for the codes ib_async takes for warnings on an
        order (321 Read-Only API, 110): end the wait now. 399 and 2100-2199 are notices: the answer still comes."""
        answer = self._in_flight.get(req_id)
        if answer is None or code == 399 or 2100 <= code < 2200:
            return
        self._errors[req_id] = (code, text)
        if not answer.done():
            answer.set_result(None)

    async def ask(self, request: IbWhatIf) -> None:
        try:
            result = await self._ask(request)
        except Exception as exc:  # noqa: BLE001 - whatever went wrong, risk hears that there is no answer
            result = IbWhatIfResult(strategy_id=request.strategy_id, error=f"what-if failed: {exc!r}")
        self._publish(result)

    async def _ask(self, request: IbWhatIf) -> IbWhatIfResult:
        sid = request.strategy_id
        if not self._ib.isConnected():
            return IbWhatIfResult(strategy_id=sid, error="not connected")
        contracts = [leg.contract for leg in request.legs]
        missing = [c for c in await self._qualify(contracts) if c not in self._qualified]
        if missing:
            return IbWhatIfResult(strategy_id=sid, error=f"IB does not know {', '.join(map(str, missing))}")
        combo = translate.combo(request.legs, {c: self._qualified[c].conId for c in contracts})
        order = translate.combo_order(sid, request.quantity, request.limit_price, self._account())
        order.whatIf = True
        client = self._ib.client
        client.updateReqId(request.min_order_id)  # a what-if uses up an order id: never one IB rolled back
        # IB.whatIfOrderAsync does these three steps but hides the id; the id is what IB's error names
        order_id = client.getReqId()
        answer = self._in_flight[order_id] = self._ib.wrapper.startReq(order_id, combo)
        try:
            client.placeOrder(order_id, combo, order)
            state = await asyncio.wait_for(answer, self._params.connect_timeout_s)
        except asyncio.TimeoutError:
            return IbWhatIfResult(strategy_id=sid, order_id=order_id,
                                  error=f"IB did not answer within {self._params.connect_timeout_s:g}s")
        finally:
            del self._in_flight[order_id]
            code, text = self._errors.pop(order_id, (0, ""))
        if not isinstance(state, OrderState):  # ib_async ends a request IB refused with an empty result
            return IbWhatIfResult(strategy_id=sid, order_id=order_id, error_code=code,
                                  error=text or "IB refused the what-if without a reason")
        return IbWhatIfResult(strategy_id=sid, order_id=order_id, init_margin_before=state.initMarginBefore,
                              init_margin_change=state.initMarginChange, init_margin_after=state.initMarginAfter,
                              maint_margin_after=state.maintMarginAfter,
                              equity_with_loan_after=state.equityWithLoanAfter, commission=state.commission)
