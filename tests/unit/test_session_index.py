"""The session index: where a start finds the earlier sessions and their snapshot sets without scanning the journal.

Each answer is compared with the journal scan it replaces; the index is shown to be read (not the journal) once it is
complete, and to be backfilled, without duplicates, on a lake journaled before it existed."""

from __future__ import annotations

from pathlib import Path

import pyarrow.compute as pc
from deltalake import DeltaTable

from actors.node import RUN_MODE, EarlierSessions, sessions_of_mode
from actors.runtime.snapshot_codec import schema_of
from actors.service.compaction import ScheduledCompaction
from messages import CoreSnapshot, Message, NodeStarted, StrategyOpened, TimerFired
from storage.journal import DeltaJournal
from storage.lake_writer import LakeWriter
from storage.session_index import SessionIndex

DAY_NS = 86_400 * 10**9


def _started(session: str, mode: str, day: int) -> NodeStarted:
    return NodeStarted(ts=day * DAY_NS, seq=1, session_id=session, mode=mode)


def _snapshot(core: str, seq: int, day: int) -> CoreSnapshot:
    return CoreSnapshot(ts=day * DAY_NS + seq, seq=seq, core=core, through_seq=5, members=("a", "b"),
                        schema=schema_of(()), modules=(), state=b"")


def _sessions(first_day: int = 1) -> dict[str, list[Message]]:
    """Runs and demos over several days, out of name order in time; two runs took snapshot sets, batch by batch."""
    sessions: dict[str, list[Message]] = {}
    for day, (session, mode) in enumerate([("run-b", RUN_MODE), ("demo-1", "demo"), ("run-a", RUN_MODE),
                                           ("run-c", RUN_MODE)], start=first_day):
        timers = [TimerFired(ts=day * DAY_NS + n, seq=n, target="decision", key="t") for n in range(2, 6)]
        sessions[session] = [_started(session, mode, day), *timers]
    sessions["run-a"] += [_snapshot("a", 6, first_day + 2), _snapshot("b", 7, first_day + 2)]
    sessions["run-b"] += [_snapshot("a", 6, first_day), _snapshot("b", 7, first_day)]
    return sessions


def _write(writer: LakeWriter | DeltaJournal, sessions: dict[str, list[Message]]) -> None:
    for session, messages in sessions.items():
        for version, at in enumerate(range(0, len(messages), 2), start=1):
            if isinstance(writer, LakeWriter):
                writer.append(session, messages[at:at + 2], version)
            else:
                writer.append(session, messages[at:at + 2])


def _scan_answers(journal: DeltaJournal) -> tuple[dict[str, int], set[str]]:
    started = {m.session_id: m.ts for m in journal.read_type(NodeStarted)
               if isinstance(m, NodeStarted) and m.mode == RUN_MODE}
    return started, journal.sessions_with(CoreSnapshot, started)


def _index_answers(index: SessionIndex) -> tuple[dict[str, int], set[str]]:
    started = index.started(RUN_MODE)
    return started, index.holding_snapshots(started)


def _indexed_keys(index: SessionIndex) -> list[tuple[str, int]]:
    rows = DeltaTable(index.uri).to_pyarrow_table(columns=["session_id", "seq"])
    return list(zip(rows["session_id"].to_pylist(), rows["seq"].to_pylist(), strict=True))


def test_a_lake_the_node_wrote_answers_from_the_index_as_the_journal_would(tmp_path):
    writer = LakeWriter(DeltaJournal(str(tmp_path)))
    _write(writer, _sessions())
    index = SessionIndex(writer.journal)
    assert index.backfill() == 0, "the writer indexed every start and snapshot as it journaled them"
    assert index.complete()
    assert _index_answers(index) == _scan_answers(writer.journal)
    assert index.started("demo") == {"demo-1": DAY_NS * 2}

    earlier = EarlierSessions(writer.journal, "run-now")
    assert earlier.newest == "run-c"
    point = earlier.restart_point()
    assert point is not None and point.session_id == "run-a", "the newest session in time holding a whole set"


def test_a_lake_journaled_before_the_index_is_backfilled_once_and_read_from_the_journal_until_then(tmp_path):
    journal = DeltaJournal(str(tmp_path))
    _write(journal, _sessions())
    index = SessionIndex(journal)
    assert not index.complete()
    expected = _scan_answers(journal)
    assert _index_answers(index) == expected, "an incomplete index falls back to the journal"
    assert sessions_of_mode(journal, RUN_MODE) == set(expected[0])

    assert index.backfill() == 4 + 4, "four starts and four snapshots"
    assert index.complete() and SessionIndex(journal).complete()
    assert _index_answers(SessionIndex(journal)) == expected
    assert index.backfill() == 0


