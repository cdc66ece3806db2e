"""Threaded runtime: each core in a pykka actor, publish = tell every subscriber's mailbox directly.

With a wall clock, timers fire in real time. With a virtual clock, time advances to the next timer only when every
mailbox is empty and no actor is busy (a quiescence barrier), so replays and demos run as fast as the actors can.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType

import pykka
from loguru import logger

from actors.runtime.actor import CoreActor, Envelope
from actors.runtime.clock import Clock, TimerQueue, VirtualClock
from actors.runtime.config import MailboxSection, SupervisorSection
from actors.runtime.core import ActorCore
from actors.runtime.delivery import classifier_of
from actors.runtime.in_flight import InFlight
from actors.runtime.mailbox import Mailbox
from actors.runtime.rebuild import replay_quietly
from actors.runtime.routing import RUNTIME_ORIGIN, RoutingTable, Stamper
from actors.runtime.snapshot_codec import SnapshotError
from actors.runtime.snapshots import RestartPoint, write_snapshots
from actors.runtime.supervisor import SupervisorActor
from actors.runtime.work import WorkCounter
from actors.runtime.write_ahead import WriteAheadGate
from messages import ActorFailed, Alert, Message, TimerFired

CoreFactory = Callable[[], ActorCore]
JournalSource = Callable[[str, int, int], Iterable[Message]]
"""(actor name, failed seq, after seq) → the journaled messages of this session that actor had received after the
one seq and before the other, in order."""
HistorySource = Callable[[tuple[type[Message], ...]], Iterable[Message]]
"""(message types) → the earlier sessions' messages of those types, in order: read again for a restarted actor."""


class _ActorContext:
    def __init__(self, runtime: ThreadedRuntime, name: str) -> None:
        self._runtime = runtime
        self._name = name
        # `publish(message)` is the runtime's publish from this actor: bound once, no call of ours in between
        self.publish: Callable[[Message], object] = functools.partial(runtime.publish, origin=name)

    def now(self) -> int:
        return self._runtime.clock.now()

    def set_timer(self, key: str, at_ns: int) -> None:
        self._runtime.arm_timer(self._name, key, at_ns)

    def cancel_timer(self, key: str) -> None:
        self._runtime.timers.cancel(self._name, key)


class _Drive:
    """One `run_virtual` call: how far, while what holds, and whether it is over."""

    def __init__(self, until_ns: int, keep_going: Callable[[], bool]) -> None:
        self.until_ns = until_ns
        self.keep_going = keep_going
        self.done = threading.Event()
        self.error: BaseException | None = None


