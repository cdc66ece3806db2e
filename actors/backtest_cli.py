"""`thetanode backtest --from DATE --to DATE [--config FILE] [--lake URI] [--report FILE]`: arguments, progress bar and
what is printed afterwards (the trade table and the statistics the report shows, read back from the lake)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from rich.console import Console

from actors.exit_codes import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, EXIT_UNFLUSHED

PROGRESS_AFTER_SESSIONS = 20
"""Shorter runs finish in a few seconds: no progress bar."""
TRADE_ROWS_SHOWN = 40


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def add_backtest_command(commands: argparse._SubParsersAction) -> None:
    backtest = commands.add_parser("backtest", help="the node's own cores over market history (sim.market = history)")
    backtest.add_argument("--from", dest="first", type=_date, help="first session (default: the history's first)")
    backtest.add_argument("--to", dest="last", type=_date, help="last session (default: the history's last)")
    backtest.add_argument("--config", help="node TOML config laid over the backtest defaults (built-in arch history)")
    backtest.add_argument("--history", help="bars file (CSV/Parquet) or 'arch'; overrides sim.history")
    backtest.add_argument("--lake", help="Delta Lake URI for the journal, a new or empty one (default: "
                                         "thetanode-data/backtests/<session>)")
    backtest.add_argument("--report", default="thetanode-data/backtest-report.html",
                          help="where to write the HTML report ('' for none)")
    backtest.set_defaults(handler=cmd_backtest)


def _config(args: argparse.Namespace, session_id: str):  # noqa: ANN202 - NodeConfig
    import msgspec

    from actors.backtest import BacktestError, backtest_config

    overrides: dict = {}
    if args.config:
        try:
            overrides = msgspec.toml.decode(Path(args.config).read_bytes())
        except FileNotFoundError:
            raise BacktestError(f"{args.config}: no such config file") from None
        except (OSError, msgspec.DecodeError) as exc:
            raise BacktestError(f"{args.config}: {str(exc).splitlines()[0]}") from None
    for section, key, value in (("node", "lake_uri", args.lake), ("sim", "history", args.history)):
        if value:
            overrides.setdefault(section, {})[key] = value
    if "lake_uri" not in overrides.get("node", {}):
        overrides.setdefault("node", {})["lake_uri"] = f"thetanode-data/backtests/{session_id}"
    return backtest_config(overrides, source=args.config or "backtest arguments",
                           base_dir=Path(args.config).parent if args.config else None)


def _require_empty_lake(config) -> None:  # noqa: ANN001 - NodeConfig
    """One run per lake: the trade table and the report read the whole lake, and must show this run alone."""
    from actors.backtest import BacktestError
    from storage.journal import DeltaJournal
    from storage.lake_access import reading

    with reading(config.node.lake_uri):
        used = DeltaJournal(config.node.lake_uri, dict(config.node.storage_options)).exists()
    if used:
        raise BacktestError(f"{config.node.lake_uri} already holds a journal: a backtest needs a new lake "
                         "(another --lake, or leave it out for a fresh one per run)")


def cmd_backtest(args: argparse.Namespace, console: Console) -> int:
    from actors.backtest import BacktestError, history_range
    from actors.broker.sim.history_data import HistoryError
    from actors.config_section import ConfigError
    from actors.market_time import OutsideCalendar

    session_id = f"backtest-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}"  # wall time only labels the run
    try:
        config = _config(args, session_id)
        bars = history_range(config, args.first, args.last)
        _require_empty_lake(config)
    except (BacktestError, HistoryError, ConfigError, OutsideCalendar) as exc:
        print(f"thetanode: error: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return _run(config, bars, config.node.session_id or session_id, args, console)


def _run(config, bars, session_id: str, args: argparse.Namespace, console: Console) -> int:  # noqa: ANN001
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from actors.backtest import run_backtest
    from actors.service.lock import NodeLock
    from storage.lake_access import check_local_writable

    console.rule(f"thetanode backtest — {bars.first_day()} .. {bars.last_day()} on {bars.source}")
    check_local_writable(config.node.lake_uri)
    lock = NodeLock(config.node.lake_uri, dict(config.node.storage_options), config.service.lease_s)
    lock.acquire()
    try:
        sessions = len({int(s) for s in bars.starts // 86_400_000_000_000})
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                      console=console, transient=True, disable=sessions <= PROGRESS_AFTER_SESSIONS) as progress:
            task = progress.add_task("sessions", total=sessions)

            def advance(done: int, total: int, day: dt.date) -> None:
                progress.update(task, completed=done, total=total, description=f"{day}")

            outcome = run_backtest(config, bars, session_id, on_session=advance)
    finally:
        lock.release()
    if outcome.unflushed is not None:
        print(f"thetanode: error: {outcome.unflushed}", file=sys.stderr)
        return EXIT_UNFLUSHED
    _print_results(config, outcome, console, Path(args.report) if args.report else None)
    return EXIT_FAILED if outcome.stop_reason else EXIT_OK


def _print_results(config, outcome, console: Console, report: Path | None) -> None:  # noqa: ANN001
    from actors.analytics import rows
    from actors.analytics.book import load_book
    from actors.analytics.performance import performance, summary_rows
    from actors.report import render_report
    from actors.terminal import Column, print_table
    from storage.lake_access import reading
    from storage.lake_views import LakeViews

    with reading(config.node.lake_uri):
        book = load_book(LakeViews(config.node.lake_uri, dict(config.node.storage_options)))
    header, trades = rows.closed_trades(book)
    shown = list(reversed(trades))[-TRADE_ROWS_SHOWN:]  # oldest first, the last ones when there are many
    priorities = {"strategy": 0, "kind": 4, "symbol": 5, "opened": 0, "DTE at entry": 3, "entry": 1, "closed": 0,
                  "exit": 1, "rule": 0, "P&L $": 0, "commissions $": 3, "theta collected $": 4}
    columns = [Column(name, priorities.get(name, 2), "left" if name in ("strategy", "kind", "rule") else "right")
               for name in header]
    title = f"closed trades ({len(trades)}" + (f", the last {len(shown)})" if len(shown) < len(trades) else ")")
    print_table(console, title, columns, shown)
    print_table(console, "statistics", [Column("figure", 0, "left"), Column("value")],
                [(label, value) for _, label, value in summary_rows(performance(book))])
    held = ", ".join(f"{rule} {count}" for rule, count in sorted(outcome.gates.items()))
    console.print(f"{outcome.sessions} sessions, {len(outcome.opened)} opened, {len(outcome.closed)} closed; "
                  f"entry decisions held back: {held or 'none'}", highlight=False, soft_wrap=True)
    console.print(f"{outcome.messages} messages journaled to {config.node.lake_uri}/journal (session "
                  f"{outcome.session_id})", highlight=False, soft_wrap=True)
    if outcome.stop_reason:
        console.print(f"[bold red]backtest stopped early: {outcome.stop_reason}[/bold red]")
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(render_report(book), encoding="utf-8")
        console.print(f"report written to {report.resolve()} (one file, opens offline)", highlight=False,
                      soft_wrap=True)
