"""One run of a sweep: the backtest of one parameter set on one market path (actors/backtest.py, no journal), reduced
to the row the `sweeps` table keeps. A plain function of its `Run`, so a process pool or a Ray worker can call it."""

from __future__ import annotations

import json
import time
from typing import Any

import pandas as pd

from actors.analytics.curves import max_drawdown
from actors.backtest import backtest_config, history_range, run_backtest
from actors.sweep.spec import Run
from messages import Message, StrategyClosed, StrategyMarked


class _Marks:
    """The latest unrealised P&L of each strategy still open (what a run's end is marked at)."""

    def __init__(self) -> None:
        self.unrealized: dict[str, float] = {}

    def __call__(self, message: Message) -> None:
        if isinstance(message, StrategyMarked):
            self.unrealized[message.strategy_id] = message.unrealized_pnl_usd
        elif isinstance(message, StrategyClosed):
            self.unrealized.pop(message.strategy_id, None)


def execute(run: Run) -> dict[str, Any]:
    """The result row of one run. A run the node stops early (an actor failure) is a row with its `error`."""
    started = time.process_time()
    config = backtest_config(run.overrides(), source=f"sweep {run.sweep_id}")
    bars = history_range(config, run.path.first, run.path.last)
    marks = _Marks()
    outcome = run_backtest(config, bars, f"sweep-{run.sweep_id}-{run.key}", journal=False, observers=(marks,))
    closed = sorted(outcome.closed, key=lambda c: c.ts)
    realized = pd.Series([c.realized_pnl_usd for c in closed], dtype="float64")
    exits: dict[str, int] = {}
    pnl_by_rule: dict[str, float] = {}
    for trade in closed:
        exits[trade.rule] = exits.get(trade.rule, 0) + 1
        pnl_by_rule[trade.rule] = round(pnl_by_rule.get(trade.rule, 0.0) + trade.realized_pnl_usd, 2)
    wins = int((realized > 0).sum())
    unrealized = round(sum(marks.unrealized.values()), 2)
    return {
        "sweep_id": run.sweep_id,
        "run_key": run.key,
        "params_json": run.params_id,
        "path": run.path.name,
        "regime": run.path.regime,
        "first_session": outcome.first,
        "last_session": outcome.last,
        "sessions": outcome.sessions,
        "pnl_usd": round(float(realized.sum()) + unrealized, 2),
        "realized_pnl_usd": round(float(realized.sum()), 2),
        "unrealized_pnl_usd": unrealized,
        "max_drawdown_usd": max_drawdown(realized.cumsum()),
        "trades": len(closed),
        "opened": len(outcome.opened),
        "open_at_end": len({o.strategy_id for o in outcome.opened} - {c.strategy_id for c in closed}),
        "win_rate": wins / len(closed) if closed else None,
        "exits_json": json.dumps(exits, sort_keys=True),
        "pnl_by_rule_json": json.dumps(pnl_by_rule, sort_keys=True),
        "messages": outcome.messages,
        "cpu_s": round(time.process_time() - started, 3),
        "error": outcome.stop_reason or "",
    }
