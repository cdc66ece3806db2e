"""The write-ahead gate in the publish path: an order command reaches its subscribers (the broker) only after the
order lifecycle up to it is fsynced in the session's write-ahead log.

The log holds what a restarted node must know even when the lake lost its last batches: every message except market
state, timers and diagnostics — intents and approvals, order commands, the broker's order events (IB's own order
conversation included), fills, positions opened and closed, halts, alerts. They are buffered as they are published and
synced with the next order command, so the broker never sees a command whose history is not on disk, and a rebuild
from the log is consistent across actors (a position's fills and its `StrategyOpened` both, or neither); a buffer
that outgrows `SYNC_ABOVE_BYTES` between commands is synced on its own. When the log cannot be written: new orders and
modifications are not sent (the order is rejected, code 0), cancels still go out (they only reduce exposure, and a
restarted node cancels whatever it finds working anyway).
"""

from __future__ import annotations

import threading

from loguru import logger

from messages import (
    REJECT_NOT_SENT,
    Alert,
    BrokerAccountValues,
    BrokerPortfolio,
    BrokerPositionsSnapshot,
    CancelOrder,
    ChainRequest,
    ChainSnapshot,
    CoreSnapshot,
    DecisionRecord,
    Dividends,
    FlushJournal,
    IndexQuote,
    JournalFlushed,
    MarketSessionChanged,
    Message,
    ModifyOrder,
    OptionQuote,
    OptionQuotes,
    OrderRejected,
    PlaceOrder,
    PortfolioGreeks,
    QuoteStale,
    StorageStateChanged,
    StrategyGreeks,
    TimerFired,
    UnderlyingQuote,
    VolatilityStats,
)
from storage.write_ahead import WriteAheadError, WriteAheadLog

ORDER_COMMANDS = (PlaceOrder, ModifyOrder, CancelOrder)
NOT_LOGGED = (UnderlyingQuote, OptionQuote, OptionQuotes, IndexQuote, ChainRequest, ChainSnapshot, VolatilityStats,
              StrategyGreeks, PortfolioGreeks, Dividends, QuoteStale, MarketSessionChanged, BrokerPortfolio,
              BrokerAccountValues, BrokerPositionsSnapshot, DecisionRecord, TimerFired, FlushJournal, JournalFlushed,
              CoreSnapshot)
"""Market state, timers and diagnostics: the bulk of the traffic, re-learnt from the broker after a restart. And the
cores' snapshots: a set must become durable no sooner than the journal holds everything before its cut (the
quotes and timers it cuts are not in this log), and the journal commits in order, so the set lands with them."""
SYNC_ABOVE_BYTES = 1 << 20

class WriteAheadGate:
    def __init__(self, log: WriteAheadLog) -> None:
        self.log = log
        self._lock = threading.Lock()
        self.failing = False
        self._logged: dict[type, bool] = {}  # by message type: every published message asks

    def check(self, message: Message) -> tuple[bool, list[Message]]:
        """Log `message` (and sync, if it is a command). Returns whether to deliver it, and what to publish first."""
        logged = self._logged.get(type(message))
        if logged is None:
            logged = self._logged[type(message)] = not isinstance(message, NOT_LOGGED)
        if not logged:
            return True, []
        with self._lock:
            mark = self.log.mark()
            self.log.append(message)
            if not isinstance(message, ORDER_COMMANDS):
                if mark >= SYNC_ABOVE_BYTES:  # days without an order: keep memory bounded
                    self._sync_quietly()
                return True, []
            try:
                self.log.sync()
            except WriteAheadError as exc:
                return self._refuse(message, mark, str(exc))
            if not self.failing:
                return True, []
            self.failing = False
        logger.warning("write-ahead log writable again")
        return True, [StorageStateChanged(store="write_ahead", state="ok", reason="write-ahead log writable again"),
                      Alert(level="info", source="persistence", text="write-ahead log writable again: orders resume")]

    def _sync_quietly(self) -> None:
        try:
            self.log.sync()
        except WriteAheadError as exc:
            logger.error(f"{exc}: retried with the next order command")

    def close(self) -> None:
        with self._lock:
            self.log.close()

    def spill(self, messages: list[Message]) -> None:
        """Keep messages the lake would not take (a stop whose final flush failed): synced, folded in at next start."""
        with self._lock:
            for message in messages:
                self.log.append(message)
            self.log.sync()

    def _refuse(self, command: Message, mark: int, error: str) -> tuple[bool, list[Message]]:
        notes: list[Message] = []
        if not self.failing:
            self.failing = True
            text = f"{error}: no order or modification can be sent, only cancels"
            logger.critical(text)
            notes += [StorageStateChanged(store="write_ahead", state="failing", reason=error),
                      Alert(level="critical", source="persistence", text=text)]
        if isinstance(command, CancelOrder):
            return True, notes  # sent unlogged: the next successful sync still records it
        self.log.discard_from(mark)  # never sent, so never logged
        if isinstance(command, PlaceOrder):
            notes.append(OrderRejected(client_order_id=command.client_order_id, code=REJECT_NOT_SENT,
                                       reason=f"not sent: {error}"))
        else:
            notes.append(Alert(level="warning", source="persistence",
                               text=f"modify of {command.client_order_id} not sent: write-ahead log unwritable"))
        return False, notes
