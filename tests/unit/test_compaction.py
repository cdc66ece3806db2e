"""Bounded file counts: a node's start compacts a crowded table, one date partition at a time, and a compacted day
stays compacted; nothing journaled is lost or reordered."""

from __future__ import annotations

from actors.service.compaction import ScheduledCompaction
from messages import Alert, Halt, NodeStarted
from storage.journal import DeltaJournal
from storage.maintenance import data_files

DAY = 86_400 * 10**9
T0 = 1_767_225_600 * 10**9  # 2026-01-01 UTC


def _crowded(tmp_path) -> DeltaJournal:
    journal = DeltaJournal(str(tmp_path))
    journal.append("run-1", [NodeStarted(ts=T0, seq=1, session_id="run-1", mode="run")])
    for n in range(2, 8):  # six more group commits on the first day
        journal.append("run-1", [Halt(ts=T0 + n, seq=n, reason=str(n)), Alert(ts=T0 + n, seq=n + 100, level="info",
                                                                             source="x", text=str(n))])
    journal.append("run-2", [NodeStarted(ts=T0 + DAY, seq=1, session_id="run-2", mode="run")])
    return journal


def test_start_compacts_only_a_crowded_table_and_only_its_crowded_days(tmp_path):
    journal = _crowded(tmp_path)
    before = {session: list(journal.read(session)) for session in journal.sessions()}
    assert data_files(journal.uri) == 8
    upkeep = ScheduledCompaction([journal.uri], None, interval_s=0)
    assert upkeep.compact_fragmented(max_files=8) == []  # not above the threshold: untouched
    [result] = upkeep.compact_fragmented(max_files=3)
    assert result.files_removed_by_compaction == 7  # the first day's files; the second day's single file stays
    assert data_files(journal.uri) == 2
    assert {session: list(journal.read(session)) for session in journal.sessions()} == before
    assert [m.session_id for m in journal.read_type(NodeStarted)] == ["run-1", "run-2"]
    [again] = upkeep.compact_fragmented(max_files=1)  # a compacted day is not rewritten again
    assert again.files_removed_by_compaction == 0 and data_files(journal.uri) == 2


def test_compaction_at_start_can_be_turned_off(tmp_path):
    journal = _crowded(tmp_path)
    assert ScheduledCompaction([journal.uri], None, interval_s=0).compact_fragmented(max_files=0) == []
    assert data_files(journal.uri) == 8


def test_the_delta_log_is_kept_its_retention_and_trimmed_with_every_message_and_each_sessions_commit_mark_kept(
        tmp_path):
    """Each open of a table lists its whole log: tables keep their retention of it, a pass checkpoints and drops older
    entries, and the writer's idempotency marks (app transactions) survive in the checkpoint."""
    import os
    import time

    from deltalake import DeltaTable

    from storage.delta_writes import LOG_RETENTION, LOG_RETENTION_SETTING
    from storage.maintenance import compact_and_vacuum, keep_table_properties

    journal = _crowded(tmp_path)
    table = DeltaTable(journal.uri)
    assert table.metadata().configuration[LOG_RETENTION] == LOG_RETENTION_SETTING  # set when the table was created
    assert not keep_table_properties(table)
    before = {session: list(journal.read(session)) for session in journal.sessions()}
    marks = {session: journal.committed_version(session) for session in ("run-1", "run-2")}
    log = tmp_path / "journal" / "_delta_log"
    now = time.time()  # fresh, however long the set-up took on a busy machine
    for name in os.listdir(log):
        os.utime(log / name, (now, now))
    compact_and_vacuum(journal.uri)
    entries = len([name for name in os.listdir(log) if name.endswith(".json")])
    assert entries > 8 and any(name.endswith(".checkpoint.parquet") for name in os.listdir(log))  # none expired
    assert keep_table_properties(table, "interval 0 seconds")  # as if the lake were older than the retention
    compact_and_vacuum(journal.uri)
    assert len([name for name in os.listdir(log) if name.endswith(".json")]) < entries
    reopened = DeltaJournal(str(tmp_path))
    assert {session: list(reopened.read(session)) for session in reopened.sessions()} == before
    assert {session: reopened.committed_version(session) for session in marks} == marks
    reopened.append("run-2", [Halt(ts=T0 + DAY + 1, seq=2, reason="after the trim")])
    assert [m.seq for m in DeltaJournal(str(tmp_path)).read("run-2")] == [1, 2]


