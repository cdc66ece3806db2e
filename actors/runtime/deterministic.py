"""Deterministic dispatcher: one global FIFO, a virtual clock, timers in time order. Same input ⇒ same journal."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence

from loguru import logger

from actors.runtime.clock import TimerQueue, VirtualClock
from actors.runtime.config import SupervisorSection
from actors.runtime.core import ActorCore
from actors.runtime.rebuild import replay_quietly
from actors.runtime.routing import RUNTIME_ORIGIN, RoutingTable, Stamper
from actors.runtime.supervision import RestartPolicy
from messages import ActorFailed, ActorRestarted, Alert, Message, NodeStopping, TimerFired

CoreFactory = Callable[[], ActorCore]


class NodeStopped(RuntimeError):
    """The supervisor gave up on an actor; the node stops."""


class _CoreContext:
    def __init__(self, runtime: DeterministicRuntime, name: str) -> None:
        self._runtime = runtime
        self._name = name

    def now(self) -> int:
        return self._runtime.clock.now()

    def publish(self, message: Message) -> None:
        self._runtime.publish(message, origin=self._name)

    def set_timer(self, key: str, at_ns: int) -> None:
        self._runtime.timers.arm(self._name, key, max(at_ns, self._runtime.clock.now()))

    def cancel_timer(self, key: str) -> None:
        self._runtime.timers.cancel(self._name, key)


class DeterministicRuntime:
    """Runs actor cores on the caller's thread. Every published message is kept in `history` (the journal)."""

    def __init__(
        self,
        factories: Sequence[CoreFactory],
        clock: VirtualClock,
        supervisor: SupervisorSection | None = None,
        recorded_timers: bool = False,
    ) -> None:
        self.clock = clock
        # Replaying a recording feeds its TimerFired messages as inputs, in recorded order; the cores' own timers must
        # then never fire, or they would fire twice and in an order the recording did not have.
        self._recorded_timers = recorded_timers
        self.timers = TimerQueue()
        self._factories = {factory().name: factory for factory in factories}
        self._cores: dict[str, ActorCore] = {name: factory() for name, factory in self._factories.items()}
        self._contexts = {name: _CoreContext(self, name) for name in self._cores}
        self.routes = RoutingTable({name: core.subscriptions for name, core in self._cores.items()})
        self._stamper = Stamper(clock)
        self._queue: deque[tuple[str, Message]] = deque()
        self._restart_policy = RestartPolicy(supervisor or SupervisorSection())
        self._poison: dict[str, set[int]] = {}
        self.history: list[Message] = []
        self.observers: list[Callable[[Message], None]] = []
        self.stopped_reason: str | None = None

    def core(self, name: str) -> ActorCore:
        return self._cores[name]

    def start(self) -> None:
        for name, core in self._cores.items():
            core.on_start(self._contexts[name])
        self._drain()

    def publish(self, message: Message, origin: str = "") -> Message:
        stamped = self._stamper.stamp(message, origin)
        self.history.append(stamped)
        for observer in self.observers:
            observer(stamped)
        for name in self.routes.subscribers(stamped):
            self._queue.append((name, stamped))
        return stamped

    def inject(self, message: Message) -> None:
        """Feed an outside message (a scenario line) at its timestamp: due timers fire first."""
        if message.ts:
            self.run_until(message.ts)
        self.publish(message)
        self._drain()

    def run_until(self, at_ns: int) -> None:
        self._drain()
        while self.stopped_reason is None and not self._recorded_timers:
            due = self.timers.next_due()
            if due is None or due > at_ns:
                break
            self.clock.advance_to(due)
            for fired_at, target, key in self.timers.pop_due(due):
                self.publish(TimerFired(ts=fired_at, target=target, key=key), origin=RUNTIME_ORIGIN)
            self._drain()
        self.clock.advance_to(at_ns)

    def run_while(self, keep_going: Callable[[], bool], until_ns: int) -> None:
        """Advance timer by timer while `keep_going()` holds and time stays before `until_ns`."""
        self._drain()
        while self.stopped_reason is None and keep_going():
            due = self.timers.next_due()
            if due is None or due > until_ns:
                break
            self.run_until(due)

    def _drain(self) -> None:
        while self._queue and self.stopped_reason is None:
            name, message = self._queue.popleft()
            try:
                self._cores[name].handle(message, self._contexts[name])
            except Exception as exc:  # noqa: BLE001 - an actor's failure is reported and supervised, not raised
                self._on_failure(name, message, exc)

    def _on_failure(self, name: str, message: Message, exc: Exception) -> None:
        error = f"{type(exc).__name__}: {exc} while handling {type(message).__name__} seq {message.seq}"
        self._poison.setdefault(name, set()).add(message.seq)
        logger.opt(exception=exc).error(f"actor {name} failed: {error}")
        self.publish(ActorFailed(actor=name, error=error, failed_seq=message.seq), origin=RUNTIME_ORIGIN)
        decision = self._restart_policy.on_failure(name, self.clock.now())
        if not decision.restart:
            self.publish(Alert(level="critical", source="supervisor", text=decision.reason), origin=RUNTIME_ORIGIN)
            self.publish(NodeStopping(reason=decision.reason), origin=RUNTIME_ORIGIN)
            self.stopped_reason = decision.reason
            return
        replayed = self._restart(name, up_to_seq=message.seq)
        self.publish(ActorRestarted(actor=name, attempt=decision.attempt, replayed=replayed), origin=RUNTIME_ORIGIN)

    def _restart(self, name: str, up_to_seq: int) -> int:
        """A fresh core rebuilt from the journal of what it had received, skipping every message that failed it."""
        core = self._factories[name]()
        replayed = replay_quietly({name: core}, self.routes, self.history, before_seq=up_to_seq, skip=self._poison)
        self._cores[name] = core
        core.on_start(self._contexts[name])
        return replayed
