"""The decision core's CPU per background quote, alone on one thread: the largest share of what a tick costs the node.

`bench_latency_floor.py` says the tick→order target needs the CPU per tick about halved, and the decision's exits
judgement is the largest part of it (38 of 68 µs at 10k ticks/s in `bench_latency.py`). This measures that part
without threads or GIL waits in between, so that a change to the judgement can be weighed.

The stream is `bench_latency.py`'s: 100 open iron condors, background quotes on the legs of 99 of them (inside every
exit rule) in bursts of ten, one millisecond apart, each burst followed by the underlying's quote and the exits timer
as the threaded runtime delivers them with no coalescing delay. The core runs with no runtime (a context that keeps
what it publishes); a warm-up of 2,000 quotes builds the market calendar first.

Printed: CPU µs per background quote, and a digest of everything the core published after the positions opened,
which must not change when only speed was meant to. CPU time on this shared machine comes in regimes seconds long,
up to 1.7× apart for the same code (a pure Python loop varies as much), so the figure compared is the best of the
runs, as `timeit` does; the median is printed beside it.

`--against DIR` runs another checkout's core the same way, alternating run by run, and prints the ratio of the two.
`--bursts`: each burst's quotes as one `OptionQuotes` message, as the IB session publishes a socket read's (stop 36;
every checkout compared must know the message); the digest is the same as without.

Usage: uv run python scripts/bench_decision.py [--quotes 60000] [--repeats 7] [--against ../other-checkout] [--bursts]
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BURST = 10
BURST_GAP_NS = 1_000_000
WARM_UP = 2_000


class _Context:
    """The core's world with no runtime: a settable clock, what it published, the one timer it armed last."""

    def __init__(self, now_ns: int) -> None:
        self.now_ns = now_ns
        self.published: list = []
        self.timer: tuple[str, int] | None = None

    def now(self) -> int:
        return self.now_ns

    def publish(self, message) -> None:  # noqa: ANN001
        self.published.append(message)

    def set_timer(self, key: str, at_ns: int) -> None:
        self.timer = (key, at_ns)

    def cancel_timer(self, key: str) -> None:  # noqa: ARG002
        self.timer = None


def measure(quotes: int, bursts: bool = False) -> tuple[float, int, str]:
    """CPU µs per background quote, messages published, and their digest; run in the checkout on `sys.path`."""
    import msgspec

    from actors.config import config_from_mapping
    from actors.decision.core import DecisionCore
    from messages import BrokerConnectionChanged, ReconciliationResult, StrategyOpened, TimerFired, UnderlyingQuote
    from scripts.bench_latency import HOLD, _condor, _quote
    from scripts.bench_write_ahead import MARKET

    config = config_from_mapping({"exits": {"evaluation_delay_ms": 0}})
    core, ctx, seq = DecisionCore(config.entry, config.exits), _Context(MARKET), [0]

    def deliver(message) -> None:  # noqa: ANN001
        seq[0] += 1
        core.handle(msgspec.structs.replace(message, seq=seq[0], ts=message.ts or ctx.now_ns), ctx)

    spot = UnderlyingQuote(symbol="SPY", bid=579.99, ask=580.01, last=580.0)
    books = [_condor(n) for n in range(100)]
    background = [leg for legs in books[1:] for leg in legs]
    core.on_start(ctx)
    for message in (BrokerConnectionChanged(state="connected", reason="bench"),
                    ReconciliationResult(ok=True, mismatches=()), spot):
        deliver(message)
    for n, legs in enumerate(books):
        deliver(StrategyOpened(strategy_id=f"IC-SPY-20260303-{n + 1}", kind="iron_condor", symbol="SPY", legs=legs,
                               quantity=1, entry_price=-1.60, max_profit_usd=160.0, max_loss_usd=340.0))
        for leg in legs:
            deliver(_quote(leg, *HOLD[leg.ratio]))
    stream = []
    for n in range(quotes + WARM_UP):
        leg = background[n % len(background)]
        bid, ask = HOLD[leg.ratio]
        stream.append(_quote(leg, bid + (n % 3) * 0.01, ask + (n % 3) * 0.01))

    def play(burst_starts: range) -> None:
        for start in burst_starts:
            ctx.now_ns += BURST_GAP_NS
            if bursts:
                from messages import OptionQuotes

                deliver(OptionQuotes(ts=ctx.now_ns, quotes=tuple(msgspec.structs.replace(quote, ts=ctx.now_ns)
                                                                 for quote in stream[start:start + BURST])))
            else:
                for quote in stream[start:start + BURST]:
                    deliver(quote)
            deliver(spot)
            if ctx.timer is not None and ctx.timer[1] <= ctx.now_ns:  # due now: the runtime delivers it after the burst
                (key, at_ns), ctx.timer = ctx.timer, None
                deliver(TimerFired(ts=at_ns, target=core.name, key=key))

    ctx.published.clear()
    play(range(0, WARM_UP, BURST))  # the first judgement builds the market calendar (~0.5 s): not what is measured
    gc.collect()
    gc.freeze()  # as `thetanode run` does (actors/service/heap.py): full passes walk only what the run makes
    began = time.process_time()
    play(range(WARM_UP, WARM_UP + quotes, BURST))
    took = time.process_time() - began
    digest = hashlib.sha256(b"".join(msgspec.msgpack.encode(m) for m in ctx.published)).hexdigest()[:16]
    return took / quotes * 1e6, len(ctx.published), digest


def _run_in(checkout: Path, quotes: int, bursts: bool) -> tuple[float, int, str]:
    """One measurement in a fresh interpreter importing `checkout`'s code (this script's own `measure`)."""
    code = (f"import sys; sys.path[:0] = [{str(checkout)!r}, {str(ROOT / 'scripts')!r}]; "
            f"from bench_decision import measure; print(*measure({quotes}, {bursts}))")
    done = subprocess.run([sys.executable, "-c", code], cwd=checkout, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"bench_decision: the run in {checkout} failed: {done.stderr.strip().splitlines()[-1]}")
    took, published, digest = done.stdout.split()
    return float(took), int(published), digest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quotes", type=int, default=60_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--against", type=Path, help="another checkout, run alternately with this one")
    parser.add_argument("--bursts", action="store_true", help="each burst of quotes as one OptionQuotes message")
    args = parser.parse_args()
    checkouts = [ROOT] + ([args.against.resolve()] if args.against else [])
    for checkout in checkouts:
        if not (checkout / "actors" / "decision" / "core.py").is_file():
            raise SystemExit(f"bench_decision: {checkout} is not a thetanode checkout")
    runs: dict[Path, list[tuple[float, int, str]]] = {checkout: [] for checkout in checkouts}
    for _ in range(args.repeats):
        for checkout in checkouts:
            runs[checkout].append(_run_in(checkout, args.quotes, args.bursts))
    best = {}
    for checkout, results in runs.items():
        took = [took for took, _, _ in results]
        best[checkout] = min(took)
        outputs = sorted({(published, digest) for _, published, digest in results})
        print(f"{checkout}: {best[checkout]:.1f} µs a background quote at best, median {statistics.median(took):.1f} "
              f"({', '.join(f'{value:.1f}' for value in took)}); published "
              f"{', '.join(f'{published} messages, digest {digest}' for published, digest in outputs)}")
    if args.against:
        print(f"this checkout / the other, at best: {best[ROOT] / best[checkouts[1]]:.2f}")


if __name__ == "__main__":
    main()
