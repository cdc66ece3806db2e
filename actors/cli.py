"""The `thetanode` command line. Bad input is one line on stderr and exit code 2, never a traceback."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from rich.console import Console

from actors.backtest_cli import add_backtest_command
from actors.config import DEFAULT_CONFIG, NodeConfig, config_from_mapping, load_config
from actors.config_section import ConfigError
from actors.exit_codes import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_LAKE_DAMAGED, EXIT_OK, EXIT_UNFLUSHED
from actors.sweep.cli import add_sweep_commands

LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL")


class UsageError(ValueError):
    """Bad command-line input; reported as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"{text} is outside [0, 1)")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be at least 1")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text} is outside 0..65535")
    return value


def _cmd_demo(args: argparse.Namespace, console: Console) -> int:
    from actors.demo import DEMO_DEFAULTS, print_outcome, run_demo

    config = _lake_config(args, defaults=config_from_mapping(DEMO_DEFAULTS, source="demo defaults"))
    if config.node.broker != "sim":
        raise UsageError(f'{args.config}: the demo trades the simulated exchange; node.broker = '
                         f'"{config.node.broker}" is for `thetanode run`')
    # The session id names a demo run in the lake; wall time here only labels it, it never drives logic.
    session_id = config.node.session_id or f"demo-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}"
    outcome = run_demo(config, session_id, args.max_days)
    report = _write_report(config, Path(args.report)) if args.report and outcome.unflushed is None else None
    print_outcome(outcome, config, console, verbose=args.verbose, report=report)
    if outcome.unflushed is not None:
        print(f"thetanode: error: {outcome.unflushed.reason}", file=sys.stderr)
        return EXIT_UNFLUSHED
    if outcome.stop_reason or not outcome.closed:
        return EXIT_FAILED
    return EXIT_OK


def _cmd_replay(args: argparse.Namespace, console: Console) -> int:
    from actors.replay.runner import replay_deterministic, replay_threaded
    from actors.replay.scenario import load_scenario
    from actors.replay.timeline import print_timeline

    if args.journal or args.session:
        return _replay_session(args, console)
    if not args.scenario:
        raise UsageError("replay needs a SCENARIO file, or --journal LAKE --session ID")
    scenario = load_scenario(args.scenario)
    journal_out = Path(args.journal_out) if args.journal_out else Path("thetanode-data/replays") / f"{scenario.name}.journal"
    run = replay_threaded if args.threaded else replay_deterministic
    result = run(scenario, journal_out)
    if not args.quiet:
        console.rule(f"replay {scenario.name} ({'threaded' if args.threaded else 'deterministic'})")
        print_timeline(result.history, console, verbose=args.verbose)
    for expectation in result.expectations:
        style = "green" if expectation.passed else "bold red"
        console.print(f"[{style}]{expectation.describe(scenario)}[/{style}]", highlight=False, soft_wrap=True)
    if result.stopped_reason:
        console.print(f"[bold red]node stopped: {result.stopped_reason}[/bold red]")
    passed = sum(e.passed for e in result.expectations)
    console.print(
        f"{passed}/{len(result.expectations)} expectations passed; {len(result.history)} messages; "
        f"journal {result.journal_path}",
        highlight=False,
    )
    return EXIT_OK if result.passed else EXIT_FAILED


def _replay_session(args: argparse.Namespace, console: Console) -> int:
    from actors.replay.session import replay_session
    from actors.replay.timeline import print_timeline
    from storage.journal import DeltaJournal

    if not (args.journal and args.session):
        raise UsageError("a session replay needs both --journal LAKE and --session ID")
    if args.scenario or args.threaded:
        raise UsageError("--journal replays a recorded session; it takes no SCENARIO and no --threaded")
    result = replay_session(DeltaJournal(args.journal), args.session)
    if not args.quiet:
        console.rule(f"replay of session {args.session}: {result.inputs} recorded inputs re-fed")
        print_timeline(result.reproduced, console, verbose=True)
    for problem in result.mismatches:
        console.print(f"[bold red]{problem}[/bold red]", highlight=False, soft_wrap=True)
    if result.mismatches:
        return EXIT_FAILED
    console.print(f"[green]{len(result.reproduced)} decisions reproduced exactly[/green]", highlight=False)
    return EXIT_OK


def _cmd_profile(args: argparse.Namespace, console: Console) -> int:
    from rich.table import Table

    from actors.replay.profile import profile_scenario
    from actors.replay.scenario import load_scenario

    scenario = load_scenario(args.scenario)
    profile = profile_scenario(scenario, Path(args.out), args.warmup)
    mib = 1024 * 1024
    console.print(f"capture     {profile.capture}", highlight=False)
    console.print(f"flame graph {profile.flamegraph or 'could not be rendered'}", highlight=False)
    console.print(
        f"peak {profile.peak_bytes / mib:.1f} MiB; heap after warm-up {profile.heap_after_warmup_bytes / mib:.1f} MiB, "
        f"at end {profile.heap_at_end_bytes / mib:.1f} MiB, growth {profile.growth_bytes / mib:+.2f} MiB",
        highlight=False,
    )
    table = Table(title="mailboxes")
    for column in ("actor", "bound", "high water", "delivered", "conflated", "dropped", "overflows"):
        table.add_column(column)
    for metrics in profile.replay.mailboxes:
        table.add_row(*(str(metrics[key]) for key in ("name", "bound", "high_water", "delivered", "conflated",
                                                      "dropped", "overflows")))
    console.print(table)
    return EXIT_OK if profile.replay.passed else EXIT_FAILED


