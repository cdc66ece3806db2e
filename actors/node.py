"""Builds the node's actor set from config and runs it on the chosen runtime."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import msgspec
from loguru import logger

from actors.alerts.core import AlertsCore
from actors.alerts.webhook import WebhookSink
from actors.broker.sim.core import SimBrokerCore
from actors.broker.sim.source import QuoteSource
from actors.config import NodeConfig
from actors.decision.core import DecisionCore
from actors.execution.core import ExecutionCore
from actors.market_data.core import MarketDataCore
from actors.market_time import NS_PER_S
from actors.persistence.core import JournalWriter, PersistenceCore
from actors.position_sync.core import PositionSyncCore
from actors.risk.core import RiskCore
from actors.runtime.core import ActorCore
from actors.runtime.snapshot_codec import SnapshotError
from actors.runtime.snapshots import RestartPoint, restart_point
from actors.runtime.threaded import ThreadedRuntime
from actors.runtime.write_ahead import WriteAheadGate
from messages import CoreSnapshot, FlushJournal, IvHistoryRestored, IvSample, JournalFlushed, Message
from messages.risk import RiskStateRestored, RiskStateSnapshot
from storage.journal import DeltaJournal
from storage.journal_process import JournalProcess
from storage.lake_writer import LakeWriter
from storage.session_index import SessionIndex
from storage.write_ahead import WriteAheadLog, fold_logs
from storage.write_ahead_dirs import directories_to_fold, log_directory, record

CoreFactory = Callable[[], ActorCore]

FLUSH_WAIT_S = 10.0


def quote_source_factory(config: NodeConfig, start_ns: int) -> Callable[[], QuoteSource]:
    if config.sim.market == "history":
        from actors.broker.sim.history import HistoryQuoteSource
        from actors.broker.sim.history_data import load_bars

        bars = load_bars(config.sim.history, config.sim.history_vix, config.sim.history_price_scale)  # read once
        return lambda: HistoryQuoteSource(config.sim, bars)
    if config.sim.market == "scripted":
        from actors.broker.sim.scripted import ScriptedQuoteSource

        return lambda: ScriptedQuoteSource(config.sim)
    from actors.broker.sim.generated import GeneratedQuoteSource

    return lambda: GeneratedQuoteSource(config.sim, config.entry.symbols, start_ns)


def broker_factories(config: NodeConfig, start_ns: int) -> list[CoreFactory]:
    """The simulated exchange in process, or IB: a pure broker core plus the session that owns ib_async."""
    if config.node.broker == "ib":
        from actors.broker.ib.core import IbBrokerCore
        from actors.broker.ib.session import IbSessionCore

        return [lambda: IbBrokerCore(config.ib),
                lambda: IbSessionCore(config.ib, config.service.client_id, config.entry.symbols, config.market_data)]
    new_source = quote_source_factory(config, start_ns)
    return [lambda: SimBrokerCore(new_source(), config.sim, config.entry.symbols, config.market_data)]


def core_factories(
    config: NodeConfig, session_id: str, journal: JournalWriter | None, start_ns: int,
    spill: Callable[[list[Message]], object] | None = None,
) -> list[CoreFactory]:
    factories: list[CoreFactory] = [
        *broker_factories(config, start_ns),
        lambda: MarketDataCore(config.market_data),
        lambda: DecisionCore(config.entry, config.exits, config.market_data, config.risk.breaker_failures,
                             config.risk.max_contracts_per_order),
        lambda: RiskCore(config.risk, what_if=config.node.broker == "ib"),
        lambda: ExecutionCore(config.execution),
        PositionSyncCore,
    ]
    if journal is not None:
        # live and demo runs deliver alerts; replays (journal None) never call out of the process
        sink = WebhookSink(config.alerts) if config.alerts.webhook_url else None
        factories.append(lambda: AlertsCore(config.alerts, sink))
        wall_paced = config.node.clock == "virtual"  # a virtual clock must not wait on storage, commit by commit
        factories.append(lambda: PersistenceCore(journal, session_id, config.persistence, spill, wall_paced=wall_paced))
    return factories


def lake_journal(config: NodeConfig) -> DeltaJournal:
    return DeltaJournal(config.node.lake_uri, dict(config.node.storage_options))


def lake_writer(config: NodeConfig) -> LakeWriter:
    """What persistence writes through: the journal and the derived tables of the configured lake."""
    return LakeWriter(lake_journal(config), derived_every_s=config.persistence.derived_commit_s)


@contextmanager
def lake_writers(config: NodeConfig) -> Iterator[tuple[LakeWriter, JournalWriter]]:
    """The node's writer of the lake (its start's write-ahead fold, catch-up and compaction) and what the persistence
    actor commits through (`[persistence] writer`): the lake's writer in a child process, or the first, in this one.
    The child is made first, to import while the node starts; it touches no table before the first commit, after the
    fold. It is closed on the way out, after the persistence actor's final flush."""
    lake = lake_writer(config)
    if config.persistence.writer == "in_process":
        commits: JournalWriter = lake
    else:
        commits = JournalProcess(config.node.lake_uri, dict(config.node.storage_options),
                                 config.persistence.writer_timeout_s, config.persistence.derived_commit_s)
    try:
        yield lake, commits
    finally:
        commits.close()


