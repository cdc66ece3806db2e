"""Throughput of the actor runtime, measured against bare pykka in the same run.

1. End-to-end: ticks pushed through a chain of STAGES threaded-runtime actors (policy mailboxes, seq/ts stamping,
   routing table, quiescence accounting) vs a bare pykka ThreadingActor chain of the same length passing the same
   msgspec messages (each hop builds the next stage's message, as a node stage does). Target: the node keeps >= 80%
   of bare pykka's rate.
2. Deterministic replay: messages per second through the single-FIFO dispatcher. Target: >= 100k messages/s.

Each measurement is repeated; medians are printed.  Usage: uv run python scripts/bench_throughput.py [--ticks N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

import pykka

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from actors.runtime.clock import VirtualClock, WallClock  # noqa: E402
from actors.runtime.core import ActorCore, Context  # noqa: E402
from actors.runtime.deterministic import DeterministicRuntime  # noqa: E402
from actors.runtime.threaded import ThreadedRuntime  # noqa: E402
from messages import Message  # noqa: E402
from messages.base import Event  # noqa: E402

STAGES = 4


class Hop(Event, frozen=True, kw_only=True):
    """A tick in flight; `stage` is the next actor to take it (routing is by type, so each stage has its own)."""

    n: int


HOP_TYPES = [type(f"Hop{i}", (Hop,), {}, frozen=True, kw_only=True) for i in range(STAGES + 1)]


def _stage_core(index: int, done: threading.Event | None, total: int) -> type[ActorCore]:
    incoming, outgoing = HOP_TYPES[index], HOP_TYPES[index + 1]

    class Stage(ActorCore):
        name = f"stage{index}"
        subscriptions = (incoming,)

        def handle(self, message: Message, ctx: Context) -> None:
            if index == STAGES - 1:
                if done is not None and message.n == total - 1:  # type: ignore[attr-defined]
                    done.set()
                return
            ctx.publish(outgoing(n=message.n))  # type: ignore[attr-defined]

    return Stage


def node_chain_rate(ticks: int) -> float:
    done = threading.Event()
    runtime = ThreadedRuntime([_stage_core(i, done, ticks) for i in range(STAGES)], WallClock())
    runtime.start()
    first = HOP_TYPES[0]
    started = time.perf_counter()
    for n in range(ticks):
        runtime.publish(first(n=n))
    done.wait(timeout=120)
    elapsed = time.perf_counter() - started
    runtime.stop()
    return ticks / elapsed


class BareStage(pykka.ThreadingActor):
    """The same hop as a node stage, with nothing else: take a msgspec tick, tell the next actor a new one."""

    def __init__(self, index: int, next_ref: pykka.ActorRef | None, done: threading.Event, total: int) -> None:
        super().__init__()
        self._outgoing = HOP_TYPES[index + 1]
        self._next = next_ref
        self._done = done
        self._total = total

    def on_receive(self, message: Hop) -> None:
        if self._next is None:
            if message.n == self._total - 1:
                self._done.set()
            return
        self._next.tell(self._outgoing(n=message.n))


def bare_chain_rate(ticks: int) -> float:
    done = threading.Event()
    refs: list[pykka.ActorRef] = []
    next_ref = None
    for index in reversed(range(STAGES)):
        next_ref = BareStage.start(index, next_ref, done, ticks)
        refs.append(next_ref)
    head = refs[-1]
    first = HOP_TYPES[0]
    started = time.perf_counter()
    for n in range(ticks):
        head.tell(first(n=n))
    done.wait(timeout=120)
    elapsed = time.perf_counter() - started
    for ref in refs:
        ref.stop()
    return ticks / elapsed


def replay_rate(ticks: int) -> float:
    runtime = DeterministicRuntime([_stage_core(i, None, ticks) for i in range(STAGES)], VirtualClock(1))
    runtime.start()
    first = HOP_TYPES[0]
    started = time.perf_counter()
    for n in range(ticks):
        runtime.inject(first(ts=n + 1, n=n))
    elapsed = time.perf_counter() - started
    return len(runtime.history) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    node, bare, replay = [], [], []
    for _ in range(args.repeat):
        bare.append(bare_chain_rate(args.ticks))
        node.append(node_chain_rate(args.ticks))
        replay.append(replay_rate(args.ticks))
    node_median, bare_median = statistics.median(node), statistics.median(bare)
    print(f"{STAGES}-actor chain, {args.ticks} ticks, {args.repeat} runs (medians)")
    print(f"  bare pykka chain   {bare_median:>10,.0f} ticks/s")
    print(f"  thetanode runtime  {node_median:>10,.0f} ticks/s  ({node_median / bare_median:.0%} of bare; target >= 80%)")
    print(f"  deterministic replay {statistics.median(replay):>8,.0f} messages/s (target >= 100,000)")


if __name__ == "__main__":
    main()
