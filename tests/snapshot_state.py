"""What a restarting node rebuilds from a lake on disk, from its snapshots or from zero: to prove from outside the
process that the snapshots a node wrote hold what replaying its whole journal builds."""

from __future__ import annotations

from pathlib import Path

import msgspec

from actors.config import load_config
from actors.node import EarlierSessions, core_factories, last_journaled_ns, rebuild, sim_start_ns, write_ahead_dir
from actors.runtime.clock import VirtualClock
from actors.runtime.core import MutedContext
from actors.runtime.snapshot_codec import encode_state
from actors.runtime.threaded import ThreadedRuntime
from storage.journal import DeltaJournal
from storage.lake_writer import LakeWriter
from storage.write_ahead import fold_logs


def rebuilt_states(config_path: Path, from_snapshots: bool, not_started: tuple[str, ...] = ()) -> dict[str, bytes]:
    """Every replayable core's whole state as a restarting node would start running with it (after `on_start`, where
    rebuilding's own bookkeeping ends), from its snapshots or from zero. `not_started`: cores whose start only opens a
    live connection (the IB session core would dial the gateway)."""
    config = load_config(config_path)
    writer = LakeWriter(DeltaJournal(config.node.lake_uri))
    fold_logs(write_ahead_dir(config), writer)  # what a killed node's write-ahead log holds, as a start does
    earlier = EarlierSessions(writer.journal, "next")
    earlier.start_after(earlier.restart_point() if from_snapshots else None)
    assert (earlier.point is not None) == from_snapshots, "the node wrote no usable snapshot"
    history = list(earlier.read())
    runtime = ThreadedRuntime(core_factories(config, "next", None, sim_start_ns(config)), VirtualClock(0))
    history = rebuild(runtime, earlier, history)[1]
    now = last_journaled_ns(history, earlier.point)
    for name in runtime.replayable - set(not_started):
        runtime.cores[name].on_start(MutedContext(now))
    return {name: encode_state(runtime.cores[name], keep_fresh=True)[0] for name in runtime.replayable}


def differing_cores(config_path: Path, not_started: tuple[str, ...] = ()) -> dict[str, dict[str, tuple[str, str]]]:
    """The cores whose state restored from the lake's snapshots differs from replaying it from zero, by attribute."""
    from_snapshots = rebuilt_states(config_path, True, not_started)
    from_zero = rebuilt_states(config_path, False, not_started)
    assert set(from_snapshots) == set(from_zero)
    return {name: differing_attributes(from_snapshots[name], from_zero[name]) for name in from_zero
            if from_snapshots[name] != from_zero[name]}


def differing_attributes(restored: bytes, replayed: bytes) -> dict[str, tuple[str, str]]:
    """The core attributes that differ: (restored, replayed from zero), shortened."""
    pairs = zip(msgspec.msgpack.decode(restored)["a"], msgspec.msgpack.decode(replayed)["a"], strict=False)
    return {name: (str(mine)[:400], str(theirs)[:400]) for (name, mine), (_, theirs) in pairs if mine != theirs}
