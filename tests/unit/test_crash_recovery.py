"""A node restarted on the same lake rebuilds its actors from the earlier sessions' journals and carries on:
the open strategy is still managed, and no order id or position is repeated."""

from __future__ import annotations

import threading

import pytest

from actors.config import config_from_mapping
from actors.demo import DEMO_DEFAULTS
from actors.market_time import NS_PER_DAY
from actors.node import RUN_MODE, core_factories, earlier_sessions, lake_journal, sim_start_ns
from actors.runtime.clock import VirtualClock
from actors.runtime.threaded import ThreadedRuntime
from messages import (
    Message,
    NodeStarted,
    OpenStrategy,
    PlaceOrder,
    ReconciliationResult,
    StrategyClosed,
    StrategyOpened,
)


def _session(config, session_id: str, start_ns: int, until: type[Message], history=None) -> list[Message]:
    seen: list[Message] = []
    lock = threading.Lock()
    done = threading.Event()

    def watch(message: Message) -> None:
        with lock:
            seen.append(message)
        if isinstance(message, until):
            done.set()

    runtime = ThreadedRuntime(core_factories(config, session_id, lake_journal(config), sim_start_ns(config)),
                              VirtualClock(start_ns), config.mailbox, config.supervisor)
    if history:
        assert runtime.prime(history) > 0
    runtime.observers.append(watch)
    runtime.start()
    runtime.publish(NodeStarted(session_id=session_id, mode=RUN_MODE))
    try:
        runtime.run_virtual(start_ns + 60 * NS_PER_DAY, keep_going=lambda: not done.is_set())
    finally:
        runtime.stop()
    return sorted(seen, key=lambda m: m.seq)


@pytest.mark.timeout(180)
def test_restart_rebuilds_open_strategy_and_never_reuses_an_order_id(tmp_path):
    config = config_from_mapping({**DEMO_DEFAULTS, "node": {"lake_uri": str(tmp_path)}})
    first = _session(config, "first", sim_start_ns(config), until=StrategyOpened)
    opened = next(m for m in first if isinstance(m, StrategyOpened))

    history = earlier_sessions(lake_journal(config), "second")
    assert [m.seq for m in history] == [m.seq for m in first]
    second = _session(config, "second", first[-1].ts, until=StrategyClosed, history=history)

    closed = next(m for m in second if isinstance(m, StrategyClosed))
    assert closed.strategy_id == opened.strategy_id, "the rebuilt node manages the strategy the first one opened"
    reopened_before_close = [m for m in second if isinstance(m, OpenStrategy) and m.seq < closed.seq]
    assert reopened_before_close == [], "no second position while the first is still open"
    reconciled = [m for m in second if isinstance(m, ReconciliationResult)]
    assert reconciled and all(m.ok for m in reconciled), "the rebuilt broker and strategies agree"
    order_ids = [m.client_order_id for m in first + second if isinstance(m, PlaceOrder)]
    assert len(order_ids) == len(set(order_ids))


def test_demo_sessions_in_the_same_lake_are_not_rebuilt_from(tmp_path):
    from storage.journal import DeltaJournal

    journal = DeltaJournal(str(tmp_path))
    journal.append("demo-1", [NodeStarted(ts=1, seq=1, session_id="demo-1", mode="demo")])
    journal.append("run-1", [NodeStarted(ts=2, seq=1, session_id="run-1", mode=RUN_MODE)])
    assert [m.session_id for m in earlier_sessions(journal, "run-2")] == ["run-1"]
