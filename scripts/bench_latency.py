"""Tick→order latency with 100 open iron condors under a 10k ticks/s background feed.

The real decision, risk, execution and persistence actors (a local Delta lake) and the write-ahead gate run on the
threaded runtime at market time, as `thetanode run` does. 100 iron condors are open; a feeder thread quotes the legs
of 99 of them at `--rate` ticks/s (marks inside every exit rule: no order), a millisecond's quotes in one
`OptionQuotes` burst as the IB session publishes a socket read's ticks (`--single-quotes`: one message each, as
before stop 36). The measured condor's short call is
quoted down to a take-profit mark, one tick at a time: the decision closes it, risk approves, execution places the order, and a
stand-in broker records when the PlaceOrder reaches it, then refuses it (not sent) so a later tick triggers again.
Latency = the tick's publish to the broker receiving the order. Also printed: the process's CPU time per background
tick over the run (all threads), which a loaded machine does not inflate as it does wall times, and each thread's
share of it, named by the actor core it runs (Linux). And where each tick's time went, stage by stage (`STAGES`), from
when each step of the measured condor's close was published (a runtime observer, on the publishing thread). How
long each sync of the write-ahead log took (its write and fsync: a disk busy with the lake's writeback shows here).
And the full garbage collections while measuring, each of which stops every thread: the start-up heap is frozen
first, as `thetanode run` does (`--no-freeze`: as it did before).

The journal commits through the `[persistence] writer` chosen: by default the two, alternating run by run.

Usage: uv run python scripts/bench_latency.py [--orders 300] [--rate 10000] [--condors 100] [--writer both] [--rounds 1]
                                              [--spacing-ms 50] [--no-freeze] [--single-quotes]
"""

from __future__ import annotations

import argparse
import bisect
import gc
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from actors.config import config_from_mapping  # noqa: E402
from actors.decision.core import DecisionCore  # noqa: E402
from actors.execution.core import ExecutionCore  # noqa: E402
from actors.persistence.core import PersistenceCore  # noqa: E402
from actors.risk.core import RiskCore  # noqa: E402
from actors.runtime.clock import ShiftedClock  # noqa: E402
from actors.runtime.threaded import ThreadedRuntime  # noqa: E402
from actors.runtime.write_ahead import WriteAheadGate  # noqa: E402
from actors.service.heap import freeze_start_up_heap, unfreeze_heap  # noqa: E402
from messages import (  # noqa: E402
    BrokerConnectionChanged,
    CloseStrategy,
    IntentApproved,
    Leg,
    Message,
    OptionContract,
    OptionQuote,
    OptionQuotes,
    PlaceOrder,
    ReconciliationResult,
    StrategyOpened,
    UnderlyingQuote,
)
from scripts.bench_write_ahead import EXPIRY, LEGS, MARKET, StandInBroker  # noqa: E402
from storage.journal import DeltaJournal  # noqa: E402
from storage.journal_process import JournalProcess  # noqa: E402
from storage.lake_writer import LakeWriter  # noqa: E402
from storage.write_ahead import WriteAheadLog  # noqa: E402

MEASURED_ID = "IC-SPY-20260303-1"
STAGES = ("judged: the tick reaches decision, which publishes the close",
          "approved: risk takes the close (after the quotes queued ahead of it) and approves it",
          "logged: execution takes the approval and syncs the order to the write-ahead log",
          "at the broker: the order's hand-off")
TAKE_PROFIT = {1: (0.20, 0.22), -1: (0.55, 0.57)}  # worth -0.70 against a -1.60 credit
HOLD = {1: (0.20, 0.22), -1: (0.75, 0.77)}  # worth -1.10: 31% of max profit, no rule fires


