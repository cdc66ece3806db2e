"""The lake writer pushes each group commit to disk as it lands (storage/disk_flush.py): what the write-ahead log's
fsync would otherwise queue behind. Here the flush's failure path, through the real system call: a flush that fails
fails the commit in one line, and the retried batch lands once."""

from __future__ import annotations

import os
import sys

import pytest

from messages import Halt
from storage.disk_flush import LakeFlush
from storage.journal import DeltaJournal
from storage.lake_writer import LakeWriter

T0 = 1_767_225_600 * 10**9

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="syncfs is Linux's")


def test_a_commit_whose_flush_to_disk_fails_fails_in_one_line_and_its_retry_lands_once(tmp_path):
    writer = LakeWriter(DeltaJournal(str(tmp_path)))
    writer.append("run-1", [Halt(ts=T0, seq=1, reason="first")], version=1)
    flush = writer._flush
    assert flush._fd is not None  # the first commit flushed the lake's file system
    os.close(flush._fd)
    flush._fd = -1  # as if the file system had gone away under the open directory
    with pytest.raises(OSError, match=r"^.*flushing the lake's file system to disk failed: Bad file descriptor$"):
        writer.append("run-1", [Halt(ts=T0 + 1, seq=2, reason="second")], version=2)
    flush._fd = None
    writer.append("run-1", [Halt(ts=T0 + 1, seq=2, reason="second")], version=2)  # persistence's retry
    writer.close()
    assert [m.seq for m in DeltaJournal(str(tmp_path)).read("run-1")] == [1, 2]


def test_an_object_store_lake_is_not_flushed_here():
    flush = LakeFlush("s3://bucket/lake")
    flush()  # nothing local to flush: no directory opened, no error
    assert flush._fd is None
