"""A virtual clock does not wait on a sink that paces nothing (persistence committing by wall time), yet the sink
loses nothing and stops when asked; the quiescence waiter is woken once the whole node is idle, not per mailbox."""

from __future__ import annotations

import threading

import pytest

from actors.runtime.actor import Envelope
from actors.runtime.core import ActorCore, Context
from actors.runtime.delivery import lossless
from actors.runtime.mailbox import LAZY_BATCH, Mailbox
from actors.runtime.work import WorkCounter
from messages import Alert, Halt, Message
from tests.unit.test_runtimes import SECOND, START, Ticker, _alerts, _threaded
from tests.waiting import wait_for


class SlowSink(ActorCore):
    """Records every message; blocks on each one until let through, like a long storage commit."""

    name = "sink"
    subscriptions = (Message,)
    replay_on_restart = False
    passing = threading.Event()

    def __init__(self) -> None:
        self.paces_virtual_clock = False
        self.seen: list[Message] = []

    def handle(self, message: Message, ctx: Context) -> None:
        self.passing.wait(30)
        self.seen.append(message)


@pytest.mark.timeout(60)
def test_virtual_time_runs_on_while_a_sink_that_paces_nothing_is_busy_and_the_sink_loses_nothing():
    SlowSink.passing.clear()
    sinks: list[SlowSink] = []

    def sink() -> SlowSink:
        sinks.append(SlowSink())
        return sinks[-1]

    runtime, seen = _threaded([Ticker, sink])
    runtime.start()
    try:
        runtime.run_virtual(START + 5 * SECOND)  # returns although the sink has handled nothing yet
        assert _alerts(seen) == [f"tick at {START + n * SECOND}" for n in range(1, 6)]
        assert not sinks[-1].seen
        SlowSink.passing.set()
    finally:
        SlowSink.passing.set()
        runtime.stop()
    published = [m.seq for m in seen]
    assert [m.seq for m in sinks[-1].seen] == published  # every message, in order, handled before the stop


def _lazy_mailbox() -> Mailbox:
    return Mailbox("sink", lossless, 10_000, 1.0, 10, wakes_lazily=True)


def _taker(mailbox: Mailbox, taken: list) -> threading.Thread:
    def take() -> None:
        while True:
            envelope = mailbox.get()
            taken.append(envelope.message)
            if not isinstance(envelope.message, Message):
                return

    thread = threading.Thread(target=take, daemon=True)
    thread.start()
    return thread


def test_a_lazily_woken_mailbox_still_delivers_a_single_message_and_a_stop():
    mailbox = _lazy_mailbox()
    taken: list = []
    thread = _taker(mailbox, taken)
    mailbox.put(Envelope(Halt(reason="one")))
    wait_for(lambda: len(taken) == 1, 5, "the single message, found by the idle actor looking again")
    for n in range(LAZY_BATCH + 5):
        mailbox.put(Envelope(Alert(level="info", source="t", text=str(n))))
    mailbox.put(Envelope("stop"))  # pykka's control envelopes are not Messages
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert [m.text for m in taken[1:-1]] == [str(n) for n in range(LAZY_BATCH + 5)] and taken[-1] == "stop"


def test_get_with_a_timeout_on_a_lazy_mailbox_gives_up():
    with pytest.raises(TimeoutError):
        _lazy_mailbox().get(timeout=0.05)


class _Unit:
    def __init__(self, work: WorkCounter) -> None:
        self.unfinished = 0
        self.enqueued = 0
        work.register(self)


def test_the_quiescence_waiter_is_woken_only_when_the_last_busy_mailbox_runs_empty():
    work = WorkCounter()
    first, second = _Unit(work), _Unit(work)
    first.unfinished = second.unfinished = 1
    woken: list[bool] = []
    waiter = threading.Thread(target=lambda: woken.append(work.wait_idle(timeout=30)))
    waiter.start()
    wait_for(lambda: work._waiters, 5, "the waiter")
    first.unfinished = 0
    work.ran_empty()
    assert not work._settled.is_set()  # the second is still busy: no pointless wake
    second.unfinished = 0
    work.ran_empty()
    waiter.join(timeout=30)
    assert woken == [True]
