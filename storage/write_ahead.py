"""The write-ahead log: a small local file per session holding the order lifecycle, fsynced before any order command
reaches the broker, and folded into the lake's journal at the next start.

Records are length-prefixed msgpack with a CRC-32, so a record torn by a crash mid-write is recognised and ignored
(a torn record was never synced, so no broker ever saw the command in it).
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol

from loguru import logger

from messages import Message
from messages.codec import from_msgpack, to_msgpack
from storage.commit_marks import retire_or_keep

_HEADER = struct.Struct(">II")  # payload length, crc32 of the payload
SUFFIX = ".wal"


class WriteAheadError(OSError):
    """The log could not be written or synced; the text names the file and the cause."""


class WriteAheadLog:
    """Append-only, one file per session. `append` buffers in memory; `sync` writes the buffer and fsyncs it."""

    def __init__(self, directory: Path, session_id: str) -> None:
        self.path = directory / f"{session_id}{SUFFIX}"
        self._buffer = bytearray()
        self._fd: int | None = None
        self._synced_size = 0

    def append(self, message: Message) -> None:
        payload = to_msgpack(message)
        self._buffer += _HEADER.pack(len(payload), zlib.crc32(payload))
        self._buffer += payload

    def mark(self) -> int:
        """A point in the unsynced buffer to `discard_from` (a command that must not be logged after all)."""
        return len(self._buffer)

    def discard_from(self, mark: int) -> None:
        del self._buffer[mark:]

    def sync(self) -> None:
        """Everything appended so far is on disk when this returns; on failure the buffer is kept for the next try."""
        pending = bytes(self._buffer)
        try:
            if self._fd is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o644)
                os.ftruncate(self._fd, self._synced_size)  # drop a tail a failed attempt may have half-written
                os.lseek(self._fd, self._synced_size, os.SEEK_SET)
                fsync_directory(self.path.parent)  # the new file's name must survive a crash too
            written = 0
            while written < len(pending):
                written += os.write(self._fd, pending[written:])
            os.fsync(self._fd)
        except OSError as exc:
            self._close()
            raise WriteAheadError(f"write-ahead log {self.path}: {exc.strerror or exc}") from None
        self._synced_size += len(pending)
        del self._buffer[: len(pending)]

    def close(self) -> None:
        self._close()

    def _close(self) -> None:
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass
            self._fd = None


def fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_log(path: Path) -> Iterator[Message]:
    """Every intact record, in file order; stops at the first torn or corrupt one (the crash point)."""
    data = path.read_bytes()
    offset = 0
    while offset + _HEADER.size <= len(data):
        size, crc = _HEADER.unpack_from(data, offset)
        payload = data[offset + _HEADER.size: offset + _HEADER.size + size]
        if len(payload) != size or zlib.crc32(payload) != crc:
            logger.warning(f"write-ahead log {path}: torn record at byte {offset} ignored (never synced)")
            return
        yield from_msgpack(payload)
        offset += _HEADER.size + size


class JournalLike(Protocol):
    """What folding needs from the lake: a session's journaled seqs and an idempotent batch append."""

    def journaled_seqs(self, session_id: str) -> set[int]: ...

    def committed_version(self, session_id: str) -> int: ...

    def append(self, session_id: str, messages: Sequence[Message], version: int) -> None: ...

    def catch_up(self, session_id: str) -> int: ...

    def retire_marks(self, session_id: str) -> int: ...


def fold_logs(directory: Path, lake: JournalLike) -> int:
    """Commit every logged message the lake's journal lacks (a crash lost its batch), and the derived rows a crash
    kept from the tables, retire the session's idempotency marks (storage/commit_marks.py), then delete the logs.

    Returns how many messages were added. A log is deleted only after its missing messages are committed, so a
    failure here leaves it for the next start."""
    if not directory.is_dir():
        return 0
    added = 0
    for path in sorted(directory.glob(f"*{SUFFIX}")):
        session_id = path.name.removesuffix(SUFFIX)
        logged = list(read_log(path))  # empty for a session that never ordered: only its tables may lag
        journaled = lake.journaled_seqs(session_id) if logged else set()
        missing = sorted({m.seq: m for m in logged if m.seq not in journaled}.values(), key=lambda m: m.seq)
        if missing:
            lake.append(session_id, missing, lake.committed_version(session_id) + 1)
            added += len(missing)
            logger.warning(f"write-ahead log of session {session_id}: {len(missing)} messages the journal lacked "
                           f"were folded into the lake")
        caught_up = lake.catch_up(session_id)
        if caught_up:
            logger.warning(f"session {session_id}: {caught_up} derived-table rows its last batch had not written "
                           f"were written")
        retire_or_keep(lake, session_id)  # complete in the lake now: nothing commits for it again
        path.unlink()
    return added
