"""Performance statistics of a trade book: the figures a premium seller is judged by, one definition for every reader.

Trade statistics are aggregations of closed trades' net P&L (pandas); Sharpe and Sortino come from empyrical
(empyrical-reloaded) on the daily marked-to-market P&L over every NYSE session of the book — a day without a trade
counts as a zero day, not as a missing one. Both ratios are scale-free, so dollars serve as well as returns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import empyrical
import pandas as pd

from actors.analytics.book import TradeBook
from actors.analytics.curves import daily_pnl, max_drawdown, mtm_equity, realized_equity

DTE_BUCKETS = [(0, 14, "0–14"), (15, 29, "15–29"), (30, 44, "30–44"), (45, 59, "45–59"), (60, 10_000, "60+")]
"""DTE at entry, in days: weeklies, the short end, the classic 30–45 window, and beyond."""


@dataclass(frozen=True)
class Performance:
    trades: int
    wins: int
    losses: int
    win_rate: float | None
    avg_win_usd: float | None
    avg_loss_usd: float | None
    profit_factor: float | None
    """Gross profit / gross loss: infinite when only winners, None without a closed trade."""
    expectancy_usd: float | None
    realized_pnl_usd: float
    unrealized_pnl_usd: float
    max_drawdown_realized_usd: float
    max_drawdown_mtm_usd: float
    sharpe: float | None
    sortino: float | None
    trading_days: int
    capital_at_risk_usd: float
    return_on_risk: float | None
    """Realised P&L / the max loss (capital at risk; the margin of a defined-risk spread) of the closed trades."""
    theta_collected_usd: float
    by_rule: pd.DataFrame
    by_kind: pd.DataFrame
    by_symbol: pd.DataFrame
    by_dte: pd.DataFrame


def _number(value: float) -> float | None:
    """None for NaN (undefined: no variation at all); infinity stays (a Sortino without a losing day)."""
    return None if value is None or math.isnan(value) else float(value)


def breakdown(closed: pd.DataFrame, key: str | pd.Series) -> pd.DataFrame:
    """Trades, wins, win rate, total and average P&L per group, largest total P&L first."""
    pnl = closed["realized_pnl_usd"]
    groups = pd.DataFrame({"group": closed[key] if isinstance(key, str) else key, "pnl": pnl, "win": pnl > 0})
    table = groups.groupby("group", observed=True).agg(trades=("pnl", "size"), wins=("win", "sum"),
                                                       pnl_usd=("pnl", "sum"), avg_pnl_usd=("pnl", "mean"))
    table["win_rate"] = table["wins"] / table["trades"]
    table = table.reset_index().sort_values(["pnl_usd", "group"], ascending=[False, True], kind="stable")
    return table[["group", "trades", "wins", "win_rate", "pnl_usd", "avg_pnl_usd"]].reset_index(drop=True)


def dte_bucket(days: object) -> str:
    if days is None or pd.isna(days):
        return "unknown"
    return next(label for low, high, label in DTE_BUCKETS if low <= int(days) <= high)


def performance(book: TradeBook) -> Performance:
    closed = book.closed
    pnl = closed["realized_pnl_usd"].astype(float)
    wins, losses = pnl[pnl > 0], pnl[pnl < 0]
    gross_loss = -float(losses.sum())
    daily = daily_pnl(book)["mtm_pnl_usd"]
    at_risk = float(closed["max_loss_usd"].sum())
    open_positions = book.open
    return Performance(
        trades=len(pnl),
        wins=len(wins),
        losses=len(losses),
        win_rate=len(wins) / len(pnl) if len(pnl) else None,
        avg_win_usd=float(wins.mean()) if len(wins) else None,
        avg_loss_usd=float(losses.mean()) if len(losses) else None,
        profit_factor=float(wins.sum()) / gross_loss if gross_loss > 0 else (math.inf if len(wins) else None),
        expectancy_usd=float(pnl.mean()) if len(pnl) else None,
        realized_pnl_usd=round(float(pnl.sum()), 2),
        unrealized_pnl_usd=round(float(open_positions["unrealized_pnl_usd"].fillna(0.0).sum()), 2),
        max_drawdown_realized_usd=max_drawdown(realized_equity(book)["equity_usd"]),
        max_drawdown_mtm_usd=max_drawdown(mtm_equity(book)["equity_usd"]),
        sharpe=_number(empyrical.sharpe_ratio(daily, period=empyrical.DAILY)) if len(daily) > 1 else None,
        sortino=_number(empyrical.sortino_ratio(daily, period=empyrical.DAILY)) if len(daily) > 1 else None,
        trading_days=len(daily),
        capital_at_risk_usd=round(at_risk, 2),
        return_on_risk=float(pnl.sum()) / at_risk if at_risk > 0 else None,
        theta_collected_usd=round(float(book.trades["theta_collected_usd"].sum()), 2),
        by_rule=breakdown(closed, "rule"),
        by_kind=breakdown(closed, "kind"),
        by_symbol=breakdown(closed, "symbol"),
        by_dte=breakdown(closed, closed["dte_at_entry"].map(dte_bucket)),
    )


def _money(value: float | None) -> str:
    return "–" if value is None else f"{value:+,.2f}"


def _ratio(value: float | None) -> str:
    if value is None:
        return "–"
    return "∞" if math.isinf(value) else f"{value:.2f}"


def _drawdown(value: float) -> str:
    return f"-{value:,.2f}" if value > 0 else "0.00"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def summary_rows(perf: Performance) -> list[tuple[str, str, str]]:
    """(id, label, formatted value) for every headline figure: the report and the dashboard print exactly these."""
    return [
        ("trades", "closed trades (won / lost)", f"{perf.trades} ({perf.wins} / {perf.losses})"),
        ("win-rate", "win rate", _pct(perf.win_rate)),
        ("avg-win", "average win $", _money(perf.avg_win_usd)),
        ("avg-loss", "average loss $", _money(perf.avg_loss_usd)),
        ("profit-factor", "profit factor", _ratio(perf.profit_factor)),
        ("expectancy", "expectancy per trade $", _money(perf.expectancy_usd)),
        ("realized-pnl", "realised P&L $", _money(perf.realized_pnl_usd)),
        ("unrealized-pnl", "unrealised P&L $ (open, marked)", _money(perf.unrealized_pnl_usd)),
        ("max-dd-realized", "max drawdown, realised $", _drawdown(perf.max_drawdown_realized_usd)),
        ("max-dd-mtm", "max drawdown, marked to market $", _drawdown(perf.max_drawdown_mtm_usd)),
        ("sharpe", f"Sharpe, daily P&L annualised ({perf.trading_days} sessions)", _ratio(perf.sharpe)),
        ("sortino", "Sortino, daily P&L annualised", _ratio(perf.sortino)),
        ("capital-at-risk", "capital at risk $ (max loss of closed trades)", f"{perf.capital_at_risk_usd:,.2f}"),
        ("return-on-risk", "return on capital at risk", _pct(perf.return_on_risk)),
        ("theta", "theta collected $", _money(perf.theta_collected_usd)),
    ]


BREAKDOWN_COLUMNS = ("group", "trades", "win rate", "P&L $", "avg P&L $")


def breakdown_rows(table: pd.DataFrame) -> list[tuple[str, ...]]:
    return [(str(row.group), str(row.trades), _pct(row.win_rate), _money(row.pnl_usd), _money(row.avg_pnl_usd))
            for row in table.itertuples()]


def breakdowns(perf: Performance) -> list[tuple[str, str, pd.DataFrame]]:
    """(id, title, table) of each breakdown, in the order readers show them."""
    return [("by-rule", "by exit rule", perf.by_rule), ("by-kind", "by strategy kind", perf.by_kind),
            ("by-symbol", "by symbol", perf.by_symbol), ("by-dte", "by DTE at entry", perf.by_dte)]
