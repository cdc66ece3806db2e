"""A small lake with a known history, for the analytics, report and dashboard tests (figures computed by hand).

Three closed trades and one open one over 2026-03-02 .. 2026-03-11 (New York time), with marks and greeks:

| strategy | kind / symbol | opened | DTE | closed | rule | P&L $ (net) |
|---|---|---|---|---|---|---|
| T1 | iron_condor SPY | Mon 03-02 10:00 | 39 | Wed 03-04 11:00 | take_profit | +69.80 |
| T2 | bull_put QQQ | Tue 03-03 10:00 | 10 | Thu 03-05 14:00 | stop_loss | -152.60 |
| T3 | iron_condor SPY | Fri 03-06 10:00 | 42 | Mon 03-09 10:30 | take_profit | +94.80 |
| T4 | bear_call IWM | Tue 03-10 10:00 | 38 | open | | marked +10, then -30 |
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import msgspec

from actors.market_time import NEW_YORK
from messages import (
    Alert,
    Leg,
    ModifyRefused,
    OptionContract,
    OrderModified,
    PlaceOrder,
    PortfolioGreeks,
    StrategyClosed,
    StrategyGreeks,
    StrategyMarked,
    StrategyOpened,
)
from messages.risk import RiskStateSnapshot
from storage.journal import DeltaJournal
from storage.lake_writer import LakeWriter


def ny(day: int, hour: int, minute: int = 0) -> int:
    return int(dt.datetime(2026, 3, day, hour, minute, tzinfo=NEW_YORK).timestamp() * 1e9)


def _legs(symbol: str, expiry: dt.date, strikes: tuple[float, ...], rights: str, ratios: tuple[int, ...]):
    return tuple(Leg(contract=OptionContract(symbol, expiry, strike, right), ratio=ratio)
                 for strike, right, ratio in zip(strikes, rights, ratios, strict=True))


APR10, MAR13, APR17 = dt.date(2026, 4, 10), dt.date(2026, 3, 13), dt.date(2026, 4, 17)
CONDOR = (1, -1, -1, 1)


def _opened(ts: int, sid: str, kind: str, symbol: str, legs, entry: float, profit: float, loss: float):
    return StrategyOpened(ts=ts, strategy_id=sid, kind=kind, symbol=symbol, legs=legs, quantity=1, entry_price=entry,
                          max_profit_usd=profit, max_loss_usd=loss)


def _closed(ts: int, sid: str, exit_price: float, pnl: float, commissions: float, rule: str):
    return StrategyClosed(ts=ts, strategy_id=sid, exit_price=exit_price, realized_pnl_usd=pnl,
                          commissions_usd=commissions, rule=rule)


def _mark(ts: int, sid: str, symbol: str, entry: float, pnl: float):
    return StrategyMarked(ts=ts, strategy_id=sid, symbol=symbol, quantity=1, entry_price=entry,
                          mark_price=round(entry + pnl / 100, 4), unrealized_pnl_usd=pnl, peak_pnl_usd=max(pnl, 0.0),
                          underlying_price=500.0, days_to_expiry=30, conservative=False)


def _greeks(ts: int, sid: str, symbol: str, theta: float):
    return StrategyGreeks(ts=ts, strategy_id=sid, symbol=symbol, delta=-5.0, gamma=-0.5, vega=-20.0, theta=theta)


def history() -> list:
    messages = [
        _opened(ny(2, 10), "T1", "iron_condor", "SPY", _legs("SPY", APR10, (540, 550, 610, 620), "PPCC", CONDOR),
                -1.50, 150.0, 350.0),
        _greeks(ny(2, 10), "T1", "SPY", 5.0),
        PortfolioGreeks(ts=ny(2, 10), delta=-5.0, gamma=-0.5, vega=-20.0, theta=5.0, strategies=1),
        _mark(ny(2, 15), "T1", "SPY", -1.50, -20.0),
        _opened(ny(3, 10), "T2", "bull_put", "QQQ", _legs("QQQ", MAR13, (480, 485), "PP", (1, -1)), -1.00, 100.0,
                400.0),
        _greeks(ny(3, 10), "T1", "SPY", 6.0),
        PortfolioGreeks(ts=ny(3, 10), delta=-8.0, gamma=-0.9, vega=-35.0, theta=9.0, strategies=2),
        _mark(ny(3, 15), "T1", "SPY", -1.50, 30.0),
        _mark(ny(3, 15), "T2", "QQQ", -1.00, -50.0),
        PlaceOrder(ts=ny(4, 10, 59), client_order_id="T1-C2", strategy_id="T1", purpose="close",
                   legs=_legs("SPY", APR10, (540, 550, 610, 620), "PPCC", CONDOR), quantity=-1, limit_price=-0.75),
        OrderModified(ts=ny(4, 10, 59), client_order_id="T1-C2", limit_price=-0.70),
        ModifyRefused(ts=ny(4, 10, 59), client_order_id="T1-C2", limit_price=-0.65, working_price=-0.70, code=201,
                      reason="modification refused"),  # the order works on at -0.70
        _closed(ny(4, 11), "T1", -0.75, 69.80, 5.20, "take_profit"),
        _mark(ny(4, 15), "T2", "QQQ", -1.00, -100.0),
        _closed(ny(5, 14), "T2", -2.50, -152.60, 2.60, "stop_loss"),
        Alert(ts=ny(5, 14), level="warning", source="risk", text="stop loss on T2"),
        _opened(ny(6, 10), "T3", "iron_condor", "SPY", _legs("SPY", APR17, (540, 550, 610, 620), "PPCC", CONDOR),
                -2.00, 200.0, 300.0),
        _closed(ny(9, 10, 30), "T3", -1.00, 94.80, 5.20, "take_profit"),
        _opened(ny(10, 10), "T4", "bear_call", "IWM", _legs("IWM", APR17, (230, 235), "CC", (-1, 1)), -1.20, 120.0,
                380.0),
        _greeks(ny(10, 10), "T4", "IWM", 4.0),
        _mark(ny(10, 15), "T4", "IWM", -1.20, 10.0),
        RiskStateSnapshot(ts=ny(11, 12), trading_state="HALTED", trading_reason="operator: fixture",
                          breaker_state="CLOSED", breaker_since_ns=0, failures_ns=(), half_open_successes=0),
        _mark(ny(11, 15), "T4", "IWM", -1.20, -30.0),
    ]
    return [msgspec.structs.replace(m, seq=n) for n, m in enumerate(messages, start=1)]


def write_fixture_lake(root: Path) -> Path:
    """The history above, committed in two batches like group commit would; returns `root`."""
    writer = LakeWriter(DeltaJournal(str(root)))
    messages = history()
    writer.append("fixture", messages[:10], 1)
    writer.append("fixture", messages[10:], 2)
    return root
