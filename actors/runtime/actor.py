"""The pykka shell around a pure core: a ThreadingActor whose inbox is the runtime's policy mailbox."""

from __future__ import annotations

import queue
from types import TracebackType
from typing import Any

import msgspec
import pykka

from actors.runtime.core import ActorCore, Context
from actors.runtime.host import ActorHost
from actors.runtime.mailbox import Mailbox
from messages import Message


class Envelope(msgspec.Struct, frozen=True, gc=False):
    """What pykka's actor loop takes from an inbox: a message and no reply future (actors only `tell`). A struct is
    built in C (a Python `__init__` cost more than the mailbox's put); it refers to a message only, never to itself or
    to anything that could refer back to it, so the cycle collector need not track it."""

    message: Any
    reply_to: None = None


class CoreActor(pykka.ThreadingActor):
    """Runs one core on its own thread. The mailbox belongs to the runtime, so a restarted actor inherits it."""

    use_daemon_thread = True  # a crashed main thread must not leave a process that looks alive

    def __init__(self, core: ActorCore, ctx: Context, mailbox: Mailbox, runtime: ActorHost) -> None:
        super().__init__()
        self.actor_inbox = mailbox
        self._mailbox = mailbox  # kept: a failed actor's inbox is swapped out before its last message is done
        # pykka's ref captured the default inbox in Actor.__init__; it must post to the policy mailbox instead.
        self._actor_ref = pykka.ActorRef(self)
        self.core = core
        self._ctx = ctx
        self._runtime = runtime
        self._handling_seq = 0

    def on_start(self) -> None:
        self.core.on_start(self._ctx)

    def on_receive(self, message: Any) -> None:
        if not isinstance(message, Message):
            return super().on_receive(message)
        self._handling_seq = message.seq
        try:
            self.core.handle(message, self._ctx)
        finally:
            self._mailbox.task_done()
        return None

    def on_stop(self) -> None:
        self.core.on_stop(self._ctx)

    def on_failure(
        self,
        exception_type: type[BaseException] | None,
        exception_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # pykka drains the inbox of a dead actor; hand it an empty one so the restarted actor inherits the real one.
        self.actor_inbox = queue.Queue()
        error = f"{getattr(exception_type, '__name__', 'Error')}: {exception_value}"
        self._runtime.report_failure(self.core.name, error, self._handling_seq)
