"""Plotly figures of a trade book, shared by the report and the dashboard, on trading-time axes.

Time axes skip what the market does not trade: weekends, nights (16:00 to 09:30 New York), NYSE holidays and the
afternoon of early closes, all read from the exchange calendar, so a week of positions draws as five sessions side by
side rather than lines across empty nights.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from actors.analytics.book import NEW_YORK, TradeBook
from actors.analytics.curves import daily_pnl, mtm_equity, realized_equity
from actors.analytics.performance import Performance
from actors.market_time import market_hours

PLOT_CONFIG = {"displaylogo": False, "responsive": True, "scrollZoom": True}
"""Plotly's toolbar for every chart: zoom, pan, reset, and the wheel zooms too."""
REGULAR_CLOSE = dt.time(16, 0)
GREEKS = (("delta", "delta (shares)"), ("gamma", "gamma (shares per $1)"), ("vega", "vega ($ per vol point)"),
          ("theta", "theta ($ per day)"))


def local_times(ts_ns: pd.Series | list[int]) -> pd.Series:
    """New York wall-clock times without a zone: what the axis and its breaks are drawn in."""
    utc = pd.to_datetime(pd.Series(ts_ns, dtype="int64"), unit="ns", utc=True)
    return utc.dt.tz_convert(NEW_YORK).dt.tz_localize(None)


def trading_time_breaks(first_ns: int, last_ns: int, intraday: bool = True) -> list[dict]:
    """Plotly rangebreaks for [first_ns, last_ns]: weekends, holidays, and (intraday) nights and early closes."""
    breaks: list[dict] = [{"bounds": ["sat", "mon"]}]
    sessions = market_hours().sessions_between(first_ns, last_ns)
    days = {day for day, _, _ in sessions}
    first = dt.datetime.fromtimestamp(first_ns / 1e9, tz=NEW_YORK).date()
    last = dt.datetime.fromtimestamp(last_ns / 1e9, tz=NEW_YORK).date()
    holidays = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    holidays = [day.isoformat() for day in holidays if day.weekday() < 5 and day not in days]
    if holidays:
        breaks.append({"values": holidays})
    if intraday:
        breaks.append({"bounds": [16, 9.5], "pattern": "hour"})
        for day, _, close in sessions:
            closes_at = dt.datetime.fromtimestamp(close / 1e9, tz=NEW_YORK)
            if closes_at.time() < REGULAR_CLOSE:
                gap = dt.datetime.combine(day, REGULAR_CLOSE, NEW_YORK) - closes_at
                breaks.append({"values": [closes_at.strftime("%Y-%m-%d %H:%M:%S")],
                               "dvalue": int(gap.total_seconds() * 1000)})
    return breaks


def _layout(figure: go.Figure, title: str, y_title: str, first_ns: int, last_ns: int, intraday: bool = True,
            ) -> go.Figure:
    figure.update_layout(title=title, hovermode="x unified", margin={"l": 60, "r": 20, "t": 50, "b": 40},
                         height=360, legend={"orientation": "h", "y": -0.15}, template="plotly_white")
    figure.update_xaxes(rangebreaks=trading_time_breaks(first_ns, last_ns, intraday))
    figure.update_yaxes(title_text=y_title, zeroline=True)
    return figure


def _empty(title: str, text: str) -> go.Figure:
    figure = go.Figure()
    figure.update_layout(title=title, height=200, template="plotly_white", xaxis={"visible": False},
                         yaxis={"visible": False}, annotations=[{"text": text, "showarrow": False}])
    return figure


def pnl_figure(book: TradeBook) -> go.Figure:
    """Cumulative realised P&L from the first closed trade, and the marked-to-market curve beside it."""
    title = "Cumulative P&L ($)"
    realized, marked = realized_equity(book), mtm_equity(book)
    if realized.empty and marked.empty:
        return _empty(title, "no trade yet")
    figure = go.Figure()
    if not marked.empty:
        figure.add_trace(go.Scatter(x=local_times(marked["ts"]), y=marked["equity_usd"], name="marked to market",
                                    mode="lines", line={"color": "#8aa4c8", "shape": "hv"}))
    if not realized.empty:
        if book.as_of_ns > realized["ts"].iloc[-1]:  # the realised line holds its level up to the book's last instant
            realized = pd.concat([realized, pd.DataFrame({"ts": [book.as_of_ns], "equity_usd": [
                realized["equity_usd"].iloc[-1]], "strategy_id": ["(no close since)"]})], ignore_index=True)
        figure.add_trace(go.Scatter(x=local_times(realized["ts"]), y=realized["equity_usd"], name="realised",
                                    mode="lines+markers", line={"color": "#1f6feb", "shape": "hv", "width": 3},
                                    customdata=realized["strategy_id"],
                                    hovertemplate="%{y:+,.2f} $ after %{customdata}<extra>realised</extra>"))
    stamps = pd.concat([realized["ts"], marked["ts"]])
    return _layout(figure, title, "$", int(stamps.min()), int(stamps.max()))


def daily_pnl_figure(book: TradeBook) -> go.Figure:
    title = "Daily P&L per session, marked to market ($)"
    daily = daily_pnl(book)
    if daily.empty:
        return _empty(title, "no trade yet")
    colours = ["#2da44e" if value >= 0 else "#cf222e" for value in daily["mtm_pnl_usd"]]
    figure = go.Figure(go.Bar(x=pd.to_datetime(daily["session"]), y=daily["mtm_pnl_usd"], marker_color=colours,
                              customdata=daily["realized_pnl_usd"], name="daily P&L",
                              hovertemplate="%{x|%a %Y-%m-%d}: %{y:+,.2f} $ (realised %{customdata:+,.2f})"
                                            "<extra></extra>"))
    return _layout(figure, title, "$", int(daily["close_ns"].min()), int(daily["close_ns"].max()), intraday=False)


def greeks_figure(book: TradeBook) -> go.Figure:
    title = "Portfolio greeks over time"
    greeks = book.portfolio_greeks
    if greeks.empty:
        return _empty(title, "no greeks recorded yet")
    figure = make_subplots(rows=len(GREEKS), cols=1, shared_xaxes=True, vertical_spacing=0.04,
                           subplot_titles=[label for _, label in GREEKS])
    x = local_times(greeks["ts"])
    for row, (greek, label) in enumerate(GREEKS, start=1):
        figure.add_trace(go.Scatter(x=x, y=greeks[greek], name=label, mode="lines", line={"shape": "hv"}),
                         row=row, col=1)
    figure = _layout(figure, title, "", int(greeks["ts"].min()), int(greeks["ts"].max()))
    figure.update_layout(height=720, showlegend=False)
    return figure


def breakdown_figure(perf: Performance) -> go.Figure:
    title = "Realised P&L by exit rule ($)"
    table = perf.by_rule
    if table.empty:
        return _empty(title, "no closed trade yet")
    colours = ["#2da44e" if value >= 0 else "#cf222e" for value in table["pnl_usd"]]
    figure = go.Figure(go.Bar(x=table["group"], y=table["pnl_usd"], marker_color=colours, customdata=table["trades"],
                              hovertemplate="%{x}: %{y:+,.2f} $ over %{customdata} trades<extra></extra>"))
    figure.update_layout(title=title, height=320, template="plotly_white", margin={"l": 60, "r": 20, "t": 50, "b": 40})
    return figure
