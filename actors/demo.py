"""`thetanode demo`: the whole node on a seeded simulated market, in accelerated virtual time, until one trade closes.

Real pykka actors, the generated market, the local Delta Lake journal; the clock is virtual so weeks of trading
take seconds. Stops at the first closed strategy (or after `max_days`) and prints what happened.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
from rich.console import Console

from actors.config import NodeConfig, config_from_mapping
from actors.market_time import NS_PER_DAY
from actors.node import (
    JournalRestartSource,
    core_factories,
    lake_writers,
    open_write_ahead,
    restored_state,
    sim_start_ns,
)
from actors.persistence.core import JournalWriter
from actors.replay.timeline import NEW_YORK, print_timeline
from actors.runtime.clock import VirtualClock
from actors.runtime.threaded import ThreadedRuntime
from actors.service.lock import NodeLock
from actors.service.stopping import StorageWatch
from actors.terminal import Column, print_table
from messages import Message, NodeStarted, NodeStopping, StorageStateChanged, StrategyClosed, StrategyOpened
from storage.lake_access import check_local_writable, reading
from storage.lake_writer import LakeWriter

DEMO_DEFAULTS = {"persistence": {"flush_interval_ms": 3_600_000}, "node": {"lake_uri": "thetanode-data/demo-lake"}}
"""The demo's embedded config: its own lake, apart from the node's; and a group commit per hour, which `run_demo`'s
wall-paced persistence reaches only at a stop (it commits by size first), and which keeps a commit per virtual hour,
not per tick, where tests drive these cores on a virtual clock without wall pacing."""


@dataclass
class DemoOutcome:
    session_id: str
    messages: list[Message] = field(default_factory=list)
    opened: list[StrategyOpened] = field(default_factory=list)
    closed: list[StrategyClosed] = field(default_factory=list)
    stop_reason: str | None = None
    unflushed: StorageStateChanged | None = None
    """Set when the final journal flush failed: what was held and where it went."""


class _Watcher:
    def __init__(self, outcome: DemoOutcome) -> None:
        self._outcome = outcome
        self._lock = threading.Lock()

    def __call__(self, message: Message) -> None:
        with self._lock:
            self._outcome.messages.append(message)
            if isinstance(message, StrategyOpened):
                self._outcome.opened.append(message)
            elif isinstance(message, StrategyClosed):
                self._outcome.closed.append(message)

    def trade_done(self) -> bool:
        with self._lock:
            return bool(self._outcome.closed)


def run_demo(config: NodeConfig, session_id: str, max_days: int) -> DemoOutcome:
    """Raises LakeUnusable (exit 2) when the lake cannot be written, before anything runs."""
    # the demo always runs on a virtual clock: say so, so that its persistence commits by wall time and size, as a
    # virtual `thetanode run` does; a config's `flush_interval_ms` of virtual time made the clock wait on a commit
    # every simulated tick (551 s for a week at the default 100 ms, against seconds)
    config = config_from_mapping({"node": {"clock": "virtual"}}, source="demo", base=config)
    check_local_writable(config.node.lake_uri)
    lock = NodeLock(config.node.lake_uri, dict(config.node.storage_options), config.service.lease_s)
    lock.acquire()
    try:
        with lake_writers(config) as (writer, commits):
            return _run(config, session_id, max_days, lock, writer, commits)
    finally:
        lock.release()


def _run(config: NodeConfig, session_id: str, max_days: int, lock: NodeLock, writer: LakeWriter,
         commits: JournalWriter) -> DemoOutcome:
    start_ns = sim_start_ns(config)
    journal = writer.journal
    outcome = DemoOutcome(session_id=session_id)
    watcher = _Watcher(outcome)
    storage = StorageWatch()
    holder: list[ThreadedRuntime] = []
    restart_source = JournalRestartSource(lambda: holder[0], journal, session_id)
    with reading(config.node.lake_uri):
        write_ahead = open_write_ahead(config, writer, session_id)
        restored = restored_state(journal, mode="demo")
    runtime = ThreadedRuntime(
        core_factories(config, session_id, commits, start_ns, spill=write_ahead.spill),
        VirtualClock(start_ns),
        config.mailbox,
        config.supervisor,
        journal_source=restart_source,
        write_ahead=write_ahead,
    )
    holder.append(runtime)
    runtime.observers += [watcher, restart_source.observe, storage.observe]
    runtime.start()
    lock.start_renewing(runtime.request_stop)
    try:
        runtime.publish(NodeStarted(session_id=session_id, mode="demo", config_json=msgspec.json.encode(config).decode()))
        for message in restored:
            runtime.publish(message)
        runtime.run_virtual(start_ns + max_days * NS_PER_DAY, keep_going=lambda: not watcher.trade_done())
        reason = "trade closed" if watcher.trade_done() else f"no trade closed within {max_days} days"
        runtime.publish(NodeStopping(reason=reason))
    finally:
        runtime.stop()
        write_ahead.close()
    outcome.stop_reason = runtime.stop_reason
    outcome.unflushed = storage.unflushed()
    outcome.messages.sort(key=lambda m: m.seq)
    return outcome


def _when(ts_ns: int) -> str:
    return dt.datetime.fromtimestamp(ts_ns / 1e9, tz=NEW_YORK).strftime("%Y-%m-%d %H:%M")


def trade_rows(outcome: DemoOutcome) -> list[tuple[str, ...]]:
    closed_by_id = {c.strategy_id: c for c in outcome.closed}
    rows = []
    for opened in outcome.opened:
        closed = closed_by_id.get(opened.strategy_id)
        rows.append((
            opened.strategy_id, opened.kind, _when(opened.ts), f"{opened.entry_price:+.2f}",
            _when(closed.ts) if closed else "open", f"{closed.exit_price:+.2f}" if closed else "",
            closed.rule if closed else "", f"{closed.realized_pnl_usd:+.2f}" if closed else "",
            f"{closed.commissions_usd:.2f}" if closed else "",
        ))
    return rows


TRADE_COLUMNS = (Column("strategy", 0, "left"), Column("kind", 4, "left"), Column("opened", 2), Column("entry"),
                 Column("closed", 2), Column("exit"), Column("rule", 0, "left"), Column("P&L $"),
                 Column("commissions $", 3))


def print_outcome(outcome: DemoOutcome, config: NodeConfig, console: Console, verbose: bool,
                  report: Path | None = None) -> None:
    console.rule(f"thetanode demo — session {outcome.session_id}")
    shown = print_timeline(outcome.messages, console, verbose=verbose)
    if not verbose:
        console.print(f"[dim]{shown} of {len(outcome.messages)} messages: state changes only (--verbose shows quotes, "
                      "snapshots, clean reconciliations and decision records)[/dim]", highlight=False, soft_wrap=True)
    print_table(console, "Trades", TRADE_COLUMNS, trade_rows(outcome))
    if outcome.stop_reason:
        console.print(f"[bold red]node stopped: {outcome.stop_reason}[/bold red]")
    lake = config.node.lake_uri
    if outcome.unflushed is None:
        console.print(f"{len(outcome.messages)} messages journaled to {lake}/journal", highlight=False, soft_wrap=True)
    console.print("[bold]Where to look next[/bold]")
    steps = []
    if report is not None:
        steps.append(("report", f"{report}", "open it in a browser: P&L curve, greeks, statistics; works offline"))
    steps += [
        ("dashboard", f"uv run thetanode dashboard --lake {lake}", "then http://127.0.0.1:8050/"),
        ("status", f"uv run thetanode status --lake {lake}", "positions, orders, P&L by day, alerts"),
        ("replay", f"uv run thetanode replay --journal {lake} --session {outcome.session_id}",
         "re-run this session's decisions and compare"),
    ]
    for name, where, what in steps:
        console.print(f"  {name:<10} {where}  [dim]({what})[/dim]", highlight=False, soft_wrap=True)
