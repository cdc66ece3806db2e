"""`thetanode sweep FILE [--lake URI] [--workers N | --ray ADDRESS]` and `thetanode sweep-report SWEEP_ID`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console

from actors.exit_codes import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK

DEFAULT_LAKE = "thetanode-data/research-lake"


def _workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("needs at least 1 worker")
    return value


def add_sweep_commands(commands: argparse._SubParsersAction) -> None:
    from actors.sweep.objectives import OBJECTIVES

    sweep = commands.add_parser("sweep", help="backtest a grid or random sample of parameters over many market paths")
    sweep.add_argument("file", help="sweep TOML file (parameters, paths; see the README)")
    sweep.add_argument("--lake", default=DEFAULT_LAKE, help=f"lake for the `sweeps` table (default {DEFAULT_LAKE})")
    where = sweep.add_mutually_exclusive_group()
    where.add_argument("--workers", type=_workers, help="local worker processes (default: one per core)")
    where.add_argument("--ray", metavar="ADDRESS", help="run as Ray tasks on this cluster (e.g. 10.0.0.5:6379, auto)")
    sweep.set_defaults(handler=cmd_sweep)

    report = commands.add_parser("sweep-report", help="an HTML page ranking a sweep's parameter sets")
    report.add_argument("sweep_id", help="the sweep's id ([sweep] id, or the file's stem)")
    report.add_argument("--lake", default=DEFAULT_LAKE, help=f"lake of the `sweeps` table (default {DEFAULT_LAKE})")
    report.add_argument("--objective", choices=sorted(OBJECTIVES), default="median_pnl",
                        help="what ranks the parameter sets (default median_pnl)")
    report.add_argument("--out", help="where to write the HTML (default thetanode-data/sweep-<id>.html)")
    report.set_defaults(handler=cmd_sweep_report)


def _fail(text: str) -> int:
    print(f"thetanode: error: {text}", file=sys.stderr)
    return EXIT_BAD_INPUT


def check_paths(sweep) -> None:  # noqa: ANN001 - Sweep
    """Each market path once, in the driver: a history window outside its file fails here, on one line, not in every
    worker."""
    from actors.backtest import backtest_config, history_range

    seen: set[str] = set()
    for run in sweep.runs:
        if run.path.name not in seen:
            seen.add(run.path.name)
            history_range(backtest_config(run.overrides(), source="sweep"), run.path.first, run.path.last)


def cmd_sweep(args: argparse.Namespace, console: Console) -> int:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from actors.backtest import BacktestError
    from actors.broker.sim.history_data import HistoryError
    from actors.market_time import OutsideCalendar
    from actors.sweep.runner import run_sweep
    from actors.sweep.spec import SweepError, load_sweep
    from storage.lake_access import LakeDamaged, LakeUnusable, check_local_writable
    from storage.sweeps import SweepTable

    try:
        sweep = load_sweep(args.file)
        check_paths(sweep)
        check_local_writable(args.lake)
    except (SweepError, BacktestError, HistoryError, OutsideCalendar, LakeUnusable) as exc:
        return _fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    table = SweepTable(args.lake)
    where = f"Ray at {args.ray}" if args.ray else f"{args.workers or 'all'} local workers"
    console.rule(f"thetanode sweep {sweep.id} — {len(sweep.runs)} runs ({sweep.mode}) on {where}")
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TimeRemainingColumn(), console=console, transient=False) as bar:
        task = bar.add_task("runs", total=len(sweep.runs))

        def advance(progress) -> None:  # noqa: ANN001 - SweepProgress
            if progress.done == 0:  # the runs the lake already has do not count for the ETA
                bar.reset(task, total=progress.total - progress.skipped)
            bar.update(task, completed=progress.done, description=f"runs ({progress.skipped} already done)")

        try:
            progress = run_sweep(sweep, table, args.workers, args.ray, on_progress=advance)
        except (LakeUnusable, LakeDamaged) as exc:
            return _fail(str(exc))
        except ConnectionError as exc:
            return _fail(f"cannot reach the Ray cluster at {args.ray}: {' '.join(str(exc).split())[:200]}")
    for failure in progress.failed:
        console.print(f"[red]run failed[/red]: {failure}", highlight=False, soft_wrap=True)
    console.print(f"{progress.done - len(progress.failed)} runs done now, {progress.skipped} were already in "
                  f"{table.uri}; report: thetanode sweep-report {sweep.id} --lake {args.lake}", highlight=False,
                  soft_wrap=True)
    return EXIT_FAILED if progress.failed else EXIT_OK


def cmd_sweep_report(args: argparse.Namespace, console: Console) -> int:
    from actors.sweep.report import render_sweep_report
    from storage.lake_access import LakeDamaged
    from storage.sweeps import SweepTable

    table = SweepTable(args.lake)
    try:
        rows = table.rows(args.sweep_id)
    except LakeDamaged as exc:
        return _fail(str(exc))
    if rows.empty:
        known = ", ".join(table.sweep_ids()) or "none"
        return _fail(f"no sweep {args.sweep_id!r} in {table.uri} (sweeps there: {known})")
    out = Path(args.out or f"thetanode-data/sweep-{args.sweep_id}.html")
    out.parent.mkdir(parents=True, exist_ok=True)
    page, ranking = render_sweep_report(rows, args.sweep_id, args.objective)
    out.write_text(page, encoding="utf-8")
    best = ranking.iloc[0]
    console.print(f"{len(rows)} runs, {len(ranking)} parameter sets; best by {args.objective}: {best['params']}; "
                  f"robust choice (best worst regime): {ranking.loc[ranking['robust'], 'params'].iloc[0]}",
                  highlight=False, soft_wrap=True)
    console.print(f"report written to {out.resolve()}", highlight=False, soft_wrap=True)
    return EXIT_OK
