"""The lake's writer in a process of its own: the persistence actor's group commits, out of the trading process.

A Delta commit costs delta-rs 13-22 ms of CPU whatever its size (measured: 20 or 2,000 rows alike), ten times a
second, and its hand-backs of the GIL stall the node's threads; at 100 quotes/s the commits were about a quarter of a
core, 70% of the node's CPU. Here the node only encodes each batch (msgspec, under a microsecond a message) and
waits on a pipe, holding no GIL, while a child process runs the same `LakeWriter`: the same commits, the same
idempotency by batch version, so nothing about durability changes. The write-ahead log still guards every order
command in the node.

- A commit is answered before `append` returns, as in process: the persistence actor's retry and back-off logic
  sees the child's error as one line, and a child that died or hung (no answer in `timeout_s`: killed) fails the
  commit it held; the next one starts a new child, and a retried batch that had landed is skipped by its version.
- The child dies with the node: on Linux it asks for SIGKILL when the thread that started it ends (a SIGKILLed node
  leaves no writer that could commit under the next start's fold), and it exits when the pipe closes. It ignores
  SIGINT and SIGTERM, which a terminal or systemd sends to the whole group: the node's stop makes a final flush
  through it, then closes it.
- Storage options (credentials) cross the pipe, never the command line.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from multiprocessing.connection import Connection, Pipe
from pathlib import Path
from typing import Any

import msgspec
from loguru import logger

from messages import Message
from messages.codec import from_msgpack_list, to_msgpack_list

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PR_SET_PDEATHSIG = 1
CLOSE_WAIT_S = 10.0
START_WAIT_S = 120.0
"""How long a new child may take to import and say it is ready (about 0.7 s here), apart from a commit's timeout."""
READY = b"ready"


class JournalProcessError(OSError):
    """A commit the writer process could not make, or the process itself failed; the text says which, in one line."""


class JournalProcess:
    """A `JournalWriter` (actors/persistence/core.py) whose commits run in a child process. One request at a time."""

    def __init__(self, lake_uri: str, storage_options: dict[str, str] | None = None, timeout_s: float = 300.0,
                 derived_every_s: float = 0.0) -> None:
        self._setup = msgspec.msgpack.encode([lake_uri, dict(storage_options or {}), derived_every_s])
        self._timeout_s = timeout_s
        self._lock = threading.Lock()
        self._child: subprocess.Popen | None = None
        self._conn: Connection | None = None
        self._ready = False
        self.started = 0
        with self._lock:
            self._start()  # now: its imports overlap the node's own start

    @property
    def pid(self) -> int | None:
        return self._child.pid if self._child is not None else None

    def committed_version(self, session_id: str) -> int:
        return int(self._call(["committed_version", session_id]))

    def append(self, session_id: str, messages: Sequence[Message], version: int) -> bool:
        """As `LakeWriter.append`: whether the child holds derived rows back."""
        if not messages:
            return False
        return bool(self._call(["append", session_id, version], to_msgpack_list(list(messages))))

    def close(self) -> None:
        """Let the child finish and exit (killed after `CLOSE_WAIT_S`); a later commit would start a new one."""
        with self._lock:
            self._stop(ask=True)

    def _call(self, request: list[Any], batch: bytes | None = None) -> Any:  # noqa: ANN401 - the reply's value
        with self._lock:
            if self._child is not None and self._child.poll() is not None:  # died between requests
                logger.warning(f"the journal writer process {self._stop(ask=False)}: starting a new one")
            if self._child is None:
                self._start()
            conn = self._conn
            try:
                if not self._ready:
                    self._await_ready(conn)
                conn.send_bytes(msgspec.msgpack.encode(request))
                if batch is not None:
                    conn.send_bytes(batch)
                if not conn.poll(self._timeout_s):  # waits without the GIL, as recv does
                    self._stop(ask=False)
                    raise JournalProcessError(f"the journal writer process gave no answer within {self._timeout_s:g} s:"
                                              " killed, a new one takes the retry")
                status, value = msgspec.msgpack.decode(conn.recv_bytes())
            except JournalProcessError:
                raise
            except (OSError, EOFError):
                how = self._stop(ask=False)
                raise JournalProcessError(f"the journal writer process {how}: a new one takes the retry") from None
        if status != "ok":
            raise JournalProcessError(value)
        return value

    def _start(self) -> None:
        ours, theirs = Pipe()
        path = os.environ.get("PYTHONPATH")
        env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT) + (os.pathsep + path if path else "")}
        try:
            self._child = subprocess.Popen(
                [sys.executable, "-m", "storage.journal_process", str(theirs.fileno()), str(os.getpid())],
                pass_fds=(theirs.fileno(),), env=env, stdin=subprocess.DEVNULL)
        except OSError as exc:
            ours.close()
            raise JournalProcessError(f"the journal writer process could not start: {exc}") from None
        finally:
            theirs.close()
        self._conn, self._ready = ours, False
        self.started += 1
        try:
            ours.send_bytes(self._setup)
        except OSError:
            pass  # died at once: the first request says so

    def _await_ready(self, conn: Connection) -> None:
        if not conn.poll(START_WAIT_S) or conn.recv_bytes() != READY:
            self._stop(ask=False)
            raise JournalProcessError(f"the journal writer process did not start within {START_WAIT_S:g} s")
        self._ready = True

    def _stop(self, ask: bool) -> str:
        """End the child (asked to exit first when `ask`, else killed); returns how it ended, for an error text."""
        child, conn, self._child, self._conn = self._child, self._conn, None, None
        if child is None:
            return "was not running"
        if ask and conn is not None:
            try:
                conn.send_bytes(msgspec.msgpack.encode(["close"]))
            except OSError:
                pass
        if conn is not None:
            conn.close()
        try:
            code = child.wait(CLOSE_WAIT_S if ask else 0.0)
        except subprocess.TimeoutExpired:
            child.kill()
            code = child.wait()
        return f"ended by signal {signal.Signals(-code).name}" if code < 0 else f"exited with status {code}"


