"""The floor under `bench_latency.py`: the tick→order path with no runtime at all, to tell what the target needs.

Bare threads hand each other plain tuples through C queues (`queue.SimpleQueue`: no routing, stamping, conflation,
policies or quiescence accounting). Each thread burns, in Python and holding the GIL as real work would, the CPU per
background tick that `bench_latency.py` measured for its actor (stop 30, 10k ticks/s): the feed's publish 17 µs,
decision 38 µs, risk 6 µs, persistence 7 µs; and a process beside the node burns what the journal writer process
spends, 36 µs a tick, one batch every 100 ms (the flush interval), on the machine's other core. The feed publishes
in bursts of one millisecond's worth: each tick to decision, each burst once to risk and persistence (which the node
wakes lazily for quotes); every 100 ms it publishes the measured tick, which goes decision → risk →
execution (a 200-byte write and an fsync into a file, as the write-ahead log does) → broker. Latency: the measured
tick's publish to the broker thread taking it.

`--scale` multiplies every per-tick cost (1 = the node as measured). `--layout process` runs the decision in a
process of its own: the feed sends each burst through a pipe, the decision process sends the measured tick back, and
a thread of the node process hands it to risk (one more hand-off, off the node's GIL for the decision's work).
Scales and layouts alternate, run by run.

Usage: uv run python scripts/bench_latency_floor.py [--scale 1 0.5 0.33 0.1] [--layout threads process] [--rounds 3]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import queue
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass

import numpy as np

RATE = 10_000
PER_BURST = RATE // 1000
ORDER_EVERY_S = 0.1
STOP = ("stop", 0.0)
FLUSH_INTERVAL_S = 0.1  # [persistence] flush_interval_ms


@dataclass(frozen=True)
class Costs:
    """Python CPU per background tick (µs), by thread."""

    feed: float = 17.0
    decision: float = 38.0
    risk: float = 6.0
    persistence: float = 7.0
    writer: float = 36.0
    """The journal writer, a process of its own: its share of the machine's two cores, not of the node's GIL."""

    def scaled(self, factor: float) -> Costs:
        return Costs(*(value * factor for value in vars(self).values()))


def burn(microseconds: float) -> None:
    """Busy Python for this long: the GIL held, given up only when another thread asks for it, as real work does."""
    end = time.perf_counter() + microseconds / 1e6
    while time.perf_counter() < end:
        pass


def _judge(inbox: queue.SimpleQueue, outbox: queue.SimpleQueue, cost_us: float) -> None:
    """The decision on a thread of the node: every background tick costs `cost_us`; the measured one goes to risk."""
    while (message := inbox.get()) != STOP:
        if message[0] == "tick":
            burn(cost_us)
        else:
            outbox.put(message)
    outbox.put(STOP)


def _decision_process(ticks, orders, cost_us: float) -> None:  # noqa: ANN001 (multiprocessing connections)
    """The decision in a process of its own: the same work on its own GIL, a burst of ticks per pipe message."""
    while True:
        for message in ticks.recv():
            if message == STOP:
                orders.send(STOP)
                return
            if message[0] == "tick":
                burn(cost_us)
            else:
                orders.send(message)


def _journal_writer(cost_us: float, stop) -> None:  # noqa: ANN001 (a multiprocessing event)
    """The writer process's CPU as the node's flushes bring it: one batch of ticks every flush interval."""
    while not stop.is_set():
        began = time.perf_counter()
        burn(cost_us * RATE * FLUSH_INTERVAL_S)
        time.sleep(max(0.0, FLUSH_INTERVAL_S - (time.perf_counter() - began)))


def run(costs: Costs, layout: str, orders: int, wal_path: str) -> list[float]:
    """Milliseconds from each measured tick's publish to the broker taking it."""
    to_decision, to_risk, to_execution, to_broker, to_persistence = (queue.SimpleQueue() for _ in range(5))
    latencies: list[float] = []
    wal = os.open(wal_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)

    def risk() -> None:
        while (message := to_risk.get()) != STOP:
            if message[0] == "ticks":
                burn(costs.risk * PER_BURST)
            else:
                to_execution.put(message)
        to_execution.put(STOP)

    def execution() -> None:
        while (message := to_execution.get()) != STOP:
            os.write(wal, b"x" * 200)
            os.fsync(wal)
            to_broker.put(message)
        to_broker.put(STOP)

    def broker() -> None:
        while (message := to_broker.get()) != STOP:
            latencies.append((time.perf_counter() - message[1]) * 1e3)

    def persistence() -> None:
        while to_persistence.get() != STOP:
            burn(costs.persistence * PER_BURST)

    threads = [threading.Thread(target=target) for target in (risk, execution, broker, persistence)]
    spawn = multiprocessing.get_context("spawn")
    writer_stops = spawn.Event()
    children = [spawn.Process(target=_journal_writer, args=(costs.writer, writer_stops))] if costs.writer else []
    if layout == "threads":
        threads.append(threading.Thread(target=_judge, args=(to_decision, to_risk, costs.decision)))

        def send_burst(burst: list[tuple[str, float]]) -> None:
            for message in burst:
                to_decision.put(message)
    else:
        tick_reader, tick_writer = multiprocessing.Pipe(duplex=False)
        order_reader, order_writer = multiprocessing.Pipe(duplex=False)
        children.append(spawn.Process(target=_decision_process, args=(tick_reader, order_writer, costs.decision)))
        threads.append(threading.Thread(target=lambda: _relay(order_reader, to_risk)))
        send_burst = tick_writer.send
    for process in children:
        process.start()
    for thread in threads:
        thread.start()
    began, sent, published = time.perf_counter(), 0, 0
    next_order = began + 0.5
    while sent < orders:
        burst = []
        for _ in range(PER_BURST):
            burn(costs.feed)
            burst.append(("tick", 0.0))
        to_risk.put(("ticks", 0.0))
        to_persistence.put(("ticks", 0.0))
        published += PER_BURST
        if time.perf_counter() >= next_order:
            burst.append(("order", time.perf_counter()))
            sent += 1
            next_order += ORDER_EVERY_S
        send_burst(burst)
        ahead = began + published / RATE - time.perf_counter()
        if ahead > 0:
            time.sleep(ahead)
    send_burst([STOP])
    to_persistence.put(STOP)
    for thread in threads:
        thread.join()
    writer_stops.set()
    for process in children:
        process.join()
    os.close(wal)
    return latencies


