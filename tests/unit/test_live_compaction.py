"""Compaction while the writer commits: a session's small files stay bounded, and nothing is lost or doubled."""

from __future__ import annotations

import pyarrow.compute as pc
from deltalake import DeltaTable

from messages import Halt, OrderFilled
from storage.journal import DeltaJournal
from storage.lake_writer import LakeWriter
from storage.maintenance import data_files

NS_PER_DAY = 86_400 * 10**9
TODAY = 1_795_000_000 * 10**9  # 2026-11-18 11:06 UTC


def _batch(version: int, day_ns: int, size: int = 50) -> list:
    first = (version - 1) * size + 1
    messages = [Halt(ts=day_ns + n, seq=n, reason="x") for n in range(first, first + size - 1)]
    last = first + size - 1
    fill = OrderFilled(ts=day_ns + last, seq=last, client_order_id="O", exec_id=f"E{day_ns}-{last}", quantity=1,
                       price=-1.5, commission_usd=2.6)
    return [*messages, fill]


def _files_of_day(uri: str, date: str) -> int:
    dates = DeltaTable(uri).get_add_actions(flatten=True).column("partition.date").to_pylist()
    return dates.count(date)


def test_a_long_session_leaves_few_files_and_every_message_exactly_once(tmp_path):
    writer = LakeWriter(DeltaJournal(str(tmp_path)), compact_every=10)
    yesterday = [_batch(v, TODAY - NS_PER_DAY) for v in (1, 2, 3)]
    for version, batch in enumerate(yesterday, start=1):
        writer.append("earlier", batch, version)
    commits = 80
    for version in range(1, commits + 1):
        writer.append("s", _batch(version, TODAY), version)
        writer.live_compaction.close()  # each pass lands before the next commit: the count below is exact
    writer.append("s", _batch(commits, TODAY), commits)  # a retried batch is still skipped by its mark
    writer.close()

    assert writer.live_compaction.passes >= commits // 10
    journal = str(tmp_path / "journal")
    assert _files_of_day(journal, "2026-11-18") < 10  # 80 commits, compacted every 10
    assert _files_of_day(journal, "2026-11-17") == 3  # an older day is the start's and the schedule's
    assert data_files(str(tmp_path / "fills")) < 10

    rows = DeltaTable(journal).to_pyarrow_table(columns=["session_id", "seq"])
    session = rows.filter(pc.equal(rows["session_id"], "s"))["seq"].to_pylist()
    assert sorted(session) == list(range(1, commits * 50 + 1))  # every message, once
    fills = DeltaTable(str(tmp_path / "fills")).to_pyarrow_table(columns=["exec_id"])["exec_id"].to_pylist()
    assert len(fills) == len(set(fills)) == commits + 3
    assert DeltaTable(journal).transaction_version("s") == commits  # the idempotency mark survives the passes


def test_passes_run_beside_the_commits_without_losing_any(tmp_path):
    """The writer does not wait for a pass: commits land while one runs, and delta-rs resolves the two."""
    writer = LakeWriter(DeltaJournal(str(tmp_path)), compact_every=5)
    commits = 60
    for version in range(1, commits + 1):
        writer.append("s", _batch(version, TODAY, size=200), version)
    writer.close()
    assert writer.live_compaction.passes >= 1
    journal = str(tmp_path / "journal")
    assert data_files(journal) < commits
    seqs = DeltaTable(journal).to_pyarrow_table(columns=["seq"])["seq"].to_pylist()
    assert sorted(seqs) == list(range(1, commits * 200 + 1))


def test_no_live_compaction_when_turned_off(tmp_path):
    writer = LakeWriter(DeltaJournal(str(tmp_path)), compact_every=0)
    for version in range(1, 13):
        writer.append("s", _batch(version, TODAY), version)
    writer.close()
    assert writer.live_compaction.passes == 0
    assert data_files(str(tmp_path / "journal")) == 12
