"""Readers re-read a derived table only after a commit, and then only its new files; a compaction is followed too."""

from messages import Alert
from storage.journal import DeltaJournal
from storage.lake_views import LakeViews
from storage.lake_writer import LakeWriter, read_table
from storage.maintenance import compact_and_vacuum


def _alerts(start: int, count: int) -> list[Alert]:
    return [Alert(ts=10**18 + n, seq=n, level="info", source="test", text=f"alert {n}")
            for n in range(start, start + count)]


def test_appends_are_read_incrementally_and_a_compaction_is_read_whole(tmp_path):
    writer = LakeWriter(DeltaJournal(str(tmp_path)))
    views = LakeViews(str(tmp_path))
    assert views.version("alerts") == -1 and views.read("alerts", ("text",)).num_rows == 0
    writer.append("s", _alerts(1, 3), 1)
    assert views.read("alerts", ("seq", "text"))["seq"].to_pylist() == [1, 2, 3]
    first = views.version("alerts")

    files = views.files_read
    assert views.read("alerts", ("seq",))["seq"].to_pylist() == [1, 2, 3]
    assert views.files_read == files  # same version: nothing read
    writer.append("s", _alerts(4, 2), 2)
    assert views.version("alerts") > first
    assert views.read("alerts", ("seq",))["seq"].to_pylist() == [1, 2, 3, 4, 5]
    assert views.files_read == files + 1  # only the new file

    compact_and_vacuum(writer.table_uri("alerts"))
    writer.append("s", _alerts(6, 1), 3)
    assert views.read("alerts", ("seq",))["seq"].to_pylist() == [1, 2, 3, 4, 5, 6]
    assert sorted(read_table(writer, "alerts")["seq"].to_pylist()) == [1, 2, 3, 4, 5, 6]  # the same rows
