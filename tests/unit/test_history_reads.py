"""Reads that touch only what they need: a session, a seq range, a set of types. Proven from the outside: the data
files a read must not need are destroyed first, and the read still answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from actors.runtime.core import ActorCore, Context
from actors.runtime.rebuild import replay_quietly
from actors.runtime.routing import RoutingTable
from messages import Alert, Halt, Message, NodeStarted, Resume, TimerFired
from storage.journal import DeltaJournal

DAY = 86_400 * 10**9
T0 = 1_767_225_600 * 10**9  # 2026-01-01 UTC


def _journal(tmp_path: Path) -> DeltaJournal:
    """Two sessions on two days, each in two group commits (two data files per session)."""
    journal = DeltaJournal(str(tmp_path))
    for day, session in enumerate(("run-1", "run-2")):
        start = T0 + day * DAY
        journal.append(session, [NodeStarted(ts=start, seq=1, session_id=session, mode="run"),
                                 Halt(ts=start + 1, seq=2, reason=f"{session} first")])
        journal.append(session, [Resume(ts=start + 2, seq=3, reason=f"{session} second"),
                                 Alert(ts=start + 3, seq=4, level="info", source="x", text=session)])
    return journal


def _destroy(tmp_path: Path, session: str, seqs: range) -> None:
    """Truncate the data files holding `session`'s rows with these seqs: any read that opens one fails."""
    import pyarrow.parquet as pq

    for path in (tmp_path / "journal").glob("*/*.parquet"):
        rows = pq.read_table(path, columns=["session_id", "seq"]).to_pylist()
        if any(row["session_id"] == session and row["seq"] in seqs for row in rows):
            path.write_bytes(b"damaged")


def test_a_sessions_read_opens_only_that_sessions_files(tmp_path):
    journal = _journal(tmp_path)
    _destroy(tmp_path, "run-1", range(1, 5))
    assert [m.seq for m in journal.read("run-2")] == [1, 2, 3, 4]
    assert [type(m).__name__ for m in journal.read_type(NodeStarted, {"run-2"})] == ["NodeStarted"]
    with pytest.raises(Exception):  # noqa: B017, PT011 - the damaged files really are read by a whole-table read
        list(journal.read("run-1"))


def test_a_seq_range_opens_only_the_files_of_that_range(tmp_path):
    journal = _journal(tmp_path)
    _destroy(tmp_path, "run-2", range(1, 3))
    assert [m.seq for m in journal.read("run-2", after_seq=2)] == [3, 4]
    assert [m.seq for m in journal.read("run-1", up_to_seq=3)] == [1, 2, 3]


def test_reading_many_sessions_orders_them_by_time_and_filters_types(tmp_path):
    journal = DeltaJournal(str(tmp_path))
    journal.append("b-later", [Halt(ts=T0 + DAY, seq=1, reason="b1"), Halt(ts=T0 + DAY + 1, seq=2, reason="b2")])
    journal.append("a-earlier", [Halt(ts=T0, seq=2, reason="a2"), Resume(ts=T0 - 1, seq=1, reason="a1")])
    assert [m.reason for m in journal.read_sessions({"b-later", "a-earlier"})] == ["a1", "a2", "b1", "b2"]
    assert [m.reason for m in journal.read_sessions({"b-later", "a-earlier"}, (Resume,))] == ["a1"]
    assert list(journal.read_sessions(set())) == []
    assert journal.sessions() == ["a-earlier", "b-later"]
    assert journal.last_ts(Halt) == T0 + DAY + 1 and journal.last_ts(Alert) == 0


class _Tally(ActorCore):
    name = "tally"
    subscriptions = (Halt,)

    def __init__(self) -> None:
        self.seen: list[int] = []

    def handle(self, message: Message, ctx: Context) -> None:
        ctx.publish(Alert(level="info", source=self.name, text="muted"))  # must go nowhere
        ctx.set_timer("never", 0)
        self.seen.append(message.seq)


def test_replaying_quietly_feeds_subscribers_up_to_a_seq_skipping_poison():
    core, other = _Tally(), _Tally()
    routes = RoutingTable({"tally": _Tally.subscriptions, "other": (Resume,)})
    history = [Halt(ts=n, seq=n, reason="") for n in range(1, 6)] + [Resume(ts=9, seq=9, reason="")]
    delivered = replay_quietly({"tally": core, "other": other}, routes, history, before_seq=5, skip={"tally": {2}})
    assert core.seen == [1, 3, 4] and delivered == 3 + 0
    assert routes.types_of("tally")[0] is TimerFired and Halt in routes.types_of("tally")
    assert Resume not in routes.types_of("tally")


def test_a_read_of_no_sessions_is_empty_not_an_error(tmp_path):
    """A restart after a node killed before its NodeStarted reached the lake has no earlier run sessions to read."""
    journal = _journal(tmp_path)
    assert list(journal.read_types((Halt,), sessions=[])) == []
    assert list(journal.read_sessions([])) == []
    assert [m.reason for m in journal.read_types((Halt,), sessions=["run-2"])] == ["run-2 first"]
