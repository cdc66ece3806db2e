"""Bounded actor inboxes with a policy per message class, and their depth/high-water/drop metrics.

pykka's default inbox is an unbounded queue.Queue; this one implements the same put/get/empty surface so it can be
installed as a ThreadingActor's `actor_inbox`, and it survives the actor: a restarted actor keeps its mailbox.

Every message crosses it, so the hot path is lean: one lock acquisition per put and per get, the policy looked up
once per message type, the waiting actor woken by releasing one lock (not a `threading.Condition`, whose wait and
notify are a dozen lines of Python each: on a virtual clock nearly every message wakes an idle actor), and no lock
at all when the actor finishes a message (only its own thread counts those; quiescence subtracts them from what the
producers counted in, see `unfinished`).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

from actors.runtime.work import WorkCounter


class Policy(Enum):
    CONFLATE = "conflate"  # keep only the latest message per key; market data
    BLOCK = "block"  # never dropped; the publisher waits for room, then escalates
    DROP_OLDEST = "drop-oldest"  # diagnostics; the oldest queued message of its class makes room


class Merging(Protocol):
    """Messages conflated into one that keeps part of each: `add` is called for each newer one, under the mailbox's
    lock (so it must cost what the newer message holds, not what was gathered), and `message` once, when the actor
    takes it."""

    def add(self, newer: Any) -> None: ...  # noqa: ANN401 - any message class

    def message(self) -> Any: ...  # noqa: ANN401


@dataclass(frozen=True)
class Delivery:
    policy: Policy
    conflation_key: Callable[[Any], Hashable] | None = None
    merge: Callable[[Any], Merging] | None = None
    """Conflation that keeps part of the queued message: built from the queued message when the next one comes (a
    burst of quotes absorbs the next ones, the newer quote of a contract winning); without it the newer replaces
    all."""
    fences: bool = True
    """Queued behind a conflatable message, this one fences it: a newer message of the same key queues after this one
    instead of conflating into the one before it. The actor acts on this message with the market it had heard by
    then, as replay (every message in journal order) does; a quote carried ahead of it would make the live node judge,
    and snapshot, what replay never builds. Market data does not fence market data (conflated never; delivered in
    full, with this False): what one quote leaves in a core does not depend on another key's quote."""


CONTROL = Delivery(Policy.BLOCK)  # pykka's own stop/proxy messages

LAZY_BATCH = 128
"""A lazily woken mailbox wakes its actor once this many messages wait ..."""
LINGER_S = 0.02
"""... else its idle actor looks again this often."""


class MailboxOverflow(RuntimeError):
    """A `block` message waited longer than the bound allows; it was still enqueued, never dropped."""


@dataclass
class MailboxMetrics:
    name: str
    bound: int
    depth: int = 0
    high_water: int = 0
    delivered: int = 0
    conflated: int = 0
    dropped: int = 0
    overflows: int = 0

    def snapshot(self) -> dict[str, int | str]:
        return dict(vars(self))


class _Slot:
    """A queued message that conflation may overwrite in place (so the latest value keeps the first place) or that
    drop-oldest may remove. Messages that can be neither are queued bare, without a slot."""

    __slots__ = ("envelope", "fence", "key", "merging", "policy")

    def __init__(self, envelope: Any, policy: Policy, key: Hashable | None, fence: int = 0) -> None:
        self.envelope = envelope
        self.policy = policy
        self.key = key
        self.fence = fence  # the mailbox's fences queued before this slot: it conflates only while none came since
        self.merging: Merging | None = None


_BLOCK, _CONFLATE, _DROP_OLDEST = Policy.BLOCK, Policy.CONFLATE, Policy.DROP_OLDEST


