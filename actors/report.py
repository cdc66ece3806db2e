"""`thetanode report`: one self-contained HTML file (plotly.js inlined, no network) with interactive charts on
trading-time axes, the performance statistics and the trade tables — the same figures the dashboard shows."""

from __future__ import annotations

import html

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from actors.analytics import rows
from actors.analytics.book import TradeBook
from actors.analytics.charts import (PLOT_CONFIG, breakdown_figure, daily_pnl_figure, greeks_figure,
                                     pnl_figure)
from actors.analytics.performance import BREAKDOWN_COLUMNS, breakdown_rows, breakdowns, performance, summary_rows

STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em 2em;color:#1f2328}
h1{margin-bottom:.2em} h2{margin-top:1.6em;border-bottom:1px solid #d0d7de}
table{border-collapse:collapse;margin:.5em 0} td,th{padding:3px 10px;border-bottom:1px solid #eaeef2}
th{text-align:left;background:#f6f8fa} td{text-align:right} td:first-child{text-align:left}
.grid{display:flex;flex-wrap:wrap;gap:2em} .muted{color:#656d76}
"""


def html_table(table: rows.Table, table_id: str) -> str:
    header, body = table
    if not body:
        return f'<p class="muted" id="{table_id}">none</p>'
    head = "".join(f"<th>{html.escape(column)}</th>" for column in header)
    lines = "".join("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in body)
    return f'<table id="{table_id}"><tr>{head}</tr>{lines}</table>'


def _chart(figure: go.Figure, chart_id: str) -> str:
    return figure.to_html(full_html=False, include_plotlyjs=False, div_id=chart_id, config=PLOT_CONFIG)


def render_report(book: TradeBook) -> str:
    perf = performance(book)
    stats = "".join(f'<tr><th>{html.escape(label)}</th><td id="stat-{key}">{html.escape(value)}</td></tr>'
                    for key, label, value in summary_rows(perf))
    tables = "".join(
        f"<div><h3>{html.escape(title)}</h3>"
        + html_table((BREAKDOWN_COLUMNS, breakdown_rows(table)), f"table-{key}") + "</div>"
        for key, title, table in breakdowns(perf))
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>thetanode report</title>"
        f"<style>{STYLE}</style><script>{get_plotlyjs()}</script></head><body>"
        f"<h1>thetanode report</h1><p class='muted'>as of {html.escape(rows.when(book.as_of_ns) or 'no data')} "
        "New York · "
        f"{len(book.closed)} closed and {len(book.open)} open strategies · charts: drag to zoom, double-click to "
        "reset; nights, weekends and holidays are left out of the time axes</p>"
        f"<h2>Performance</h2><table id='stats'>{stats}</table>"
        + _chart(pnl_figure(book), "chart-pnl")
        + _chart(daily_pnl_figure(book), "chart-daily")
        + f"<h2>Breakdown</h2><div class='grid'>{tables}</div>"
        + _chart(breakdown_figure(perf), "chart-rules")
        + "<h2>Open positions</h2>" + html_table(rows.open_positions(book), "table-positions")
        + html_table(rows.portfolio_row(book), "table-portfolio")
        + _chart(greeks_figure(book), "chart-greeks")
        + "<h2>Closed trades</h2>" + html_table(rows.closed_trades(book), "table-trades")
        + "</body></html>"
    )
