"""Both runtimes drive the same toy cores: routing, timers, supervision with state replay, giving up."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from actors.runtime.clock import TimerQueue, VirtualClock, WallClock
from actors.runtime.config import SupervisorSection
from actors.runtime.core import ActorCore, Context
from actors.runtime.deterministic import DeterministicRuntime
from actors.runtime.threaded import ThreadedRuntime
from messages import ActorFailed, ActorRestarted, Alert, Halt, Message, NodeStopping, Resume, TimerFired
from tests.waiting import wait_for

START = 1_000_000_000_000
SECOND = 1_000_000_000
FAST_SUPERVISOR = SupervisorSection(max_restarts=2, restart_window_s=60, backoff_initial_s=0.0, backoff_max_s=0.0)


class Counter(ActorCore):
    """Counts Halt commands, fails on the one whose reason is 'boom', alerts the running count on Resume."""

    name = "counter"
    subscriptions = (Halt, Resume)

    def __init__(self) -> None:
        self.count = 0

    def handle(self, message: Message, ctx: Context) -> None:
        if isinstance(message, Halt):
            if message.reason == "boom":
                raise RuntimeError("boom")
            self.count += 1
        else:
            ctx.publish(Alert(level="info", source=self.name, text=f"count={self.count}"))


class Ticker(ActorCore):
    name = "ticker"
    subscriptions = (TimerFired,)

    def on_start(self, ctx: Context) -> None:
        ctx.set_timer("tick", ctx.now() + SECOND)

    def handle(self, message: Message, ctx: Context) -> None:
        assert isinstance(message, TimerFired) and message.target == self.name
        ctx.publish(Alert(level="info", source=self.name, text=f"tick at {ctx.now()}"))
        ctx.set_timer("tick", ctx.now() + SECOND)


def _alerts(history: list[Message]) -> list[str]:
    return [m.text for m in history if isinstance(m, Alert)]


def test_deterministic_timers_fire_in_time_order_with_message_time():
    runtime = DeterministicRuntime([Ticker], VirtualClock(START))
    runtime.start()
    runtime.run_until(START + 3 * SECOND)
    assert _alerts(runtime.history) == [f"tick at {START + n * SECOND}" for n in (1, 2, 3)]
    assert [m.seq for m in runtime.history] == list(range(1, len(runtime.history) + 1))


def test_deterministic_restart_rebuilds_state_and_skips_the_poison_message():
    runtime = DeterministicRuntime([Counter], VirtualClock(START), FAST_SUPERVISOR)
    runtime.start()
    for reason in ("a", "b", "boom", "c"):
        runtime.inject(Halt(reason=reason))
    runtime.inject(Resume(reason="report"))
    failed = [m for m in runtime.history if isinstance(m, ActorFailed)]
    restarted = [m for m in runtime.history if isinstance(m, ActorRestarted)]
    assert len(failed) == 1 and "boom" in failed[0].error
    assert restarted[0].replayed == 2
    assert _alerts(runtime.history) == ["count=3"]


def test_deterministic_gives_up_after_max_restarts():
    runtime = DeterministicRuntime([Counter], VirtualClock(START), FAST_SUPERVISOR)
    runtime.start()
    for _ in range(3):
        runtime.inject(Halt(reason="boom"))
    assert runtime.stopped_reason is not None and "failed 3 times" in runtime.stopped_reason
    assert any(isinstance(m, NodeStopping) for m in runtime.history)


def _report_after_restart(runtime: ThreadedRuntime, seen: list[Message]) -> None:
    """Once the supervisor has restarted the counter, ask it for its count and wait for the answer."""
    wait_for(lambda: any(isinstance(m, ActorRestarted) for m in list(seen)), 5.0, "the restart")
    runtime.publish(Resume(reason="report"))
    wait_for(lambda: bool(_alerts(list(seen))), 5.0, "the alert")


def _threaded(factories, supervisor=FAST_SUPERVISOR) -> tuple[ThreadedRuntime, list[Message]]:
    seen: list[Message] = []
    holder: list[ThreadedRuntime] = []

    def inputs(actor: str, failed_seq: int, after_seq: int) -> list[Message]:
        return [m for m in sorted(seen, key=lambda m: m.seq)
                if after_seq < m.seq < failed_seq and actor in holder[0].routes.subscribers(m)]

    runtime = ThreadedRuntime(factories, VirtualClock(START), supervisor=supervisor, journal_source=inputs)
    holder.append(runtime)
    runtime.observers.append(seen.append)
    return runtime, seen


def test_threaded_virtual_clock_fires_timers_at_quiescence():
    runtime, seen = _threaded([Ticker])
    runtime.start()
    try:
        runtime.run_virtual(START + 3 * SECOND)
        runtime.work.wait_idle(timeout=5)
    finally:
        runtime.stop()
    assert _alerts(seen) == [f"tick at {START + n * SECOND}" for n in (1, 2, 3)]


@pytest.mark.timeout(30)
def test_threaded_supervisor_restarts_actor_with_replayed_state_on_the_same_mailbox():
    runtime, seen = _threaded([Counter])
    runtime.start()
    try:
        for reason in ("a", "b", "boom", "c"):
            runtime.publish(Halt(reason=reason))
        runtime.work.wait_idle(timeout=10)
        _report_after_restart(runtime, seen)
    finally:
        runtime.stop()
    assert any(isinstance(m, ActorFailed) for m in seen)
    assert _alerts(seen) == ["count=3"]


@pytest.mark.timeout(30)
def test_threaded_stops_the_node_after_repeated_failures():
    runtime, seen = _threaded([Counter])
    runtime.start()
    try:
        for _ in range(3):
            runtime.publish(Halt(reason="boom"))
            runtime.work.wait_idle(timeout=5)
            for _ in range(300):
                if runtime.stopped.is_set() or runtime.mailboxes["counter"].empty():
                    break
                runtime.stopped.wait(0.01)
            runtime.stopped.wait(0.2)
        assert runtime.stopped.wait(10)
    finally:
        runtime.stop()
    assert runtime.stop_reason is not None and "stopping the node" in runtime.stop_reason


@pytest.mark.timeout(30)
def test_threaded_restart_after_priming_keeps_the_earlier_sessions_state():
    runtime, seen = _threaded([Counter])
    earlier = [Halt(ts=START - 10 * SECOND, seq=n, reason="earlier") for n in (1, 2)]
    assert runtime.prime(earlier) == 2
    runtime.start()
    try:
        for reason in ("a", "boom"):
            runtime.publish(Halt(reason=reason))
            runtime.work.wait_idle(timeout=5)
        _report_after_restart(runtime, seen)
    finally:
        runtime.stop()
    assert _alerts(seen) == ["count=3"]  # two from the earlier session, one from this one


@pytest.mark.timeout(30)
def test_threaded_restart_reads_the_earlier_sessions_again_only_for_the_actors_types():
    runtime, seen = _threaded([Counter])
    earlier = [Halt(ts=START - 10 * SECOND, seq=n, reason="earlier") for n in (1, 2)]
    asked: list[tuple[type[Message], ...]] = []

    def reread(types: tuple[type[Message], ...]) -> list[Message]:
        asked.append(types)
        return earlier

    assert runtime.prime(iter(earlier), reread=reread) == 2
    runtime.start()
    try:
        for reason in ("a", "boom"):
            runtime.publish(Halt(reason=reason))
            runtime.work.wait_idle(timeout=5)
        _report_after_restart(runtime, seen)
    finally:
        runtime.stop()
    assert _alerts(seen) == ["count=3"]
    assert len(asked) == 1 and Halt in asked[0] and Alert not in asked[0]


class DueNow(ActorCore):
    """On a Halt: arms its timer an hour ahead, then again for now (re-arming replaces); alerts when it fires."""

    name = "due"
    subscriptions = (Halt, TimerFired)

    def handle(self, message: Message, ctx: Context) -> None:
        if isinstance(message, Halt):
            ctx.set_timer("k", ctx.now() + 3600 * SECOND)
            ctx.set_timer("k", ctx.now())
        else:
            ctx.publish(Alert(level="info", source=self.name, text=f"fired {message.key}"))


@contextlib.contextmanager
def _on_wall_clock(core: type[ActorCore]) -> Iterator[tuple[ThreadedRuntime, list[Message]]]:
    """`core` running on a wall clock, asked to arm its timers by a Halt; yields the runtime and what it published."""
    runtime = ThreadedRuntime([core], WallClock())
    seen: list[Message] = []
    runtime.observers.append(seen.append)
    runtime.start()
    try:
        runtime.publish(Halt(reason="arm"))
        yield runtime, seen
    finally:
        runtime.stop()


def test_threaded_wall_clock_fires_a_timer_armed_for_now_once_and_drops_the_arming_it_replaced():
    with _on_wall_clock(DueNow) as (runtime, seen):
        wait_for(lambda: "fired k" in _alerts(seen), 10, "the timer armed for now")
        assert len(runtime.timers) == 0  # the hour-ahead arming was replaced: it will never fire as well
    assert _alerts(seen) == ["fired k"]


def test_an_arming_says_whether_it_became_the_first_timer_to_fire():
    """Only then must the wall clock's timer thread be woken: it wakes for the first timer anyway."""
    timers = TimerQueue()
    assert timers.arm("a", "late", 30)
    assert not timers.arm("b", "later", 40)
    assert timers.arm("b", "soon", 10)
    assert not timers.arm("a", "late", 20)  # re-armed earlier, but still behind "soon"
    assert not timers.arm("b", "soon", 10)  # re-armed for the same instant: the thread already waits for it
    assert [key for _, _, key in timers.pop_due(100)] == ["soon", "late", "later"]


