"""Persistence throughput and durability lag: messages through the real persistence actor into a local Delta lake
(journal plus derived tables; one message in a hundred is a fill, so the fills table is written too).

Offers messages at a fixed rate for a few seconds (30 or more show what the default 5 cannot: the commits' cost
climbing as the Delta log and the data files grow); the persistence actor runs with the node's `[persistence]`
defaults (batch size, flush interval, writer). Lag is wall time from a message's publish (its ts, wall clock)
to the end of the Delta commit that holds it. Targets: >= 20k events/s, lag p99 < 250 ms, also with 1M+ rows already in
the journal (`--prefill 1000000`: written first in group commits of `--prefill-commit` rows, as a running node leaves
them, live compaction included, 1% fills, then measured as written and, with `--compacted`, after the start-up
compaction).
`--writer process` (the default, as `persistence.writer` is) makes the commits in the journal writer's child process
(storage/journal_process.py), `in_process` on the persistence actor's thread; `both` alternates them run by run.
Usage: uv run python scripts/bench_persistence.py [--rate 20000] [--seconds 5] [--writer process|in_process|both]
       [--rounds N] [--prefill N [--compacted]]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from actors.persistence.config import PersistenceSection  # noqa: E402
from actors.persistence.core import PersistenceCore  # noqa: E402
from actors.runtime.clock import WallClock  # noqa: E402
from actors.runtime.logging import configure_logging  # noqa: E402
from actors.runtime.threaded import ThreadedRuntime  # noqa: E402
from actors.service.compaction import ScheduledCompaction  # noqa: E402
from messages import Halt, Message, OrderFilled  # noqa: E402
from storage.journal import DeltaJournal  # noqa: E402
from storage.journal_process import JournalProcess  # noqa: E402
from storage.lake_writer import LakeWriter  # noqa: E402
from storage.maintenance import data_files  # noqa: E402
from storage.tables import SCHEMAS  # noqa: E402


class TimedWriter:
    """The node's real writer (journal + derived tables, in process or in its child process), timing when each
    message became durable: when the commit that holds it returned."""

    def __init__(self, writer: LakeWriter | JournalProcess) -> None:
        self.writer = writer
        self.lags_ms: list[float] = []
        self.written = 0

    def committed_version(self, session_id: str) -> int:
        return self.writer.committed_version(session_id)

    def append(self, session_id: str, messages: list[Message], version: int) -> bool:
        holding = self.writer.append(session_id, messages, version)
        done = time.time_ns()
        self.lags_ms += [(done - m.ts) / 1e6 for m in messages if isinstance(m, (Halt, OrderFilled))]
        self.written += len(messages)
        return holding

    def close(self) -> None:
        self.writer.close()


def _message(n: int, ts: int) -> Message:
    if n % 100:
        return Halt(ts=ts, seq=n, reason="x")
    return OrderFilled(ts=ts, seq=n, client_order_id="O", exec_id=f"E{n}", quantity=1, price=-1.5, commission_usd=2.6)


def prefill(lake: str, rows: int, commit: int, compacted: bool) -> None:
    """`rows` messages of an earlier session through the node's writer, in group commits of `commit` rows."""
    writer = LakeWriter(DeltaJournal(lake))
    began, ts = time.perf_counter(), time.time_ns() - 86_400 * 10**9  # yesterday: its own date partition
    for version, at in enumerate(range(0, rows, commit), start=1):
        writer.append("earlier", [_message(n, ts + n) for n in range(at + 1, min(at + commit, rows) + 1)], version)
    files = data_files(writer.journal.uri)
    print(f"prefilled {rows:,} rows in {files} files ({time.perf_counter() - began:.0f} s)")
    if compacted:
        ScheduledCompaction([writer.journal.uri, *(writer.table_uri(t) for t in SCHEMAS)], None, 0).compact_fragmented(1)
        print(f"  compacted to {data_files(writer.journal.uri)} files")


def run(lake: str, writer: str, rate: int, seconds: float, params: PersistenceSection) -> None:
    """Offer `rate` messages a second for `seconds` to the persistence actor committing through `writer`."""
    held = params.derived_commit_s
    journal = TimedWriter(JournalProcess(lake, derived_every_s=held) if writer == "process" else
                          LakeWriter(DeltaJournal(lake), derived_every_s=held))
    # opening the tables (creating them, or loading a big one's log and the fills' exec ids) is paid once per
    # process, at node start, not per commit: through the measured writer, before the clock starts
    journal.append("warm-up", [Halt(ts=time.time_ns(), seq=1, reason="open the tables")], 1)
    journal.lags_ms.clear()
    journal.written = 0
    runtime = ThreadedRuntime([lambda: PersistenceCore(journal, "bench", params)], WallClock())
    runtime.start()
    offered, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        while offered < int(elapsed * rate):
            kind = offered % 100
            runtime.publish(Halt(ts=time.time_ns(), reason="x") if kind else
                            OrderFilled(ts=time.time_ns(), client_order_id="O", exec_id=f"E{offered}", quantity=1,
                                        price=-1.5, commission_usd=2.6))
            offered += 1
        time.sleep(0.001)
    runtime.work.wait_idle(timeout=60)
    runtime.stop()
    elapsed = time.perf_counter() - started
    journal.close()
    lags = np.array(journal.lags_ms)
    commits = len(list((Path(lake) / "journal" / "_delta_log").glob("*.json")))
    print(f"writer {writer}: offered {offered:,} messages at {rate:,}/s; journaled {journal.written:,}, "
          f"{commits} journal log entries kept")
    print(f"  throughput {journal.written / elapsed:,.0f} events/s")
    print(f"  durability lag p50 {np.percentile(lags, 50):.1f} ms, p99 {np.percentile(lags, 99):.1f} ms")


def main() -> None:
    configure_logging("WARNING")  # the live compaction's passes are debug lines; a failed one still says so
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--writer", choices=("process", "in_process", "both"), default="process",
                        help="[persistence] writer (default process, as the node's); both: the two alternate")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each writer, each on a lake of its own")
    parser.add_argument("--prefill", type=int, default=0, help="rows already in the journal before the measure")
    parser.add_argument("--prefill-commit", type=int, default=2_000)
    parser.add_argument("--compacted", action="store_true", help="compact the prefilled lake first")
    parser.add_argument("--derived-commit-s", type=float, default=PersistenceSection().derived_commit_s,
                        help="persistence.derived_commit_s (the node's by default; 0: as before stop 35)")
    args = parser.parse_args()
    params = PersistenceSection(derived_commit_s=args.derived_commit_s)
    writers = ("process", "in_process") if args.writer == "both" else (args.writer,)
    for _ in range(args.rounds):
        for writer in writers:
            with tempfile.TemporaryDirectory() as lake:
                if args.prefill:
                    prefill(lake, args.prefill, args.prefill_commit, args.compacted)
                run(lake, writer, args.rate, args.seconds, params)


if __name__ == "__main__":
    main()
