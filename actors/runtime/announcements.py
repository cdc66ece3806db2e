"""Facts a core announces that other actors build their state on (an order ended, a strategy opened or closed), made
good after a crash.

A crash can journal the input that made a core announce a fact and lose the announcement: the write-ahead log syncs
with the next order command, and the process may die first. The rebuilt core then holds the fact and nobody else
does (a filled opening order whose `OrderTerminated` was lost leaves the strategy unopened for every other actor, and
the node never trades that book again). So a core hears its own announcements back (it subscribes to their types):
what it announced, while being rebuilt, that the journal did not hold is announced again once it runs.

The announcing is deferred to a timer armed at start, never done in `on_start` itself: a core restarted by the
supervisor keeps its mailbox, where the echoes of announcements it made just before failing may still wait; the
timer fires behind them."""

from __future__ import annotations

from collections.abc import Callable, Hashable

from actors.runtime.core import Context
from messages import Message, TimerKey


class Announcements:
    SNAPSHOT_FRESH = ("_heard",)  # what was heard while being rebuilt: a restored core is being rebuilt again
    def __init__(self, key: Callable[[Message], Hashable]) -> None:
        self._key = key
        self._unheard: dict[Hashable, Message] = {}
        self._heard: set[Hashable] | None = set()
        """Keys heard back while being rebuilt: a replay may announce a fact after its journaled echo."""

    def announce(self, message: Message, ctx: Context) -> None:
        key = self._key(message)
        if self._heard is None or key not in self._heard:
            self._unheard[key] = message
        ctx.publish(message)

    def heard(self, message: Message) -> None:
        """An announcement of this core's came back: from the journal while being rebuilt, or live."""
        key = self._key(message)
        self._unheard.pop(key, None)
        if self._heard is not None:
            self._heard.add(key)

    def on_start(self, ctx: Context) -> None:
        self._heard = None
        if self._unheard:
            ctx.set_timer(TimerKey.ANNOUNCE_AGAIN, ctx.now())

    def announce_again(self, ctx: Context) -> None:
        """The timer armed at start: whatever is still unheard was lost with the previous process."""
        for message in list(self._unheard.values()):
            ctx.publish(message)
