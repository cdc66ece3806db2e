"""The single writer: group commit by size and time, nothing lost on storage errors, idempotent commits."""

from __future__ import annotations

from actors.persistence.config import PersistenceSection
from actors.persistence.core import PersistenceCore
from actors.runtime.clock import VirtualClock
from actors.runtime.deterministic import DeterministicRuntime
from messages import Alert, FlushJournal, Halt, JournalFlushed, Message, StorageStateChanged, TimerFired
from storage.journal import DeltaJournal

MS = 1_000_000


class FlakyWriter:
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.commits: list[list[Message]] = []
        self.versions: list[int] = []

    def committed_version(self, session_id: str) -> int:
        return self.versions[-1] if self.versions else 0

    def append(self, session_id: str, messages: list[Message], version: int) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise OSError("storage unavailable")
        if self.versions and version <= self.versions[-1]:
            return
        self.commits.append(list(messages))
        self.versions.append(version)


def _runtime(writer, spill=None, **params) -> tuple[DeterministicRuntime, PersistenceCore]:
    clock = VirtualClock(1_000 * MS)
    # retries are paced in wall time; here the virtual clock stands in for it
    core = PersistenceCore(writer, "s", PersistenceSection(**params), spill, monotonic=lambda: clock.now() / 1e9)
    runtime = DeterministicRuntime([lambda: core], clock)
    runtime.start()
    return runtime, core


def test_group_commit_by_size_and_by_time():
    writer = FlakyWriter(failures=0)
    runtime, _ = _runtime(writer, batch_max=3, flush_interval_ms=100)
    for n in range(4):
        runtime.inject(Halt(reason=str(n)))
    assert [len(c) for c in writer.commits] == [3]
    runtime.run_until(runtime.clock.now() + 150 * MS)
    assert [len(c) for c in writer.commits] == [3, 2]  # the last halt plus the flush timer itself


def test_the_flush_interval_counts_from_when_the_batch_s_first_message_was_published():
    """A message that queued behind a long commit has already waited: its batch is due `flush_interval_ms` after its
    publish, not after the persistence actor got to it (counted from then, a 90 ms commit put the lag's p99 at
    280 ms at 20k events/s)."""
    writer = FlakyWriter(failures=0)
    runtime, _ = _runtime(writer, batch_max=100, flush_interval_ms=100)
    now = runtime.clock.now()
    runtime.inject(Halt(ts=now - 80 * MS, reason="queued 80 ms"))
    runtime.run_until(now + 30 * MS)
    assert [[m.reason for m in c if isinstance(m, Halt)] for c in writer.commits] == [["queued 80 ms"]]
    runtime.inject(Halt(ts=now - 500 * MS, reason="queued 500 ms"))  # overdue: committed now, never before now
    runtime.run_until(runtime.clock.now())
    assert [[m.reason for m in c if isinstance(m, Halt)] for c in writer.commits][-1] == ["queued 500 ms"]
    runtime.inject(Halt(reason="just published"))
    runtime.run_until(runtime.clock.now() + 90 * MS)
    assert len(writer.commits) == 2  # a fresh batch still waits its whole interval
    runtime.run_until(runtime.clock.now() + 20 * MS)
    assert len(writer.commits) == 3


def test_storage_errors_keep_every_message_for_the_retry():
    writer = FlakyWriter(failures=2)
    runtime, core = _runtime(writer, batch_max=100, flush_interval_ms=10)
    for n in range(5):
        runtime.inject(Halt(reason=str(n)))
    runtime.run_until(runtime.clock.now() + 1_000 * MS)
    journaled = [m for commit in writer.commits for m in commit if isinstance(m, Halt)]
    assert [m.reason for m in journaled] == ["0", "1", "2", "3", "4"]  # each exactly once
    assert writer.versions == sorted(set(writer.versions))


