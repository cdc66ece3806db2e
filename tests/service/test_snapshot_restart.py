"""A real node's snapshots, taken live at quiescent instants while it trades, restore the state replay-from-zero of
the journal on disk builds: checked after the node is killed with -9 mid-lifecycle and after a graceful stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from actors.config import load_config
from actors.node import write_ahead_dir
from messages import CoreSnapshot, Message, OrderFilled
from storage.journal import DeltaJournal
from storage.write_ahead import SUFFIX, read_log
from tests.snapshot_state import differing_cores
from tests.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]


def _config(tmp_path: Path) -> Path:
    config = tmp_path / "node.toml"
    config.write_text(
        f'[node]\nlake_uri = "{tmp_path / "lake"}"\nclock = "virtual"\n'
        "[persistence]\nsnapshot_every_messages = 1500\n"
        f'[service]\nhealth_port = 0\nheartbeat_file = "{tmp_path / "hb.json"}"\n'
        f'control_dir = "{tmp_path / "control"}"\nshutdown_timeout_s = 10\n'
    )
    return config


def _holds(config_path: Path, pid: int, message_type: type[Message]) -> bool:
    logs = write_ahead_dir(load_config(config_path)).glob(f"*-{pid}{SUFFIX}")
    return any(isinstance(m, message_type) for log in logs for m in read_log(log))


@pytest.mark.timeout(400)
@pytest.mark.parametrize("stop", ["kill -9", "SIGTERM"])
def test_a_live_nodes_snapshots_restore_what_replay_from_zero_builds(tmp_path, stop):
    config = _config(tmp_path)
    log = tmp_path / "node.log"
    process = subprocess.Popen([sys.executable, "-m", "actors.cli", "run", "--config", str(config)], cwd=REPO,
                               stdout=log.open("ab"), stderr=subprocess.STDOUT)
    try:
        # a fill, then a snapshot set after it: the cores hold a position when they are written
        wait_for(lambda: _holds(config, process.pid, OrderFilled), 200, "a fill", lambda: log.read_text()[-2000:])
        logs = write_ahead_dir(load_config(config)).glob(f"*-{process.pid}{SUFFIX}")
        filled = max(m.seq for path in logs for m in read_log(path) if isinstance(m, OrderFilled))
        journal = DeltaJournal(load_config(config).node.lake_uri)  # snapshots are durable once journaled
        wait_for(lambda: any(m.through_seq > filled for m in journal.read_type(CoreSnapshot)
                             if isinstance(m, CoreSnapshot)), 200, "a snapshot after the fill")
        if stop == "kill -9":
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        else:
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=60) == 0, log.read_text()[-2000:]
    finally:
        if process.poll() is None:
            process.kill()
    differ = differing_cores(config)
    assert not differ, differ

