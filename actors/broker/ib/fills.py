"""Combo fills from IB executions: pure bookkeeping of execDetails and commissionReports.

IB reports one execution for the combo as a whole (secType BAG: combo units at the net price) and one per leg
(each with its own commission report). A combo fill is booked from the BAG execution, with the commissions of the
leg executions it covers; it waits for those reports (arriving in any order, legs before or after the combo) and
is booked without the missing ones only when the caller forces it after a grace period. Executions are unique by
execution id, so the day's executions IB replays on every reconnect are recognised and never booked twice; a
correction (same id but for the digits after the last period) is not booked again either.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from messages import IbExecution, Legs, OptionContract

SHARE_EPSILON = 1e-9


def execution_identity(exec_id: str) -> str:
    """IB marks a correction by changing only the digits after the final period of the execution id."""
    base, dot, _ = exec_id.rpartition(".")
    return base if dot and base else exec_id


@dataclass
class _LegExecution:
    exec_id: str
    shares: float
    unclaimed: float


@dataclass
class BookedFill:
    """A combo fill ready to be reported: signed combo units at the net price, with the commissions known."""

    client_order_id: str
    exec_id: str
    quantity: int
    price: float
    commission_usd: float
    missing_commissions: tuple[str, ...] = ()


@dataclass
class _ComboFill:
    client_order_id: str
    exec_id: str
    quantity: int
    price: float
    needed: dict[OptionContract, float]
    claims: list[tuple[str, float]] = field(default_factory=list)
    """(leg execution id, fraction of that execution's shares) covered by this combo fill."""


class ComboFills:
    def __init__(self) -> None:
        self._seen: set[str] = set()
        self._unclaimed: dict[str, dict[OptionContract, deque[_LegExecution]]] = {}
        self._commission: dict[str, float] = {}
        self._pending: dict[str, _ComboFill] = {}

    def add(self, execution: IbExecution, legs: Legs) -> str:
        """Record one execution of an order with these legs; returns "new", "duplicate" or "correction"."""
        identity = execution_identity(execution.exec_id)
        if execution.exec_id in self._seen:
            return "duplicate"
        if identity in self._seen:
            self._seen.add(execution.exec_id)
            return "correction"
        self._seen |= {execution.exec_id, identity}
        if execution.contract is None:
            self._add_combo(execution, legs)
        else:
            self._add_leg(execution)
        return "new"

    def commission(self, exec_id: str, usd: float) -> None:
        self._commission[exec_id] = usd

    def pending(self, client_order_id: str) -> bool:
        return bool(self.pending_exec_ids(client_order_id))

    def pending_exec_ids(self, client_order_id: str) -> list[str]:
        return [exec_id for exec_id, fill in self._pending.items() if fill.client_order_id == client_order_id]

    def ready(self) -> list[BookedFill]:
        """Every pending combo fill whose legs have all executed and reported their commissions, in arrival order."""
        done = [exec_id for exec_id, fill in self._pending.items() if self._complete(fill)]
        return [self._book(exec_id) for exec_id in done]

    def force(self, exec_id: str) -> BookedFill | None:
        """Book a pending combo fill now, with whatever commissions arrived (the grace period is over)."""
        return self._book(exec_id) if exec_id in self._pending else None

    # internals ---------------------------------------------------------------------------------------------------
    def _add_combo(self, execution: IbExecution, legs: Legs) -> None:
        units = round(execution.shares)
        quantity = units if execution.side == "BOT" else -units
        fill = _ComboFill(
            client_order_id=execution.client_order_id,
            exec_id=execution.exec_id,
            quantity=quantity,
            price=execution.price,
            needed={leg.contract: abs(leg.ratio) * units for leg in legs},
        )
        self._pending[execution.exec_id] = fill
        for contract in fill.needed:
            queue = self._unclaimed.get(execution.client_order_id, {}).get(contract, deque())
            while queue and fill.needed[contract] > SHARE_EPSILON:
                self._claim(fill, contract, queue[0])
                if queue[0].unclaimed <= SHARE_EPSILON:
                    queue.popleft()

    def _add_leg(self, execution: IbExecution) -> None:
        assert execution.contract is not None
        leg = _LegExecution(execution.exec_id, execution.shares, execution.shares)
        for fill in self._pending.values():
            if fill.client_order_id == execution.client_order_id and fill.needed.get(execution.contract, 0) > 0:
                self._claim(fill, execution.contract, leg)
                if leg.unclaimed <= SHARE_EPSILON:
                    return
        by_contract = self._unclaimed.setdefault(execution.client_order_id, {})
        by_contract.setdefault(execution.contract, deque()).append(leg)

    @staticmethod
    def _claim(fill: _ComboFill, contract: OptionContract, leg: _LegExecution) -> None:
        taken = min(fill.needed[contract], leg.unclaimed)
        fill.needed[contract] -= taken
        leg.unclaimed -= taken
        fill.claims.append((leg.exec_id, taken / leg.shares))

    def _complete(self, fill: _ComboFill) -> bool:
        legs_done = all(needed <= SHARE_EPSILON for needed in fill.needed.values())
        return legs_done and all(exec_id in self._commission for exec_id, _ in fill.claims)

    def _book(self, exec_id: str) -> BookedFill:
        fill = self._pending.pop(exec_id)
        known = [(leg, fraction) for leg, fraction in fill.claims if leg in self._commission]
        missing = tuple(leg for leg, _ in fill.claims if leg not in self._commission)
        missing += tuple(f"{contract} leg" for contract, needed in sorted(fill.needed.items(), key=lambda i: str(i[0]))
                         if needed > SHARE_EPSILON)
        commission = sum(self._commission[leg] * fraction for leg, fraction in known)
        commission += self._commission.get(fill.exec_id, 0.0)  # should IB charge the combo execution itself
        return BookedFill(
            client_order_id=fill.client_order_id,
            exec_id=fill.exec_id,
            quantity=fill.quantity,
            price=fill.price,
            commission_usd=round(commission, 2),
            missing_commissions=missing,
        )