@dataclass
class Mailbox:
    name: str
    classify: Callable[[Any], Delivery]
    """The policy of a message: asked once per message type (its answer must depend on the type only)."""
    bound: int
    block_timeout_s: float
    drop_oldest_bound: int
    on_overflow: Callable[[str, Any], None] = lambda name, message: None
    work: WorkCounter | None = None
    """Sums this mailbox's unfinished messages (not pykka's own control envelopes) with the others' for quiescence."""
    wakes_lazily: bool = False
    """For a sink nothing waits for (persistence, which commits by time): a put wakes the actor only once a batch has
    gathered, or for pykka's control envelopes (a stop is never kept waiting), and the idle actor looks again every
    `LINGER_S`. Waking a thread for each message costs the publisher more than the sink's work on it."""
    market_data_wakes_lazily: bool = False
    """The same for market data only (conflated messages), for an actor that reads quotes only when something else
    comes (risk judges an intent against the latest quotes): anything else wakes it, and it handles the quotes queued
    ahead of that first, since they share one queue in order. Only where nothing waits for the actor to be idle (a
    wall clock): a virtual clock's step would wait out the linger."""
    metrics: MailboxMetrics = field(init=False)

    def __post_init__(self) -> None:
        self.metrics = MailboxMetrics(self.name, self.bound)
        self.enqueued = 0  # messages ever queued (not conflated into a queued one): producers count, under the lock
        self._removed = 0  # queued messages dropped: under the lock
        self._finished = 0  # messages the actor finished: only the actor's thread writes it, so no lock
        self._slots: deque[Any] = deque()
        self._pending_by_key: dict[Hashable, _Slot] = {}
        self._drop_oldest_count = 0
        self._fences = 0  # fencing messages ever queued: under the lock
        self._by_type: dict[type, Delivery] = {}
        self._lock = threading.Lock()
        self._not_full = threading.Condition(self._lock)
        # The actor waits for a message by acquiring `_wake`, held locked while nobody waits; a put that finds
        # `_getting` set clears it and releases `_wake` (both under `_lock`), so it is released at most once per wait.
        self._wake = threading.Lock()
        self._wake.acquire()
        self._getting = False  # the actor waits for a message and no put has woken it yet: a put must wake it
        self._waiting = False  # a getter is inside its wait
        self._putting = 0  # publishers wait for room: a get must notify
        if self.work is not None:
            self.work.register(self)

    @property
    def unfinished(self) -> int:
        """Messages queued or being handled. Read without the lock, finished first: what the counts were when
        `_finished` was read, never less (a message finished later was counted in by then), so 0 means empty."""
        finished = self._finished
        removed = self._removed
        return self.enqueued - removed - finished

    # queue.Queue surface used by pykka ---------------------------------------------------------------------------
    def put(self, envelope: Any, block: bool = True, timeout: float | None = None) -> None:  # noqa: ARG002
        message = getattr(envelope, "message", envelope)
        delivery = self._by_type.get(type(message))
        if delivery is None:
            delivery = self._by_type[type(message)] = self.classify(message)
        policy = delivery.policy
        overflowed = False
        metrics = self.metrics
        lock = self._lock
        lock.acquire()
        try:
            slots = self._slots
            if policy is _CONFLATE and delivery.conflation_key is not None:
                key = delivery.conflation_key(message)
                slot = self._pending_by_key.get(key)
                if slot is not None and slot.fence == self._fences:
                    if delivery.merge is None:
                        slot.envelope = envelope
                    else:  # gathered as they come, built into one message once, when taken
                        if slot.merging is None:
                            slot.merging = delivery.merge(slot.envelope.message)
                        slot.merging.add(message)
                    metrics.conflated += 1
                    return
                slot = _Slot(envelope, _CONFLATE, key, self._fences)
                self._pending_by_key[key] = slot  # a fenced slot of the key stays queued, and conflates no more
                slots.append(slot)
            elif policy is _DROP_OLDEST:
                if self._drop_oldest_count >= self.drop_oldest_bound:
                    self._drop_one_oldest()
                slots.append(_Slot(envelope, _DROP_OLDEST, None))
                self._drop_oldest_count += 1
            else:
                if len(slots) >= self.bound:
                    overflowed = not self._wait_for_room()
                    if overflowed:
                        metrics.overflows += 1
                slots.append(envelope)
            if delivery.fences and policy is not _CONFLATE:
                self._fences += 1
            if delivery is not CONTROL:
                self.enqueued += 1
            depth = metrics.depth = len(slots)
            if depth > metrics.high_water:
                metrics.high_water = depth
            lazy = self.wakes_lazily or (self.market_data_wakes_lazily and policy is _CONFLATE)
            if self._getting and (not lazy or depth >= LAZY_BATCH or delivery is CONTROL):
                self._getting = False
                self._wake.release()
        finally:
            lock.release()
        if overflowed:
            self.on_overflow(self.name, envelope.message)

    def _wait_for_room(self) -> bool:
        """Under the lock: wait up to the block timeout for the queue to fall below its bound."""
        deadline = time.monotonic() + self.block_timeout_s
        self._putting += 1
        try:
            while len(self._slots) >= self.bound:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._not_full.wait(remaining)
            return True
        finally:
            self._putting -= 1

    def get(self, block: bool = True, timeout: float | None = None) -> Any:  # noqa: ARG002
        lock = self._lock
        lock.acquire()
        try:
            slots = self._slots
            if not slots:
                self._wait_for_message(timeout)
            item = slots.popleft()
            merging = None
            if type(item) is _Slot:
                if item.policy is _CONFLATE:
                    if self._pending_by_key.get(item.key) is item:  # not when a fence made a newer slot of its key
                        del self._pending_by_key[item.key]
                    merging = item.merging
                else:
                    self._drop_oldest_count -= 1
                item = item.envelope
            metrics = self.metrics
            metrics.depth = len(slots)
            metrics.delivered += 1
            if self._putting:
                self._not_full.notify()
        finally:
            lock.release()
        if merging is not None:  # out of the queue now: nothing adds to it, and publishers need not wait for this
            item = type(item)(merging.message())  # the envelope is read-only and shared: a new one carries the merge
        return item

    def _wait_for_message(self, timeout: float | None) -> None:
        """Under the lock: wait (up to `timeout`) until something is queued. One thread gets at a time (the actor's);
        should another come while it waits, that one polls rather than share the wake."""
        deadline = None if timeout is None else time.monotonic() + timeout
        lock, wake = self._lock, self._wake
        while not self._slots:
            remaining = -1.0 if deadline is None else deadline - time.monotonic()
            if deadline is not None and remaining <= 0:
                raise TimeoutError(f"mailbox {self.name}: nothing arrived within {timeout}s")
            if self.wakes_lazily or self.market_data_wakes_lazily:  # a put may not wake it: look every LINGER_S
                remaining = LINGER_S if remaining < 0 else min(LINGER_S, remaining)
            if self._waiting:  # another getter holds the wake
                lock.release()
                time.sleep(0.001)
                lock.acquire()
                continue
            self._getting = self._waiting = True
            woken = False
            lock.release()
            try:
                woken = wake.acquire(True, remaining)
            finally:
                lock.acquire()
                if not woken and not self._getting:  # a put released the wake after the wait gave up: take it back
                    wake.acquire()
                self._getting = self._waiting = False

    def task_done(self) -> None:
        """The actor finished handling a message it took from here (called on the actor's own thread only)."""
        finished = self._finished = self._finished + 1
        if self.work is not None and self.enqueued - self._removed - finished <= 0:  # `unfinished`, inlined
            self.work.ran_empty()

    def empty(self) -> bool:
        return not self._slots

    def qsize(self) -> int:
        return len(self._slots)

    def _drop_one_oldest(self) -> None:
        for index, slot in enumerate(self._slots):
            if type(slot) is _Slot and slot.policy is _DROP_OLDEST:
                del self._slots[index]
                self._drop_oldest_count -= 1
                self.metrics.dropped += 1
                self._removed += 1
                return
