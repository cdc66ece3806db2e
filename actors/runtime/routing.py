"""The immutable routing table (message type → subscriber names) and the stamping of published messages."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping

import msgspec

from actors.runtime.clock import Clock
from messages import MESSAGE_TYPES, Message, TimerFired


class RoutingTable:
    """Built once from each actor's subscriptions; subscribing to `Message` itself means every message.

    Timers are addressed: `TimerFired` goes to the actor that armed it (and to catch-all subscribers, so the journal
    holds them), never to other actors.
    """

    def __init__(self, subscriptions: Mapping[str, Iterable[type[Message]]]) -> None:
        self._catch_all = tuple(name for name, types in subscriptions.items() if Message in tuple(types))
        routes: dict[type[Message], tuple[str, ...]] = {}
        subscribed = {message_type for types in subscriptions.values() for message_type in types}
        for message_type in (*MESSAGE_TYPES, *sorted(subscribed - set(MESSAGE_TYPES), key=lambda t: t.__qualname__)):
            if message_type is TimerFired:
                continue
            routes[message_type] = tuple(
                name
                for name, types in subscriptions.items()
                if any(issubclass(message_type, subscribed) for subscribed in types)
            )
        self._routes = routes
        self.names = tuple(subscriptions)

    def by_type(self) -> dict[type[Message], tuple[str, ...]]:
        """Every routed type's subscribers, for a runtime that resolves them once (timers are addressed: not here)."""
        return dict(self._routes)

    def types_of(self, name: str) -> tuple[type[Message], ...]:
        """Every message type `name` receives (its timers included): what to read from a journal to rebuild it."""
        return (TimerFired, *(message_type for message_type, names in self._routes.items() if name in names))

    def timer_subscribers(self, target: str) -> tuple[str, ...]:
        """Who hears a timer armed by `target`: it, then the actors that hear everything (the journal)."""
        return (target, *(name for name in self._catch_all if name != target))

    def subscribers(self, message: Message) -> tuple[str, ...]:
        if type(message) is TimerFired:
            return self.timer_subscribers(message.target)
        try:
            return self._routes[type(message)]
        except KeyError:
            raise TypeError(f"{type(message).__name__} is not in the message catalogue and no actor subscribes to it") from None


_replace = msgspec.structs.replace

RUNTIME_ORIGIN = "runtime"
"""Origin of timers and supervision messages: published by the runtime itself, not by an actor core."""


class Stamper:
    """Assigns the monotonically increasing `seq`, and `ts` from the clock where the publisher left it at 0.

    The counter is an `itertools.count`: one C call, atomic under the GIL, so publishers on many threads never take
    a lock to stamp (a threaded runtime learns what was issued from `InFlight`, for its snapshots' cuts)."""

    def __init__(self, clock: Clock, first_seq: int = 1) -> None:
        self._now = clock.now
        self._next_seq = itertools.count(first_seq).__next__

    def stamp(self, message: Message, origin: str = "") -> Message:
        return _replace(message, ts=message.ts or self._now(), seq=self._next_seq(), origin=origin or message.origin)
