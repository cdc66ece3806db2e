"""P&L through time: realised equity (per closed trade), marked-to-market equity, and daily P&L per NYSE session."""

from __future__ import annotations

import numpy as np
import pandas as pd

from actors.analytics.book import TradeBook
from actors.market_time import market_hours


def realized_equity(book: TradeBook) -> pd.DataFrame:
    """Cumulative realised P&L after each closed trade: the curve starts at the first closed trade."""
    closed = book.closed
    return pd.DataFrame({"ts": closed["closed_ns"].astype("int64").to_numpy(),
                         "equity_usd": closed["realized_pnl_usd"].cumsum().round(2).to_numpy(),
                         "strategy_id": closed["strategy_id"].to_numpy()})


def mtm_equity(book: TradeBook) -> pd.DataFrame:
    """Realised P&L plus every open strategy's latest unrealised P&L, at each open, mark and close."""
    closed_at = dict(zip(book.trades["strategy_id"], book.trades["closed_ns"], strict=True))
    events: list[tuple[int, int, str, float]] = []  # (ts, order at one instant, strategy, amount)
    for trade in book.trades.itertuples():
        events.append((int(trade.opened_ns), 0, trade.strategy_id, 0.0))
        if pd.notna(trade.closed_ns):
            events.append((int(trade.closed_ns), 2, trade.strategy_id, float(trade.realized_pnl_usd)))
    for mark in book.marks.itertuples():
        closed = closed_at.get(mark.strategy_id)
        if closed is None or (pd.notna(closed) and mark.ts >= closed):
            continue  # a strategy the book does not know, or a mark after its close
        events.append((int(mark.ts), 1, mark.strategy_id, float(mark.unrealized_pnl_usd)))
    events.sort(key=lambda e: (e[0], e[1]))
    realized, unrealized = 0.0, {}
    points = []
    for ts, kind, strategy_id, amount in events:
        if kind == 2:
            unrealized.pop(strategy_id, None)
            realized += amount
        else:
            unrealized[strategy_id] = amount
        points.append((ts, round(realized + sum(unrealized.values()), 2)))
    # several events at one instant (two strategies marked together) make one point: the state after all of them
    return pd.DataFrame(points, columns=["ts", "equity_usd"]).drop_duplicates("ts", keep="last").reset_index(drop=True)


def daily_pnl(book: TradeBook) -> pd.DataFrame:
    """One row per NYSE session from the first entry to the book's last instant: realised P&L of the trades closed
    that session, and the marked-to-market P&L (change of realised + unrealised from one close to the next)."""
    columns = ["session", "close_ns", "realized_pnl_usd", "mtm_pnl_usd", "equity_usd"]
    if book.trades.empty:
        return pd.DataFrame(columns=columns)
    sessions = market_hours().sessions_between(int(book.trades["opened_ns"].min()), book.as_of_ns)
    if not sessions:
        return pd.DataFrame(columns=columns)
    closes = np.array([close for _, _, close in sessions], dtype=np.int64)
    equity = mtm_equity(book)
    at_close = np.searchsorted(equity["ts"].to_numpy(), closes, side="right") - 1
    equity_at_close = np.where(at_close >= 0, equity["equity_usd"].to_numpy()[np.maximum(at_close, 0)], 0.0)
    closed = book.closed
    session_of_close = np.searchsorted(closes, closed["closed_ns"].astype("int64").to_numpy(), side="left")
    realized = np.zeros(len(sessions))
    np.add.at(realized, np.minimum(session_of_close, len(sessions) - 1), closed["realized_pnl_usd"].to_numpy())
    return pd.DataFrame({
        "session": [day for day, _, _ in sessions],
        "close_ns": closes,
        "realized_pnl_usd": realized.round(2),
        "mtm_pnl_usd": np.diff(equity_at_close, prepend=0.0).round(2),
        "equity_usd": equity_at_close.round(2),
    }, columns=columns)


def max_drawdown(equity: pd.Series) -> float:
    """Largest fall of an equity curve from its running peak, in dollars (≥ 0); the book starts flat at 0."""
    if equity.empty:
        return 0.0
    peak = equity.cummax().clip(lower=0.0)
    return round(float((peak - equity).max()), 2)
