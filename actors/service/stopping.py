"""What a stopping node waits for: the broker's answer to every cancel. Fed only by observing published messages."""

from __future__ import annotations

import threading

from messages import CancelOrder, Message, OrderTerminated, PlaceOrder, StorageStateChanged


class WorkingOrders:
    """Orders this run placed or cancelled that execution has not yet declared done (`OrderTerminated`). An order
    left working by an earlier run counts once the rebuilt execution actor cancels it; one the rebuild already knows
    to be done is never waited for."""

    def __init__(self) -> None:
        self._working: set[str] = set()
        self._changed = threading.Condition()

    def observe(self, message: Message) -> None:
        if isinstance(message, (PlaceOrder, CancelOrder)):
            with self._changed:
                self._working.add(message.client_order_id)
        elif isinstance(message, OrderTerminated):
            with self._changed:
                self._working.discard(message.client_order_id)
                self._changed.notify_all()

    def wait_until_none(self, timeout_s: float) -> list[str]:
        """Wait (bounded) until no order works; returns those still working."""
        with self._changed:
            self._changed.wait_for(lambda: not self._working, timeout=timeout_s)
            return sorted(self._working)


class StorageWatch:
    """The last word of each store (journal, write-ahead log): did the final flush land?"""

    def __init__(self) -> None:
        self.last: dict[str, StorageStateChanged] = {}

    def observe(self, message: Message) -> None:
        if isinstance(message, StorageStateChanged):
            self.last[message.store] = message

    def unflushed(self) -> StorageStateChanged | None:
        last = self.last.get("journal")
        return last if last is not None and last.state == "unflushed" else None
