"""Asking IB what became of orders: the IB broker core's resync requests (`IbResync`: IB's open and completed orders
and the day's executions) and the orders that wait for IB's word on them.

One request is in flight at a time and a newer one supersedes it: the superseded answer's statuses and executions
still count (the session publishes them as they arrive), its verdicts do not. Only a complete open-orders answer to
the request in flight may judge an order not working; one that did not arrive in full within `ib.connect_timeout_s`
judges nothing, and IB is asked again after as long.
"""

from __future__ import annotations

from collections.abc import Iterable

from actors.broker.ib.config import IbSection
from actors.market_time import NS_PER_S
from actors.runtime.core import Context
from messages import Alert, IbOpenOrders, IbResync, TimerKey


class OrderSync:
    def __init__(self, params: IbSection, source: str) -> None:
        self._params = params
        self._source = source
        self._sync_id = 0
        self._in_flight: int | None = None
        self._to_judge: set[str] = set()
        """Orders whose fate the next complete open-orders answer decides."""

    def restart(self) -> None:
        """A request in flight died with the process: its answer never comes."""
        self._in_flight = None

    @property
    def idle(self) -> bool:
        return self._in_flight is None

    @property
    def waiting(self) -> bool:
        """Some order still waits for IB's word."""
        return bool(self._to_judge)

    def judge(self, client_order_ids: Iterable[str]) -> None:
        """IB's word on these orders is wanted: the next request asks for it."""
        self._to_judge.update(client_order_ids)

    def ask(self, reason: str, ctx: Context, resubscribe: bool = False) -> None:
        """Ask IB for open and completed orders and executions; a newer request supersedes one in flight."""
        self._sync_id += 1
        self._in_flight = self._sync_id
        ctx.cancel_timer(TimerKey.IB_ORDER_SYNC)
        ctx.publish(IbResync(reason=reason, resubscribe=resubscribe, sync_id=self._sync_id,
                             judge=tuple(sorted(self._to_judge))))

    def answered(self, answer: IbOpenOrders, ctx: Context) -> tuple[str, ...] | None:
        """The orders `answer` judges, or None when it judges none: it answers a superseded request, or it did not
        arrive in full (then IB is asked again later)."""
        if answer.sync_id != self._in_flight:
            return None  # superseded: its statuses and executions counted, its verdicts belong to the newer request
        self._in_flight = None
        if not answer.complete:
            wait_s = self._params.connect_timeout_s
            ctx.publish(Alert(level="warning", source=self._source, text="IB did not finish listing its open orders "
                              f"in time: no order is judged on it; asking again in {wait_s:g}s"))
            ctx.set_timer(TimerKey.IB_ORDER_SYNC, ctx.now() + int(wait_s * NS_PER_S))
            return None
        self._to_judge.difference_update(answer.judged)
        return answer.judged
