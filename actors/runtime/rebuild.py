"""Rebuilding cores from history: the one loop every runtime uses to replay a core quietly — at start from earlier
sessions, and when the supervisor restarts a failed actor from its journal.

A core is fed, in order, what it received then, through a `MutedContext`: its state is rebuilt, nothing it publishes
leaves and no timer is armed (`on_start` re-arms timers from the rebuilt state afterwards)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

from actors.runtime.core import ActorCore, MutedContext
from actors.runtime.routing import RoutingTable
from messages import Message

NOTHING_SKIPPED: Mapping[str, Collection[int]] = {}


def replay_quietly(cores: Mapping[str, ActorCore], routes: RoutingTable, history: Iterable[Message], *,
                   before_seq: int | None = None, skip: Mapping[str, Collection[int]] = NOTHING_SKIPPED) -> int:
    """Deliver each message of `history` to those of `cores` that subscribe to it, stopping at `before_seq` (one
    session's seqs) and leaving out each core's `skip` seqs (those that made it fail). Returns the deliveries."""
    muted = MutedContext(0)
    delivered = 0
    for past in history:
        if before_seq is not None and past.seq >= before_seq:
            break
        muted.clock_ns = past.ts
        for name in routes.subscribers(past):
            core = cores.get(name)
            if core is not None and past.seq not in skip.get(name, ()):
                core.handle(past, muted)
                delivered += 1
    return delivered
