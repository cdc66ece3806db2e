"""`[persistence]`: the journal's group commit, write-ahead and compaction."""

from __future__ import annotations

from typing import Literal

from actors.config_section import Section


class PersistenceSection(Section, frozen=True, kw_only=True):
    LIMITS = {"batch_max": (1, 1_000_000), "flush_interval_ms": (1, 86_400_000), "max_buffer": (1, 10_000_000),
              "retry_max_s": (0.01, 3600), "writer_timeout_s": (1, 86_400), "compact_interval_h": (0, 8760),
              "compact_at_start_files": (0, 10_000_000), "snapshot_every_messages": (0, 1_000_000_000),
              "derived_commit_s": (0, 3600)}
    batch_max: int = 10_000
    """A batch is committed when this many messages wait, before its `flush_interval_ms` is up. A commit costs
    delta-rs about as much for 20 rows as for 5,000, so under a burst bigger batches are how the writer catches up:
    capped at 2,000 it could commit at most 2,000 messages per commit's time, and at 20k events/s, once a commit took
    more than 100 ms, the lag grew without bound (`scripts/bench_persistence.py`: 17.8k events/s journaled, p99 951 ms
    over 30 s)."""
    flush_interval_ms: int = 100
    derived_commit_s: float = 1.0
    """The derived tables (orders, fills, strategies, decisions, marks, ...) commit at most this often, their rows
    held between; the journal still commits every `flush_interval_ms`. A commit costs delta-rs about as much for two
    rows as for thousands, and most batches carried a few derived rows (storage/derived_backlog.py). Readers (status,
    report, the dashboard) see them this much later; rows held at a crash are written from the journal at the next
    start. 0: with every batch."""
    max_buffer: int = 50_000
    """Messages held while storage fails; beyond this the writer blocks and retries, so back-pressure reaches
    every publisher through the mailboxes instead of memory growing without bound."""
    retry_max_s: float = 5.0
    """Cap of the exponential backoff between commits while storage fails."""
    writer: Literal["process", "in_process"] = "process"
    """Where `thetanode run` and `demo` make their journal commits: a child process (storage/journal_process.py: a
    Delta commit's CPU and GIL hand-backs stay out of the trading process) or the persistence actor's own thread."""
    writer_timeout_s: float = 300.0
    """A commit the writer process has not answered in this long fails (the process is killed; the retry starts a
    new one). Generous: an object store may take many seconds, and the batch is retried, never lost."""
    local_dir: str = "thetanode-data/lakes"
    """Where the write-ahead log of an object-store lake lives (a local lake keeps it inside itself)."""
    write_ahead_dir: str = ""
    """A directory for the write-ahead log on a device of its own (each lake in a subdirectory of its own): every
    order command waits for the log's fsync, and beside the lake that flush queues behind the journal's writes. A
    start still folds the logs of every directory earlier sessions used (storage/write_ahead_dirs.py). Empty: with
    the lake (`LAKE/_thetanode/wal`, or under `local_dir` for an object-store lake)."""
    compact_interval_h: float = 24.0
    """`thetanode run` compacts and vacuums every table this often (0: only by `thetanode compact`)."""
    compact_at_start_files: int = 256
    """`thetanode run` compacts a table at start when it holds more data files than this (0: never at start), so a
    node restarted daily (before its first scheduled pass) still keeps its file count bounded."""
    snapshot_every_messages: int = 100_000
    """`thetanode run` snapshots every actor core after this many messages (at the next quiescent instant) and at a
    graceful stop; a restart restores the newest set and replays only the journal after it (0: only at stop)."""
    restore_snapshots: bool = True
    """False rebuilds from the whole journal, as if no snapshot had been taken (they are still written)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if any(character in self.write_ahead_dir for character in "\n\r\0"):
            raise ValueError(f"`write_ahead_dir` must be a directory path, got {self.write_ahead_dir!r}")
