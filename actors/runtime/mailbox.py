"""Bounded actor inboxes with a policy per message class, and their depth/high-water/drop metrics.

pykka's default inbox is an unbounded queue.Queue; this one implements the same put/get/empty surface so it can be
installed as a ThreadingActor's `actor_inbox`, and it survives the actor: a restarted actor keeps its mailbox.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from actors.runtime.work import WorkCounter


class Policy(Enum):
    CONFLATE = "conflate"  # keep only the latest message per key; market data
    BLOCK = "block"  # never dropped; the publisher waits for room, then escalates
    DROP_OLDEST = "drop-oldest"  # diagnostics; the oldest queued message of its class makes room


@dataclass(frozen=True)
class Delivery:
    policy: Policy
    conflation_key: Callable[[Any], Hashable] | None = None


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
    """A queue position whose content conflation may overwrite in place, so the latest value keeps the first place."""

    __slots__ = ("envelope", "key", "policy")

    def __init__(self, envelope: Any, policy: Policy, key: Hashable | None) -> None:
        self.envelope = envelope
        self.policy = policy
        self.key = key


@dataclass
class Mailbox:
    name: str
    classify: Callable[[Any], Delivery]
    bound: int
    block_timeout_s: float
    drop_oldest_bound: int
    on_overflow: Callable[[str, Any], None] = lambda name, message: None
    work: WorkCounter | None = None
    """Sums this mailbox's unfinished messages (not pykka's own control envelopes) with the others' for quiescence."""
    wakes_lazily: bool = False
    """For a sink nothing waits for (persistence on a virtual clock): a put wakes the actor only once a batch has
    gathered, or for pykka's control envelopes (a stop is never kept waiting), and the idle actor looks again every
    `LINGER_S`. Waking a thread for each message costs the publisher more than the sink's work on it."""
    metrics: MailboxMetrics = field(init=False)

    def __post_init__(self) -> None:
        self.metrics = MailboxMetrics(self.name, self.bound)
        self.unfinished = 0  # queued or being handled, under this mailbox's own lock
        self.enqueued = 0
        if self.work is not None:
            self.work.register(self)
        self._slots: deque[_Slot] = deque()
        self._pending_by_key: dict[Hashable, _Slot] = {}
        self._drop_oldest_count = 0
        self._lock = threading.Lock()
        self._not_empty = threading.Condition(self._lock)
        self._not_full = threading.Condition(self._lock)

    # queue.Queue surface used by pykka ---------------------------------------------------------------------------
    def put(self, envelope: Any, block: bool = True, timeout: float | None = None) -> None:  # noqa: ARG002
        delivery = self.classify(getattr(envelope, "message", envelope))
        overflowed = False
        with self._lock:
            if delivery.policy is Policy.CONFLATE and delivery.conflation_key is not None:
                key = delivery.conflation_key(envelope.message)
                slot = self._pending_by_key.get(key)
                if slot is not None:
                    slot.envelope = envelope
                    self.metrics.conflated += 1
                    return
                slot = _Slot(envelope, Policy.CONFLATE, key)
                self._pending_by_key[key] = slot
            elif delivery.policy is Policy.DROP_OLDEST:
                if self._drop_oldest_count >= self.drop_oldest_bound:
                    self._drop_one_oldest()
                slot = _Slot(envelope, Policy.DROP_OLDEST, None)
                self._drop_oldest_count += 1
            else:
                if len(self._slots) >= self.bound:
                    overflowed = not self._not_full.wait_for(
                        lambda: len(self._slots) < self.bound, timeout=self.block_timeout_s
                    )
                    if overflowed:
                        self.metrics.overflows += 1
                slot = _Slot(envelope, Policy.BLOCK, None)
            self._slots.append(slot)
            if delivery is not CONTROL:
                self.unfinished += 1
                self.enqueued += 1
            depth = len(self._slots)
            self.metrics.depth = depth
            if depth > self.metrics.high_water:
                self.metrics.high_water = depth
            if not self.wakes_lazily or depth >= LAZY_BATCH or delivery is CONTROL:
                self._not_empty.notify()
        if overflowed:
            self.on_overflow(self.name, envelope.message)

    def get(self, block: bool = True, timeout: float | None = None) -> Any:  # noqa: ARG002
        with self._lock:
            if self.wakes_lazily:
                self._linger(timeout)
            else:
                self._not_empty.wait_for(lambda: bool(self._slots), timeout=timeout)
            if not self._slots:
                raise TimeoutError(f"mailbox {self.name}: nothing arrived within {timeout}s")
            slot = self._slots.popleft()
            if slot.policy is Policy.CONFLATE:
                del self._pending_by_key[slot.key]
            elif slot.policy is Policy.DROP_OLDEST:
                self._drop_oldest_count -= 1
            self.metrics.depth = len(self._slots)
            self.metrics.delivered += 1
            self._not_full.notify()
            return slot.envelope

    def _linger(self, timeout: float | None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._slots:
            remaining = LINGER_S if deadline is None else min(LINGER_S, deadline - time.monotonic())
            if remaining <= 0:
                return
            self._not_empty.wait(remaining)

    def task_done(self) -> None:
        """The actor finished handling a message it took from here."""
        with self._lock:
            self.unfinished -= 1
            settled = self.unfinished <= 0
        if settled and self.work is not None:
            self.work.ran_empty()

    def empty(self) -> bool:
        with self._lock:
            return not self._slots

    def qsize(self) -> int:
        with self._lock:
            return len(self._slots)

    def _drop_one_oldest(self) -> None:
        for index, slot in enumerate(self._slots):
            if slot.policy is Policy.DROP_OLDEST:
                del self._slots[index]
                self._drop_oldest_count -= 1
                self.metrics.dropped += 1
                self.unfinished -= 1
                return
