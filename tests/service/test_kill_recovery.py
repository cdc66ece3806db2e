"""kill -9 a real node process again and again mid-lifecycle: no order is sent twice, no fill is lost or
duplicated, and every restarted node reconciles cleanly with the (rebuilt) broker."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from actors.config import load_config
from actors.node import write_ahead_dir
from messages import Message, ModifyOrder, NodeStopping, OrderFilled, PlaceOrder, ReconciliationResult, StrategyOpened
from storage.journal import DeltaJournal
from storage.lake_writer import LakeWriter, read_table
from storage.write_ahead import SUFFIX, read_log
from tests.waiting import child_processes, process_gone, wait_for

REPO = Path(__file__).resolve().parents[2]
KILL_WHEN: tuple[tuple[str, type[Message] | None], ...] = (
    ("it runs", None), ("it sent an order", PlaceOrder), ("it walks a price", ModifyOrder),
    ("a fill is on disk", OrderFilled),
)
"""Each node is killed at a later point of the order lifecycle, seen from outside: its heartbeat, then what its
write-ahead log holds on disk. Where exactly the kill lands after that is up to the scheduler."""


def _start(config: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "actors.cli", "run", "--config", str(config)], cwd=REPO,
                            stdout=log.open("ab"), stderr=subprocess.STDOUT)


def _wait_until_running(process: subprocess.Popen, heartbeat: Path) -> None:
    """Running (its heartbeat names it), not merely started: a stop during start-up journals nothing."""
    wait_for(lambda: heartbeat.exists() and f'"pid": {process.pid}' in heartbeat.read_text(), 60,
             f"node {process.pid} to run")


def _logged(config: Path, process: subprocess.Popen) -> Callable[[type[Message]], bool]:
    """Whether the node's own write-ahead log (its session id ends in its pid) holds a message of a type on disk."""
    directory = write_ahead_dir(load_config(config))

    def holds(message_type: type[Message]) -> bool:
        logs = list(directory.glob(f"*-{process.pid}{SUFFIX}"))
        return any(isinstance(m, message_type) for log in logs for m in read_log(log))

    return holds


@pytest.mark.timeout(600)
def test_repeated_kill_9_loses_and_duplicates_nothing(tmp_path):
    config = tmp_path / "node.toml"
    config.write_text(
        f'[node]\nlake_uri = "{tmp_path / "lake"}"\nclock = "virtual"\n'
        "[persistence]\nflush_interval_ms = 300000\nsnapshot_every_messages = 1000\n"  # restarts start from them
        f'[service]\nhealth_port = 0\nheartbeat_file = "{tmp_path / "hb.json"}"\n'
        f'control_dir = "{tmp_path / "control"}"\nshutdown_timeout_s = 10\n'
    )
    log, heartbeat = tmp_path / "node.log", tmp_path / "hb.json"
    for point, message_type in KILL_WHEN:
        process = _start(config, log)
        try:
            _wait_until_running(process, heartbeat)
            if message_type is not None:
                holds = _logged(config, process)
                wait_for(lambda: holds(message_type), 150, f"node {process.pid}: {point}")
            writers = child_processes(process.pid)  # the journal writer process
            assert writers, "the node runs no journal writer process"
        finally:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        wait_for(lambda: all(process_gone(pid) for pid in writers), 30, f"node {process.pid}'s writer to die with it")
    final = _start(config, log)
    try:
        _wait_until_running(final, heartbeat)
        holds = _logged(config, final)
        wait_for(lambda: holds(PlaceOrder), 150, "the final node to trade")  # stopped mid-lifecycle, not idle
        final.send_signal(signal.SIGTERM)
        assert final.wait(timeout=60) == 0, log.read_text()[-2000:]
    finally:
        if final.poll() is None:
            final.kill()

    journal = DeltaJournal(str(tmp_path / "lake"))
    sessions = {s: list(journal.read(s)) for s in journal.sessions()}
    assert len(sessions) <= len(KILL_WHEN) + 1  # a node killed before its first commit or order leaves none
    everything = [m for messages in sessions.values() for m in messages]
    placed = collections.Counter(m.client_order_id for m in everything if isinstance(m, PlaceOrder))
    assert placed and max(placed.values()) == 1, "an order id was sent twice"
    fills = [m for m in everything if isinstance(m, OrderFilled)]
    assert fills and len({f.exec_id for f in fills}) == len(fills), "a fill was journaled twice"
    assert {f.client_order_id for f in fills} <= set(placed), "a fill for an order nobody placed"
    assert sorted(read_table(LakeWriter(journal), "fills")["exec_id"].to_pylist()) == sorted(f.exec_id for f in fills)
    assert any(isinstance(m, StrategyOpened) for m in everything)
    results = [m for m in everything if isinstance(m, ReconciliationResult)]
    assert results and all(r.ok for r in results), [r.mismatches for r in results if not r.ok]
    graceful = [s for s, messages in sessions.items() if any(isinstance(m, NodeStopping) for m in messages)]
    assert len(graceful) == 1


