"""`thetanode report`: one self-contained HTML page (inline SVG, no scripts) with the P&L curve and greeks."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence

from actors.lake_state import NEW_YORK, LakeState

WIDTH, HEIGHT, PAD = 760, 220, 40


def svg_line_chart(title: str, points: Sequence[tuple[int, float]], unit: str) -> str:
    if len(points) < 2:
        return f"<h2>{html.escape(title)}</h2><p>not enough data yet</p>"
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, x1 = min(xs), max(xs) or 1
    y0, y1 = min(min(ys), 0.0), max(max(ys), 0.0)
    span_x, span_y = (x1 - x0) or 1, (y1 - y0) or 1

    def sx(x: int) -> float:
        return PAD + (x - x0) / span_x * (WIDTH - 2 * PAD)

    def sy(y: float) -> float:
        return HEIGHT - PAD - (y - y0) / span_y * (HEIGHT - 2 * PAD)

    path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in points)
    first = dt.datetime.fromtimestamp(x0 / 1e9, tz=NEW_YORK).strftime("%Y-%m-%d")
    last = dt.datetime.fromtimestamp(x1 / 1e9, tz=NEW_YORK).strftime("%Y-%m-%d")
    return (
        f"<h2>{html.escape(title)}</h2>"
        f'<svg width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{html.escape(title)}">'
        f'<line x1="{PAD}" y1="{sy(0):.1f}" x2="{WIDTH - PAD}" y2="{sy(0):.1f}" stroke="#bbb"/>'
        f'<polyline fill="none" stroke="#1f6feb" stroke-width="2" points="{path}"/>'
        f'<text x="{PAD}" y="{HEIGHT - 8}" font-size="12">{first}</text>'
        f'<text x="{WIDTH - PAD - 70}" y="{HEIGHT - 8}" font-size="12">{last}</text>'
        f'<text x="4" y="{sy(y1) + 4:.1f}" font-size="12">{y1:,.0f} {unit}</text>'
        f'<text x="4" y="{sy(y0) + 4:.1f}" font-size="12">{y0:,.0f} {unit}</text></svg>'
    )


def render_report(state: LakeState) -> str:
    cumulative, curve = 0.0, []
    for closed in state.closed_strategies:
        cumulative += closed.realized_pnl_usd
        curve.append((closed.ts, round(cumulative, 2)))
    rows = "".join(
        f"<tr><td>{html.escape(c.strategy_id)}</td><td>{html.escape(c.rule)}</td><td>{c.exit_price:+.2f}</td>"
        f"<td>{c.realized_pnl_usd:+.2f}</td></tr>"
        for c in state.closed_strategies
    )
    greeks = state.portfolio_greeks
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>thetanode report</title>"
        "<style>body{font-family:sans-serif;margin:2em}td,th{padding:2px 10px;text-align:right}</style></head><body>"
        f"<h1>thetanode report</h1><p>{len(state.sessions)} sessions, {len(state.closed_strategies)} closed and "
        f"{len(state.open_strategies)} open strategies, realised P&amp;L {cumulative:+,.2f} $</p>"
        + svg_line_chart("Cumulative realised P&L", curve, "$")
        + svg_line_chart("Portfolio delta (shares)", [(g.ts, g.delta) for g in greeks], "sh")
        + svg_line_chart("Portfolio vega ($ per vol point)", [(g.ts, g.vega) for g in greeks], "$")
        + svg_line_chart("Portfolio theta ($ per day)", [(g.ts, g.theta) for g in greeks], "$")
        + "<h2>Closed strategies</h2><table><tr><th>strategy</th><th>rule</th><th>exit</th><th>P&amp;L $</th></tr>"
        + rows + "</table></body></html>"
    )