def write_ahead_dir(config: NodeConfig) -> Path:
    return log_directory(config.node.lake_uri, config.persistence.local_dir, config.persistence.write_ahead_dir)


def open_write_ahead(config: NodeConfig, writer: LakeWriter, session_id: str) -> WriteAheadGate:
    """Fold what earlier sessions' write-ahead logs hold and the lake lacks into the lake, then open this session's
    log: before the node reads its history, so the rebuild knows every order that ever reached the broker. The log
    exists from the start, so the next start also writes the derived rows this session held back when it ended (a
    crash, or a writer process killed: storage/derived_backlog.py)."""
    directory = write_ahead_dir(config)
    lake_uri, local_dir = config.node.lake_uri, config.persistence.local_dir
    for earlier in directories_to_fold(lake_uri, local_dir, directory):
        fold_logs(earlier, writer)
    record(lake_uri, local_dir, directory)  # listed before this session's first record goes there
    log = WriteAheadLog(directory, session_id)
    try:  # now, not at the first order: the next start then folds this session and catches its tables up, always
        log.sync()
    except OSError as exc:  # a full disk: the first order command fails loudly on it; a start need not
        logger.warning(f"{exc}: the write-ahead log is made at the first order command instead")
    return WriteAheadGate(log)


RUN_MODE = "run"


def sessions_of_mode(journal: DeltaJournal, mode: str) -> set[str]:
    """Sessions started in `mode` ("run", "demo"): a live node and the demos sharing its lake never mix state."""
    return set(SessionIndex(journal).started(mode))


def restored_state(journal: DeltaJournal, mode: str = RUN_MODE, sessions: Iterable[str] | None = None) -> list[Message]:
    """What a starting node re-learns from the lake before it trades: each symbol's daily IV history, and the risk
    actor's trading state and circuit breaker as last journaled; of `sessions` when the caller knows them (one
    scan fewer), else of every session started in `mode`."""
    latest: dict[str, dict] = {}
    snapshots: list[RiskStateSnapshot] = []
    chosen = sessions_of_mode(journal, mode) if sessions is None else set(sessions)
    for message in journal.read_types((IvSample, RiskStateSnapshot), chosen):
        if isinstance(message, IvSample):
            latest.setdefault(message.symbol, {})[message.point.session_date] = message.point
        elif isinstance(message, RiskStateSnapshot):
            snapshots.append(message)
    restored: list[Message] = [
        IvHistoryRestored(symbol=symbol, points=tuple(points[day] for day in sorted(points)))
        for symbol, points in sorted(latest.items())
    ]
    if snapshots:
        fields = msgspec.structs.asdict(snapshots[-1])
        restored.append(RiskStateRestored(**{k: v for k, v in fields.items() if k not in ("ts", "seq", "origin")}))
    return restored


SESSIONS_SEARCHED_FOR_SNAPSHOTS = 3
"""A restart looks for a usable set of snapshots in the newest sessions holding any, this many at most."""


