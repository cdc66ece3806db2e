"""`thetanode status`: rich tables of what the lake says — positions, P&L, greeks, orders, risk, freshness."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from actors.terminal import Column, print_table

from actors.lake_state import NEW_YORK, LakeState


def _when(ts_ns: int) -> str:
    return dt.datetime.fromtimestamp(ts_ns / 1e9, tz=NEW_YORK).strftime("%Y-%m-%d %H:%M:%S") if ts_ns else "never"


def print_status(state: LakeState, console: Console, heartbeat_file: str) -> None:
    risk = state.risk
    console.print(
        f"sessions {len(state.sessions)} · trading {risk.trading_state if risk else 'ACTIVE'}"
        f"{f' ({risk.trading_reason})' if risk and risk.trading_reason else ''} · breaker "
        f"{risk.breaker_state if risk else 'CLOSED'} · last underlying quote {_when(state.last_quote_ns)}",
        highlight=False,
    )
    positions = []
    for opened in state.open_strategies:
        greeks = state.strategy_greeks.get(opened.strategy_id)
        positions.append((opened.strategy_id, opened.kind, _when(opened.ts), str(opened.quantity),
                          f"{opened.entry_price:+.2f}", f"{opened.max_profit_usd:.2f}", f"{opened.max_loss_usd:.2f}",
                          *(f"{getattr(greeks, g):+.1f}" if greeks else "-" for g in ("delta", "vega", "theta"))))
    print_table(console, "open positions", [
        Column("strategy", 0, "left"), Column("kind", 3, "left"), Column("opened", 2), Column("qty"),
        Column("entry"), Column("max profit $", 4), Column("max loss $", 4), Column("delta", 1), Column("vega", 5),
        Column("theta $/day", 1)], positions)
    orders = [(order.client_order_id, order.purpose, str(order.quantity), f"{order.limit_price:+.2f}", _when(order.ts))
              for order in state.working_orders]
    print_table(console, "working orders", [
        Column("client order id", 0, "left"), Column("purpose", 1, "left"), Column("qty"), Column("limit"),
        Column("placed", 2)], orders)
    days, cumulative = [], 0.0
    for day, amount in sorted(state.realized_by_day().items()):
        cumulative += amount
        days.append((day.isoformat(), f"{amount:+.2f}", f"{cumulative:+.2f}"))
    print_table(console, "realised P&L by day", [
        Column("day", 0, "left"), Column("P&L $"), Column("cumulative $")], days)
    alerts = []
    for alert in state.recent_alerts:
        style = {"critical": "bold red", "warning": "yellow"}.get(alert.level, "")
        alerts.append((_when(alert.ts), f"[{style}]{alert.level}[/{style}]" if style else alert.level, alert.source,
                       escape(alert.text)))
    print_table(console, f"latest alerts (up to {len(state.recent_alerts)})", [
        Column("time", 2, "left"), Column("level", 0, "left"), Column("source", 1, "left"),
        Column("text", 0, "left", flexible=True)], alerts)
    if state.portfolio_greeks:
        last = state.portfolio_greeks[-1]
        console.print(f"portfolio greeks at {_when(last.ts)}: delta {last.delta:+.1f} sh, gamma {last.gamma:+.2f}, "
                      f"vega {last.vega:+.1f} $/pt, theta {last.theta:+.1f} $/day", highlight=False)
    heartbeat = Path(heartbeat_file)
    if heartbeat.exists():
        document = json.loads(heartbeat.read_text())
        boxes = ", ".join(f"{name} {depth}" for name, depth in document.get("mailboxes", {}).items())
        console.print(f"last heartbeat ({heartbeat}): {document.get('status')}, mailbox depths: {boxes}",
                      highlight=False)