def _cmd_run(args: argparse.Namespace, console: Console) -> int:
    from actors.service.signals import stop_signals

    with stop_signals() as stop_requested:  # first: a SIGTERM while the node loads is a clean stop
        from actors.runtime.logging import configure_logging
        from actors.service.runner import run_node

        config = load_config(args.config)
        service = config.service
        configure_logging(args.log_level, log_file=service.log_file, rotation=service.log_rotation,
                          retention=service.log_retention)
        return run_node(config, stop_requested)


def _cmd_control(args: argparse.Namespace, console: Console) -> int:
    from actors.service.control import write_command

    config = load_config(args.config) if args.config else DEFAULT_CONFIG
    path = write_command(config.service.control_dir, args.command, args.reason)
    console.print(f"{args.command} queued for the node ({path}); it applies within "
                  f"{config.service.control_poll_s:g}s, or at the next start", highlight=False)
    return EXIT_OK


def _lake_config(args: argparse.Namespace, defaults: NodeConfig = DEFAULT_CONFIG) -> NodeConfig:
    """The config file (or `defaults`), with `--lake` overriding its lake."""
    config = load_config(args.config) if args.config else defaults
    if args.lake:
        config = config_from_mapping({"node": {"lake_uri": args.lake}}, source="--lake", base=config)
    return config


def _lake_state(config: NodeConfig):  # noqa: ANN202 - actors.lake_state.LakeState
    from actors.lake_state import read_lake_state
    from storage.journal import DeltaJournal
    from storage.lake_access import reading

    journal = DeltaJournal(config.node.lake_uri, dict(config.node.storage_options))
    with reading(config.node.lake_uri):
        exists = journal.exists()
    if not exists:
        raise UsageError(f"{config.node.lake_uri}: no journal table here (is this the node's lake_uri?)")
    with reading(config.node.lake_uri):
        return read_lake_state(journal)


def _cmd_status(args: argparse.Namespace, console: Console) -> int:
    from actors.status import print_status

    config = _lake_config(args)
    print_status(_lake_state(config), console, config.service.heartbeat_file)
    return EXIT_OK


def _lake_views(config: NodeConfig):  # noqa: ANN202 - storage.lake_views.LakeViews
    from storage.lake_views import LakeViews

    views = LakeViews(config.node.lake_uri, dict(config.node.storage_options))
    if not views.exists():
        raise UsageError(f"{config.node.lake_uri}: no journal table here (is this the node's lake_uri?)")
    return views


def _write_report(config: NodeConfig, out: Path) -> Path:
    from actors.analytics.book import load_book
    from actors.report import render_report

    page = render_report(load_book(_lake_views(config)))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out.resolve()


def _cmd_report(args: argparse.Namespace, console: Console) -> int:
    out = _write_report(_lake_config(args), Path(args.out))
    console.print(f"report written to {out} (one file, opens offline)", highlight=False, soft_wrap=True)
    return EXIT_OK


def _cmd_dashboard(args: argparse.Namespace, console: Console) -> int:
    import os

    from actors.dashboard.server import TOKEN_ENV, DashboardError, serve

    config = _lake_config(args)

    def announce(text: str) -> None:
        console.print(text, highlight=False, soft_wrap=True)
        sys.stdout.flush()

    try:
        return serve(config, args.host, args.port, args.token or os.environ.get(TOKEN_ENV, ""), announce)
    except DashboardError as exc:
        raise UsageError(str(exc)) from None


