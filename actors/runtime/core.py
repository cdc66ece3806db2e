"""The contract between a pure actor core and whichever runtime drives it (deterministic or pykka threads)."""

from __future__ import annotations

from typing import ClassVar, Protocol

from messages import Message


class Context(Protocol):
    """What a core may do to the world: read the clock, publish messages, arm its own timers."""

    def now(self) -> int: ...

    def publish(self, message: Message) -> None:
        """Send to every subscriber of the message's type; `ts` is stamped from the clock when left at 0."""

    def set_timer(self, key: str, at_ns: int) -> None:
        """Deliver `TimerFired(target=<this actor>, key=key)` at `at_ns`; re-arming a key replaces it."""

    def cancel_timer(self, key: str) -> None: ...


class ActorCore:
    """A pure, single-threaded state machine: messages in, messages out through the context.

    Cores hold no references to other actors and never read the wall clock, so the same core runs unchanged in
    the deterministic replay dispatcher and inside a pykka actor.
    """

    name: ClassVar[str]
    subscriptions: ClassVar[tuple[type[Message], ...]]
    lossless: ClassVar[bool] = True
    """False lets the runtime conflate market data in this actor's mailbox (it only needs the latest quote)."""
    delivered_in_full: ClassVar[tuple[type[Message], ...]] = ()
    """Market data a conflating core must still hear every one of: what it keeps of them is more than the latest (a
    history), or each one acts. Replay delivers every journaled message, so a live core that missed one would judge,
    and snapshot, what replay never builds. Only for classes that come seldom: these queue like orders do."""
    replay_on_restart: ClassVar[bool] = True
    """A restarted core is rebuilt by replaying the journal of its inputs; sinks that write that journal opt out."""
    wakes_on_market_data: ClassVar[bool] = True
    """False for a core that reads quotes only when something else comes (risk judges an intent against the latest
    ones): on a wall clock a quote does not wake its actor, which handles the quotes queued ahead of that something
    first (`Mailbox.market_data_wakes_lazily`). At 10k quotes/s a thread woken per quote costs more than the quote."""
    wakes_per_message: ClassVar[bool] = True
    """False for a sink that batches its work anyway (persistence's group commit): on a wall clock its actor is woken
    once a batch waits, and looks every `LINGER_S` (`Mailbox.wakes_lazily`): a thread woken per message costs the
    publishers more than the sink's work on it, and at 10k quotes/s each one is a GIL hand-off."""
    paces_virtual_clock: bool = True
    """A virtual clock advances only once this actor has handled everything sent to it. A sink no other actor waits
    for (persistence committing by wall time) opts out, so virtual time never waits on what it does."""

    def settled(self) -> bool:
        """False while the core holds a decision the rest of the node has not heard yet (e.g. an answer held back
        to simulate latency): a snapshot is never taken then, since a restart rebuilds from what was heard."""
        return True

    def on_start(self, ctx: Context) -> None:
        """Arm initial timers; called once when the actor starts and again after a restart (after state replay)."""

    def on_stop(self, ctx: Context) -> None:
        """Last words on a graceful stop, e.g. flush buffers."""

    def handle(self, message: Message, ctx: Context) -> None:
        raise TypeError(f"{type(self).__name__} subscribes to {type(message).__name__} but has no handler")


class MutedContext:
    """Feeds a restarted core its past inputs: state is rebuilt, nothing leaves and no timer is armed."""

    def __init__(self, clock_ns: int) -> None:
        self.clock_ns = clock_ns

    def now(self) -> int:
        return self.clock_ns

    def publish(self, message: Message) -> None:
        pass

    def set_timer(self, key: str, at_ns: int) -> None:
        pass

    def cancel_timer(self, key: str) -> None:
        pass
