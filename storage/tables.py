"""The derived Delta tables: explicit Arrow schemas, and the projection of journaled messages into their rows.

The journal holds every message; these tables hold what people and tools query — orders, fills, strategies,
legs, decisions, alerts, risk state, greeks, marks — one append-only row per event. Each table records its schema
version in its Delta configuration.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Container, Iterable
from typing import Any

import pyarrow as pa

from messages import (
    Alert,
    CloseStrategy,
    CoreSnapshot,
    DecisionRecord,
    Message,
    ModifyRefused,
    NodeStarted,
    OpenStrategy,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderModified,
    OrderRejected,
    OrderTerminated,
    PlaceOrder,
    PortfolioGreeks,
    RollStrategy,
    StrategyClosed,
    StrategyGreeks,
    StrategyMarked,
    StrategyOpened,
    StrategyReduced,
)
from messages.risk import RiskStateSnapshot

SCHEMA_VERSION = "1"
SCHEMA_VERSION_KEY = "thetanode.schema_version"

_EVENT = [pa.field("session_id", pa.string(), False), pa.field("seq", pa.int64(), False),
          pa.field("ts", pa.int64(), False)]

SCHEMAS: dict[str, pa.Schema] = {
    "orders": pa.schema(_EVENT + [
        pa.field("client_order_id", pa.string(), False), pa.field("strategy_id", pa.string()),
        pa.field("event", pa.string(), False), pa.field("purpose", pa.string()), pa.field("quantity", pa.int64()),
        pa.field("limit_price", pa.float64()), pa.field("detail", pa.string()),
    ]),
    "fills": pa.schema(_EVENT + [
        pa.field("exec_id", pa.string(), False), pa.field("client_order_id", pa.string(), False),
        pa.field("quantity", pa.int64(), False), pa.field("price", pa.float64(), False),
        pa.field("commission_usd", pa.float64(), False),
    ]),
    "strategies": pa.schema(_EVENT + [
        pa.field("strategy_id", pa.string(), False), pa.field("event", pa.string(), False),
        pa.field("kind", pa.string()), pa.field("symbol", pa.string()), pa.field("quantity", pa.int64()),
        pa.field("entry_price", pa.float64()), pa.field("exit_price", pa.float64()),
        pa.field("max_profit_usd", pa.float64()), pa.field("max_loss_usd", pa.float64()),
        pa.field("realized_pnl_usd", pa.float64()), pa.field("commissions_usd", pa.float64()),
        pa.field("rule", pa.string()),
    ]),
    "legs": pa.schema(_EVENT + [
        pa.field("strategy_id", pa.string(), False), pa.field("symbol", pa.string(), False),
        pa.field("expiry", pa.date32(), False), pa.field("strike", pa.float64(), False),
        pa.field("right", pa.string(), False), pa.field("ratio", pa.int64(), False),
    ]),
    "decisions": pa.schema(_EVENT + [
        pa.field("strategy_id", pa.string()), pa.field("action", pa.string(), False), pa.field("rule", pa.string()),
        pa.field("detail", pa.string()),
    ]),
    "alerts": pa.schema(_EVENT + [
        pa.field("level", pa.string(), False), pa.field("source", pa.string(), False),
        pa.field("text", pa.string(), False),
    ]),
    "risk_state": pa.schema(_EVENT + [
        pa.field("trading_state", pa.string(), False), pa.field("trading_reason", pa.string()),
        pa.field("breaker_state", pa.string(), False), pa.field("breaker_since_ns", pa.int64()),
        pa.field("failures", pa.int64()), pa.field("half_open_successes", pa.int64()),
    ]),
    "greeks_snapshots": pa.schema(_EVENT + [
        pa.field("scope", pa.string(), False), pa.field("symbol", pa.string()), pa.field("delta", pa.float64()),
        pa.field("gamma", pa.float64()), pa.field("vega", pa.float64()), pa.field("theta", pa.float64()),
    ]),
    "marks": pa.schema(_EVENT + [
        pa.field("strategy_id", pa.string(), False), pa.field("symbol", pa.string(), False),
        pa.field("quantity", pa.int64(), False), pa.field("entry_price", pa.float64(), False),
        pa.field("mark_price", pa.float64(), False), pa.field("unrealized_pnl_usd", pa.float64(), False),
        pa.field("peak_pnl_usd", pa.float64(), False), pa.field("underlying_price", pa.float64(), False),
        pa.field("days_to_expiry", pa.int64(), False), pa.field("conservative", pa.bool_(), False),
    ]),
    "session_index": pa.schema(_EVENT + [
        pa.field("event", pa.string(), False), pa.field("mode", pa.string()), pa.field("core", pa.string()),
        pa.field("through_seq", pa.int64()),
    ]),
}
"""`session_index` is where a start finds the sessions and the snapshot sets (`storage/session_index.py`)."""

Row = dict[str, Any]


def _order(event: str, **fields: Any) -> tuple[str, Row]:
    return "orders", {"event": event, **fields}


def _rows(message: Message) -> list[tuple[str, Row]]:  # noqa: PLR0911 - one case per message type
    match message:
        case PlaceOrder():
            return [_order("placed", client_order_id=message.client_order_id, strategy_id=message.strategy_id,
                           purpose=message.purpose, quantity=message.quantity, limit_price=message.limit_price)]
        case OrderAccepted():
            return [_order("accepted", client_order_id=message.client_order_id,
                           detail=f"broker order {message.broker_order_id}")]
        case OrderModified():
            return [_order("modified", client_order_id=message.client_order_id, limit_price=message.limit_price)]
        case ModifyRefused():  # the limit column is what the order works at, as after every other event
            return [_order("modify_refused", client_order_id=message.client_order_id,
                           limit_price=message.working_price,
                           detail=f"{message.limit_price:.2f} refused: {message.code}: {message.reason}")]
        case OrderRejected():
            return [_order("rejected", client_order_id=message.client_order_id,
                           detail=f"{message.code}: {message.reason}")]
        case OrderCancelled():
            return [_order("cancelled", client_order_id=message.client_order_id, quantity=message.filled_quantity,
                           detail=message.reason)]
        case OrderTerminated():
            return [_order(f"terminated:{message.status}", client_order_id=message.client_order_id,
                           strategy_id=message.strategy_id, purpose=message.purpose,
                           quantity=message.filled_quantity, limit_price=message.avg_price)]
        case OrderFilled():
            return [("fills", {"exec_id": message.exec_id, "client_order_id": message.client_order_id,
                               "quantity": message.quantity, "price": message.price,
                               "commission_usd": message.commission_usd})]
        case StrategyOpened():
            legs = [("legs", {"strategy_id": message.strategy_id, "symbol": leg.contract.symbol,
                              "expiry": leg.contract.expiry, "strike": leg.contract.strike,
                              "right": leg.contract.right, "ratio": leg.ratio}) for leg in message.legs]
            return [("strategies", {"strategy_id": message.strategy_id, "event": "opened", "kind": message.kind,
                                    "symbol": message.symbol, "quantity": message.quantity,
                                    "entry_price": message.entry_price, "max_profit_usd": message.max_profit_usd,
                                    "max_loss_usd": message.max_loss_usd}), *legs]
        case StrategyClosed():
            return [("strategies", {"strategy_id": message.strategy_id, "event": "closed",
                                    "exit_price": message.exit_price, "realized_pnl_usd": message.realized_pnl_usd,
                                    "commissions_usd": message.commissions_usd, "rule": message.rule})]
        case StrategyReduced():
            return [("strategies", {"strategy_id": message.strategy_id, "event": "reduced",
                                    "quantity": message.closed_quantity, "exit_price": message.exit_price,
                                    "realized_pnl_usd": message.realized_pnl_usd,
                                    "commissions_usd": message.commissions_usd, "rule": message.rule})]
        case OpenStrategy() | CloseStrategy():
            action = "open" if isinstance(message, OpenStrategy) else "close"
            rule = "entry" if isinstance(message, OpenStrategy) else message.rule
            return [("decisions", {"strategy_id": message.strategy_id, "action": action, "rule": rule,
                                   "detail": message.reason})]
        case RollStrategy():
            return [("decisions", {"strategy_id": message.strategy_id, "action": "roll", "rule": message.close.rule,
                                   "detail": f"into {message.open.strategy_id}: {message.open.reason}"})]
        case DecisionRecord():
            return [("decisions", {"strategy_id": message.strategy_id, "action": message.action,
                                   "rule": message.rule, "detail": message.detail})]
        case Alert():
            return [("alerts", {"level": message.level, "source": message.source, "text": message.text})]
        case RiskStateSnapshot():
            return [("risk_state", {"trading_state": message.trading_state, "trading_reason": message.trading_reason,
                                    "breaker_state": message.breaker_state,
                                    "breaker_since_ns": message.breaker_since_ns,
                                    "failures": len(message.failures_ns),
                                    "half_open_successes": message.half_open_successes})]
        case StrategyGreeks():
            return [("greeks_snapshots", {"scope": message.strategy_id, "symbol": message.symbol,
                                          "delta": message.delta, "gamma": message.gamma, "vega": message.vega,
                                          "theta": message.theta})]
        case StrategyMarked():
            return [("marks", {name: getattr(message, name) for name in SCHEMAS["marks"].names
                               if name not in ("session_id", "seq", "ts")})]
        case NodeStarted():
            return [("session_index", {"event": "started", "mode": message.mode})]
        case CoreSnapshot():
            return [("session_index", {"event": "snapshot", "core": message.core, "through_seq": message.through_seq})]
        case PortfolioGreeks():
            return [("greeks_snapshots", {"scope": "portfolio", "delta": message.delta, "gamma": message.gamma,
                                          "vega": message.vega, "theta": message.theta})]
    return []


PROJECTED_TYPES: tuple[type[Message], ...] = (
    PlaceOrder, OrderAccepted, OrderModified, ModifyRefused, OrderRejected, OrderCancelled, OrderTerminated,
    OrderFilled, StrategyOpened, StrategyReduced, StrategyClosed, OpenStrategy, CloseStrategy, RollStrategy,
    DecisionRecord, Alert, RiskStateSnapshot, StrategyGreeks, StrategyMarked, PortfolioGreeks, NodeStarted,
    CoreSnapshot)
"""The message types `_rows` projects into derived tables (tests/unit/test_write_ahead.py checks it against `_rows`)."""
_PROJECTED = frozenset(PROJECTED_TYPES)


def project(session_id: str, messages: Iterable[Message], stored_exec_ids: Container[str] = frozenset(),
            ) -> dict[str, pa.Table]:
    """Rows per derived table for a batch; a fill whose exec_id is already stored (or earlier in the batch) is a
    broker replay and is not stored twice."""
    in_batch: set[str] = set()
    columns: dict[str, list[Row]] = defaultdict(list)
    for message in messages:
        if type(message) not in _PROJECTED:  # most of a batch is quotes: skip them without walking every case
            continue
        for table, row in _rows(message):
            if table == "fills":
                if row["exec_id"] in stored_exec_ids or row["exec_id"] in in_batch:
                    continue
                in_batch.add(row["exec_id"])
            columns[table].append({"session_id": session_id, "seq": message.seq, "ts": message.ts, **row})
    return {table: pa.Table.from_pylist(rows, schema=SCHEMAS[table]) for table, rows in columns.items()}