# --- the child ---------------------------------------------------------------------------------------------------

def _die_with_parent(parent_pid: int) -> None:
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before the request took hold
        sys.exit(0)


def serve(conn: Connection) -> None:
    """Answer requests until the pipe closes or the parent says close: each reply ["ok", value] or ["error", text]."""
    from storage.journal import DeltaJournal  # here, not at the top: the node's own import of this module stays light
    from storage.lake_access import one_line
    from storage.lake_writer import LakeWriter

    lake_uri, options, derived_every_s = msgspec.msgpack.decode(conn.recv_bytes())
    writer = LakeWriter(DeltaJournal(lake_uri, options or None), derived_every_s=derived_every_s)
    conn.send_bytes(READY)
    while True:
        request = msgspec.msgpack.decode(conn.recv_bytes())
        batch = conn.recv_bytes() if request[0] == "append" else None
        try:
            match request:
                case ["append", str(session_id), int(version)]:
                    reply = ["ok", writer.append(session_id, from_msgpack_list(batch), version)]
                case ["committed_version", str(session_id)]:
                    reply = ["ok", writer.committed_version(session_id)]
                case ["close"]:
                    writer.close()  # a compaction pass in progress finishes first
                    return
                case _:
                    reply = ["error", f"unknown request {request[:1]!r}"]
        except Exception as exc:  # noqa: BLE001 - every storage error goes back to the node, which retries
            reply = ["error", one_line(exc)]
        conn.send_bytes(msgspec.msgpack.encode(reply))


def main(argv: list[str]) -> int:
    fd, parent_pid = int(argv[0]), int(argv[1])
    _die_with_parent(parent_pid)
    # its stderr is the node's: what needs the trader (a failed upkeep pass) and nothing routine, whatever the level
    logger.remove()
    logger.add(sys.stderr, level="WARNING", backtrace=False, diagnose=False)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        serve(Connection(fd))
    except (EOFError, BrokenPipeError, ConnectionResetError):
        pass  # the node closed the pipe, at a stop or by dying, before this child said all it had to
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