def test_the_writers_own_commits_keep_the_delta_log_to_its_retention(tmp_path):
    """Each commit costs more the longer the log is: while the node writes (a group commit every 100 ms), delta-rs
    drops the entries the retention no longer needs at each checkpoint the commits make (those before the newest
    checkpoint older than the retention), with no compaction pass; the journal and the idempotency marks are whole
    afterwards."""
    import os
    import time

    from deltalake import DeltaTable

    def versions(suffix: str) -> list[int]:
        return sorted(int(name.split(".")[0]) for name in os.listdir(log) if name.endswith(suffix))

    DeltaJournal(str(tmp_path)).append("run-1", [Halt(ts=T0 + 1, seq=1, reason="1")])
    log = tmp_path / "journal" / "_delta_log"
    DeltaTable(str(tmp_path / "journal")).alter.set_table_properties({"delta.checkpointInterval": "10"})  # test speed
    journal = DeltaJournal(str(tmp_path))
    early_reader = DeltaJournal(str(tmp_path))  # a reader that keeps its table open, as the dashboard's views do
    assert [m.seq for m in early_reader.read("run-1")] == [1]
    for seq in range(2, 16):
        journal.append("run-1", [Halt(ts=T0 + seq, seq=seq, reason=str(seq))])
    aged = time.time() - 600  # ten minutes ago: a log kept that long holds 6,000 group commits while the node writes
    for name in os.listdir(log):
        os.utime(log / name, (aged, aged))
    [*_, aged_checkpoint] = versions(".checkpoint.parquet")
    for seq in range(16, 30):  # to the next checkpoints
        journal.append("run-1", [Halt(ts=T0 + seq, seq=seq, reason=str(seq))])
    assert versions(".checkpoint.parquet")[-1] > aged_checkpoint
    assert versions(".json")[0] == aged_checkpoint  # the entries before the aged checkpoint are gone
    reopened = DeltaJournal(str(tmp_path))
    assert [m.seq for m in reopened.read("run-1")] == list(range(1, 30))
    # the entries after the early reader's version are gone: it catches up from the newest checkpoint
    assert [m.seq for m in early_reader.read("run-1")] == list(range(1, 30))
    assert reopened.committed_version("run-1") == 29  # the idempotency mark survives in the checkpoint
    reopened.append("run-1", [Halt(ts=T0 + 30, seq=30, reason="again")], version=29)  # a retried batch
    assert [m.seq for m in DeltaJournal(str(tmp_path)).read("run-1")] == list(range(1, 30))  # is not written twice


def test_a_table_from_before_the_log_retention_gets_it_at_start(tmp_path):
    from deltalake import DeltaTable

    from storage.delta_writes import LOG_RETENTION, LOG_RETENTION_SETTING

    journal = _crowded(tmp_path)
    DeltaTable(journal.uri).alter.set_table_properties({LOG_RETENTION: "interval 30 days"})  # Delta's default
    # even with compaction at start turned off
    assert ScheduledCompaction([journal.uri, str(tmp_path / "absent")], None, interval_s=0).compact_fragmented(0) == []
    assert DeltaTable(journal.uri).metadata().configuration[LOG_RETENTION] == LOG_RETENTION_SETTING


def _checkpointed_stats(table_uri: str) -> set[str]:
    """How the newest checkpoint holds each file's statistics: "stats" (JSON text), "stats_parsed" (typed columns)."""
    import json
    from pathlib import Path

    import pyarrow.parquet as pq

    log = Path(table_uri) / "_delta_log"
    version = json.loads((log / "_last_checkpoint").read_text())["version"]
    add = pq.read_schema(log / f"{version:020d}.checkpoint.parquet").field("add").type
    return {add.field(i).name for i in range(add.num_fields)} & {"stats", "stats_parsed"}


def test_checkpoints_hold_typed_statistics_and_an_older_table_gets_them_at_start(tmp_path):
    """delta-rs opens a table faster from typed statistics than by parsing every file's JSON (every start, status and
    report opens the journal, whose files grow with the lake's age); the JSON stays for other readers."""
    from deltalake import DeltaTable

    from storage.delta_writes import STATS_AS_STRUCT
    from storage.maintenance import compact_and_vacuum

    journal = _crowded(tmp_path)
    before = {session: list(journal.read(session)) for session in journal.sessions()}
    assert DeltaTable(journal.uri).metadata().configuration[STATS_AS_STRUCT] == "true"  # set when it was created
    compact_and_vacuum(journal.uri)
    assert _checkpointed_stats(journal.uri) == {"stats", "stats_parsed"}

    DeltaTable(journal.uri).alter.set_table_properties({STATS_AS_STRUCT: "false"})  # as a table from before it
    DeltaTable(journal.uri).create_checkpoint()
    assert _checkpointed_stats(journal.uri) == {"stats"}
    ScheduledCompaction([journal.uri], None, interval_s=0).compact_fragmented(0)
    assert DeltaTable(journal.uri).metadata().configuration[STATS_AS_STRUCT] == "true"
    assert _checkpointed_stats(journal.uri) == {"stats", "stats_parsed"}, "checkpointed at once"
    reopened = DeltaJournal(str(tmp_path))
    assert {session: list(reopened.read(session)) for session in reopened.sessions()} == before
    assert [m.seq for m in reopened.read("run-1", types=(Halt,))] == list(range(2, 8)), "pruned by the typed stats"