def test_full_buffer_blocks_and_alerts_instead_of_growing():
    writer = FlakyWriter(failures=3)
    runtime, core = _runtime(writer, batch_max=2, flush_interval_ms=10_000, max_buffer=4, retry_max_s=0.01)
    for n in range(4):
        runtime.inject(Halt(reason=str(n)))
    runtime.run_until(runtime.clock.now() + 20_000 * MS)
    alerts = [m for m in runtime.history if isinstance(m, Alert)]
    assert alerts[0].level == "critical" and "journal commits failing" in alerts[0].text
    assert alerts[1].level == "critical" and "back-pressure" in alerts[1].text
    assert alerts[-1].text == "journal storage recovered"
    assert sum(isinstance(m, Halt) for commit in writer.commits for m in commit) == 4


def test_flush_journal_answers_and_stop_flushes():
    writer = FlakyWriter(failures=0)
    runtime, core = _runtime(writer, batch_max=100)
    runtime.inject(Halt(reason="a"))
    runtime.inject(FlushJournal(reason="restart"))
    flushed = [m for m in runtime.history if isinstance(m, JournalFlushed)]
    assert flushed and flushed[0].through_seq == runtime.history[1].seq
    runtime.inject(Halt(reason="b"))
    core.on_stop(None)  # type: ignore[arg-type]
    assert writer.commits[-1][-1].reason == "b"  # type: ignore[attr-defined]


def test_delta_journal_appends_are_idempotent(tmp_path):
    journal = DeltaJournal(str(tmp_path))
    batch = [Halt(ts=10**18 + n, seq=n + 1, reason=str(n)) for n in range(3)]
    journal.append("s", batch, 1)
    journal.append("s", batch, 1)  # a retry after an ambiguous error
    journal.append("other", batch, 1)  # another session's batch is its own
    assert [m.seq for m in journal.read("s")] == [1, 2, 3]
    assert journal.committed_version("s") == 1
    assert len(list(journal.read("other"))) == 3


def test_lake_writer_fills_derived_tables_once_and_dedupes_replayed_executions(tmp_path):
    from messages import OrderFilled, StrategyClosed
    from storage.lake_writer import LakeWriter, read_table

    writer = LakeWriter(DeltaJournal(str(tmp_path)))
    fill = OrderFilled(ts=10**18, seq=1, client_order_id="O1", exec_id="E1", quantity=1, price=-1.5,
                       commission_usd=2.6)
    closed = StrategyClosed(ts=10**18 + 1, seq=2, strategy_id="IC-1", exit_price=-0.7, realized_pnl_usd=74.8,
                            commissions_usd=5.2, rule="take_profit")
    writer.append("s", [fill, closed], 1)
    writer.append("s", [fill, closed], 1)  # retried batch
    replayed = OrderFilled(ts=10**18 + 5, seq=3, client_order_id="O1", exec_id="E1", quantity=1, price=-1.5,
                           commission_usd=2.6)
    writer.append("s", [replayed], 2)  # the broker replays the day's executions on reconnect
    assert read_table(writer, "fills")["exec_id"].to_pylist() == ["E1"]
    assert read_table(writer, "strategies")["rule"].to_pylist() == ["take_profit"]
    assert len(list(writer.journal.read("s"))) == 3


def test_lake_works_through_a_uri_with_storage_options(tmp_path):
    """Any deltalake URI: here a file:// URL with (ignored-by-local) storage options, as s3:// would carry keys."""
    from messages import OrderFilled
    from storage.lake_writer import LakeWriter, read_table

    uri = f"file://{tmp_path}/lake"
    writer = LakeWriter(DeltaJournal(uri, {"timeout": "30s"}))
    fill = OrderFilled(ts=10**18, seq=1, client_order_id="O1", exec_id="E1", quantity=1, price=-1.5,
                       commission_usd=2.6)
    writer.append("s", [fill], 1)
    assert [m.exec_id for m in writer.journal.read("s")] == ["E1"]
    assert read_table(writer, "fills")["exec_id"].to_pylist() == ["E1"]
    assert (tmp_path / "lake" / "journal" / "_delta_log").exists()