def _quote(leg: Leg, bid: float, ask: float, ts: int = 0) -> OptionQuote:
    """Puts with a negative delta, calls with a positive one: each condor's net delta is 0, so the book's symbol and
    portfolio delta exits stay quiet (a delta signed by the leg's ratio made 100 condors 40 contract-equivalents long,
    beyond the 30 of `exits.symbol_delta_exit`: the background ticks kept closing condors)."""
    delta = 0.1 if leg.contract.right == "C" else -0.1
    return OptionQuote(ts=ts, contract=leg.contract, bid=bid, ask=ask, iv=0.18, delta=delta, gamma=0.01, vega=0.1,
                       theta=-0.02, underlying_price=580.0)


def _condor(n: int) -> tuple[Leg, ...]:
    """The measured condor (n = 0) around the 580 underlying; the others further out, 3 strikes apart so that no two
    share a contract (1 apart, condor n's long put was condor n + 5's short one: its quote, priced by the leg's side,
    flipped between the two and the background ticks kept taking profits and trailing stops)."""
    if n == 0:
        return LEGS
    return tuple(Leg(OptionContract("SPY", EXPIRY, strike, right), ratio)
                 for strike, right, ratio in ((480.0 - 3 * n, "P", 1), (485.0 - 3 * n, "P", -1),
                                              (675.0 + 3 * n, "C", -1), (680.0 + 3 * n, "C", 1)))


class _Milestones:
    """When each step of the measured condor's close was published: a runtime observer, called on the publishing
    thread after the write-ahead check (so an order's time includes its sync)."""

    def __init__(self) -> None:
        self.at: dict[type, list[int]] = {CloseStrategy: [], IntentApproved: [], PlaceOrder: []}

    def __call__(self, message: Message) -> None:
        kind = type(message)
        if kind is CloseStrategy or kind is PlaceOrder:
            strategy_id = message.strategy_id
        elif kind is IntentApproved:
            strategy_id = message.intent.strategy_id
        else:
            return
        if strategy_id == MEASURED_ID:
            self.at[kind].append(time.perf_counter_ns())

    def stages(self, start_ns: int, arrived_ns: int) -> tuple[float, ...] | None:
        """Each stage's share of one tick's latency (ms), or None if a step is missing between the two."""
        times, previous = [], start_ns
        for kind in (CloseStrategy, IntentApproved, PlaceOrder):
            published = self.at[kind]
            index = bisect.bisect_left(published, previous)
            if index == len(published) or published[index] > arrived_ns:
                return None
            times.append(published[index])
            previous = published[index]
        marks = [start_ns, *times, arrived_ns]
        return tuple((later - earlier) / 1e6 for earlier, later in zip(marks, marks[1:]))


class _TimedLog(WriteAheadLog):
    """The session's write-ahead log, each sync timed: the write and the fsync, and the GIL taken back after each."""

    def __init__(self, directory: Path, session_id: str) -> None:
        super().__init__(directory, session_id)
        self.took_ms: list[float] = []

    def sync(self) -> None:
        began = time.perf_counter()
        super().sync()
        self.took_ms.append((time.perf_counter() - began) * 1e3)


class _FullCollections:
    """How long each full (generation 2) garbage collection held the GIL, every thread stopped, while measuring."""

    def __init__(self) -> None:
        self.took_ms: list[float] = []
        self._began = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self.took_ms.append((time.perf_counter() - self._began) * 1e3)


def _cpu_seconds(stat_path: str) -> float | None:
    """User plus system CPU seconds from a /proc `stat` file (a thread's or a process's); None when it is gone."""
    try:
        with open(stat_path) as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _thread_cpu() -> dict[str, float]:
    """CPU seconds so far of each live thread, named by the actor core it runs (Linux: /proc; else empty)."""
    frames = sys._current_frames()
    spent: dict[str, float] = {}
    for thread in threading.enumerate():
        seconds = _cpu_seconds(f"/proc/self/task/{thread.native_id}/stat")
        if seconds is None:
            continue
        name, frame = thread.name, frames.get(thread.ident)
        while frame is not None:  # an actor's thread is always inside pykka's loop, whose `self` holds the core
            core = getattr(frame.f_locals.get("self"), "core", None)
            if core is not None and hasattr(core, "name"):
                name = core.name
                break
            frame = frame.f_back
        spent[name] = spent.get(name, 0.0) + seconds
    python = {str(thread.native_id) for thread in threading.enumerate()}
    for task in os.listdir("/proc/self/task") if spent else ():  # threads of no Python: Delta's writer (Rust)
        seconds = _cpu_seconds(f"/proc/self/task/{task}/stat") if task not in python else None
        if seconds is not None:
            spent["native"] = spent.get("native", 0.0) + seconds
    return spent