class ThreadedRuntime:
    def __init__(
        self,
        factories: Sequence[CoreFactory],
        clock: Clock,
        mailbox: MailboxSection | None = None,
        supervisor: SupervisorSection | None = None,
        journal_source: JournalSource | None = None,
        write_ahead: WriteAheadGate | None = None,
    ) -> None:
        self.clock = clock
        self.timers = TimerQueue()
        self.work = WorkCounter()
        self._drive: _Drive | None = None
        self._driving = threading.Lock()
        if isinstance(clock, VirtualClock):
            self.work.on_idle = self._step_while_idle
        self._timer_changed = threading.Condition()
        self._wall_timers = not isinstance(clock, VirtualClock)
        self._factories = {factory().name: factory for factory in factories}
        cores = {name: factory() for name, factory in self._factories.items()}
        self.routes = RoutingTable({name: core.subscriptions for name, core in cores.items()})
        self._replayable = {name for name, core in cores.items() if core.replay_on_restart}
        mailbox = mailbox or MailboxSection()
        self.mailboxes = {
            name: Mailbox(
                name,
                classify=classifier_of(core),
                bound=mailbox.block_bound,
                block_timeout_s=mailbox.block_timeout_s,
                drop_oldest_bound=mailbox.drop_oldest_bound,
                on_overflow=self._on_overflow,
                work=self.work if core.paces_virtual_clock else None,
                wakes_lazily=not core.paces_virtual_clock or (self._wall_timers and not core.wakes_per_message),
                market_data_wakes_lazily=self._wall_timers and not core.wakes_on_market_data,
            )
            for name, core in cores.items()
        }
        self._boxes = {message_type: tuple(self.mailboxes[name] for name in names)
                       for message_type, names in self.routes.by_type().items()}
        self._timer_boxes = {target: tuple(self.mailboxes[name] for name in self.routes.timer_subscribers(target))
                             for target in self.mailboxes}  # a timer's target -> the boxes it goes to
        self._initial_cores = cores
        self._stamp = Stamper(clock).stamp
        self._in_flight = InFlight()
        self._mine = self._in_flight.local
        self._actors: dict[str, pykka.ActorRef[CoreActor]] = {}
        self._supervisor_config = supervisor or SupervisorSection()
        self._journal_source = journal_source
        self.write_ahead = write_ahead
        self._supervisor: pykka.ActorRef[SupervisorActor] | None = None
        self.observers: list[Callable[[Message], None]] = []
        self.stopped = threading.Event()
        self.stop_reason: str | None = None
        self._timer_thread: threading.Thread | None = None
        self._poison: dict[str, set[int]] = {}
        self._earlier: HistorySource = lambda types: ()
        self._cores: dict[str, ActorCore] = dict(cores)  # each actor's current core, read only at quiescence
        self.restart_point: RestartPoint | None = None
        """Where the rebuild at start began: a supervisor restart of one actor begins there too."""
        self._session_point: RestartPoint | None = None
        """The newest set taken this session: a supervisor restart needs nothing earlier than it."""
        self.snapshot_every = 0
        """Take a set of snapshots once this many messages have passed since the last (0: never while running)."""
        self.snapshot_at_stop = False
        self._last_cut = 0

    # lifecycle ---------------------------------------------------------------------------------------------------
    def prime(self, history: Iterable[Message], reread: HistorySource | None = None) -> int:
        """Before `start`: rebuild every replayable core from a previous run's journal (crash recovery).

        Each core is fed, muted and in order, what it received then; `on_start` then re-arms its timers from the
        rebuilt state. A supervisor restart replays the same history again first: `reread(types)` reads an actor's
        share of it back (from the lake); without it the history is kept in memory. Returns the deliveries.
        """
        if not self._initial_cores:
            raise RuntimeError("prime() must come before start()")
        if reread is None:
            kept = list(history)
            history, reread = kept, lambda types: kept
        self._earlier = reread
        replayable = {name: core for name, core in self._initial_cores.items() if name in self._replayable}
        return replay_quietly(replayable, self.routes, history)

    @property
    def replayable(self) -> frozenset[str]:
        return frozenset(self._replayable)

    @property
    def cores(self) -> Mapping[str, ActorCore]:
        """Each actor's current core: to be read only while nothing runs (before `start`, or at quiescence)."""
        return MappingProxyType(self._cores)

    def restore(self, point: RestartPoint) -> None:
        """Before `prime`: start every replayable core from `point`'s snapshots; `prime` then replays only what
        followed. All or nothing: on SnapshotError no core has changed."""
        restored = {name: self._factories[name]() for name in self._replayable}
        point.restore(restored)
        self._initial_cores.update(restored)
        self._cores.update(restored)
        self.restart_point = point

    def start(self) -> None:
        self._supervisor = SupervisorActor.start(self, self._supervisor_config)
        for name, core in self._initial_cores.items():
            self._actors[name] = self._spawn(name, core)
        self._initial_cores = {}
        if self._wall_timers:
            self._timer_thread = threading.Thread(target=self._fire_wall_timers, name="timers", daemon=True)
            self._timer_thread.start()

    def _spawn(self, name: str, core: ActorCore) -> pykka.ActorRef[CoreActor]:
        self._cores[name] = core
        return CoreActor.start(core, _ActorContext(self, name), self.mailboxes[name], self)

    def stop(self, timeout_s: float = 10.0) -> None:
        """Graceful: let queued work finish (bounded), stop producers, then persistence last so it flushes all."""
        self.work.wait_idle(timeout=timeout_s)
        self.stopped.set()
        with self._timer_changed:
            self._timer_changed.notify_all()
        if self.snapshot_at_stop:
            self._snapshot_before_stop(timeout_s)
        sinks = [name for name in self._actors if name not in self._replayable]
        for name in [n for n in self._actors if n not in sinks] + sinks:
            ref = self._actors[name]
            if ref.is_alive():
                ref.stop(block=True, timeout=timeout_s)
        if self._supervisor is not None and self._supervisor.is_alive():
            self._supervisor.stop(block=True, timeout=timeout_s)
        if self._timer_thread is not None:
            self._timer_thread.join(timeout=timeout_s)

    def request_stop(self, reason: str) -> None:
        self.stop_reason = reason
        self.stopped.set()
        with self._timer_changed:
            self._timer_changed.notify_all()

    # messaging ---------------------------------------------------------------------------------------------------
    def publish(self, message: Message, origin: str = "") -> Message:
        try:
            mine = self._mine.publisher  # `InFlight.mine()`, inlined: every message passes here
        except AttributeError:
            mine = self._in_flight.mine()
        mine.depth += 1  # before the seq is taken: a cut never misses a publish that has one
        try:
            stamped = self._stamp(message, origin)
            mine.last = stamped.seq
            if self.write_ahead is not None:
                deliver, notes = self.write_ahead.check(stamped)
                for note in notes:
                    self.publish(note, origin=RUNTIME_ORIGIN)
                if not deliver:
                    return stamped
            for observer in self.observers:
                observer(stamped)
            boxes = self._boxes.get(type(stamped))
            if boxes is None:  # a timer (addressed), or a type outside the catalogue (an error)
                boxes = (self._timer_boxes[stamped.target] if type(stamped) is TimerFired
                         else tuple(self.mailboxes[name] for name in self.routes.subscribers(stamped)))
            envelope = Envelope(stamped)  # read-only to the mailboxes and the actors: one serves every subscriber
            for box in boxes:
                box.put(envelope)
            return stamped
        finally:
            mine.depth -= 1

    def arm_timer(self, name: str, key: str, at_ns: int) -> None:
        if self._wall_timers and at_ns <= self.clock.now() and not self.stopped.is_set():
            # due already (the exits' "judge once the burst is in" with no delay: one per quote at 10k quotes/s):
            # fired from here, as the timer thread would the instant it woke, without waking it
            self.timers.cancel(name, key)  # re-arming replaces: an earlier arming of the key must not fire as well
            self.publish(TimerFired(ts=at_ns, target=name, key=key), origin=RUNTIME_ORIGIN)
            return
        first = self.timers.arm(name, key, at_ns)
        if first and self._wall_timers:
            # only the wall clock's timer thread waits, and only for the first timer: waking it for a later one (an
            # order's walk step, armed as the order leaves) would have it take the GIL from the broker's hand-off
            with self._timer_changed:
                self._timer_changed.notify_all()

    def _fire_due(self, now_ns: int) -> None:
        for fired_at, target, key in self.timers.pop_due(now_ns):
            self.publish(TimerFired(ts=fired_at, target=target, key=key), origin=RUNTIME_ORIGIN)

    def _fire_wall_timers(self) -> None:
        while not self.stopped.is_set():
            due = self.timers.next_due()
            now = self.clock.now()
            if due is not None and due <= now:
                self._fire_due(now)
                continue
            self._snapshot_when_due()  # on this thread: no timer fires while the cores are written
            with self._timer_changed:
                # looked at again under the lock an arming notifies under: one armed after this look wakes the wait
                due, now = self.timers.next_due(), self.clock.now()
                if not self.stopped.is_set() and (due is None or due > now):
                    self._timer_changed.wait(timeout=1.0 if due is None else min((due - now) / 1e9, 1.0))

    def run_virtual(self, until_ns: int, keep_going: Callable[[], bool] = lambda: True) -> None:
        """Drive a virtual clock: at each quiescent instant jump to the next timer and fire it; until `until_ns`.

        The step is taken by whichever thread makes the node quiescent — the actor finishing the last message —
        right there, not by this thread after a wake-up: a virtual step is a few messages, and handing each one's end
        to another thread cost about as much as handling them. This thread starts the drive and takes a step itself
        if a quarter of a second passes without one (a safety net, and the step after someone else waited for
        quiescence)."""
        if not isinstance(self.clock, VirtualClock):
            raise TypeError("run_virtual needs a VirtualClock")
        drive = _Drive(until_ns, keep_going)
        self._drive = drive
        try:
            while not self.stopped.is_set() and not drive.done.is_set():
                self._step_while_idle()
                drive.done.wait(0.25)
        finally:
            self._drive = None
        if drive.error is not None:
            raise drive.error

    def _step_while_idle(self) -> None:
        """Fire the next timers for as long as the node is quiescent; one thread at a time. Whoever finds the drive
        taken leaves it to its holder, which looks again after letting go: an actor that ran empty meanwhile is
        never missed."""
        while (drive := self._drive) is not None and self._driving.acquire(blocking=False):
            try:
                while not drive.done.is_set() and not self.stopped.is_set() and self._steppable():
                    self._step(drive)
            except BaseException as exc:  # noqa: BLE001 - on an actor's thread: the drive's caller raises it
                drive.error = exc
                drive.done.set()
            finally:
                self._driving.release()
            if drive.done.is_set() or self.stopped.is_set() or not self._steppable():
                return

    def _steppable(self) -> bool:
        """Quiescent, and nobody else waits to see it (a stop would otherwise never find the node idle: the next
        timer would fire at every idle instant before the stop looked)."""
        return not self.work.waited_for and self.work.idle()

    def _step(self, drive: _Drive) -> None:
        if not drive.keep_going():
            drive.done.set()
            return
        self._snapshot_when_due()
        due = self.timers.next_due()
        if due is None or due > drive.until_ns:
            self.clock.advance_to(drive.until_ns)
            drive.done.set()
            return
        self.clock.advance_to(due)
        self._fire_due(due)

    # supervision ---------------------------------------------------------------------------------------------------
    def report_failure(self, name: str, error: str, failed_seq: int) -> None:
        self._poison.setdefault(name, set()).add(failed_seq)
        failed = self.publish(ActorFailed(actor=name, error=error, failed_seq=failed_seq), origin=RUNTIME_ORIGIN)
        logger.error(f"actor {name} failed on seq {failed_seq}: {error}")
        if self._supervisor is not None:
            self._supervisor.tell(failed)

    def restart(self, name: str, failed_seq: int) -> int:
        """A fresh core on the old mailbox, rebuilt by replaying its past inputs except those that made it fail."""
        core = self._factories[name]()
        replayed = 0
        if name in self._replayable and self._journal_source is not None:
            after_seq = 0
            if self._session_point is not None:
                self._session_point.restore({name: core})
                after_seq = self._session_point.through_seq
            else:
                if self.restart_point is not None:
                    self.restart_point.restore({name: core})
                # earlier sessions first (their seqs are their own): this session continues from them
                replayed = replay_quietly({name: core}, self.routes, self._earlier(self.routes.types_of(name)))
            replayed += replay_quietly({name: core}, self.routes, self._journal_source(name, failed_seq, after_seq),
                                       before_seq=failed_seq, skip=self._poison)
        self._actors[name] = self._spawn(name, core)
        return replayed

    # snapshots -----------------------------------------------------------------------------------------------------
    def take_snapshots(self) -> bool:
        """Write every replayable core's snapshot, cut at the last seq stamped, if this is a quiescent instant: no
        publish in flight on any thread, every delivered message handled, no actor down, and no publish on any thread
        while the cores are written (else it is discarded). True when a set was published."""
        at_rest = self._in_flight.at_rest()
        if at_rest is None or not self.work.idle():
            return False
        cut = max(at_rest, default=0)
        if any(not ref.is_alive() for ref in self._actors.values()):
            return False
        if not all(self._cores[name].settled() for name in self._replayable):
            return False
        try:
            snapshots = write_snapshots({name: self._cores[name] for name in sorted(self._replayable)}, cut)
        except SnapshotError as exc:  # a core holds what the codec cannot write: a bug, never a reason to stop
            logger.error(f"cannot snapshot the cores ({exc}): no more snapshots this session")
            self.snapshot_every, self.snapshot_at_stop = 0, False
            return False
        except RuntimeError:  # a container changed under the encoder: not quiescent after all
            return False
        if self._in_flight.at_rest() != at_rest:
            return False
        self._session_point = RestartPoint("this session", cut, {snapshot.core: snapshot for snapshot in snapshots})
        self._last_cut = cut
        for snapshot in snapshots:
            self.publish(snapshot, origin=RUNTIME_ORIGIN)
        return True

    def _snapshot_when_due(self) -> None:
        if self.snapshot_every and self._in_flight.latest() - self._last_cut >= self.snapshot_every:
            self.take_snapshots()

    def _snapshot_before_stop(self, timeout_s: float) -> None:
        if self._timer_thread is not None:
            self._timer_thread.join(timeout=timeout_s)  # it fires no timer once stopped; wait until it has left
        for _ in range(3):
            if self.work.wait_idle(timeout=timeout_s / 3) and self.take_snapshots():
                return
        logger.warning("no quiescent instant to snapshot the cores before stopping: the next start replays more")

    def _on_overflow(self, mailbox: str, message: Message) -> None:
        text = f"mailbox {mailbox} stayed full past its bound; {type(message).__name__} enqueued late, not dropped"
        logger.critical(text)
        self.publish(Alert(level="critical", source="runtime", text=text), origin=RUNTIME_ORIGIN)
