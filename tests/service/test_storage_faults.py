"""Storage faults are loud and safe, on a real filesystem: the lake's journal on a small tmpfs that is filled to the
last byte or remounted read-only while the node trades (the write-ahead log stays on another disk).

From the first failed commit: `StorageStateChanged(journal, failing)`, a critical alert, /health 503 naming
persistence, no new entry, and retries paced by capped backoff in wall time (not one per flush timer); a position
still closes through the write-ahead log; once the disk is back, everything held lands in the lake."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request

import pytest

from actors.config import config_from_mapping
from actors.demo import DEMO_DEFAULTS
from actors.market_time import NS_PER_DAY
from actors.node import core_factories, open_write_ahead, sim_start_ns
from actors.runtime.clock import VirtualClock
from actors.runtime.threaded import ThreadedRuntime
from actors.service.health import NodeHealth, serve_health
from messages import (
    Alert,
    IntentDenied,
    Message,
    NodeStarted,
    StorageStateChanged,
    StrategyClosed,
    StrategyOpened,
)
from storage.journal import DeltaJournal
from storage.journal_process import JournalProcess
from storage.lake_writer import LakeWriter
from tests.mounts import tmpfs


class Counting:
    """A journal writer (in this process or the writer process) whose commit attempts are timed."""

    def __init__(self, writer: LakeWriter | JournalProcess) -> None:
        self.writer = writer
        self.attempts: list[float] = []

    def committed_version(self, session_id: str) -> int:
        return self.writer.committed_version(session_id)

    def append(self, session_id, messages, version) -> None:  # noqa: ANN001 - JournalWriter's signature
        self.attempts.append(time.monotonic())
        self.writer.append(session_id, messages, version)

    def close(self) -> None:
        self.writer.close()


class Observed:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.lock = threading.Lock()

    def __call__(self, message: Message) -> None:
        with self.lock:
            self.messages.append(message)

    def of(self, kind: type, where=lambda _: True) -> list:  # noqa: ANN001 - a predicate
        with self.lock:
            return [m for m in self.messages if isinstance(m, kind) and where(m)]


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.timeout(180)
@pytest.mark.parametrize("fault", ["full", "read_only"])
@pytest.mark.parametrize("commits", ["process", "in_process"])
def test_a_failing_journal_is_loud_opens_nothing_still_closes_and_catches_up(tmp_path, fault, commits):
    lake = tmp_path / "lake"
    with tmpfs(lake / "journal", size="16m") as disk:  # room for the lake's own files; the faults fill the rest
        break_disk, mend_disk = (disk.fill, disk.free) if fault == "full" else (disk.read_only, disk.writable)
        config = config_from_mapping({**DEMO_DEFAULTS, "node": {"lake_uri": str(lake)},
                                      "persistence": {"flush_interval_ms": 600_000, "retry_max_s": 0.4}})
        # the storage error comes from the writer process's own commit, or from this process's
        writer = Counting(JournalProcess(str(lake)) if commits == "process" else LakeWriter(DeltaJournal(str(lake))))
        write_ahead = open_write_ahead(config, LakeWriter(DeltaJournal(str(lake))), "faults")
        start = sim_start_ns(config)
        runtime = ThreadedRuntime(core_factories(config, "faults", writer, start, spill=write_ahead.spill),
                                  VirtualClock(start), config.mailbox, config.supervisor, write_ahead=write_ahead)
        seen, health = Observed(), NodeHealth(runtime, config.market_data.stale_after_s)
        runtime.observers += [seen, health.observe]
        server = serve_health(health, "127.0.0.1", 0)
        url = f"http://127.0.0.1:{server.server_address[1]}/health"
        outage: dict[str, object] = {}

        def failing() -> bool:
            return bool(seen.of(StorageStateChanged, lambda m: m.store == "journal" and m.state == "failing"))

        def keep_going() -> bool:
            """Phase 1: broken from the start, until entries were refused. Phase 2: broken again once a condor is
            open, until it closed. Then stop."""
            if "first" not in outage:
                outage["first"] = time.monotonic()
                break_disk()
            elif "mended" not in outage and len(seen.of(IntentDenied, lambda m: m.check == "persistence")) >= 2:
                outage["health"] = _get(url)
                outage["window"] = [t for t in writer.attempts]
                mend_disk()
                outage["mended"] = time.monotonic()
            elif "mended" in outage and "second" not in outage and seen.of(StrategyOpened):
                outage["second"] = len(seen.of(StorageStateChanged))
                break_disk()
            elif "second" in outage and seen.of(StrategyClosed):
                mend_disk()
                return False
            return True

        runtime.start()
        try:
            runtime.publish(NodeStarted(session_id="faults", mode="demo"))
            runtime.run_virtual(start + 60 * NS_PER_DAY, keep_going=keep_going)
        finally:
            runtime.stop(timeout_s=60)  # persistence catches up on everything held before it stops
            writer.close()
            write_ahead.close()
            server.shutdown()
        journaled = {type(m).__name__ for m in DeltaJournal(str(lake)).read("faults")}

    assert "second" in outage and seen.of(StrategyClosed), "the scenario did not run through"
    states = [(m.state, m.seq) for m in seen.of(StorageStateChanged, lambda m: m.store == "journal")]
    assert [state for state, _ in states][:4] == ["failing", "ok", "failing", "ok"]
    [first_failure] = seen.of(StorageStateChanged, lambda m: m.seq == states[0][1])
    assert ("No space left" if fault == "full" else "Read-only") in first_failure.reason
    assert seen.of(Alert, lambda m: m.level == "critical" and "journal commits failing" in m.text)
    status, document = outage["health"]
    assert status == 503 and any(p.startswith("persistence: journal failing") for p in document["problems"])
    # paced: the first outage saw at most a handful of attempts per second of wall time, whatever the flush timers
    window = outage["window"]
    assert len(window) <= 4 + 4 * (outage["mended"] - outage["first"]), len(window)
    # no entry while failing: every OpenStrategy decided during an outage was refused by risk
    denied = {m.strategy_id for m in seen.of(IntentDenied, lambda m: m.check == "persistence")}
    assert denied and not denied & {m.strategy_id for m in seen.of(StrategyOpened)}
    # the exit went out during the second outage, through the write-ahead log
    [closed] = seen.of(StrategyClosed)
    second_failing = [seq for state, seq in states if state == "failing"][1]
    second_ok = [seq for state, seq in states if state == "ok"][1]
    assert second_failing < closed.seq < second_ok
    # and once the disk was back, the lake caught up on everything held
    assert {"IntentDenied", "StrategyOpened", "StrategyClosed", "StorageStateChanged", "Alert"} <= journaled
