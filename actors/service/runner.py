"""`thetanode run`: the node as a long-running service on the wall clock, under a process supervisor.

Exit codes tell the supervisor what to do: 0 = stopped on request (SIGTERM/SIGINT), do not restart; 2 = bad
config, another node already owns this lake and client id, or an actor found a cause only an operator can fix
(`StopNode` with restart false, e.g. IB refusing the client id), do not restart; 75 = the node stopped itself
(an actor kept failing) or crashed, restart it.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import threading

import msgspec
from loguru import logger

from actors.node import (
    RUN_MODE,
    JournalRestartSource,
    core_factories,
    lake_writer,
    earlier_sessions,
    restored_state,
    sim_start_ns,
)
from actors.runtime.clock import Clock, ShiftedClock, VirtualClock, WallClock
from actors.runtime.threaded import ThreadedRuntime
from actors.service.compaction import ScheduledCompaction
from actors.service.control import ControlWatcher
from actors.service.health import Heartbeat, NodeHealth, serve_health, systemd_notify
from actors.service.lock import NodeLock
from messages import CancelAllOrders, Message, NodeStarted, NodeStopping, StopNode
from storage.tables import SCHEMAS
from messages.config import NodeConfig, ServiceSection

EXIT_STOPPED = 0
EXIT_OPERATOR_NEEDED = 2
EXIT_RESTART_ME = 75
CANCEL_CONFIRM_S = 5.0
FAR_FUTURE_NS = 2**62


def run_node(config: NodeConfig) -> int:
    lock = NodeLock(config.service.control_dir, config.node.lake_uri, config.service.client_id)
    lock.acquire()
    try:
        return _serve(config)
    finally:
        lock.release()


def _serve(config: NodeConfig) -> int:
    service = config.service
    # wall time labels the session and seeds the market clock; logic inside the actors reads only the clock
    session_id = config.node.session_id or f"run-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{os.getpid()}"
    writer = lake_writer(config)
    journal = writer.journal
    holder: list[ThreadedRuntime] = []
    restart_source = JournalRestartSource(lambda: holder[0], journal, session_id)
    history = earlier_sessions(journal, session_id)
    clock = _clock(config, history[-1].ts if history else 0)
    runtime = ThreadedRuntime(
        core_factories(config, session_id, writer, sim_start_ns(config)),
        clock,
        config.mailbox,
        config.supervisor,
        journal_source=restart_source,
    )
    holder.append(runtime)
    health = NodeHealth(runtime, config.market_data.stale_after_s)
    runtime.observers += [health.observe, restart_source.observe]
    stop_requested = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop_requested.set())
    asked_by_actor: list[StopNode] = []

    def watch_for_stop(message: Message) -> None:
        if isinstance(message, StopNode) and not asked_by_actor:
            asked_by_actor.append(message)
            stop_requested.set()

    runtime.observers.append(watch_for_stop)

    if history:
        replayed = runtime.prime(history)
        logger.warning(f"rebuilt the actors from earlier sessions: {len(history)} messages, {replayed} deliveries")
    runtime.start()
    control = ControlWatcher(service.control_dir, service.control_poll_s, runtime.publish)
    heartbeat = Heartbeat(health, service.heartbeat_file, service.heartbeat_interval_s,
                          running=lambda: not runtime.stopped.is_set())
    tables = [journal.uri, *(writer.table_uri(table) for table in SCHEMAS)]
    compaction = ScheduledCompaction(tables, journal.storage_options, config.persistence.compact_interval_h * 3600)
    server = None
    try:
        runtime.publish(NodeStarted(session_id=session_id, mode=RUN_MODE,
                                    config_json=msgspec.json.encode(config).decode()))
        for message in restored_state(journal):
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
        return _until_stopped(runtime, stop_requested, asked_by_actor, service, session_id)
    finally:
        control.stop()
        compaction.stop()
        runtime.stop(timeout_s=service.shutdown_timeout_s)
        heartbeat.stop()
        if server is not None:
            server.shutdown()


def _clock(config: NodeConfig, last_journaled_ns: int) -> Clock:
    """Live: the wall. Drills continue from the later of their configured start and the lake's last instant."""
    if config.node.clock == "wall":
        return WallClock()
    if config.node.clock == "shifted":
        return ShiftedClock(max(int(config.node.clock_start.timestamp() * 1e9), last_journaled_ns))
    return VirtualClock(max(sim_start_ns(config), last_journaled_ns))


def _until_stopped(runtime: ThreadedRuntime, stop_requested: threading.Event, asked_by_actor: list[StopNode],
                   service: ServiceSection, session_id: str) -> int:
    while not stop_requested.wait(0.2) and not runtime.stopped.is_set():
        pass
    requested = stop_requested.is_set() and not asked_by_actor
    if asked_by_actor:
        reason = asked_by_actor[0].reason
        logger.error(f"thetanode: {reason}")
    else:
        reason = "stop requested by signal" if requested else (runtime.stop_reason or "runtime stopped")
    systemd_notify("STOPPING=1")
    logger.warning(f"node {session_id} stopping: {reason}")
    if not runtime.stopped.is_set():
        runtime.publish(NodeStopping(reason=reason))
        if service.cancel_working_orders_on_stop:
            runtime.publish(CancelAllOrders(reason="node shutting down"))
            runtime.work.wait_idle(timeout=CANCEL_CONFIRM_S)
    if asked_by_actor:
        return EXIT_RESTART_ME if asked_by_actor[0].restart else EXIT_OPERATOR_NEEDED
    return EXIT_STOPPED if requested else EXIT_RESTART_ME