def test_backfill_adds_only_what_a_catch_up_left_out(tmp_path):
    """A restart's catch-up can create the index with one batch of one session before the backfill runs."""
    journal = DeltaJournal(str(tmp_path))
    sessions = _sessions()
    _write(journal, {name: messages for name, messages in sessions.items() if name != "run-b"})
    writer = LakeWriter(journal)
    _write(writer, {"run-b": sessions["run-b"]})  # a later node's session: indexed as it is journaled
    index = SessionIndex(journal)
    assert not index.complete(), "an index that holds only what one writer wrote is not complete"

    assert index.backfill() == 3 + 2, "the other sessions' starts and snapshots, not run-b's again"
    keys = _indexed_keys(index)
    assert len(keys) == len(set(keys)) == 8
    assert _index_answers(index) == _scan_answers(journal)


def test_a_complete_index_is_what_is_read(tmp_path):
    """A start journaled past the writer (by code older than the index) is not seen: the index, not the journal,
    answers. This is why only a full backfill marks the index complete."""
    writer = LakeWriter(DeltaJournal(str(tmp_path)))
    _write(writer, _sessions())
    index = SessionIndex(writer.journal)
    index.backfill()
    writer.journal.append("run-old", [_started("run-old", RUN_MODE, 9)])
    assert "run-old" not in index.started(RUN_MODE)
    assert "run-old" in _scan_answers(writer.journal)[0]


def test_compaction_keeps_the_index_complete_and_its_answers(tmp_path):
    writer = LakeWriter(DeltaJournal(str(tmp_path)))
    _write(writer, _sessions())
    index = SessionIndex(writer.journal)
    index.backfill()
    expected = _index_answers(index)
    files_before = len(DeltaTable(index.uri).file_uris())
    ScheduledCompaction([index.uri], None, 0).compact_fragmented(max_files=1)
    assert len(DeltaTable(index.uri).file_uris()) < files_before
    compacted = SessionIndex(writer.journal)
    assert compacted.complete()
    assert _index_answers(compacted) == expected
    assert pc.count_distinct(DeltaTable(index.uri).to_pyarrow_table()["seq"]).as_py() > 0


def test_reads_of_a_few_sessions_open_only_the_dates_that_can_hold_them(tmp_path):
    journal = DeltaJournal(str(tmp_path))
    _write(journal, _sessions())
    whole = journal._dataset()
    few = journal._dataset([("session_id", "=", "run-a")])
    assert len(few.files) < len(whole.files)
    assert {f.split("date=")[1][:10] for f in few.files} == {"1970-01-04"}, "run-a's one day"
    assert journal._dataset([("session_id", "in", ["no-such-session"])]).files == []
    for session, messages in _sessions().items():
        assert [m.seq for m in journal.read(session)] == [m.seq for m in messages]
    assert list(journal.read("no-such-session")) == []


def test_the_last_time_of_a_type_comes_from_the_newest_date_holding_it(tmp_path):
    journal = DeltaJournal(str(tmp_path))
    _write(journal, _sessions())
    assert journal.last_ts(CoreSnapshot) == 3 * DAY_NS + 7, "run-a's, though run-c (a later day) took none"
    assert journal.last_ts(TimerFired) == 4 * DAY_NS + 5
    assert journal.last_ts(StrategyOpened) == 0


def test_status_folds_only_the_sessions_with_trades_and_says_the_same(tmp_path):
    from actors.lake_state import read_lake_state, sessions_to_fold
    from actors.replay.runner import replay_deterministic
    from actors.replay.scenario import load_scenario

    writer = LakeWriter(DeltaJournal(str(tmp_path)))
    scenario = Path(__file__).parents[1] / "scenarios" / "take_profit.jsonl"
    traded = replay_deterministic(load_scenario(scenario)).history
    writer.append("traded", [NodeStarted(ts=traded[0].ts - 1, seq=0, session_id="traded", mode=RUN_MODE), *traded], 1)
    _write(writer, _sessions(first_day=traded[-1].ts // DAY_NS + 1))  # later sessions without a trade
    before = read_lake_state(writer.journal)  # the index is not complete: every session is read
    index = SessionIndex(writer.journal)
    index.backfill()
    assert sessions_to_fold(writer.journal, index) == {"traded", "run-c"}, "the traded session and the newest"
    after = read_lake_state(writer.journal)
    assert after.closed_strategies and after.open_strategies, "the scenario closed one strategy and opened another"
    assert (after.open_strategies, after.closed_strategies, after.working_orders, after.risk, after.recent_alerts,
            after.portfolio_greeks, after.last_quote_ns) == (
        before.open_strategies, before.closed_strategies, before.working_orders, before.risk, before.recent_alerts,
        before.portfolio_greeks, before.last_quote_ns)
    assert after.sessions == before.sessions


def test_a_start_that_cannot_write_the_index_goes_on_by_the_journal(tmp_path):
    from loguru import logger

    from actors.service.runner import _complete_session_index

    journal = DeltaJournal(str(tmp_path))
    _write(journal, _sessions())
    (tmp_path / "session_index").write_text("a file where the index's directory should be")
    warnings: list[str] = []
    sink = logger.add(warnings.append, level="WARNING")
    try:
        _complete_session_index(journal)
    finally:
        logger.remove(sink)
    assert any("the session index could not be completed" in line for line in warnings)
    assert not SessionIndex(journal).complete()
    assert EarlierSessions(journal, "run-now").newest == "run-c"
