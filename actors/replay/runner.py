"""Runs a scenario through the real actor cores under a virtual clock and checks its expectations.

Deterministic mode: one global FIFO on the caller's thread — the same scenario gives a byte-identical journal.
Threaded mode: the real pykka actors with quiescence barriers between steps — same expectations, concurrency real.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from actors.node import core_factories
from actors.replay.expect import matches
from actors.replay.scenario import Scenario, Step
from actors.runtime.clock import VirtualClock
from actors.runtime.deterministic import DeterministicRuntime
from actors.runtime.threaded import ThreadedRuntime
from messages import Message
from storage.journal_file import write_journal_file

QUIESCENCE_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class ExpectationResult:
    step: Step
    passed: bool
    matched: Message | None

    def describe(self, scenario: Scenario) -> str:
        verb = "expected" if self.step.kind == "expect" else "expected none of"
        pattern = ", ".join(f"{k}={v}" for k, v in self.step.pattern.items() if k != "type")
        target = f"{self.step.pattern['type']}({pattern})"
        if self.passed:
            return f"{scenario.path}:{self.step.line}: ok, {verb} {target}"
        found = f"; found seq {self.matched.seq}" if self.matched is not None else ""
        return f"{scenario.path}:{self.step.line}: FAILED, {verb} {target}{found}"


@dataclass(frozen=True)
class ReplayResult:
    scenario: Scenario
    history: list[Message]
    expectations: list[ExpectationResult]
    journal_path: Path | None
    stopped_reason: str | None
    mailboxes: tuple[dict[str, int | str], ...] = ()
    """Per-actor mailbox metrics at the end of a threaded replay (depth, high-water, conflated, dropped...)."""

    @property
    def passed(self) -> bool:
        return self.stopped_reason is None and all(result.passed for result in self.expectations)


class _ExpectationChecker:
    """`expect` must match a message published after the one the previous `expect` matched; `expect_none` must not."""

    def __init__(self) -> None:
        self._after_seq = 0
        self.results: list[ExpectationResult] = []

    def check(self, step: Step, history: list[Message]) -> None:
        found = next((m for m in history if m.seq > self._after_seq and matches(step.pattern, m)), None)
        if step.kind == "expect":
            if found is not None:
                self._after_seq = found.seq
            self.results.append(ExpectationResult(step, passed=found is not None, matched=found))
        else:
            self.results.append(ExpectationResult(step, passed=found is None, matched=found))


def replay_deterministic(scenario: Scenario, journal_out: Path | None = None) -> ReplayResult:
    factories = core_factories(scenario.config, scenario.name, None, scenario.start_ns)
    runtime = DeterministicRuntime(factories, VirtualClock(scenario.start_ns), scenario.config.supervisor)
    checker = _ExpectationChecker()
    runtime.start()
    for step in scenario.steps:
        if runtime.stopped_reason is not None:
            break
        runtime.run_until(step.at_ns)
        if step.kind == "send" and step.message is not None:
            runtime.inject(step.message)
        else:
            checker.check(step, runtime.history)
    if journal_out is not None:
        write_journal_file(runtime.history, journal_out)
    return ReplayResult(scenario, list(runtime.history), checker.results, journal_out, runtime.stopped_reason)


class _Recorder:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: list[Message] = []

    def __call__(self, message: Message) -> None:
        with self._lock:
            self._messages.append(message)

    def in_seq_order(self) -> list[Message]:
        with self._lock:
            return sorted(self._messages, key=lambda m: m.seq)

    def inputs_of(self, runtime: ThreadedRuntime, actor: str, before_seq: int, after_seq: int = 0) -> list[Message]:
        """What `actor` had received after `after_seq` and before `before_seq`: the journal a restarted actor is
        rebuilt from."""
        return [m for m in self.in_seq_order()
                if after_seq < m.seq < before_seq and actor in runtime.routes.subscribers(m)]


def replay_threaded(scenario: Scenario, journal_out: Path | None = None) -> ReplayResult:
    recorder = _Recorder()
    holder: list[ThreadedRuntime] = []
    factories = core_factories(scenario.config, scenario.name, None, scenario.start_ns)
    runtime = ThreadedRuntime(
        factories,
        VirtualClock(scenario.start_ns),
        scenario.config.mailbox,
        scenario.config.supervisor,
        journal_source=lambda actor, failed_seq, after_seq: recorder.inputs_of(holder[0], actor, failed_seq, after_seq),
    )
    holder.append(runtime)
    runtime.observers.append(recorder)
    checker = _ExpectationChecker()
    runtime.start()
    try:
        for step in scenario.steps:
            if runtime.stopped.is_set():
                break
            runtime.run_virtual(step.at_ns)
            if step.kind == "send" and step.message is not None:
                runtime.publish(step.message)
            else:
                runtime.work.wait_idle(timeout=QUIESCENCE_TIMEOUT_S)
                checker.check(step, recorder.in_seq_order())
        runtime.work.wait_idle(timeout=QUIESCENCE_TIMEOUT_S)
    finally:
        runtime.stop()
    history = recorder.in_seq_order()
    if journal_out is not None:
        write_journal_file(history, journal_out)
    mailboxes = tuple(mailbox.metrics.snapshot() for mailbox in runtime.mailboxes.values())
    return ReplayResult(scenario, history, checker.results, journal_out, runtime.stop_reason, mailboxes)
