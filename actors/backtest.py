"""`thetanode backtest`: the node's own cores over a stretch of market history, in the deterministic dispatcher.

The simulated exchange quotes the history (`sim.market = "history"`); decision, risk, execution, position sync and
persistence are the same cores a live node runs, on one thread under a virtual clock, so the same config and data give
the same journal. The run journals to its own lake; the trade table, the statistics and the HTML report are then
read from that lake by the same analytics the `report` command uses.

Memory stays flat over years: the dispatcher's in-memory history is dropped after each session (the lake holds the
journal), so an actor failure cannot be rebuilt from it: a backtest allows no restart and stops at the first failure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from actors.broker.sim.history_data import Bars, load_bars
from actors.config import NodeConfig, config_from_mapping
from actors.market_time import market_hours
from actors.node import core_factories, lake_journal
from actors.persistence.core import JournalWriter
from actors.runtime.clock import VirtualClock
from actors.runtime.deterministic import DeterministicRuntime
from messages import (
    DecisionRecord,
    FlushJournal,
    Message,
    NodeStarted,
    NodeStopping,
    StorageStateChanged,
    StrategyClosed,
    StrategyOpened,
)
from storage.commit_marks import retire_or_keep
from storage.lake_writer import LakeWriter

BACKTEST_DEFAULTS = {
    "node": {"lake_uri": "thetanode-data/backtest-lake"},
    "sim": {"market": "history", "history": "arch", "history_price_scale": 0.1, "tick_interval_s": 900.0,
            "positions_interval_s": 86_400.0},
    "market_data": {"stale_after_s": 1800.0, "stale_check_interval_s": 1800.0, "greeks_interval_s": 1800.0},
    "persistence": {"batch_max": 1_000_000, "max_buffer": 10_000_000, "flush_interval_ms": 86_400_000,
                    "compact_interval_h": 0},
    "supervisor": {"max_restarts": 0},
}
"""Built-in S&P 500 history quoted as SPY; a broker tick every 15 minutes (besides every bar's open, high, low and
close), quotes stale after two ticks, market-data checks and greeks every half hour; persistence groups a virtual day per
batch; no restarts (see the module docstring). A config file overrides any of it."""

LAKE_COMMIT_MESSAGES = 200_000
"""Persistence hands over a batch per virtual day; the lake gets one commit per this many messages (a Delta commit
costs tens of milliseconds: one a day would be most of a 5-year run's time)."""


class GroupedLakeWriter:
    """A JournalWriter that groups persistence's batches into large lake commits. Persistence's batch versions are
    acknowledged at once (a retried version is recognised and skipped); the lake's own versions count the grouped
    commits. `close()` commits the rest; a failed lake commit keeps everything held and raises."""

    def __init__(self, writer: JournalWriter, commit_messages: int = LAKE_COMMIT_MESSAGES) -> None:
        self._writer = writer
        self._commit_messages = commit_messages
        self._held: dict[str, list[Message]] = {}
        self._acknowledged: dict[str, int] = {}
        self._lake_versions: dict[str, int] = {}

    def committed_version(self, session_id: str) -> int:
        return self._acknowledged.get(session_id, 0)

    def append(self, session_id: str, messages: list[Message], version: int) -> None:
        if version <= self._acknowledged.get(session_id, 0):
            return
        self._held.setdefault(session_id, []).extend(messages)
        self._acknowledged[session_id] = version
        if len(self._held[session_id]) >= self._commit_messages:
            self._commit(session_id)

    def _commit(self, session_id: str) -> None:
        held = self._held.get(session_id)
        if not held:
            return
        if session_id not in self._lake_versions:
            self._lake_versions[session_id] = self._writer.committed_version(session_id)
        version = self._lake_versions[session_id] + 1
        self._writer.append(session_id, held, version)
        self._lake_versions[session_id] = version
        self._held[session_id] = []

    def close(self) -> None:
        for session_id in list(self._held):
            self._commit(session_id)


class BacktestError(ValueError):
    """A backtest that cannot run as asked (range, market, symbols); one line."""


@dataclass
class BacktestOutcome:
    session_id: str
    first: dt.date
    last: dt.date
    sessions: int = 0
    messages: int = 0
    opened: list[StrategyOpened] = field(default_factory=list)
    closed: list[StrategyClosed] = field(default_factory=list)
    gates: dict[str, int] = field(default_factory=dict)
    """Entry decisions held back, by the rule that held them (DecisionRecord.rule)."""
    stop_reason: str | None = None
    unflushed: str | None = None


def backtest_config(overrides: dict | None, source: str, base_dir: Path | None = None) -> NodeConfig:
    """`base_dir`: where a relative `entry.events_file` lies (the config file's directory; else the working one)."""
    base = config_from_mapping(BACKTEST_DEFAULTS, source="backtest defaults")
    return config_from_mapping(overrides or {}, source=source, base=base, base_dir=base_dir)


def history_range(config: NodeConfig, first: dt.date | None, last: dt.date | None) -> Bars:
    """The bars the backtest will run over; one-line errors for a range or market that cannot work."""
    if config.sim.market != "history":
        raise BacktestError(f'a backtest runs on history: sim.market is "{config.sim.market}", set it to "history"')
    if config.node.broker != "sim":
        raise BacktestError(f'a backtest trades the simulated exchange; node.broker is "{config.node.broker}"')
    if config.entry.symbols != (config.sim.history_symbol,):
        raise BacktestError(f"the history quotes {config.sim.history_symbol} only; entry.symbols is "
                            f"{list(config.entry.symbols)}")
    bars = load_bars(config.sim.history, config.sim.history_vix, config.sim.history_price_scale)
    first = first or bars.first_day()
    last = last or bars.last_day()
    if last < first:
        raise BacktestError(f"--to {last} is before --from {first}")
    return bars.between(first, last)


class _Tally:
    def __init__(self, outcome: BacktestOutcome) -> None:
        self._outcome = outcome

    def __call__(self, message: Message) -> None:
        outcome = self._outcome
        outcome.messages += 1
        if isinstance(message, StrategyOpened):
            outcome.opened.append(message)
        elif isinstance(message, StrategyClosed):
            outcome.closed.append(message)
        elif isinstance(message, DecisionRecord) and message.rule.startswith("entry"):
            outcome.gates[message.rule] = outcome.gates.get(message.rule, 0) + 1
        elif isinstance(message, StorageStateChanged) and message.state != "ok":
            outcome.unflushed = message.reason


def run_backtest(config: NodeConfig, bars: Bars, session_id: str,
                 on_session: Callable[[int, int, dt.date], None] | None = None, journal: bool = True,
                 observers: tuple[Callable[[Message], None], ...] = ()) -> BacktestOutcome:
    """Run every session the bars cover; `on_session(done, total, day)` after each (the progress bar). Without
    `journal` nothing is written (a sweep keeps one result row per run, not thousands of journals); `observers` see
    every message as it is published, like the tally."""
    first_ns, last_ns = int(bars.starts[0]), int(bars.ends[-1])
    sessions = market_hours().sessions_between(first_ns, last_ns)
    start_ns = sessions[0][1]
    config = config_from_mapping({"sim": {"start": dt.datetime.fromtimestamp(start_ns / 1e9, tz=dt.UTC)}},
                                 source="backtest start", base=config)
    outcome = BacktestOutcome(session_id, sessions[0][0], sessions[-1][0])
    # its commits are grouped already (and it has no write-ahead log to catch a table up from): no rows held back
    lake = LakeWriter(lake_journal(config)) if journal else None
    writer = GroupedLakeWriter(lake) if lake is not None else None
    runtime = DeterministicRuntime(core_factories(config, session_id, writer, start_ns), VirtualClock(start_ns),
                                   config.supervisor)
    runtime.observers.extend((_Tally(outcome), *observers))
    runtime.publish(NodeStarted(session_id=session_id, mode="backtest",
                                config_json=msgspec.json.encode(config).decode()))
    runtime.start()
    for done, (day, _, close_ns) in enumerate(sessions, start=1):
        runtime.run_until(close_ns)
        outcome.sessions = done
        runtime.history.clear()  # the lake has it; see the module docstring
        if on_session is not None:
            on_session(done, len(sessions), day)
        if runtime.stopped_reason is not None:
            break
    runtime.inject(NodeStopping(reason="backtest: end of range"))
    runtime.inject(FlushJournal(reason="backtest: end of range"))
    try:
        if writer is not None:
            writer.close()
    except Exception as exc:  # noqa: BLE001 - any storage error: the run's journal did not reach the lake
        outcome.unflushed = f"final lake commit failed: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    else:
        if lake is not None:  # no write-ahead log, so no later start folds it: its marks go here
            retire_or_keep(lake, session_id)
    outcome.stop_reason = runtime.stopped_reason
    return outcome