class Staggered(ActorCore):
    """On a Halt: arms a first timer, then two that fire after it (neither needs the timer thread woken)."""

    name = "staggered"
    subscriptions = (Halt, TimerFired)

    def handle(self, message: Message, ctx: Context) -> None:
        if isinstance(message, Halt):
            for key, after_ms in (("first", 200), ("second", 400), ("third", 600)):
                ctx.set_timer(key, ctx.now() + after_ms * 1_000_000)
        else:
            ctx.publish(Alert(level="info", source=self.name, text=message.key))


def test_threaded_wall_clock_fires_timers_armed_behind_the_first_in_order():
    with _on_wall_clock(Staggered) as (_, seen):
        wait_for(lambda: len(_alerts(seen)) == 3, 10, "the three timers")
    assert _alerts(seen) == ["first", "second", "third"]


class QuoteReader(ActorCore):
    name = "reader"
    subscriptions = (Halt,)
    wakes_on_market_data = False


def test_quotes_wake_a_core_that_only_reads_them_lazily_on_a_wall_clock_only():
    """A virtual clock steps only once every actor is idle: a quote left for the linger would hold each step."""
    assert ThreadedRuntime([QuoteReader], WallClock()).mailboxes["reader"].market_data_wakes_lazily
    assert not ThreadedRuntime([QuoteReader], VirtualClock(START)).mailboxes["reader"].market_data_wakes_lazily
    assert not ThreadedRuntime([Counter], WallClock()).mailboxes["counter"].market_data_wakes_lazily
