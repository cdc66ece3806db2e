"""What the actor shells a runtime hosts may ask of it, as protocols: the shells depend on this module, and the
runtime that implements it (and imports the shells) satisfies it structurally — no import cycle between them."""

from __future__ import annotations

from typing import Protocol

from actors.runtime.clock import Clock
from messages import Message


class ActorHost(Protocol):
    """The runtime as a core's actor sees it: report a failure (the mailbox accounts for handled messages)."""

    def report_failure(self, name: str, error: str, failed_seq: int) -> None: ...


class SupervisedRuntime(Protocol):
    """The runtime as the supervisor sees it: its clock, publish, rebuild one actor, stop the node."""

    clock: Clock

    def publish(self, message: Message, origin: str = "") -> Message: ...

    def restart(self, name: str, failed_seq: int) -> int: ...

    def request_stop(self, reason: str) -> None: ...
