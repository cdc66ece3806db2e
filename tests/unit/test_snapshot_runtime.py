"""The threaded runtime snapshots its cores only at exact cuts, and a supervisor restart starts from its snapshot."""

from __future__ import annotations

import threading

import pytest

from actors.runtime import snapshot_codec
from actors.runtime.core import ActorCore, Context
from messages import ActorRestarted, CoreSnapshot, Halt, Message, Resume
from tests.unit.test_runtimes import Counter, _alerts, _report_after_restart, _threaded
from tests.waiting import wait_for


@pytest.fixture(autouse=True)
def _toy_cores_are_snapshotable(monkeypatch):
    monkeypatch.setattr(snapshot_codec, "OWN_PACKAGES", (*snapshot_codec.OWN_PACKAGES, "tests."))


class Gate(ActorCore):
    """Holds each Halt until let through; unsettled while its reason is 'unheard'."""

    name = "gate"
    subscriptions = (Halt, Resume)
    passing = threading.Event()

    def __init__(self) -> None:
        self.seen = 0
        self.unheard = False

    def settled(self) -> bool:
        return not self.unheard

    def handle(self, message: Message, ctx: Context) -> None:
        if isinstance(message, Halt):
            self.passing.wait(10)
            self.seen += 1
            self.unheard = message.reason == "unheard"


@pytest.mark.timeout(30)
def test_a_supervisor_restart_starts_from_the_snapshot_taken_this_session():
    runtime, seen = _threaded([Counter])
    runtime.start()
    try:
        for reason in ("a", "b"):
            runtime.publish(Halt(reason=reason))
        assert runtime.work.wait_idle(timeout=10)
        assert runtime.take_snapshots()
        for reason in ("c", "boom"):
            runtime.publish(Halt(reason=reason))
        _report_after_restart(runtime, seen)
    finally:
        runtime.stop()
    snapshot = next(m for m in seen if isinstance(m, CoreSnapshot))
    restarted = next(m for m in seen if isinstance(m, ActorRestarted))
    assert restarted.replayed == 1  # only "c": a and b are in the snapshot, boom is the poison
    assert snapshot.through_seq < restarted.seq and _alerts(seen) == ["count=3"]


@pytest.mark.timeout(30)
def test_no_snapshot_while_a_message_is_handled_or_a_core_is_unsettled():
    Gate.passing.clear()
    runtime, seen = _threaded([Gate])
    runtime.start()
    try:
        runtime.publish(Halt(reason="held"))
        wait_for(lambda: runtime.work.pending, 5, "the message to be taken")
        assert not runtime.take_snapshots()  # delivered, not yet handled
        Gate.passing.set()
        assert runtime.work.wait_idle(timeout=10)
        runtime.publish(Halt(reason="unheard"))
        assert runtime.work.wait_idle(timeout=10)
        assert not runtime.take_snapshots()  # the core holds what the node has not heard
        runtime.publish(Halt(reason="heard"))
        assert runtime.work.wait_idle(timeout=10)
        assert runtime.take_snapshots()
    finally:
        Gate.passing.set()
        runtime.stop()
    snapshots = [m for m in seen if isinstance(m, CoreSnapshot)]
    assert len(snapshots) == 1 and snapshots[0].through_seq == max(m.seq for m in seen if isinstance(m, Halt))


@pytest.mark.timeout(30)
def test_a_graceful_stop_snapshots_the_cores_once_nothing_runs():
    runtime, seen = _threaded([Counter])
    runtime.snapshot_at_stop = True
    runtime.start()
    for reason in ("a", "b"):
        runtime.publish(Halt(reason=reason))
    runtime.stop()
    snapshots = [m for m in seen if isinstance(m, CoreSnapshot)]
    assert len(snapshots) == 1 and snapshots[0].through_seq == max(m.seq for m in seen if isinstance(m, Halt))


@pytest.mark.timeout(30)
def test_no_snapshot_while_another_thread_has_stamped_a_message_it_has_not_delivered_yet():
    runtime, seen = _threaded([Counter])
    stamped, release = threading.Event(), threading.Event()

    def hold_the_delivery(message: Message) -> None:  # observers run between stamping and delivery
        if isinstance(message, Halt) and message.reason == "held":
            stamped.set()
            release.wait(10)

    runtime.observers.append(hold_the_delivery)
    runtime.start()
    publisher = threading.Thread(target=runtime.publish, args=(Halt(reason="held"),))
    try:
        runtime.publish(Halt(reason="a"))
        assert runtime.work.wait_idle(timeout=10)
        publisher.start()
        assert stamped.wait(10)
        assert runtime.work.idle()  # nothing queued, nothing handled: only the stamp says a message is coming
        assert not runtime.take_snapshots()
        release.set()
        publisher.join(10)
        assert runtime.work.wait_idle(timeout=10)
        assert runtime.take_snapshots()
    finally:
        release.set()
        runtime.stop()
    snapshot = next(m for m in seen if isinstance(m, CoreSnapshot))
    assert snapshot.through_seq == max(m.seq for m in seen if isinstance(m, Halt))
