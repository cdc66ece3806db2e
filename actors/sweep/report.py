"""`thetanode sweep-report`: a sweep's parameter sets ranked by an objective, their P&L distributions over all paths and
per regime, and the robust choice: the set whose worst regime (median P&L within that regime) is best — a premium
seller lives through the bad regime, not the average one. One self-contained HTML file (plotly.js inlined)."""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING

import pandas as pd

from actors.sweep.objectives import OBJECTIVES

if TYPE_CHECKING:
    import plotly.graph_objects as go

PLOTTED_SETS = 12
"""The distribution plots show this many parameter sets (the best by the objective, and the robust one)."""


def rank(rows: pd.DataFrame, objective: str) -> pd.DataFrame:
    """One line per parameter set: the objective's figures, the worst regime, and `robust` on the best worst regime;
    sorted by the objective (ties: higher worst-regime median first)."""
    by_regime = rows.groupby(["params_json", "regime"])["pnl_usd"].median().unstack("regime")
    groups = rows.groupby("params_json")
    table = pd.DataFrame({
        "runs": groups.size(),
        "median_pnl": groups["pnl_usd"].median(),
        "p5_pnl": groups["pnl_usd"].quantile(0.05),
        "loss_probability": groups["pnl_usd"].apply(lambda p: float((p < 0).mean())),
        "max_drawdown": groups["max_drawdown_usd"].max(),
        "trades": groups["trades"].sum(),
        "win_rate": groups.apply(_win_rate, include_groups=False),
        "worst_regime_pnl": by_regime.min(axis=1),
        "worst_regime": by_regime.idxmin(axis=1),
    })
    table["robust"] = False
    table.loc[table["worst_regime_pnl"].idxmax(), "robust"] = True
    ascending = OBJECTIVES[objective][1]
    table = table.sort_values([objective, "worst_regime_pnl"], ascending=[ascending, False])
    table.insert(0, "params", [_label(p) for p in table.index])
    return table


def _win_rate(group: pd.DataFrame) -> float | None:
    trades = group["trades"].sum()
    if not trades:
        return None
    return float((group["win_rate"].fillna(0) * group["trades"]).sum() / trades)


def _label(params_json: str) -> str:
    params = json.loads(params_json)
    return ", ".join(f"{k.split('.', 1)[1]}={v}" for k, v in params.items()) or "(base)"


def _money(value: float) -> str:
    return "" if pd.isna(value) else f"{value:,.2f}"


def _ranking_table(table: pd.DataFrame, objective: str) -> str:
    columns = [("rank", None), ("parameters", None), ("runs", "{:d}"), ("median P&L $", "median_pnl"),
               ("5th pct P&L $", "p5_pnl"), ("P(loss)", "loss_probability"), ("worst max DD $", "max_drawdown"),
               ("worst regime", "worst_regime"), ("its median P&L $", "worst_regime_pnl"), ("trades", "trades"),
               ("win rate", "win_rate")]
    head = "".join(f"<th>{html.escape(title)}{' ▼' if key == objective else ''}</th>" for title, key in columns)
    lines = []
    for number, (_, line) in enumerate(table.iterrows(), start=1):
        cells = [str(number), html.escape(line["params"]), str(int(line["runs"])), _money(line["median_pnl"]),
                 _money(line["p5_pnl"]), f"{line['loss_probability']:.0%}", _money(line["max_drawdown"]),
                 html.escape(str(line["worst_regime"])), _money(line["worst_regime_pnl"]), str(int(line["trades"])),
                 "" if pd.isna(line["win_rate"]) else f"{line['win_rate']:.0%}"]
        mark = " class='robust'" if line["robust"] else ""
        lines.append(f"<tr{mark}>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return f"<table id='ranking'><tr>{head}</tr>{''.join(lines)}</table>"


def _distribution_figure(rows: pd.DataFrame, shown: pd.DataFrame) -> go.Figure:
    import plotly.graph_objects as go

    figure = go.Figure()
    for params_json, line in shown.iterrows():
        pnl = rows.loc[rows["params_json"] == params_json, "pnl_usd"]
        name = ("★ " if line["robust"] else "") + line["params"]
        figure.add_trace(go.Box(y=pnl, name=name, boxpoints="all", jitter=0.4, pointpos=0))
    figure.update_layout(title="P&L per run, all paths", yaxis_title="P&L $", showlegend=False, height=460,
                         margin={"b": 160})
    return figure


def _regime_figure(rows: pd.DataFrame, shown: pd.DataFrame) -> go.Figure:
    import plotly.graph_objects as go

    figure = go.Figure()
    for params_json, line in shown.iterrows():
        runs = rows[rows["params_json"] == params_json]
        name = ("★ " if line["robust"] else "") + line["params"]
        figure.add_trace(go.Box(x=runs["regime"], y=runs["pnl_usd"], name=name, boxpoints="all"))
    figure.update_layout(title="P&L per regime", boxmode="group", yaxis_title="P&L $", height=480,
                         legend={"orientation": "h", "y": -0.2})
    return figure


def _chart(figure: go.Figure, chart_id: str) -> str:
    from actors.analytics.charts import PLOT_CONFIG

    return figure.to_html(full_html=False, include_plotlyjs=False, div_id=chart_id, config=PLOT_CONFIG)


def render_sweep_report(rows: pd.DataFrame, sweep_id: str, objective: str) -> tuple[str, pd.DataFrame]:
    """The page and the ranking it shows."""
    from plotly.offline import get_plotlyjs

    from actors.report import STYLE

    rows = rows[rows["error"] == ""] if "error" in rows else rows
    table = rank(rows, objective)
    robust = table[table["robust"]].iloc[0]
    shown = table.head(PLOTTED_SETS)
    if not shown["robust"].any():
        shown = pd.concat([shown, table[table["robust"]]])
    regimes = ", ".join(f"{r} ({n})" for r, n in rows.groupby("regime")["path"].nunique().items())
    page = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>sweep {html.escape(sweep_id)}</title><style>{STYLE} tr.robust td{{background:#dafbe1;"
        f"font-weight:600}}</style><script>{get_plotlyjs()}</script></head><body>"
        f"<h1>sweep {html.escape(sweep_id)}</h1><p class='muted'>{len(rows)} runs · {len(table)} parameter sets · "
        f"paths by regime: {html.escape(regimes)} · ranked by {html.escape(OBJECTIVES[objective][0])} · P&L is "
        "realised plus the open positions marked at the last session, one-lots, after commissions; option prices "
        "are modelled (Black-Scholes at the VIX), not historical quotes</p>"
        f"<h2>Robust choice</h2><p id='robust'>★ <b>{html.escape(robust['params'])}</b>: its worst regime "
        f"({html.escape(str(robust['worst_regime']))}) has a median P&L of ${_money(robust['worst_regime_pnl'])}, "
        "the best worst-regime result of all parameter sets (median over all paths: "
        f"${_money(robust['median_pnl'])}).</p>"
        f"<h2>Ranking</h2>{_ranking_table(table, objective)}"
        + _chart(_distribution_figure(rows, shown), "chart-distribution")
        + _chart(_regime_figure(rows, shown), "chart-regimes")
        + "</body></html>"
    )
    return page, table