def _process_cpu(pid: int | None) -> float:
    """CPU seconds so far of another process of ours (the journal writer), all its threads (Linux; else 0)."""
    return (_cpu_seconds(f"/proc/{pid}/stat") if pid is not None else None) or 0.0


def run(orders: int, rate: int, condors: int, directory: Path, coalesce_ms: int = 0, writer: str = "process",
        freeze: bool = True, spacing_ms: int = 50, write_ahead_dir: Path | None = None,
        derived_commit_s: float | None = None, single_quotes: bool = False
        ) -> tuple[list[float], int, float, dict[str, float], list[tuple[float, ...]], list[float], list[float]]:
    # the stand-in broker refuses every close: no retry backoff, or the next tick would wait for it, not the node;
    # and no coalescing delay by default (each tick here is a whole quote, not one leg of a burst): with the default
    # 250 ms a tick waits for the exits timer a background tick armed, and latency is that wait (0-250 ms), not the
    # pipeline's
    persistence = {} if derived_commit_s is None else {"derived_commit_s": derived_commit_s}
    config = config_from_mapping({"exits": {"close_retry_initial_s": 0.001, "close_retry_max_s": 0.001,
                                            "evaluation_delay_ms": coalesce_ms}, "persistence": persistence})
    arrivals: list[int] = []
    arrived = threading.Semaphore(0)
    derived_every_s = config.persistence.derived_commit_s
    lake = JournalProcess(str(directory / "lake"), derived_every_s=derived_every_s) if writer == "process" else \
        LakeWriter(DeltaJournal(str(directory / "lake")), derived_every_s=derived_every_s)
    log = _TimedLog(write_ahead_dir or directory / "wal", "bench")
    gate = WriteAheadGate(log)
    factories = [lambda: DecisionCore(config.entry, config.exits), lambda: RiskCore(config.risk),
                 lambda: ExecutionCore(config.execution), lambda: StandInBroker(arrivals, arrived),
                 lambda: PersistenceCore(lake, "bench", config.persistence)]
    runtime = ThreadedRuntime(factories, ShiftedClock(MARKET), config.mailbox, write_ahead=gate)
    milestones = _Milestones()
    runtime.observers.append(milestones)
    if freeze:  # as `thetanode run` does (actors/service/heap.py)
        freeze_start_up_heap()
    runtime.start()
    books = [_condor(n) for n in range(condors)]
    measured, background = books[0], [leg for legs in books[1:] for leg in legs]
    stop = threading.Event()
    fed = [0]

    def feed() -> None:
        """`rate` ticks/s in bursts of one millisecond's worth, paced by the wall clock."""
        per_ms, began, n = max(rate // 1000, 1), time.perf_counter(), 0
        while not stop.is_set():
            now, burst = runtime.clock.now(), []
            for _ in range(per_ms):
                leg = background[n % len(background)]
                bid, ask = HOLD[leg.ratio]
                burst.append(_quote(leg, bid + (n % 3) * 0.01, ask + (n % 3) * 0.01, now))
                n += 1
            if single_quotes:
                for quote in burst:
                    runtime.publish(quote)
            else:
                runtime.publish(OptionQuotes(ts=now, quotes=tuple(burst)))
            runtime.publish(UnderlyingQuote(symbol="SPY", bid=579.99, ask=580.01, last=580.0))  # the exits' clock
            fed[0] = n
            ahead = began + n / rate - time.perf_counter()
            if ahead > 0:
                time.sleep(ahead)

    def tick(bid: float, ask: float) -> None:
        """The measured leg's quote, sent as the background's are (a feed sends all its option quotes in bursts,
        or all alone)."""
        quote = _quote(measured[2], bid, ask, runtime.clock.now())
        runtime.publish(quote if single_quotes else OptionQuotes(ts=quote.ts, quotes=(quote,)))

    latencies, stages, resent = [], [], [0]
    feeder = threading.Thread(target=feed, daemon=True)
    try:
        runtime.publish(BrokerConnectionChanged(state="connected", reason="bench"))
        runtime.publish(ReconciliationResult(ok=True, mismatches=()))
        runtime.publish(UnderlyingQuote(symbol="SPY", bid=579.99, ask=580.01, last=580.0))
        for n, legs in enumerate(books):
            runtime.publish(StrategyOpened(strategy_id=f"IC-SPY-20260303-{n + 1}", kind="iron_condor", symbol="SPY",
                                           legs=legs, quantity=1, entry_price=-1.60, max_profit_usd=160.0,
                                           max_loss_usd=340.0))
            for leg in legs:  # the measured condor: every leg at take profit but the short call, which holds it
                marks = TAKE_PROFIT if legs is measured and leg is not measured[2] else HOLD
                runtime.publish(_quote(leg, *marks[leg.ratio]))
        runtime.work.wait_idle(timeout=60)
        while arrived.acquire(timeout=0.5):  # the measured condor may already have closed on its first quotes
            pass
        arrivals_before = len(arrivals)
        feeder.start()
        full_collections = _FullCollections()
        gc.callbacks.append(full_collections)
        log.took_ms.clear()
        started_feed, started_cpu, threads_before = time.perf_counter(), time.process_time(), _thread_cpu()
        writer_pid = getattr(lake, "pid", None)
        threads_before["writer process"] = _process_cpu(writer_pid)
        for _ in range(orders):
            before = len(arrivals)
            start = time.perf_counter_ns()
            tick(*TAKE_PROFIT[-1])  # the tick: the short call falls to take profit
            waited = 0
            while len(arrivals) <= before:  # each arrival releases once; an earlier one may still be releasing
                if arrived.acquire(timeout=1):
                    continue
                # the last refusal may not have released the close when the tick was judged (the pacing below is a
                # sleep): the tick again, still timed from the first, so such a wait shows in the numbers
                waited += 1
                resent[0] += 1
                if waited == 30:
                    raise RuntimeError("no order within 30 s of a tick")
                tick(*TAKE_PROFIT[-1])
            latencies.append((arrivals[before] - start) / 1e6)
            stages.append(milestones.stages(start, arrivals[before]))
            tick(*HOLD[-1])  # back to holding
            time.sleep(spacing_ms / 1000)  # pacing: the refusal releases the close before the next tick
            while arrived.acquire(blocking=False):  # a close judged on the feed's ticks meanwhile is not measured
                pass
        offered = fed[0] / (time.perf_counter() - started_feed)
        cpu_per_tick_us = (time.process_time() - started_cpu) / max(fed[0], 1) * 1e6
        per_thread_us = {name: (spent - threads_before.get(name, 0.0)) / max(fed[0], 1) * 1e6
                         for name, spent in {**_thread_cpu(), "writer process": _process_cpu(writer_pid)}.items()}
        print(f"orders the background ticks caused (not measured): {len(arrivals) - orders - arrivals_before}; "
              f"ticks sent again after a second without an order: {resent[0]}")
    finally:
        stop.set()
        runtime.stop(timeout_s=30)
        lake.close()
        unfreeze_heap()
        gc.callbacks[:] = [callback for callback in gc.callbacks if not isinstance(callback, _FullCollections)]
    return (latencies, int(offered), cpu_per_tick_us, per_thread_us, [s for s in stages if s is not None],
            full_collections.took_ms, list(log.took_ms))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--rate", type=int, default=10_000, help="background ticks per second")
    parser.add_argument("--condors", type=int, default=100)
    parser.add_argument("--coalesce-ms", type=int, default=0, help="exits.evaluation_delay_ms (the node's default: 250)")
    parser.add_argument("--writer", choices=("process", "in_process", "both"), default="both",
                        help="[persistence] writer; both: the two alternate, run by run (default)")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each writer")
    parser.add_argument("--spacing-ms", type=int, default=50,
                        help="pause after each measured order; each order's rows make the writer commit its derived "
                             "tables too (a live node orders a few times a day, not every 50 ms)")
    parser.add_argument("--no-freeze", action="store_true",
                        help="leave the start-up heap in the garbage collector's full passes (before stop 30)")
    parser.add_argument("--write-ahead-dir", type=Path,
                        help="where the write-ahead log syncs (default: in the lake, on its disk, where `thetanode "
                             "run` keeps a local lake's). A tmpfs such as /dev/shm takes the disk out: what is left "
                             "is the node's own path")
    parser.add_argument("--single-quotes", action="store_true",
                        help="the background quotes one message each, not a burst a millisecond (before stop 36)")
    parser.add_argument("--derived-commit-s", type=float,
                        help="persistence.derived_commit_s (default: the node's, 1 s; 0: the derived tables commit "
                             "with every batch, as before stop 35)")
    args = parser.parse_args()
    writers = ("process", "in_process") if args.writer == "both" else (args.writer,)
    p99s: dict[str, list[float]] = {writer: [] for writer in writers}
    for _ in range(args.rounds):
        for writer in writers:
            with tempfile.TemporaryDirectory() as root:
                latencies, offered, cpu_us, per_thread_us, stages, collections, syncs = run(
                    args.orders, args.rate, args.condors, Path(root), args.coalesce_ms, writer, not args.no_freeze,
                    args.spacing_ms, args.write_ahead_dir, args.derived_commit_s, args.single_quotes)
            p50, p90, p99, top = np.percentile(latencies, [50, 90, 99, 100])
            p99s[writer].append(p99)
            print(f"tick→order, writer {writer}, {args.condors} open condors, background {offered:,} ticks/s achieved "
                  f"({args.rate:,} asked, {'one message each' if args.single_quotes else 'a burst a millisecond'}), "
                  f"evaluation delay {args.coalesce_ms} ms, {len(latencies)} orders "
                  f"{args.spacing_ms} ms apart (ms)")
            print(f"p50 {p50:.2f}  p90 {p90:.2f}  p99 {p99:.2f}  max {top:.2f}")
            for name, spent in zip(STAGES, np.array(stages).T if stages else (), strict=False):
                low, high = np.percentile(spent, [50, 99])
                print(f"  {name}: p50 {low:.2f}  p99 {high:.2f}")
            if syncs:
                low, high, top = np.percentile(syncs, [50, 99, 100])
                print(f"write-ahead syncs while measuring (write and fsync, the GIL taken back after each): "
                      f"{len(syncs)}, p50 {low:.2f}  p99 {high:.2f}  max {top:.2f}, over 5 ms: "
                      f"{sum(took > 5 for took in syncs)}")
            print(f"full garbage collections while measuring (every thread stopped): {len(collections)}"
                  + (f", the longest {max(collections):.1f} ms" if collections else "")
                  + (" (start-up heap not frozen)" if args.no_freeze else ""))
            print(f"process CPU per background tick {cpu_us:.0f} us (all threads; near {1e6 / max(offered, 1):.0f} us "
                  "the process was saturated: the GIL runs about one core of Python, and then this is no cost "
                  "measure)")
            busiest = sorted(((us, name) for name, us in per_thread_us.items() if us >= 1), reverse=True)
            print("  by thread: " + ", ".join(f"{name} {us:.0f} us" for us, name in busiest)
                  + " (the feed thread publishes, as the market data actor would: stamping, write-ahead check, "
                    "mailboxes; the writer process is not in the process CPU above)")
    if len(writers) > 1:
        print("median p99 (ms): " + ", ".join(f"{writer} {np.median(values):.2f}" for writer, values in p99s.items()))


if __name__ == "__main__":
    main()
