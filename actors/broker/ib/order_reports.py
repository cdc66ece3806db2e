"""What IB reports of the node's orders, as the IB session publishes it: the statuses IB itself gave them, the
executions of this client id and their commission reports. Runs on the session's asyncio thread only.

The execution sweeps and resyncs read IB's whole day every time, so each execution and each commission report is
published once per session; a commission report carrying IB's unset value is published but not counted as the one,
since the real report is still to come.
"""

from __future__ import annotations

from collections.abc import Callable

from ib_async import Fill, Trade
from ib_async.objects import CommissionReport

from actors.broker.ib import translate
from actors.broker.ib.fills import usable_commission
from messages import IbCommission, IbExecution, Message

LOCAL_STATUSES = frozenset({"PendingSubmit", "PendingCancel", "ValidationError"})
"""Statuses ib_async sets itself when it sends an order or a cancel, or on an error: its bookkeeping, not IB's."""


class OrderReports:
    def __init__(self, client_id: int, publish: Callable[[Message], None]) -> None:
        self._client_id = client_id
        self._publish = publish
        self._published_executions: set[str] = set()
        self._published_commissions: set[str] = set()

    # ib_async's events -------------------------------------------------------------------------------------------
    def on_order(self, trade: Trade) -> None:
        if _ibs_own_status(trade):
            self._publish(translate.order_status(trade))

    def on_execution(self, trade: Trade, fill: Fill) -> None:
        if fill.execution.clientId == self._client_id:
            self._publish_execution(translate.execution(fill, trade.order.orderRef))

    def on_commission(self, _trade: Trade, _fill: Fill, report: CommissionReport) -> None:
        self._publish_commission(report)

    # IB's answers to a resync or a sweep -------------------------------------------------------------------------
    def publish_orders_and_fills(self, trades: list[Trade], fills: list[Fill]) -> None:
        for trade in trades:
            if _ibs_own_status(trade):
                self._publish(translate.order_status(trade))
        for fill in sorted(fills, key=lambda f: f.time):
            if fill.execution.clientId != self._client_id:
                continue  # another API client's or TWS's own trade: reconciliation judges its positions
            self._publish_execution(translate.execution(fill))
            self._publish_commission(fill.commissionReport)

    def _publish_execution(self, execution: IbExecution) -> None:
        if execution.exec_id not in self._published_executions:
            self._published_executions.add(execution.exec_id)
            self._publish(execution)

    def _publish_commission(self, report: CommissionReport) -> None:
        if report.execId and report.execId not in self._published_commissions:
            if usable_commission(report.commission):  # IB's unset value: the real report is still to come
                self._published_commissions.add(report.execId)
            self._publish(IbCommission(exec_id=report.execId, commission_usd=report.commission))


def _ibs_own_status(trade: Trade) -> bool:
    """An order of ours whose status IB reported: not one ib_async set itself on sending or after an error (the
    IbError carries that fact, and the broker core asks IB what it means)."""
    last = trade.log[-1] if trade.log else None
    return (bool(trade.order.orderRef) and trade.orderStatus.status not in LOCAL_STATUSES
            and not (last is not None and last.errorCode))
