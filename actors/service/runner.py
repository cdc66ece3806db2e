"""`thetanode run`: the node as a long-running service on the wall clock, under a process supervisor; its exit codes
(`actors/exit_codes.py`) tell the supervisor whether to restart it."""

from __future__ import annotations

import datetime as dt
import os
import sys
import threading

import msgspec
from loguru import logger

from actors.config import NodeConfig
from actors.exit_codes import EXIT_BAD_INPUT, EXIT_OK, EXIT_ORDERS_WORKING, EXIT_RESTART_ME, EXIT_UNFLUSHED
from actors.node import (
    RUN_MODE,
    EarlierSessions,
    JournalRestartSource,
    core_factories,
    lake_writers,
    last_journaled_ns,
    open_write_ahead,
    rebuild,
    restored_state,
    sim_start_ns,
)
from actors.persistence.core import JournalWriter
from actors.runtime.clock import Clock, ShiftedClock, VirtualClock, WallClock
from actors.runtime.threaded import ThreadedRuntime
from actors.runtime.write_ahead import WriteAheadGate
from actors.service.compaction import ScheduledCompaction
from actors.service.control import ControlWatcher
from actors.service.health import Heartbeat, NodeHealth, serve_health, systemd_notify
from actors.service.heap import freeze_start_up_heap, unfreeze_heap
from actors.service.lock import NodeLock
from actors.service.signals import stop_signals
from actors.service.stopping import StorageWatch, WorkingOrders
from messages import Alert, CancelAllOrders, Message, NodeStarted, NodeStopping, StopNode, StorageStateChanged
from storage.journal import DeltaJournal
from storage.lake_access import check_local_writable, one_line, reading
from storage.lake_writer import LakeWriter
from storage.session_index import SessionIndex
from storage.tables import SCHEMAS

FAR_FUTURE_NS = 2**62


def run_node(config: NodeConfig, stop_requested: threading.Event | None = None) -> int:
    """`stop_requested` is set by the stop signals (`actors/service/signals.py`), which the CLI installs before it
    even imports this module; without one, they are installed here, still before the lake is touched."""
    if stop_requested is None:
        with stop_signals() as requested:
            return run_node(config, requested)
    check_local_writable(config.node.lake_uri)
    lock = NodeLock(config.node.lake_uri, dict(config.node.storage_options), config.service.lease_s)
    lock.acquire()
    try:
        with lake_writers(config) as (writer, commits):
            return _serve(config, stop_requested, lock, writer, commits)
    finally:
        lock.release()


def _serve(config: NodeConfig, stop_requested: threading.Event, lock: NodeLock, writer: LakeWriter,
           commits: JournalWriter) -> int:
    service = config.service
    # wall time labels the session and seeds the market clock; logic inside the actors reads only the clock
    session_id = config.node.session_id or f"run-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{os.getpid()}"
    journal = writer.journal
    tables = [journal.uri, *(writer.table_uri(table) for table in SCHEMAS)]
    compaction = ScheduledCompaction(tables, journal.storage_options, config.persistence.compact_interval_h * 3600)
    with reading(config.node.lake_uri):
        # before anything of this node writes (the log retention is a metadata commit) and the history is read
        compaction.compact_fragmented(config.persistence.compact_at_start_files)
        write_ahead = open_write_ahead(config, writer, session_id)
        _complete_session_index(journal)
        earlier = EarlierSessions(journal, session_id)
        earlier.start_after(earlier.restart_point() if config.persistence.restore_snapshots else None)
        history = list(earlier.read())
    if stop_requested.is_set():
        logger.warning("stop requested during start-up: nothing was started")
        return EXIT_OK
    holder: list[ThreadedRuntime] = []
    restart_source = JournalRestartSource(lambda: holder[0], journal, session_id)
    clock = _clock(config, last_journaled_ns(history, earlier.point))
    runtime = ThreadedRuntime(
        core_factories(config, session_id, commits, sim_start_ns(config), spill=write_ahead.spill),
        clock,
        config.mailbox,
        config.supervisor,
        journal_source=restart_source,
        write_ahead=write_ahead,
    )
    holder.append(runtime)
    runtime.snapshot_every, runtime.snapshot_at_stop = config.persistence.snapshot_every_messages, True
    health = NodeHealth(runtime, config.market_data.stale_after_s)
    working, storage = WorkingOrders(), StorageWatch()
    asked_by_actor: list[StopNode] = []

    def watch_for_stop(message: Message) -> None:
        if isinstance(message, StopNode) and not asked_by_actor:
            asked_by_actor.append(message)
            stop_requested.set()

    runtime.observers += [health.observe, restart_source.observe, working.observe, storage.observe, watch_for_stop]
    with reading(config.node.lake_uri):
        if history or earlier.point is not None:
            replayed, history = rebuild(runtime, earlier, history)
            start = f"the snapshots at seq {earlier.point.through_seq} of {earlier.point.session_id} and " \
                if earlier.point else ""
            logger.warning(f"rebuilt the actors from {start}{len(history)} messages of earlier sessions "
                           f"({replayed} deliveries)")
        restored = restored_state(journal, sessions=earlier.since_point)  # the snapshots hold what came before
    del history  # a restarted actor reads its share again from the lake; a year of history is not kept in memory
    if stop_requested.is_set():
        logger.warning("stop requested during the rebuild: nothing was started")
        return EXIT_OK
    frozen = freeze_start_up_heap()  # until the stop: no full collection walks it while the node trades
    logger.debug(f"{frozen} objects of the start-up heap frozen")
    runtime.start()
    lock.start_renewing(lambda reason: _lost_lease(runtime, reason))
    control = ControlWatcher(service.control_dir, service.control_poll_s, runtime.publish)
    heartbeat = Heartbeat(health, service.heartbeat_file, service.heartbeat_interval_s,
                          running=lambda: not runtime.stopped.is_set())
    server = None
    still_working: list[str] = []
    try:
        runtime.publish(NodeStarted(session_id=session_id, mode=RUN_MODE,
                                    config_json=msgspec.json.encode(config).decode()))
        for message in restored:
            runtime.publish(message)
        control.start()  # after the restore: an operator's pending command overrides the restored state
        server = serve_health(health, service.health_host, service.health_port) if service.health_port else None
        heartbeat.start()
        compaction.start()
        systemd_notify("READY=1")
        logger.info(f"node {session_id} running (pid {os.getpid()}), lake {config.node.lake_uri}")
        if isinstance(clock, VirtualClock):
            threading.Thread(target=runtime.run_virtual, args=(FAR_FUTURE_NS,), name="virtual-time",
                             daemon=True).start()
        requested = _until_stopped(runtime, stop_requested, asked_by_actor, session_id)
        if requested and service.cancel_working_orders_on_stop:
            runtime.publish(CancelAllOrders(reason="node shutting down"))
            still_working = working.wait_until_none(service.shutdown_timeout_s)
    finally:
        control.stop()
        compaction.stop()
        runtime.stop(timeout_s=service.shutdown_timeout_s)
        heartbeat.stop()
        if server is not None:
            server.shutdown()
        unfreeze_heap()
    if asked_by_actor:  # an actor found a cause only an operator can fix, or one a restart cures
        write_ahead.close()
        return EXIT_RESTART_ME if asked_by_actor[0].restart else EXIT_BAD_INPUT
    return _exit_code(requested, still_working, storage.unflushed(), write_ahead, service.shutdown_timeout_s)


