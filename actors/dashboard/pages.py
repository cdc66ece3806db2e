"""The dashboard's pages, as Dash components built from one lake snapshot (the same rows and figures as the report)."""

from __future__ import annotations

from collections.abc import Callable

import plotly.graph_objects as go
from dash import dcc, html

from actors.analytics import rows
from actors.analytics.charts import (PLOT_CONFIG, breakdown_figure, daily_pnl_figure, greeks_figure,
                                     pnl_figure)
from actors.analytics.performance import BREAKDOWN_COLUMNS, breakdown_rows, breakdowns, summary_rows
from actors.dashboard.data import Snapshot



def table(data: rows.Table, table_id: str) -> html.Div | html.Table:
    header, body = data
    if not body:
        return html.P("none", id=table_id, className="muted")
    return html.Table([html.Tr([html.Th(column) for column in header])]
                      + [html.Tr([html.Td(cell) for cell in row]) for row in body], id=table_id)


def graph(figure: go.Figure, graph_id: str) -> dcc.Graph:
    figure.update_layout(uirevision=graph_id)  # a refresh keeps the reader's zoom
    return dcc.Graph(id=graph_id, figure=figure, config=PLOT_CONFIG)


def positions(snapshot: Snapshot) -> list:
    book = snapshot.book
    return [html.H2("Open positions"), table(rows.open_positions(book), "table-positions"),
            html.H3("Portfolio"), table(rows.portfolio_row(book), "table-portfolio"),
            html.P("Marks are the ones the exit rules judge by (conservative when a leg is one-sided or quiet); "
                   "P&L is (mark − entry) × quantity × 100.", className="muted")]


def orders(snapshot: Snapshot) -> list:
    return [html.H2("Working orders"), table(rows.working_orders(snapshot.book), "table-orders")]


def risk(snapshot: Snapshot) -> list:
    state = rows.risk_state(snapshot.book)
    halted = state["trading"] == "HALTED"
    return [
        html.H2("Trading and circuit breaker"),
        html.Table([
            html.Tr([html.Th("trading state"), html.Td(state["trading"], id="trading-state",
                                                       className="bad" if halted else "good")]),
            html.Tr([html.Th("reason"), html.Td(state["trading_reason"] or "–", id="trading-reason")]),
            html.Tr([html.Th("circuit breaker"), html.Td(state["breaker"], id="breaker-state",
                                                         className="good" if state["breaker"] == "CLOSED" else "bad")]),
            html.Tr([html.Th("last change"), html.Td(state["since"])]),
        ]),
    ]


def alerts(snapshot: Snapshot) -> list:
    return [html.H2(f"Alerts (latest {len(snapshot.book.alerts)})"), table(rows.alerts(snapshot.book), "table-alerts")]


def pnl(snapshot: Snapshot) -> list:
    return [graph(pnl_figure(snapshot.book), "chart-pnl"), graph(daily_pnl_figure(snapshot.book), "chart-daily")]


def greeks(snapshot: Snapshot) -> list:
    return [graph(greeks_figure(snapshot.book), "chart-greeks")]


def trades(snapshot: Snapshot) -> list:
    return [html.H2("Closed trades"), table(rows.closed_trades(snapshot.book), "table-trades")]


def analytics(snapshot: Snapshot) -> list:
    perf = snapshot.performance
    stats = html.Table([html.Tr([html.Th(label), html.Td(value, id=f"stat-{key}")])
                        for key, label, value in summary_rows(perf)], id="stats")
    groups = [html.Div([html.H3(title), table((BREAKDOWN_COLUMNS, breakdown_rows(frame)), f"table-{key}")])
              for key, title, frame in breakdowns(perf)]
    return [html.H2("Performance"), stats, html.Div(groups, className="grid"),
            graph(breakdown_figure(perf), "chart-rules")]


PAGES: dict[str, tuple[str, Callable[[Snapshot], list]]] = {
    "/": ("Positions", positions),
    "/orders": ("Orders", orders),
    "/risk": ("Risk & control", risk),
    "/alerts": ("Alerts", alerts),
    "/pnl": ("P&L", pnl),
    "/greeks": ("Greeks", greeks),
    "/trades": ("Trades", trades),
    "/analytics": ("Analytics", analytics),
}
