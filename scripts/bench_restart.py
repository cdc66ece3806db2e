"""Restart cost against history size: lakes of 10, 100 and 1,000 earlier `run` sessions, rebuilt as `thetanode run`
rebuilds them (the earlier sessions read from the lake, replayed quietly into the real cores, the risk and IV state
restored).

The history is the node's own: one demo session recorded by the real node (a whole iron-condor lifecycle: chain,
quotes, timers, orders, fills) is the first earlier session; every later session is a trading day of its market
data and timers (`--per-session` messages, default 1,000: 1,000 sessions hold >= 1M messages), written in
group commits of `--commit` messages through the node's lake writer (the journal, the derived tables and the session
index a start reads the session list and the snapshot sets from). Each lake is measured as written
(many small files, and the log the writer's own checkpoints left: it drops entries older than the log retention,
`LOG_RETENTION_S`), then as maintained: compacted, vacuumed, and its Delta log trimmed as the maintenance trims it
(everything before the checkpoint); each from zero (the whole journal replayed, as with
`persistence.restore_snapshots = false`) and from the snapshot set the newest session's graceful stop wrote (taken
of the cores the from-zero rebuild built); and — for the smaller lakes only, `--old-up-to` — with the previous reader
(one whole-table read per earlier session) for comparison.

Usage: uv run python scripts/bench_restart.py [--sessions 10,100,1000] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import msgspec
from deltalake import DeltaTable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from actors.config import config_from_mapping  # noqa: E402
from actors.demo import DEMO_DEFAULTS, run_demo  # noqa: E402
from actors.market_time import NS_PER_DAY  # noqa: E402
from actors.node import (  # noqa: E402
    RUN_MODE,
    EarlierSessions,
    core_factories,
    last_journaled_ns,
    rebuild,
    restored_state,
    sim_start_ns,
)
from actors.runtime.clock import VirtualClock  # noqa: E402
from actors.runtime.snapshots import write_snapshots  # noqa: E402
from actors.runtime.threaded import ThreadedRuntime  # noqa: E402
from actors.service.compaction import ScheduledCompaction  # noqa: E402
from messages import IndexQuote, Message, NodeStarted, OptionQuote, TimerFired, UnderlyingQuote  # noqa: E402
from storage.journal import DeltaJournal  # noqa: E402
from storage.lake_writer import LakeWriter  # noqa: E402
from storage.maintenance import data_files, keep_table_properties, trim_log  # noqa: E402
from storage.session_index import INDEX_TABLE, SessionIndex  # noqa: E402

MARKET = (UnderlyingQuote, IndexQuote, OptionQuote, TimerFired)


def _recorded_session(workdir: Path, config) -> list[Message]:  # noqa: ANN001
    lake = workdir / "demo-lake"
    if not lake.exists():
        run_demo(config_from_mapping({**DEMO_DEFAULTS, "node": {"lake_uri": str(lake)}}), "recorded", max_days=60)
    return list(DeltaJournal(str(lake)).read("recorded"))


def _later_day(recorded: list[Message], session: str, day: int, size: int) -> list[Message]:
    """A later trading day: `size` of the recorded market-data and timer messages, moved `day` days on."""
    market = [m for m in recorded if isinstance(m, MARKET)]
    start = (day * size) % max(len(market) - size, 1)
    shift = day * NS_PER_DAY
    chosen = [msgspec.structs.replace(m, ts=m.ts + shift, seq=n + 2) for n, m in enumerate(market[start:start + size])]
    opened = NodeStarted(ts=chosen[0].ts - 1, seq=1, origin="", session_id=session, mode=RUN_MODE)
    return [opened, *chosen]


def build_lake(lake: Path, sessions: int, recorded: list[Message], per_session: int, commit: int) -> int:
    """Written as the persistence actor writes: the journal and the derived tables (the session index among them);
    each session's idempotency marks retired as the next session's start does once it has folded its log."""
    writer = LakeWriter(DeltaJournal(str(lake)))
    first = [msgspec.structs.replace(m, session_id="run-00000", mode=RUN_MODE) if isinstance(m, NodeStarted) else m
             for m in recorded]
    written = 0
    for index in range(sessions):
        session = f"run-{index:05d}"
        messages = first if index == 0 else _later_day(recorded, session, index, per_session)
        for version, at in enumerate(range(0, len(messages), commit), start=1):
            writer.append(session, messages[at:at + commit], version)
        if index:  # as this session's start folds the previous one's write-ahead log: its marks are retired
            writer.retire_marks(f"run-{index - 1:05d}")
        written += len(messages)
    return written


def restart(lake: Path, config, from_snapshots: bool) -> tuple[dict[str, float], ThreadedRuntime]:  # noqa: ANN001
    """What `thetanode run` does before it trades, timed in its three parts: from the newest snapshots, or (as with
    `persistence.restore_snapshots = false`) from the whole journal."""
    journal = DeltaJournal(str(lake))
    began = time.perf_counter()
    earlier = EarlierSessions(journal, "run-now")
    earlier.start_after(earlier.restart_point() if from_snapshots else None)
    assert (earlier.point is not None) == from_snapshots
    history = list(earlier.read())
    read = time.perf_counter()
    runtime = ThreadedRuntime(core_factories(config, "run-now", None, sim_start_ns(config)),
                              VirtualClock(last_journaled_ns(history, earlier.point)), config.mailbox,
                              config.supervisor)
    rebuild(runtime, earlier, history)
    primed = time.perf_counter()
    restored_state(journal, sessions=earlier.since_point)
    done = time.perf_counter()
    return {"read": read - began, "replay": primed - read, "restore": done - primed, "total": done - began}, runtime


def snapshot_at_stop(lake: Path, runtime: ThreadedRuntime) -> None:
    """What the newest session's graceful stop journals: every core's snapshot, cut at its last message (the
    from-zero rebuild that built `runtime` replayed every session, so its cores are those of that instant)."""
    writer = LakeWriter(DeltaJournal(str(lake)))
    session = EarlierSessions(writer.journal, "run-now").newest
    last = list(writer.journal.read(session))[-1]
    cores = {name: runtime.cores[name] for name in sorted(runtime.replayable)}
    snapshots = [msgspec.structs.replace(s, ts=last.ts + 1, seq=last.seq + 1 + n)
                 for n, s in enumerate(write_snapshots(cores, last.seq))]
    writer.append(session, snapshots, writer.committed_version(session) + 1)


def old_reads(lake: Path) -> float:
    """The previous reader: every earlier session read by materialising the whole journal table, then filtered."""
    import pyarrow.compute as pc

    began = time.perf_counter()
    journal = DeltaJournal(str(lake))
    for session in journal.sessions():
        table = DeltaTable(journal.uri).to_pyarrow_table(columns=["session_id", "seq", "payload"])
        table.filter(pc.equal(table["session_id"], session)).sort_by("seq")
    return time.perf_counter() - began


def _bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*.parquet"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", default="10,100,1000")
    parser.add_argument("--per-session", type=int, default=1000)
    parser.add_argument("--commit", type=int, default=200, help="messages per group commit while building")
    parser.add_argument("--old-up-to", type=int, default=100, help="measure the previous reader up to this size")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the recorded session and lakes here")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-restart-"))
    workdir.mkdir(parents=True, exist_ok=True)
    config = config_from_mapping(DEMO_DEFAULTS)
    recorded = _recorded_session(workdir, config)
    print(f"recorded session: {len(recorded)} messages; later sessions: {args.per_session} messages each")
    print(f"{'sessions':>8} {'messages':>9} {'files':>6} {'B/msg':>6} {'layout':>10} {'from':>9} {'read s':>7} "
          f"{'replay s':>8} {'restore s':>9} {'total s':>7} {'old read s':>10}")
    for sessions in (int(n) for n in args.sessions.split(",")):
        lake = workdir / f"lake-{sessions}"
        if lake.exists():
            shutil.rmtree(lake)
        written = build_lake(lake, sessions, recorded, args.per_session, args.commit)
        began = time.perf_counter()
        SessionIndex(DeltaJournal(str(lake))).backfill()  # as the first `thetanode run` start on a lake does
        print(f"{sessions:>8} sessions: session index completed in {time.perf_counter() - began:.2f} s (once)")
        journal_uri = str(lake / "journal")
        tables = [journal_uri, str(lake / INDEX_TABLE)]
        for layout in ("as written", "compacted"):
            if layout == "compacted":
                ScheduledCompaction(tables, None, 0).compact_fragmented(max_files=1)
                for uri in tables:  # vacuum at once (the node keeps 7 days): the bytes are those of the live table
                    DeltaTable(uri).vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False)
                    # and the log a lake older than its retentions keeps: this history was written in minutes, so
                    # every log entry is younger than the node's day and every replaced file's tombstone younger than
                    # Delta's week; a year-old lake's checkpoint holds neither
                    DeltaTable(uri).alter.set_table_properties(
                        {"delta.deletedFileRetentionDuration": "interval 0 seconds"}, raise_if_not_exists=False)
                    keep_table_properties(DeltaTable(uri), "interval 0 seconds")
                    trim_log(DeltaTable(uri))
            files = data_files(journal_uri)
            for start in ("zero", "snapshots"):
                took, runtime = restart(lake, config, from_snapshots=start == "snapshots")
                if start == "zero" and layout == "as written":
                    snapshot_at_stop(lake, runtime)  # as the last session's stop would have
                old = f"{old_reads(lake):10.2f}" if sessions <= args.old_up_to and start == "zero" else f"{'-':>10}"
                print(f"{sessions:>8} {written:>9} {files:>6} {_bytes(lake / 'journal') / written:>6.0f} "
                      f"{layout:>10} {start:>9} {took['read']:>7.2f} {took['replay']:>8.2f} {took['restore']:>9.2f} "
                      f"{took['total']:>7.2f} {old}", flush=True)


if __name__ == "__main__":
    main()
