"""Journaled messages per second of `thetanode run` on the virtual clock (the simulated market, the real node, a
real lake), with commits paced by wall time and size (the node's behaviour) made in the journal writer process (the
default) and in the node's own, and, side by side in the same run, with a commit every virtual `flush_interval_ms`
(the earlier behaviour, where the clock waited on each commit).

Usage: uv run python scripts/bench_virtual_run.py [--seconds 20] [--rounds 1]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from deltalake import DeltaTable  # noqa: E402
from loguru import logger  # noqa: E402

import actors.node as node  # noqa: E402
from actors.config import config_from_mapping  # noqa: E402
from actors.persistence.core import PersistenceCore  # noqa: E402
from actors.service.runner import run_node  # noqa: E402
from storage.journal import DeltaJournal  # noqa: E402
from storage.maintenance import compact_and_vacuum  # noqa: E402


class _EveryVirtualInterval(PersistenceCore):
    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        kwargs["wall_paced"] = False
        super().__init__(*args, **kwargs)


def _journal_bytes(lake: Path) -> int:
    return sum(f.stat().st_size for f in (lake / "journal").rglob("*.parquet"))


def measure(seconds: float, wall_paced: bool, writer: str = "process") -> tuple[int, float, float, float, float]:
    """(messages journaled, wall seconds, virtual hours covered, journal bytes per message as written and after
    compaction) of one run stopped after `seconds`."""
    work = Path(tempfile.mkdtemp(prefix="bench-virtual-"))
    config = config_from_mapping({"node": {"lake_uri": str(work / "lake"), "clock": "virtual"},
                                  "persistence": {"writer": writer},
                                  "service": {"health_port": 0, "heartbeat_file": str(work / "hb.json"),
                                              "control_dir": str(work / "control")}})
    node.PersistenceCore = PersistenceCore if wall_paced else _EveryVirtualInterval
    stop = threading.Event()
    threading.Timer(seconds, stop.set).start()
    began = time.perf_counter()
    run_node(config, stop)
    took = time.perf_counter() - began
    journal = DeltaJournal(str(work / "lake"))
    [session] = journal.sessions()
    messages = list(journal.read(session))
    written = _journal_bytes(work / "lake") / len(messages)
    compact_and_vacuum(journal.uri)
    DeltaTable(journal.uri).vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False)  # at once
    compacted = _journal_bytes(work / "lake") / len(messages)
    return len(messages), took, (messages[-1].ts - messages[0].ts) / 3.6e12, written, compacted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    logger.remove()
    modes = (("commit per virtual interval (earlier)", False, "in_process"),
             ("wall-paced, in the node's process", True, "in_process"),
             ("wall-paced, writer process (now)", True, "process"))
    for _, (label, wall_paced, writer) in ((r, mode) for r in range(args.rounds) for mode in modes):
        count, took, hours, written, compacted = measure(args.seconds, wall_paced, writer)
        print(f"{label:38} {count:>8} messages in {took:5.1f} s wall = {count / took:8.0f} messages/s, "
              f"{hours:6.1f} virtual hours; journal {written:5.0f} B/message as written, {compacted:4.0f} compacted",
              flush=True)


if __name__ == "__main__":
    main()