@pytest.mark.timeout(300)
def test_a_log_on_its_own_device_is_folded_after_a_kill_9_though_the_setting_moved_back(tmp_path):
    """The log goes where `persistence.write_ahead_dir` says, not into the lake. A node killed with orders only in
    that log (its journal commits every five minutes) loses none when the next start has the setting removed: the
    lake's record of the directories its logs used sends that start there. A recorded directory gone missing stops
    a start with one line instead of trading without the orders it may hold."""
    device, lake = tmp_path / "wal-device", tmp_path / "lake"
    common = (f'[service]\nhealth_port = 0\nheartbeat_file = "{tmp_path / "hb.json"}"\n'
              f'control_dir = "{tmp_path / "control"}"\nshutdown_timeout_s = 10\n')
    config = tmp_path / "node.toml"
    config.write_text(f'[node]\nlake_uri = "{lake}"\nclock = "virtual"\n'
                      f'[persistence]\nflush_interval_ms = 300000\nwrite_ahead_dir = "{device}"\n' + common)
    log, heartbeat = tmp_path / "node.log", tmp_path / "hb.json"
    directory = write_ahead_dir(load_config(config))
    assert directory.parent == device
    killed = _start(config, log)
    try:
        _wait_until_running(killed, heartbeat)
        holds = _logged(config, killed)
        wait_for(lambda: holds(PlaceOrder), 150, f"node {killed.pid} to send an order")
    finally:
        os.kill(killed.pid, signal.SIGKILL)
        killed.wait(timeout=10)
    (killed_log,) = directory.glob(f"*-{killed.pid}{SUFFIX}")
    sent = {m.client_order_id for m in read_log(killed_log) if isinstance(m, PlaceOrder)}
    assert sent and not list((lake / "_thetanode" / "wal").glob(f"*{SUFFIX}")), "the log was not kept on its device"

    config.write_text(f'[node]\nlake_uri = "{lake}"\nclock = "virtual"\n'
                      '[persistence]\nflush_interval_ms = 300000\n' + common)  # the setting removed
    restarted = _start(config, log)
    try:
        _wait_until_running(restarted, heartbeat)
        restarted.send_signal(signal.SIGTERM)
        assert restarted.wait(timeout=60) == 0, log.read_text()[-2000:]
    finally:
        if restarted.poll() is None:
            restarted.kill()
    journaled = [m for m in DeltaJournal(str(lake)).read(killed_log.name.removesuffix(SUFFIX))]
    assert sent <= {m.client_order_id for m in journaled if isinstance(m, PlaceOrder)}
    assert not killed_log.exists(), "the folded log was kept"

    directory.rmdir()
    device.rmdir()  # the device is gone
    missing = subprocess.run([sys.executable, "-m", "actors.cli", "run", "--config", str(config)], cwd=REPO,
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode != 0
    (line,) = missing.stderr.strip().splitlines()
    assert f"write-ahead directory {directory}" in line and "is missing" in line, line
