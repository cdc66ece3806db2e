"""A real node's snapshots, taken live at quiescent instants while it trades, restore the state replay-from-zero of
the journal on disk builds: checked after the node is killed with -9 mid-lifecycle and after a graceful stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from actors.config import load_config
from actors.node import EarlierSessions, core_factories, last_journaled_ns, rebuild, sim_start_ns, write_ahead_dir
from actors.runtime.clock import VirtualClock
from actors.runtime.core import MutedContext
from actors.runtime.snapshot_codec import encode_state
from actors.runtime.threaded import ThreadedRuntime
from messages import CoreSnapshot, Message, OrderFilled
from storage.journal import DeltaJournal
from storage.lake_writer import LakeWriter
from storage.write_ahead import SUFFIX, fold_logs, read_log
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


def _rebuilt(config_path: Path, from_snapshots: bool) -> dict[str, bytes]:
    """Every replayable core's whole state as a restarting node would rebuild it, from its snapshots or from zero."""
    config = load_config(config_path)
    writer = LakeWriter(DeltaJournal(config.node.lake_uri))
    fold_logs(write_ahead_dir(config), writer)  # what the killed node's write-ahead log holds, as a start does
    earlier = EarlierSessions(writer.journal, "next")
    earlier.start_after(earlier.restart_point() if from_snapshots else None)
    assert (earlier.point is not None) == from_snapshots, "the node wrote no usable snapshot"
    history = list(earlier.read())
    runtime = ThreadedRuntime(core_factories(config, "next", None, sim_start_ns(config)), VirtualClock(0))
    history = rebuild(runtime, earlier, history)[1]
    now = last_journaled_ns(history, earlier.point)
    for name in runtime.replayable:  # the state it starts running with: rebuilding's own bookkeeping ends here
        runtime.cores[name].on_start(MutedContext(now))
    return {name: encode_state(runtime.cores[name], keep_fresh=True)[0] for name in runtime.replayable}


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
    from_snapshots, from_zero = _rebuilt(config, True), _rebuilt(config, False)
    assert set(from_snapshots) == set(from_zero)
    differ = {name: _differing(from_snapshots[name], from_zero[name]) for name in from_zero
              if from_snapshots[name] != from_zero[name]}
    assert not differ, differ


def _differing(restored: bytes, replayed: bytes) -> dict[str, tuple[str, str]]:
    """The core attributes that differ: (restored, replayed from zero), shortened."""
    pairs = zip(msgspec.msgpack.decode(restored)["a"], msgspec.msgpack.decode(replayed)["a"], strict=False)
    return {name: (str(mine)[:400], str(theirs)[:400]) for (name, mine), (_, theirs) in pairs if mine != theirs}