class EarlierSessions:
    """The earlier `run` sessions of a lake, session after session in time order: what a restarting node rebuilds
    from (not the demos sharing the lake). Each session only journals what happened during it (a rebuilt node does
    not re-journal its past), so the whole chain is needed (e.g. a strategy opened three restarts ago is still
    open), unless a restart point cuts it: then only what follows the point is read.

    Read in one scan that opens only these sessions' files; read again, only one actor's message types, when the
    supervisor restarts that actor."""

    def __init__(self, journal: DeltaJournal, current_session: str) -> None:
        self._journal = journal
        self._index = SessionIndex(journal)
        started = self._index.started(RUN_MODE)
        started.pop(current_session, None)
        self._in_order = [session for _, session in sorted(zip(started.values(), started, strict=True))]
        self.sessions = frozenset(self._in_order)
        self.point: RestartPoint | None = None

    @property
    def newest(self) -> str | None:
        return self._in_order[-1] if self._in_order else None

    def restart_point(self) -> RestartPoint | None:
        """The newest set of snapshots this code can restore, from the newest sessions that wrote any."""
        holding = self._index.holding_snapshots(self.sessions)
        newest_first = [session for session in reversed(self._in_order) if session in holding]
        for session in newest_first[:SESSIONS_SEARCHED_FOR_SNAPSHOTS]:
            snapshots = [m for m in self._journal.read(session, types=(CoreSnapshot,)) if isinstance(m, CoreSnapshot)]
            point = restart_point(session, snapshots)
            if point is not None:
                return point
        return None

    def start_after(self, point: RestartPoint | None) -> None:
        """Read only what follows `point` from now on (None: everything)."""
        self.point = point

    @property
    def since_point(self) -> frozenset[str]:
        """The sessions whose messages the cores do not hold yet: the point's own and those after it (else all)."""
        if self.point is None:
            return self.sessions
        return frozenset(self._in_order[self._in_order.index(self.point.session_id):])

    def read(self, types: tuple[type[Message], ...] | None = None) -> Iterator[Message]:
        if self.point is None:
            return self._journal.read_sessions(self.sessions, types)
        later = self._in_order[self._in_order.index(self.point.session_id) + 1:]
        return itertools.chain(self._journal.read(self.point.session_id, after_seq=self.point.through_seq, types=types),
                               self._journal.read_sessions(later, types))


def rebuild(runtime: ThreadedRuntime, earlier: EarlierSessions, history: list[Message]) -> tuple[int, list[Message]]:
    """Prime `runtime` from `earlier`'s restart point (if any) and `history`, what followed it; if the point's
    snapshots cannot be restored, from the whole history instead. Returns the deliveries and the history used."""
    if earlier.point is not None:
        try:
            runtime.restore(earlier.point)
        except SnapshotError as exc:
            logger.warning(f"snapshots cannot be restored ({exc}): rebuilding from the whole journal")
            earlier.start_after(None)
            history = list(earlier.read())
    return runtime.prime(history, reread=earlier.read), history


def last_journaled_ns(history: list[Message], point: RestartPoint | None) -> int:
    """The lake's last instant a starting node knows of: its history's, or its snapshots' when nothing followed."""
    if history:
        return history[-1].ts
    return max((snapshot.ts for snapshot in point.snapshots.values()), default=0) if point is not None else 0


def earlier_sessions(journal: DeltaJournal, current_session: str) -> list[Message]:
    """All of `EarlierSessions` at once."""
    return list(EarlierSessions(journal, current_session).read())


def sim_start_ns(config: NodeConfig) -> int:
    """The generated market always starts at `sim.start`, so a rebuilt broker replays the same price path."""
    return int(config.sim.start.timestamp() * NS_PER_S)


class JournalRestartSource:
    """Supplies a restarting actor its past inputs: flush persistence, then read the session journal from the lake."""

    def __init__(self, runtime_ref: Callable[[], ThreadedRuntime], journal: DeltaJournal, session_id: str) -> None:
        self._runtime = runtime_ref
        self._journal = journal
        self._session_id = session_id
        self._flushed_through = 0
        self._flushed = threading.Condition()

    def observe(self, message: Message) -> None:
        if isinstance(message, JournalFlushed):
            with self._flushed:
                self._flushed_through = max(self._flushed_through, message.through_seq)
                self._flushed.notify_all()

    def __call__(self, actor: str, failed_seq: int, after_seq: int = 0) -> Iterator[Message]:
        request = self._runtime().publish(FlushJournal(reason=f"restart of {actor}"))
        with self._flushed:
            if not self._flushed.wait_for(lambda: self._flushed_through >= request.seq, timeout=FLUSH_WAIT_S):
                raise TimeoutError(f"journal flush for the restart of {actor} took over {FLUSH_WAIT_S:g}s")
        types = self._runtime().routes.types_of(actor)  # only what the actor receives is read back
        return self._journal.read(self._session_id, up_to_seq=failed_seq - 1, after_seq=after_seq, types=types)