def _cmd_compact(args: argparse.Namespace, console: Console) -> int:
    from storage.journal import DeltaJournal
    from storage.maintenance import compact_and_vacuum

    config = _lake_config(args)
    journal = DeltaJournal(config.node.lake_uri, dict(config.node.storage_options))
    if not journal.exists():
        raise UsageError(f"{config.node.lake_uri}: no journal table here")
    try:
        result = compact_and_vacuum(journal.uri, dict(config.node.storage_options), args.retention_hours)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    console.print(f"{result.table}: compaction removed {result.files_removed_by_compaction} files and wrote "
                  f"{result.files_added_by_compaction}; vacuum deleted {result.files_vacuumed}", highlight=False)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="thetanode", description="Automated options-premium trading node for Interactive Brokers.")
    parser.add_argument(
        "--log-level", default="WARNING", choices=LOG_LEVELS, type=str.upper, help="loguru level for the node's log on stderr")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    demo = commands.add_parser("demo", help="one simulated iron condor, entry to exit, in accelerated virtual time")
    demo.add_argument("--config", help="node TOML config (defaults are embedded)")
    demo.add_argument("--lake", help="Delta Lake URI for the journal (default thetanode-data/demo-lake)")
    demo.add_argument("--max-days", type=_positive_int, default=90, help="virtual days to wait for the trade to close")
    demo.add_argument("--verbose", action="store_true",
                      help="also print quotes, timers, snapshots, clean reconciliations and decision records")
    demo.add_argument("--report", default="thetanode-data/demo-report.html",
                      help="where to write the HTML report of the lake afterwards ('' for none)")
    demo.set_defaults(handler=_cmd_demo)

    replay = commands.add_parser("replay", help="replay a scenario file through the real actor cores")
    replay.add_argument("scenario", nargs="?", help="scenario JSONL file")
    replay.add_argument("--journal", metavar="LAKE", help="replay a recorded session from this lake instead")
    replay.add_argument("--session", metavar="ID", help="the session id to replay from --journal")
    replay.add_argument("--threaded", action="store_true", help="run the real pykka actors instead of one FIFO")
    replay.add_argument("--journal-out", help="output journal file (default thetanode-data/replays/NAME.journal)")
    replay.add_argument("--verbose", action="store_true", help="also print quotes, timers and decision records")
    replay.add_argument("--quiet", action="store_true", help="print only the expectation results")
    replay.set_defaults(handler=_cmd_replay)

    add_backtest_command(commands)
    add_sweep_commands(commands)

    run = commands.add_parser("run", help="run the node as a service (wall clock) until SIGTERM/SIGINT")
    run.add_argument("--config", required=True, help="node TOML config")
    run.set_defaults(handler=_cmd_run)

    for command, text in (("halt", "stop all trading on the running node (only cancels pass)"),
                          ("resume", "let a halted node trade again")):
        control = commands.add_parser(command, help=text)
        control.add_argument("--config", help="node TOML config (for its control directory)")
        control.add_argument("--reason", default="operator", help="recorded with the command")
        control.set_defaults(handler=_cmd_control)

    for name, text, handler in (("status", "positions, P&L, greeks, orders and risk state, read from the lake",
                                 _cmd_status),
                                ("report", "an HTML report with the P&L curve and greeks plots", _cmd_report),
                                ("compact", "compact the lake's small files and vacuum old ones", _cmd_compact)):
        lake = commands.add_parser(name, help=text)
        lake.add_argument("--config", help="node TOML config (for its lake)")
        lake.add_argument("--lake", help="lake URI (overrides the config)")
        lake.set_defaults(handler=handler)
        if name == "report":
            lake.add_argument("--out", default="thetanode-data/report.html", help="where to write the HTML")
        if name == "compact":
            lake.add_argument("--retention-hours", type=int, default=168, help="vacuum keeps this much history")

    dashboard = commands.add_parser("dashboard", help="live read-only web dashboard over the lake, with halt/resume")
    dashboard.add_argument("--config", help="node TOML config (its lake, health endpoint and control directory)")
    dashboard.add_argument("--lake", help="lake URI (overrides the config)")
    dashboard.add_argument("--host", default="127.0.0.1", help="bind address; anything but loopback needs a token")
    dashboard.add_argument("--port", type=_port, default=8050, help="TCP port (0: any free port)")
    dashboard.add_argument("--token", default="", help="access token (better: $THETANODE_DASHBOARD_TOKEN)")
    dashboard.set_defaults(handler=_cmd_dashboard)

    profile = commands.add_parser("profile", help="replay a scenario on the threaded node under memray")
    profile.add_argument("scenario", help="scenario JSONL file")
    profile.add_argument("--out", default="thetanode-data/profiles", help="directory for capture and flame graph")
    profile.add_argument("--warmup", type=_fraction, default=0.25, help="fraction of the run treated as warm-up")
    profile.set_defaults(handler=_cmd_profile)
    return parser


BAD_INPUT_ERRORS: tuple[type[Exception], ...] = (UsageError, ConfigError)


def _printable(exc: Exception) -> str:
    """An error echoes the input it refuses, which may hold line breaks (a scenario field named by a newline)."""
    return str(exc).replace("\r", "\\r").replace("\n", "\\n")


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("RUST_LOG", "error")  # before deltalake loads: its Rust warnings would flood stderr
    from actors.replay.errors import SessionReplayError
    from actors.replay.scenario import ScenarioError
    from actors.runtime.logging import configure_logging
    from actors.service.lock import NodeAlreadyRunning
    from storage.lake_access import LakeDamaged, LakeUnusable

    console = Console()
    try:
        args = build_parser().parse_args(argv)
        if args.command != "run":  # run configures its own sinks from the node config
            configure_logging(args.log_level)
        handler: Callable[[argparse.Namespace, Console], int] = args.handler
        return handler(args, console)
    except (*BAD_INPUT_ERRORS, ScenarioError, SessionReplayError, NodeAlreadyRunning, LakeUnusable) as exc:
        print(f"thetanode: error: {_printable(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except LakeDamaged as exc:
        print(f"thetanode: error: {_printable(exc)} (the lake is damaged: restore it from a backup or move it aside)",
              file=sys.stderr)
        return EXIT_LAKE_DAMAGED
    except KeyboardInterrupt:
        print("thetanode: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
