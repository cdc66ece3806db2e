"""Quiescence from per-mailbox counts: idle only when every mailbox is done and nothing moved while looking."""

from __future__ import annotations

import threading

from actors.runtime.work import WorkCounter


class _Unit:
    def __init__(self, work: WorkCounter) -> None:
        self.unfinished = 0
        self.enqueued = 0
        work.register(self)


class _Racing(_Unit):
    """A mailbox whose handler, just as the counter reads it, finishes and sends a message to `other`, which is
    handled at once: by the time the counter looks at `other`, both are empty again."""

    def __init__(self, work: WorkCounter, other: _Unit) -> None:
        super().__init__(work)
        self.other = other
        self._unfinished = 1
        self.enqueued = 1

    @property  # type: ignore[override]
    def unfinished(self) -> int:
        if self._unfinished:
            self._unfinished = 0
            self.other.enqueued += 1
        return self._unfinished

    @unfinished.setter
    def unfinished(self, value: int) -> None:
        self._unfinished = value


def test_a_message_passed_between_mailboxes_while_looking_is_not_idle():
    work = WorkCounter()
    second = _Unit(work)
    _Racing(work, second)
    assert not work.idle()  # every count read zero, but a message moved while they were read
    assert work.idle()  # nothing moves any more


def test_waiters_wake_when_the_last_mailbox_runs_empty():
    work = WorkCounter()
    unit = _Unit(work)
    unit.unfinished, unit.enqueued = 1, 1
    assert work.wait_idle(timeout=0.01) is False

    def finish() -> None:
        unit.unfinished = 0
        work.ran_empty()

    woken = []
    waiter = threading.Thread(target=lambda: woken.append(work.wait_idle(timeout=30)))
    waiter.start()
    threading.Timer(0.05, finish).start()
    waiter.join(timeout=30)
    assert woken == [True]
