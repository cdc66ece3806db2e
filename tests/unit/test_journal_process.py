"""The journal writer process (storage/journal_process.py), judged by what is on disk: a real child process, real
signals, a real Delta lake read back from this process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from messages import OrderFilled, StrategyClosed
from storage.journal import DeltaJournal
from storage.journal_process import JournalProcess, JournalProcessError
from storage.lake_writer import LakeWriter, read_table
from tests.waiting import process_gone, wait_for

REPO = Path(__file__).resolve().parents[2]
T0 = 1_780_000_000 * 10**9


def _fill(seq: int, exec_id: str) -> OrderFilled:
    return OrderFilled(ts=T0 + seq, seq=seq, client_order_id="O1", exec_id=exec_id, quantity=1, price=-1.5,
                       commission_usd=2.6)


@pytest.fixture
def writer(tmp_path):
    process = JournalProcess(str(tmp_path / "lake"), timeout_s=60)
    yield process
    process.close()


def test_batches_land_on_disk_as_the_lake_writer_makes_them_and_a_retried_batch_lands_once(writer, tmp_path):
    closed = StrategyClosed(ts=T0 + 2, seq=2, strategy_id="IC-1", exit_price=-0.7, realized_pnl_usd=74.8,
                            commissions_usd=5.2, rule="take_profit")
    assert writer.committed_version("s") == 0
    writer.append("s", [_fill(1, "E1"), closed], 1)
    writer.append("s", [_fill(1, "E1"), closed], 1)  # the retry of a batch whose answer was lost
    writer.append("s", [_fill(3, "E2")], 2)
    assert writer.committed_version("s") == 2
    lake = LakeWriter(DeltaJournal(str(tmp_path / "lake")))  # read from here, not through the child
    assert [m.seq for m in lake.journal.read("s")] == [1, 2, 3]
    assert sorted(read_table(lake, "fills")["exec_id"].to_pylist()) == ["E1", "E2"]
    assert read_table(lake, "strategies")["rule"].to_pylist() == ["take_profit"]


def test_the_child_outlives_the_stop_signals_a_terminal_or_systemd_sends_the_whole_group(writer):
    writer.committed_version("s")
    for sent in (signal.SIGINT, signal.SIGTERM):
        os.kill(writer.pid, sent)
    writer.append("s", [_fill(1, "E1")], 1)  # the node's final flush goes through it after such a signal
    assert writer.committed_version("s") == 1
    assert writer.started == 1


def test_a_child_killed_mid_commit_fails_that_commit_in_one_line_and_its_retry_lands_once(writer, tmp_path):
    writer.append("s", [_fill(1, "E1")], 1)
    child = writer.pid
    os.kill(child, signal.SIGSTOP)  # holds the next request unanswered
    failures: list[BaseException] = []

    def commit() -> None:
        try:
            writer.append("s", [_fill(2, "E2")], 2)
        except JournalProcessError as exc:
            failures.append(exc)

    committing = threading.Thread(target=commit)
    committing.start()
    sent = lambda: any(frame.f_code.co_name == "_poll" for frame in _stack(committing))  # noqa: E731
    wait_for(sent, 30, "the commit to be sent and wait for the child's answer")
    os.kill(child, signal.SIGKILL)
    committing.join(30)
    assert len(failures) == 1 and "SIGKILL" in str(failures[0]) and "\n" not in str(failures[0])
    writer.append("s", [_fill(1, "E1")], 1)  # an earlier batch again: skipped by its version in the new child
    writer.append("s", [_fill(2, "E2")], 2)  # the failed one, retried as persistence does
    assert writer.started == 2 and writer.pid != child
    assert [m.seq for m in DeltaJournal(str(tmp_path / "lake")).read("s")] == [1, 2]


def test_a_child_that_does_not_answer_is_killed_at_the_timeout_and_replaced(tmp_path):
    # the first answer, from a child not stopped yet, must come within the timeout on a busy machine too
    writer = JournalProcess(str(tmp_path / "lake"), timeout_s=3)
    try:
        writer.committed_version("s")
        hung = writer.pid
        os.kill(hung, signal.SIGSTOP)
        with pytest.raises(JournalProcessError, match="no answer within 3 s"):
            writer.append("s", [_fill(1, "E1")], 1)
        wait_for(lambda: process_gone(hung), 30, "the hung child to be killed")
        writer.append("s", [_fill(1, "E1")], 1)
        assert [m.seq for m in DeltaJournal(str(tmp_path / "lake")).read("s")] == [1]
    finally:
        writer.close()


def test_a_storage_error_comes_back_as_one_line_and_the_child_keeps_serving(tmp_path):
    blocker = tmp_path / "lake"
    blocker.write_text("a file where the lake's directory should be")
    writer = JournalProcess(str(blocker), timeout_s=60)
    try:
        with pytest.raises(JournalProcessError) as failed:
            writer.append("s", [_fill(1, "E1")], 1)
        assert "\n" not in str(failed.value)
        child = writer.pid
        blocker.unlink()
        writer.append("s", [_fill(1, "E1")], 1)
        assert writer.pid == child
        assert [m.seq for m in DeltaJournal(str(blocker)).read("s")] == [1]
    finally:
        writer.close()


def test_a_sigkilled_parent_leaves_no_writer_behind(tmp_path):
    parent = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\nfrom storage.journal_process import JournalProcess\n"
         f"w = JournalProcess({str(tmp_path / 'lake')!r})\nw.committed_version('s')\nprint(w.pid, flush=True)\n"
         "time.sleep(600)\n"],
        cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        child = int(parent.stdout.readline())
        assert not process_gone(child)
        parent.kill()
        parent.wait(30)
        wait_for(lambda: process_gone(child), 30, f"writer process {child} to die with its parent")
    finally:
        if parent.poll() is None:
            parent.kill()


def test_a_child_closed_before_it_was_ready_exits_quietly(tmp_path):
    """A node that fails at start (a damaged lake) closes its writer before the child has imported: the child's exit
    must add nothing to the node's one-line error on stderr (a supervisor's log shows it)."""
    closing = subprocess.run(
        [sys.executable, "-c",
         "from storage.journal_process import JournalProcess\n"
         f"w = JournalProcess({str(tmp_path / 'lake')!r})\npid = w.pid\nw.close()\nprint(pid)\n"],
        cwd=REPO, capture_output=True, text=True, timeout=60)
    assert closing.returncode == 0 and closing.stderr == "", closing.stderr
    wait_for(lambda: process_gone(int(closing.stdout)), 30, "the closed writer's child to exit")


def _stack(thread: threading.Thread):  # noqa: ANN202 - frames
    frame = sys._current_frames().get(thread.ident)
    while frame is not None:
        yield frame
        frame = frame.f_back
