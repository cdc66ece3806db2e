"""The tables a reader shows, as header and formatted rows: the report and the dashboard print the same strings."""

from __future__ import annotations

import math

import pandas as pd

from actors.analytics.book import TradeBook, new_york

Table = tuple[tuple[str, ...], list[tuple[str, ...]]]


def when(ts_ns: float | None) -> str:
    if ts_ns is None or (isinstance(ts_ns, float) and math.isnan(ts_ns)):
        return ""
    return new_york(ts_ns).strftime("%Y-%m-%d %H:%M")


def money(value: float | None, sign: bool = True) -> str:
    if value is None or pd.isna(value):
        return "–"
    return f"{value:+,.2f}" if sign else f"{value:,.2f}"


def _greek(value: float | None) -> str:
    return "–" if value is None or pd.isna(value) else f"{value:+,.1f}"


def open_positions(book: TradeBook) -> Table:
    header = ("strategy", "kind", "opened", "qty", "entry", "mark", "unrealised $", "max profit $", "max loss $",
              "DTE", "delta", "gamma", "vega", "theta $/day", "marked")
    rows = []
    for p in book.open.itertuples():
        conservative = " (conservative)" if p.conservative is True else ""
        rows.append((p.strategy_id, p.kind, when(p.opened_ns), str(p.quantity), f"{p.entry_price:+.2f}",
                     "–" if pd.isna(p.mark_price) else f"{p.mark_price:+.2f}", money(p.unrealized_pnl_usd),
                     money(p.max_profit_usd, False), money(p.max_loss_usd, False),
                     "–" if pd.isna(p.days_to_expiry) else str(int(p.days_to_expiry)),
                     _greek(p.delta), "–" if pd.isna(p.gamma) else f"{p.gamma:+.2f}", _greek(p.vega),
                     _greek(p.theta), when(p.marked_ns) + conservative))
    return header, rows


def portfolio_row(book: TradeBook) -> Table:
    """The portfolio's total: unrealised P&L of the open positions and the latest portfolio greeks."""
    header = ("open strategies", "unrealised $", "delta", "gamma", "vega", "theta $/day", "greeks at")
    positions = book.open
    unrealized = money(positions["unrealized_pnl_usd"].fillna(0.0).sum()) if len(positions) else money(0.0)
    if book.portfolio_greeks.empty:
        return header, [(str(len(positions)), unrealized, "–", "–", "–", "–", "")]
    last = book.portfolio_greeks.iloc[-1]
    return header, [(str(len(positions)), unrealized, _greek(last["delta"]), f"{last['gamma']:+.2f}",
                     _greek(last["vega"]), _greek(last["theta"]), when(last["ts"]))]


def closed_trades(book: TradeBook) -> Table:
    header = ("strategy", "kind", "symbol", "opened", "DTE at entry", "entry", "closed", "exit", "rule", "P&L $",
              "commissions $", "theta collected $")
    rows = [(t.strategy_id, t.kind, t.symbol, when(t.opened_ns),
             "–" if pd.isna(t.dte_at_entry) else str(t.dte_at_entry),
             f"{t.entry_price:+.2f}", when(t.closed_ns), f"{t.exit_price:+.2f}", t.rule, money(t.realized_pnl_usd),
             money(t.commissions_usd, False), money(t.theta_collected_usd))
            for t in book.closed.iloc[::-1].itertuples()]
    return header, rows


def working_orders(book: TradeBook) -> Table:
    header = ("client order id", "strategy", "purpose", "qty", "limit", "placed", "last event", "at")
    rows = [(o.client_order_id, o.strategy_id, o.purpose, str(o.quantity), f"{o.limit_price:+.2f}", when(o.placed_ns),
             o.last_event, when(o.updated_ns)) for o in book.working_orders.itertuples()]
    return header, rows


def alerts(book: TradeBook) -> Table:
    header = ("time", "level", "source", "text")
    return header, [(when(a.ts), a.level, a.source, a.text) for a in book.alerts.itertuples()]


def risk_state(book: TradeBook) -> dict[str, str]:
    risk = book.risk
    return {
        "trading": str(risk.get("trading_state", "ACTIVE")),
        "trading_reason": str(risk.get("trading_reason") or ""),
        "breaker": str(risk.get("breaker_state", "CLOSED")),
        "since": when(risk["ts"]) if "ts" in risk else "never changed",
    }