def _relay(reader, inbox: queue.SimpleQueue) -> None:  # noqa: ANN001
    while (message := reader.recv()) != STOP:
        inbox.put(message)
    inbox.put(STOP)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, nargs="+", default=[1.0, 0.5, 0.33, 0.1])
    parser.add_argument("--layout", choices=("threads", "process"), nargs="+", default=["threads", "process"])
    parser.add_argument("--no-writer", action="store_true", help="leave the journal writer process's CPU out")
    parser.add_argument("--orders", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    p99s: dict[tuple[float, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as directory:
        for _ in range(args.rounds):
            for scale in args.scale:
                for layout in args.layout:
                    costs = Costs(writer=0.0 if args.no_writer else Costs.writer).scaled(scale)
                    latencies = run(costs, layout, args.orders, os.path.join(directory, "floor.wal"))
                    # a sample, not an interpolation between two: the README's runs were read so
                    p50, p99 = np.percentile(latencies, [50, 99], method="higher")
                    p99s.setdefault((scale, layout), []).append(p99)
                    print(f"scale {scale:<4} ({costs.feed:.0f}+{costs.decision:.0f}+{costs.risk:.0f}+"
                          f"{costs.persistence:.0f} µs a tick, writer {costs.writer:.0f}), decision in {layout}: p50 "
                          f"{p50:.2f}  p99 {p99:.2f}  max {max(latencies):.2f} ms", flush=True)
    print("median p99 over the rounds:")
    for (scale, layout), values in p99s.items():
        print(f"  scale {scale:<4} decision in {layout}: {statistics.median(values):.2f} ms "
              f"({', '.join(f'{v:.1f}' for v in values)})")


if __name__ == "__main__":
    main()