def _complete_session_index(journal: DeltaJournal) -> None:
    """Once per lake journaled before the index existed. A journal that cannot be read is damage, as for any read;
    an index that cannot be written costs only speed (starts and status scan the journal)."""
    index = SessionIndex(journal)
    if index.complete():
        return
    missing = index.missing_rows()
    try:
        indexed = index.mark_complete(missing)
    except Exception as exc:  # noqa: BLE001 - a full disk must not stop a start that can read without the index
        logger.warning(f"the session index could not be completed ({one_line(exc)}): starts scan the journal")
        return
    if indexed:
        logger.info(f"indexed {indexed} session starts and snapshots journaled before the index existed")


def _until_stopped(runtime: ThreadedRuntime, stop_requested: threading.Event, asked_by_actor: list[StopNode],
                   session_id: str) -> bool:
    """Block until a signal, an actor's `StopNode` or the runtime stopping itself; True when a signal asked."""
    while not stop_requested.wait(0.2) and not runtime.stopped.is_set():
        pass
    requested = stop_requested.is_set() and not asked_by_actor
    if asked_by_actor:
        reason = asked_by_actor[0].reason
        print(f"thetanode: error: {reason}", file=sys.stderr)
    else:
        reason = "stop requested by signal" if requested else (runtime.stop_reason or "runtime stopped")
    systemd_notify("STOPPING=1")
    logger.warning(f"node {session_id} stopping: {reason}")
    if not runtime.stopped.is_set():
        runtime.publish(NodeStopping(reason=reason))
    return requested


def _exit_code(requested: bool, still_working: list[str], unflushed: StorageStateChanged | None,
               write_ahead: WriteAheadGate, timeout_s: float) -> int:
    write_ahead.close()  # left in place: the next start folds what the lake lacks, then deletes it
    if not requested:
        return EXIT_RESTART_ME
    if unflushed is not None:
        print(f"thetanode: error: {unflushed.reason}", file=sys.stderr)
        return EXIT_UNFLUSHED
    if still_working:
        print(f"thetanode: error: stopped with {len(still_working)} orders still working at the broker after "
              f"{timeout_s:g}s: {', '.join(still_working)}", file=sys.stderr)
        return EXIT_ORDERS_WORKING
    return EXIT_OK


def _lost_lease(runtime: ThreadedRuntime, reason: str) -> None:
    """Another node owns the lake now: this one must stop writing at once (exit 75; its restart then exits 2)."""
    text = f"{reason}: stopping"
    logger.critical(text)
    runtime.publish(Alert(level="critical", source="service", text=text))
    runtime.request_stop(text)


def _clock(config: NodeConfig, last_journaled_ns: int) -> Clock:
    """Live: the wall. Drills continue from the later of their configured start and the lake's last instant."""
    if config.node.clock == "wall":
        return WallClock()
    if config.node.clock == "shifted":
        return ShiftedClock(max(int(config.node.clock_start.timestamp() * 1e9), last_journaled_ns))
    return VirtualClock(max(sim_start_ns(config), last_journaled_ns))
