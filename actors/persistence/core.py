"""Persistence core: the only writer to storage. Group-commits every message it receives, by size or by time."""

from __future__ import annotations

import time
from typing import Protocol

from loguru import logger

from actors.runtime.core import ActorCore, Context
from messages import Alert, FlushJournal, JournalFlushed, Message, TimerFired
from messages.config import PersistenceSection

NS_PER_MS = 1_000_000
FLUSH_TIMER = "flush"


class JournalWriter(Protocol):
    def committed_version(self, session_id: str) -> int:
        """The highest batch version of this session already in storage (0 when none)."""

    def append(self, session_id: str, messages: list[Message], version: int) -> None:
        """Commit one batch atomically; a version already committed is skipped (idempotent retries)."""


class PersistenceCore(ActorCore):
    name = "persistence"
    subscriptions = (Message,)
    replay_on_restart = False

    def __init__(self, writer: JournalWriter, session_id: str, params: PersistenceSection) -> None:
        self._writer = writer
        self._session_id = session_id
        self._params = params
        self._buffer: list[Message] = []
        self._sealed: list[tuple[int, list[Message]]] = []  # batches awaiting a successful commit, oldest first
        self._next_version: int | None = None
        self.written = 0

    @property
    def held(self) -> int:
        return len(self._buffer) + sum(len(batch) for _, batch in self._sealed)

    def handle(self, message: Message, ctx: Context) -> None:
        if isinstance(message, TimerFired) and message.target == self.name:
            self._buffer.append(message)  # the journal holds every message, this actor's own timers included
            self._flush_or_hold(ctx)
            return
        self._buffer.append(message)
        if isinstance(message, FlushJournal):
            if self.flush():
                ctx.publish(JournalFlushed(through_seq=message.seq))
            else:
                self._arm_flush(ctx)
            return
        if len(self._buffer) % self._params.batch_max == 0:  # a full batch (or one more while storage fails)
            self._flush_or_hold(ctx)
        elif len(self._buffer) == 1:
            self._arm_flush(ctx)

    def _flush_or_hold(self, ctx: Context) -> None:
        """Flush now; while storage fails and the buffer is full, keep retrying here (blocking this actor, whose
        lossless mailbox then blocks the publishers) rather than buffering without bound or dropping anything."""
        if self.flush():
            return
        if self.held < self._params.max_buffer:
            self._arm_flush(ctx)
            return
        text = f"journal storage failing with {self.held} messages held: applying back-pressure"
        logger.critical(text)
        ctx.publish(Alert(level="critical", source=self.name, text=text))
        delay = 0.05
        while not self.flush():
            time.sleep(delay)  # wall-clock wait on purpose: it paces retries against real storage
            delay = min(delay * 2, self._params.retry_max_s)
        ctx.publish(Alert(level="info", source=self.name, text="journal storage recovered"))

    def _arm_flush(self, ctx: Context) -> None:
        ctx.set_timer(FLUSH_TIMER, ctx.now() + self._params.flush_interval_ms * NS_PER_MS)

    def flush(self) -> bool:
        """Seal the buffer as the next batch and commit every sealed batch in order. A failed batch is kept exactly
        as it was, with its version, so its retry is the same commit and storage can recognise it. True when
        nothing is left to write."""
        if self._buffer:
            if self._next_version is None:
                try:
                    self._next_version = self._writer.committed_version(self._session_id) + 1
                except Exception as exc:  # noqa: BLE001 - storage errors must never drop the buffered messages
                    logger.error(f"journal storage unreachable, {self.held} messages held: {exc}")
                    return False
            self._sealed.append((self._next_version, self._buffer))
            self._next_version += 1
            self._buffer = []
        while self._sealed:
            version, batch = self._sealed[0]
            try:
                self._writer.append(self._session_id, batch, version)
            except Exception as exc:  # noqa: BLE001 - storage errors must never drop the buffered messages
                logger.error(f"journal commit of {len(batch)} messages (batch {version}) failed, will retry: {exc}")
                return False
            self.written += len(batch)
            self._sealed.pop(0)
        return True

    def on_stop(self, ctx: Context) -> None:
        self.flush()
