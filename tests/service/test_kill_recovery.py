"""kill -9 a real node process again and again mid-lifecycle: no order is sent twice, no fill is lost or
duplicated, and every restarted node reconciles cleanly with the (rebuilt) broker."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from messages import NodeStopping, OrderFilled, PlaceOrder, ReconciliationResult, StrategyOpened
from storage.journal import DeltaJournal
from storage.lake_writer import LakeWriter, read_table
from tests.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]
KILL_AFTER_S = (4.0, 5.5, 3.5, 6.0)


def _start(config: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "actors.cli", "run", "--config", str(config)], cwd=REPO,
                            stdout=log.open("ab"), stderr=subprocess.STDOUT)


@pytest.mark.timeout(240)
def test_repeated_kill_9_loses_and_duplicates_nothing(tmp_path):
    config = tmp_path / "node.toml"
    config.write_text(
        f'[node]\nlake_uri = "{tmp_path / "lake"}"\nclock = "virtual"\n'
        "[persistence]\nflush_interval_ms = 300000\n"
        f'[service]\nhealth_port = 0\nheartbeat_file = "{tmp_path / "hb.json"}"\n'
        f'control_dir = "{tmp_path / "control"}"\nshutdown_timeout_s = 10\n'
    )
    log = tmp_path / "node.log"
    for delay in KILL_AFTER_S:
        process = _start(config, log)
        time.sleep(delay)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    final = _start(config, log)
    # running (its heartbeat names it), not merely started: a stop during start-up exits 0 having journaled nothing
    wait_for(lambda: (tmp_path / "hb.json").exists() and f'"pid": {final.pid}' in (tmp_path / "hb.json").read_text(),
             60, "the final node to run")
    time.sleep(2.0)  # let it trade a little before the graceful stop
    final.send_signal(signal.SIGTERM)
    assert final.wait(timeout=60) == 0, log.read_text()[-2000:]

    journal = DeltaJournal(str(tmp_path / "lake"))
    sessions = {s: list(journal.read(s)) for s in journal.sessions()}
    assert len(sessions) <= len(KILL_AFTER_S) + 1  # a node killed before its first commit or order leaves none
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