def test_a_storage_outage_is_reported_once_retried_with_capped_backoff_and_its_end_reported():
    writer = FlakyWriter(failures=10**9)
    runtime, core = _runtime(writer, batch_max=1000, flush_interval_ms=10, retry_max_s=2.0)
    runtime.inject(Halt(reason="x"))
    runtime.run_until(runtime.clock.now() + 60_000 * MS)  # a minute of flush timers every 10 ms
    states = [m for m in runtime.history if isinstance(m, StorageStateChanged)]
    assert [(s.store, s.state) for s in states] == [("journal", "failing")]
    assert "storage unavailable" in states[0].reason
    # backoff 0.05, 0.1, ... capped at 2 s: about 35 attempts in a minute, not 6,000
    assert 20 <= core.attempts <= 45
    writer.failures = 0
    runtime.run_until(runtime.clock.now() + 3_000 * MS)
    states = [m for m in runtime.history if isinstance(m, StorageStateChanged)]
    assert [s.state for s in states] == ["failing", "ok"]
    assert any(isinstance(m, Halt) for commit in writer.commits for m in commit)


def test_a_stop_whose_final_flush_fails_spills_what_it_held_and_says_so():
    spilled: list[Message] = []
    runtime, core = _runtime(FlakyWriter(failures=10**9), spill=spilled.extend, batch_max=1000,
                             flush_interval_ms=100_000)
    runtime.inject(Halt(reason="a"))
    runtime.inject(Halt(reason="b"))
    core.on_stop(runtime._contexts["persistence"])
    [unflushed] = [m for m in runtime.history if isinstance(m, StorageStateChanged)]
    assert unflushed.state == "unflushed" and unflushed.held == 2
    assert "kept in the write-ahead log" in unflushed.reason
    assert [m.reason for m in spilled] == ["a", "b"]


def test_on_a_virtual_clock_commits_are_paced_by_wall_time_and_size_not_by_virtual_timers():
    writer = FlakyWriter(failures=0)
    wall = [0.0]
    clock = VirtualClock(1_000 * MS)
    core = PersistenceCore(writer, "s", PersistenceSection(batch_max=5, flush_interval_ms=100), None,
                           monotonic=lambda: wall[0], wall_paced=True)
    runtime = DeterministicRuntime([lambda: core], clock)
    runtime.start()
    runtime.inject(Halt(reason="first"))  # the first message is committed at once: nothing was due before
    for n in range(3):
        runtime.inject(Halt(reason=str(n)))
    runtime.run_until(clock.now() + 3_600_000 * MS)  # an hour of virtual time: no flush timer, no commit
    assert [len(c) for c in writer.commits] == [1]
    assert not any(isinstance(m, TimerFired) for m in runtime.history)
    wall[0] = 0.2  # a wall interval later, the next message commits what was held
    runtime.inject(Halt(reason="later"))
    assert [len(c) for c in writer.commits] == [1, 4]
    for n in range(5):  # a full batch commits whatever the wall clock says
        runtime.inject(Halt(reason=f"burst {n}"))
    assert [len(c) for c in writer.commits] == [1, 4, 5]
    runtime.inject(Halt(reason="held"))
    core.on_stop(None)  # type: ignore[arg-type]
    assert writer.commits[-1][-1].reason == "held"  # the stop commits the rest


class HoldingWriter(FlakyWriter):
    """Holds the derived rows of every batch but its own timer's, as a lake writer does until they are due."""

    def append(self, session_id: str, messages: list[Message], version: int) -> bool:
        super().append(session_id, messages, version)
        return not all(isinstance(m, TimerFired) for m in messages)


def test_a_node_gone_quiet_still_commits_the_derived_rows_its_writer_holds():
    writer = HoldingWriter(failures=0)
    runtime, _ = _runtime(writer, flush_interval_ms=100, derived_commit_s=1.0)
    runtime.inject(Halt(reason="the last thing for a while"))
    runtime.run_until(runtime.clock.now() + 150 * MS)
    assert len(writer.commits) == 1  # the halt: its derived rows are held
    runtime.run_until(runtime.clock.now() + 10_000 * MS)
    keys = [[m.key for m in c if isinstance(m, TimerFired)] for c in writer.commits]
    assert keys == [["flush"], ["derived_commit"]]  # one commit once they are due, and then quiet
