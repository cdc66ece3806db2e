"""What the write-ahead log costs: tick→order latency with and without it, side by side in one run.

The real decision, risk, execution and persistence actors (persistence into a local Delta lake) run on the threaded
runtime at market time. An open iron condor is quoted at a take-profit mark; each tick (one leg quote) makes the
decision actor close it, risk approves, execution places the order, and a stand-in broker records when the PlaceOrder
reaches it, then rejects it (not sent) so the next tick triggers again. Latency = the tick's publish to the broker
receiving the order. The two modes alternate round by round, so machine load hits both alike.
Usage: uv run python scripts/bench_write_ahead.py [--orders 300] [--rounds 6] [--dir PATH (the disk to fsync on)]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import threading
import time
from pathlib import Path

import msgspec
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from actors.config import NodeConfig  # noqa: E402
from actors.decision.core import DecisionCore  # noqa: E402
from actors.execution.core import ExecutionCore  # noqa: E402
from actors.persistence.core import PersistenceCore  # noqa: E402
from actors.risk.core import RiskCore  # noqa: E402
from actors.runtime.clock import ShiftedClock  # noqa: E402
from actors.runtime.core import ActorCore, Context  # noqa: E402
from actors.runtime.threaded import ThreadedRuntime  # noqa: E402
from actors.runtime.write_ahead import WriteAheadGate  # noqa: E402
from messages import (  # noqa: E402
    REJECT_NOT_SENT,
    BrokerConnectionChanged,
    Leg,
    Message,
    OptionContract,
    OptionQuote,
    OrderRejected,
    PlaceOrder,
    ReconciliationResult,
    StrategyOpened,
    UnderlyingQuote,
)
from storage.journal import DeltaJournal  # noqa: E402
from storage.lake_writer import LakeWriter  # noqa: E402
from storage.write_ahead import WriteAheadLog  # noqa: E402

MARKET = int(dt.datetime(2026, 3, 3, 15, 0, tzinfo=dt.UTC).timestamp() * 1e9)
EXPIRY = dt.date(2026, 4, 10)
LEGS = tuple(Leg(OptionContract("SPY", EXPIRY, strike, right), ratio)
             for strike, right, ratio in ((545.0, "P", 1), (550.0, "P", -1), (610.0, "C", -1), (615.0, "C", 1)))


class StandInBroker(ActorCore):
    """Records when each PlaceOrder arrives and refuses it, so the strategy stays open for the next tick."""

    name = "broker"
    subscriptions = (PlaceOrder,)

    def __init__(self, arrivals: list[int], arrived: threading.Semaphore) -> None:
        self._arrivals = arrivals
        self._arrived = arrived

    def handle(self, message: Message, ctx: Context) -> None:
        self._arrivals.append(time.perf_counter_ns())
        ctx.publish(OrderRejected(client_order_id=message.client_order_id, code=REJECT_NOT_SENT, reason="bench"))
        self._arrived.release()


def _quote(leg: Leg, bid: float, ask: float) -> OptionQuote:
    return OptionQuote(contract=leg.contract, bid=bid, ask=ask, iv=0.18, delta=0.1 * leg.ratio, gamma=0.01, vega=0.1,
                       theta=-0.02, underlying_price=580.0)


def run_round(orders: int, directory: Path, write_ahead: bool) -> list[float]:
    config = NodeConfig()
    # the stand-in broker refuses every close so the next tick closes again: no backoff between refused closes
    # and no coalescing delay (a quote burst is one tick here): the latency is the pipeline's own
    exits = msgspec.structs.replace(config.exits, close_retry_initial_s=1e-6, close_retry_max_s=1e-6,
                                    evaluation_delay_ms=0)
    arrivals: list[int] = []
    arrived = threading.Semaphore(0)
    lake = LakeWriter(DeltaJournal(str(directory / "lake")))
    gate = WriteAheadGate(WriteAheadLog(directory / "wal", f"bench-{time.time_ns()}")) if write_ahead else None
    factories = [lambda: DecisionCore(config.entry, exits), lambda: RiskCore(config.risk),
                 lambda: ExecutionCore(config.execution), lambda: StandInBroker(arrivals, arrived),
                 lambda: PersistenceCore(lake, f"bench-{write_ahead}-{time.time_ns()}", config.persistence)]
    runtime = ThreadedRuntime(factories, ShiftedClock(MARKET), write_ahead=gate)
    runtime.start()
    latencies = []
    try:
        runtime.publish(BrokerConnectionChanged(state="connected", reason="bench"))
        runtime.publish(ReconciliationResult(ok=True, mismatches=()))
        runtime.publish(StrategyOpened(strategy_id="IC-SPY-20260303-1", kind="iron_condor", symbol="SPY", legs=LEGS,
                                       quantity=1, entry_price=-1.60, max_profit_usd=160.0, max_loss_usd=340.0))
        # exits are judged only on a fresh underlying (a stale one is no market to mark by)
        runtime.publish(UnderlyingQuote(symbol="SPY", bid=579.95, ask=580.05, last=580.0))
        marks = {1: (0.20, 0.22), -1: (0.55, 0.57)}  # worth -0.70 against a -1.60 credit: take profit
        for leg in LEGS[:-1]:
            runtime.publish(_quote(leg, *marks[leg.ratio]))
        runtime.work.wait_idle(timeout=10)
        for _ in range(orders):
            before = len(arrivals)
            start = time.perf_counter_ns()
            runtime.publish(_quote(LEGS[-1], *marks[1]))  # the tick
            if not arrived.acquire(timeout=10):
                raise RuntimeError("no order after a tick")
            latencies.append((arrivals[before] - start) / 1e6)
            runtime.work.wait_idle(timeout=10)  # the refusal released the close; the next tick triggers again
    finally:
        runtime.stop(timeout_s=10)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=300, help="orders per round")
    parser.add_argument("--rounds", type=int, default=6, help="rounds per mode, alternating")
    parser.add_argument("--dir", help="directory on the disk under test (default: a temporary directory)")
    args = parser.parse_args()
    results: dict[bool, list[float]] = {False: [], True: []}
    with tempfile.TemporaryDirectory(dir=args.dir) as root:
        for n in range(args.rounds):
            for write_ahead in (False, True):
                results[write_ahead] += run_round(args.orders, Path(root) / f"{n}-{write_ahead}", write_ahead)
    print(f"tick→order latency, {args.rounds} x {args.orders} orders per mode (ms)")
    print(f"{'mode':<22}{'p50':>8}{'p90':>8}{'p99':>8}{'max':>8}")
    for write_ahead, label in ((False, "without write-ahead"), (True, "with write-ahead")):
        p50, p90, p99, top = np.percentile(results[write_ahead], [50, 90, 99, 100])
        print(f"{label:<22}{p50:>8.2f}{p90:>8.2f}{p99:>8.2f}{top:>8.2f}")
    added = np.percentile(results[True], 99) - np.percentile(results[False], 99)
    print(f"added p99: {added:+.2f} ms")


if __name__ == "__main__":
    main()
