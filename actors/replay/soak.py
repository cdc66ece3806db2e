"""Soak driver: the threaded node on a scripted market fed far faster than normal, with a slow journal, for a
memory and back-pressure verdict. Used by the memory tests (short form) and scripts/soak_memory.py (long form).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from actors.config import NodeConfig, config_from_mapping
from actors.market_time import NS_PER_S
from actors.node import core_factories
from actors.replay.profile import heap_after_warmup, tracked
from actors.runtime.clock import VirtualClock
from actors.runtime.threaded import ThreadedRuntime
from messages import IndexQuote, Message, RawQuote, UnderlyingQuote

START_NS = 1_772_461_800_000_000_000  # Monday 2026-03-02 14:30 UTC, the open
NORMAL_QUOTES_PER_S = 1.0
"""The normal scripted underlying-quote rate; the soak multiplies it."""


class SlowJournal:
    """A journal writer that takes `delay_s` per commit and keeps nothing: a slow disk or a far object store."""

    def __init__(self, delay_s: float) -> None:
        self._delay_s = delay_s
        self.written = 0

    def committed_version(self, session_id: str) -> int:
        return 0

    def append(self, session_id: str, messages: list[Message], version: int) -> None:
        time.sleep(self._delay_s)
        self.written += len(messages)


@dataclass(frozen=True)
class SoakResult:
    quotes_offered: int
    journaled: int
    mailboxes: tuple[dict[str, int | str], ...]
    peak_bytes: int
    heap_after_warmup_bytes: int
    heap_at_end_bytes: int

    @property
    def growth_bytes(self) -> int:
        return self.heap_at_end_bytes - self.heap_after_warmup_bytes


def soak_config(block_bound: int = 2_000) -> NodeConfig:
    return config_from_mapping(
        {"sim": {"market": "scripted"}, "mailbox": {"block_bound": block_bound, "block_timeout_s": 30.0},
         "persistence": {"batch_max": 500, "flush_interval_ms": 50}}
    )


def run_soak(capture: Path, hours: float, rate_multiple: float = 10.0, journal_delay_s: float = 0.002,
             config: NodeConfig | None = None) -> SoakResult:
    config = config or soak_config()
    journal = SlowJournal(journal_delay_s)
    runtime = ThreadedRuntime(core_factories(config, "soak", journal, START_NS), VirtualClock(START_NS),
                              config.mailbox, config.supervisor)
    step_ns = int(NS_PER_S / (NORMAL_QUOTES_PER_S * rate_multiple))
    end_ns = START_NS + int(hours * 3600 * NS_PER_S)
    offered = 0
    with tracked(capture):
        runtime.start()
        try:
            now = START_NS
            while now < end_ns:
                drift = ((offered % 200) - 100) * 0.01
                price = 580.0 + drift
                # the scripted feed: it reaches the node through the broker's quote gate, as a scenario's does
                quote = UnderlyingQuote(ts=now, symbol="SPY", bid=price - 0.05, ask=price + 0.05, last=price)
                runtime.publish(RawQuote(ts=now, quote=quote))
                if offered % 50 == 0:
                    runtime.publish(RawQuote(ts=now, quote=IndexQuote(ts=now, symbol="VIX",
                                                                      value=18.0 + (offered % 7) * 0.1)))
                offered += 1
                now += step_ns
                if offered % 500 == 0:  # let timers (entries, steps, flushes) catch up with the flood
                    runtime.run_virtual(now)
            runtime.run_virtual(end_ns)
            runtime.work.wait_idle(timeout=60)
        finally:
            runtime.stop()
    peak, warm, end = heap_after_warmup(capture, warmup_fraction=0.3)
    return SoakResult(offered, journal.written, tuple(m.metrics.snapshot() for m in runtime.mailboxes.values()),
                      peak, warm, end)
