"""The trade book a reader shows: strategies with entry, exit, marks and greeks, working orders, risk state, alerts.

Built only from the lake's derived tables (storage/lake_views.py), never from the running node. Times are the lake's
own (`as_of` is the newest instant it recorded), so a virtual-clock session and a replay read the same as a live one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from actors.market_time import NEW_YORK, NS_PER_DAY
from storage.lake_views import LakeViews

RECENT_ALERTS = 50

TABLES = ("strategies", "legs", "orders", "greeks_snapshots", "marks", "risk_state", "alerts")
"""The derived tables a trade book is built from: a new version of any of them changes the book."""

TRADE_COLUMNS = ["strategy_id", "kind", "symbol", "quantity", "opened_ns", "entry_price", "max_profit_usd",
                 "max_loss_usd", "expiry", "dte_at_entry", "closed_ns", "exit_price", "realized_pnl_usd",
                 "commissions_usd", "rule", "theta_collected_usd"]


@dataclass(frozen=True)
class TradeBook:
    trades: pd.DataFrame
    """One row per strategy ever opened (TRADE_COLUMNS); `closed_ns` is NaN while it is open."""
    marks: pd.DataFrame
    """Every `StrategyMarked` row: ts, strategy_id, quantity, entry_price, mark_price, unrealized_pnl_usd, ..."""
    strategy_greeks: pd.DataFrame
    """Every strategy greeks snapshot: ts, strategy_id, delta, gamma, vega, theta."""
    portfolio_greeks: pd.DataFrame
    """Portfolio greeks over time: ts, delta, gamma, vega, theta."""
    working_orders: pd.DataFrame
    risk: dict[str, object]
    """The latest risk_state row (empty before the first change: ACTIVE, CLOSED)."""
    alerts: pd.DataFrame
    as_of_ns: int

    @property
    def closed(self) -> pd.DataFrame:
        return self.trades[self.trades["closed_ns"].notna()].sort_values("closed_ns", kind="stable")

    @property
    def open(self) -> pd.DataFrame:
        """Open strategies with their latest mark and greeks (NaN where none was recorded yet)."""
        opened = self.trades[self.trades["closed_ns"].isna()].reset_index(drop=True)
        last_mark = self.marks.drop_duplicates("strategy_id", keep="last").set_index("strategy_id")
        last_greeks = self.strategy_greeks.drop_duplicates("strategy_id", keep="last").set_index("strategy_id")
        ids = opened["strategy_id"].astype(object)
        for column, source in (("mark_price", last_mark), ("unrealized_pnl_usd", last_mark),
                               ("underlying_price", last_mark), ("days_to_expiry", last_mark),
                               ("conservative", last_mark), ("ts", last_mark), ("delta", last_greeks),
                               ("gamma", last_greeks), ("vega", last_greeks), ("theta", last_greeks)):
            values = source[column].to_dict() if not source.empty else {}
            opened["marked_ns" if column == "ts" else column] = ids.map(lambda sid, v=values: v.get(sid))
        return opened


def new_york(ts_ns: int | float) -> dt.datetime:
    return dt.datetime.fromtimestamp(int(ts_ns) / 1e9, tz=NEW_YORK)


def _frame(views: LakeViews, table: str, columns: tuple[str, ...]) -> pd.DataFrame:
    return views.read(table, columns).to_pandas()


def _theta_collected(trades: pd.DataFrame, greeks: pd.DataFrame, as_of_ns: int) -> pd.Series:
    """Theta earned per strategy: its theta ($ per calendar day) held from each snapshot to the next, to its close
    (or `as_of`) — greeks snapshots are published only when they change, so each value holds until the next."""
    collected = {}
    for trade in trades.itertuples():
        rows = greeks[greeks["strategy_id"] == trade.strategy_id]
        end = trade.closed_ns if pd.notna(trade.closed_ns) else as_of_ns
        rows = rows[(rows["ts"] >= trade.opened_ns) & (rows["ts"] <= end)]
        if rows.empty:
            collected[trade.strategy_id] = 0.0
            continue
        spans = rows["ts"].shift(-1).fillna(end) - rows["ts"]
        collected[trade.strategy_id] = round(float((rows["theta"] * spans / NS_PER_DAY).sum()), 2)
    return pd.Series(collected, dtype=float)


def _trades(rows: pd.DataFrame, legs: pd.DataFrame, greeks: pd.DataFrame, as_of_ns: int) -> pd.DataFrame:
    opened = rows[rows["event"] == "opened"].drop_duplicates("strategy_id", keep="last").rename(
        columns={"ts": "opened_ns"})[["strategy_id", "kind", "symbol", "quantity", "opened_ns", "entry_price",
                                      "max_profit_usd", "max_loss_usd"]]
    closed = rows[rows["event"] == "closed"].drop_duplicates("strategy_id", keep="last").rename(
        columns={"ts": "closed_ns"})[["strategy_id", "closed_ns", "exit_price", "realized_pnl_usd",
                                      "commissions_usd", "rule"]]
    trades = opened.merge(closed, on="strategy_id", how="left")
    expiry = legs.groupby("strategy_id")["expiry"].min() if not legs.empty else pd.Series(dtype=object)
    trades["expiry"] = trades["strategy_id"].map(expiry)
    trades["dte_at_entry"] = [
        (expiry - new_york(opened_ns).date()).days if isinstance(expiry, dt.date) else pd.NA
        for expiry, opened_ns in zip(trades["expiry"], trades["opened_ns"], strict=True)
    ]
    trades["quantity"] = trades["quantity"].astype("int64")
    trades["closed_ns"] = trades["closed_ns"].astype("Int64").astype(float)
    theta = _theta_collected(trades, greeks, as_of_ns)
    trades["theta_collected_usd"] = trades["strategy_id"].map(theta).fillna(0.0).astype(float)
    return trades[TRADE_COLUMNS].sort_values("opened_ns", kind="stable").reset_index(drop=True)


def _working_orders(orders: pd.DataFrame) -> pd.DataFrame:
    columns = ["client_order_id", "strategy_id", "purpose", "quantity", "limit_price", "placed_ns", "last_event",
               "updated_ns"]
    if orders.empty:
        return pd.DataFrame(columns=columns)
    done = set(orders.loc[orders["event"].str.startswith("terminated"), "client_order_id"])
    live = orders[~orders["client_order_id"].isin(done)]
    placed = live[live["event"] == "placed"].drop_duplicates("client_order_id", keep="last")
    placed = placed.set_index("client_order_id")
    working = []
    for order_id, order in placed.iterrows():
        events = live[live["client_order_id"] == order_id]
        priced = events[events["limit_price"].notna()]
        last = events.iloc[-1]
        working.append({"client_order_id": order_id, "strategy_id": order["strategy_id"], "purpose": order["purpose"],
                        "quantity": int(order["quantity"]), "limit_price": float(priced["limit_price"].iloc[-1]),
                        "placed_ns": int(order["ts"]), "last_event": last["event"], "updated_ns": int(last["ts"])})
    return pd.DataFrame(working, columns=columns)


def load_book(views: LakeViews) -> TradeBook:
    strategies = _frame(views, "strategies", ("ts", "strategy_id", "event", "kind", "symbol", "quantity",
                                              "entry_price", "exit_price", "max_profit_usd", "max_loss_usd",
                                              "realized_pnl_usd", "commissions_usd", "rule"))
    legs = _frame(views, "legs", ("ts", "strategy_id", "expiry"))
    orders = _frame(views, "orders", ("ts", "client_order_id", "strategy_id", "event", "purpose", "quantity",
                                      "limit_price"))
    greeks = _frame(views, "greeks_snapshots", ("ts", "scope", "delta", "gamma", "vega", "theta"))
    marks = _frame(views, "marks", ("ts", "strategy_id", "symbol", "quantity", "entry_price", "mark_price",
                                    "unrealized_pnl_usd", "peak_pnl_usd", "underlying_price", "days_to_expiry",
                                    "conservative"))
    risk = _frame(views, "risk_state", ("ts", "trading_state", "trading_reason", "breaker_state", "breaker_since_ns"))
    alerts = _frame(views, "alerts", ("ts", "level", "source", "text"))
    frames = (strategies, legs, orders, greeks, marks, risk, alerts)
    as_of = max((int(frame["ts"].max()) for frame in frames if not frame.empty), default=0)
    strategy_greeks = greeks[greeks["scope"] != "portfolio"].rename(columns={"scope": "strategy_id"})
    return TradeBook(
        trades=_trades(strategies, legs, strategy_greeks, as_of),
        marks=marks,
        strategy_greeks=strategy_greeks.reset_index(drop=True),
        portfolio_greeks=greeks[greeks["scope"] == "portfolio"].drop(columns="scope").reset_index(drop=True),
        working_orders=_working_orders(orders),
        risk=risk.iloc[-1].to_dict() if not risk.empty else {},
        alerts=alerts.tail(RECENT_ALERTS).iloc[::-1].reset_index(drop=True),
        as_of_ns=as_of,
    )
