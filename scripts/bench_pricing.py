"""Pricing speed: greeks and implied volatility for 2,000 legs (500 iron condors) at once.

Target: all greeks for 2,000 legs < 1 ms (median).  Usage: uv run python scripts/bench_pricing.py [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from actors.market_data.pricing import bsm_greeks, bsm_price, implied_volatility  # noqa: E402

LEGS = 2_000


def condor_book(seed: int = 1) -> dict[str, np.ndarray]:
    """500 iron condors on a 580 underlying: short 0.16-0.20 delta strikes, 5-wide wings, 20-60 DTE."""
    rng = np.random.default_rng(seed)
    condors = LEGS // 4
    short_put = 580 - rng.uniform(20, 40, condors).round()
    short_call = 580 + rng.uniform(20, 40, condors).round()
    strikes = np.concatenate([short_put - 5, short_put, short_call, short_call + 5])
    is_call = np.concatenate([np.zeros(2 * condors, bool), np.ones(2 * condors, bool)])
    t = np.tile(rng.uniform(20, 60, condors) / 365, 4)
    sigma = 0.18 - 0.1 * np.log(strikes / 580)
    return {"s": np.full(LEGS, 580.0), "k": strikes, "t": t, "sigma": sigma, "is_call": is_call}


def timed(fn, repeat: int) -> list[float]:  # noqa: ANN001
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1e3)
    return samples


def report(name: str, samples: list[float]) -> None:
    p99 = float(np.percentile(samples, 99))
    print(f"  {name:<28} median {statistics.median(samples):7.3f} ms   p99 {p99:7.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=500)
    args = parser.parse_args()
    book = condor_book()
    s, k, t, sigma, is_call = book["s"], book["k"], book["t"], book["sigma"], book["is_call"]
    prices = bsm_price(s, k, t, sigma, 0.04, 0.013, is_call)
    bsm_greeks(s, k, t, sigma, 0.04, 0.013, is_call)  # warm-up
    print(f"{LEGS} legs ({LEGS // 4} iron condors), {args.repeat} runs")
    report("greeks (price + 5 greeks)", timed(lambda: bsm_greeks(s, k, t, sigma, 0.04, 0.013, is_call), args.repeat))
    report("implied volatility", timed(lambda: implied_volatility(prices, s, k, t, 0.04, 0.013, is_call),
                                       max(args.repeat // 10, 5)))


if __name__ == "__main__":
    main()
