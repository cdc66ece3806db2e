"""5-year daily backtest: the node's own cores over the arch sample's S&P 500 (as SPY) and VIX, 2014-01-03 to
2018-12-31, journaled to a temporary lake. Target: under a minute on one core.

Prints wall time and this process's CPU time (user + system, all threads) for each of `--runs` runs, and their
medians: on a shared machine the wall time includes waiting for a core; the CPU time is what one core spends.
Usage: uv run python scripts/bench_backtest.py [--from 2014-01-03] [--to 2018-12-31] [--runs 1]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from actors.backtest import backtest_config, history_range, run_backtest  # noqa: E402
from actors.market_time import market_hours  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="first", type=dt.date.fromisoformat, default=dt.date(2014, 1, 3))
    parser.add_argument("--to", dest="last", type=dt.date.fromisoformat, default=dt.date(2018, 12, 31))
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    market_hours()  # the calendar is built once per process, as in the command; not part of the run
    walls, cpus = [], []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as lake:
            config = backtest_config({"node": {"lake_uri": lake}}, source="bench")
            wall, cpu = time.perf_counter(), time.process_time()
            bars = history_range(config, args.first, args.last)
            outcome = run_backtest(config, bars, f"bench-{run}")
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
        print(f"run {run + 1}: {outcome.sessions} sessions, {outcome.messages} messages, {len(outcome.opened)} "
              f"opened, {len(outcome.closed)} closed; wall {walls[-1]:.1f} s, CPU {cpus[-1]:.1f} s")
    print(f"median over {args.runs}: wall {statistics.median(walls):.1f} s, CPU {statistics.median(cpus):.1f} s "
          f"(target < 60 s on one core)")


if __name__ == "__main__":
    main()