def test_a_finished_day_left_with_a_few_small_files_becomes_one_and_the_newest_day_waits(tmp_path):
    """A day's files after a pass (or a session that crossed midnight UTC) stay under the crowding threshold for ever,
    and every open of the table reads each of them from its log: a day before the newest is rewritten into one file
    once; the newest day may still grow, so it waits for the threshold."""
    journal = DeltaJournal(str(tmp_path))
    for day in range(3):
        for n in range(1, 4):  # three group commits a day: under the threshold of four
            journal.append(f"run-{day}", [Halt(ts=T0 + day * DAY + n, seq=n, reason=str(n))])
    before = {session: list(journal.read(session)) for session in journal.sessions()}
    assert data_files(journal.uri) == 9
    [result] = ScheduledCompaction([journal.uri], None, interval_s=0).compact_fragmented(max_files=1)
    assert result.files_removed_by_compaction == 6 and result.files_added_by_compaction == 2
    assert data_files(journal.uri) == 5, "one file for each of the two finished days, the newest day's three"
    assert {session: list(journal.read(session)) for session in journal.sessions()} == before
    [again] = ScheduledCompaction([journal.uri], None, interval_s=0).compact_fragmented(max_files=1)
    assert again.files_removed_by_compaction == 0, "a finished day compacted once stays compacted"


def test_a_scheduled_pass_leaves_the_day_the_writer_fills_to_the_writer_and_rewrites_the_past_days(tmp_path):
    """The schedule's passes run beside the writer: the newest day is the writer's own passes' to bound
    (storage/live_compaction.py), and a rewrite of a long day could outlast the Delta log's window; a start's pass,
    before anything writes, takes every crowded day."""
    journal = _crowded(tmp_path)
    for n in range(2, 7):  # the second day crowded too
        journal.append("run-2", [Halt(ts=T0 + DAY + n, seq=n, reason=str(n))])
    before = {session: list(journal.read(session)) for session in journal.sessions()}
    upkeep = ScheduledCompaction([journal.uri], None, interval_s=0)
    [result] = upkeep.run_once()
    assert result.files_removed_by_compaction == 7 and data_files(journal.uri) == 1 + 6  # the first day only
    [result] = upkeep.compact_fragmented(max_files=1)
    assert result.files_removed_by_compaction == 6 and data_files(journal.uri) == 2
    assert {session: list(journal.read(session)) for session in journal.sessions()} == before


def test_each_day_is_compacted_in_a_transaction_of_its_own_read_when_its_turn_comes(tmp_path, monkeypatch):
    """A pass beside the writer whose commits trim the Delta log behind them: a pass read at one version for every
    day failed the second day's commit (`Invalid table version`) once the entries after that version were gone."""
    from deltalake import DeltaTable

    from storage import maintenance

    journal = DeltaJournal(str(tmp_path))
    seq = 0
    for day in range(3):
        for n in range(6):
            seq += 1
            journal.append("run-1", [Halt(ts=T0 + day * DAY + n, seq=seq, reason="before")])
    # the log's window shrunk to nothing: any entry before the newest checkpoint goes at the writer's next checkpoint
    DeltaTable(journal.uri).alter.set_table_properties({"delta.logRetentionDuration": "interval 0 seconds",
                                                        "delta.checkpointInterval": "2"})
    writer = DeltaJournal(str(tmp_path))
    compact_day, days = maintenance.compact_day, []

    def writer_commits_after_each_day(uri, options, date):
        metrics = compact_day(uri, options, date)
        days.append(date)
        nonlocal seq
        for n in range(8):  # the writer appends to the newest day meanwhile
            seq += 1
            writer.append("run-1", [Halt(ts=T0 + 2 * DAY + 100 + seq, seq=seq, reason="beside the pass")])
        return metrics

    monkeypatch.setattr(maintenance, "compact_day", writer_commits_after_each_day)
    [result] = ScheduledCompaction([journal.uri], None, interval_s=0).run_once()
    assert days == ["2026-01-01", "2026-01-02"] and result.files_removed_by_compaction == 12
    assert [m.seq for m in DeltaJournal(str(tmp_path)).read("run-1")] == list(range(1, seq + 1))
