"""A seeded price path through one bar: it starts at the open, touches the high and the low (in a random order, at
random times), ends at the close, and never leaves [low, high].

The path is a piecewise Brownian bridge on a grid of about one point a minute, pinned at four anchors (open, first
extreme, second extreme, close) and clipped to the bar's range; between grid points it is linear, so the grid's
extremes are the path's. Everything comes from one generator seeded by (seed, bar number): the same bar gets the
same path in every run, whichever times it is asked about.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from actors.market_time import NS_PER_MINUTE

MIN_STEPS = 3
"""Open, two extremes and close need at least three steps."""
MAX_STEPS = 390
"""One a minute over a full session: finer adds nothing a daily bar knows."""


@dataclass(frozen=True)
class BarPath:
    times: np.ndarray
    """Grid times in ns, from the bar's start to its end."""
    prices: np.ndarray
    anchors: tuple[int, ...]
    """Times (ns) of the open, the two extremes and the close: where the path touches the bar's prices."""

    def price_at(self, now_ns: int) -> float:
        return float(np.interp(now_ns, self.times, self.prices))

    def next_anchor_after(self, now_ns: int) -> int | None:
        return next((t for t in self.anchors if t > now_ns), None)


def bar_path(start_ns: int, end_ns: int, o: float, h: float, lo: float, c: float,
             rng: np.random.Generator) -> BarPath:
    steps = int(np.clip((end_ns - start_ns) // NS_PER_MINUTE, MIN_STEPS, MAX_STEPS))
    times = np.linspace(start_ns, end_ns, steps + 1).round().astype(np.int64)
    first, second = sorted(rng.choice(np.arange(1, steps), size=2, replace=False).tolist())
    high_first = bool(rng.random() < 0.5)
    extremes = (h, lo) if high_first else (lo, h)
    knots = [(0, o), (first, extremes[0]), (second, extremes[1]), (steps, c)]
    prices = np.empty(steps + 1)
    step_vol = 0.5 * (h - lo) / np.sqrt(steps) if h > lo else 0.0
    for (i0, p0), (i1, p1) in zip(knots, knots[1:], strict=False):
        prices[i0:i1 + 1] = _bridge(p0, p1, i1 - i0, step_vol, rng)
    np.clip(prices, lo, h, out=prices)
    for index, price in knots:  # exact at the anchors, whatever rounding the bridge did
        prices[index] = price
    return BarPath(times, prices, tuple(int(times[i]) for i, _ in knots))


def _bridge(p0: float, p1: float, steps: int, step_vol: float, rng: np.random.Generator) -> np.ndarray:
    """Brownian bridge from p0 to p1 over `steps` steps (steps + 1 points)."""
    fraction = np.arange(steps + 1) / steps if steps else np.zeros(1)
    if steps == 0 or step_vol == 0.0:
        return p0 + (p1 - p0) * fraction
    walk = np.concatenate(([0.0], np.cumsum(rng.standard_normal(steps)))) * step_vol
    return p0 + (p1 - p0) * fraction + walk - fraction * walk[-1]
