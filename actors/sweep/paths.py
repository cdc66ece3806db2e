"""Market paths a sweep runs over: seeded generated regimes and windows of real history, both fed to the node through
the one history market (`sim.market = "history"`), so every run is the same backtest whatever its path.

A generated regime is a file of daily bars with a `vix` column, written by whichever process runs it (a Ray worker on
another machine too) into its temporary directory: the same regime, seed, length and start give the same bars.

- calm: slow drift, realised volatility near a low, steady VIX (~12).
- trending: a strong rally with low volatility: the call side of a condor is tested again and again.
- crash: calm for the first 40% of the sessions, then a 20–25% fall over about seven sessions (the first day the
  largest) with the VIX jumping past 40, and a partial recovery.
- vol_spike: no trend; the VIX jumps from ~13 to ~35 within days mid-path and decays, realised moves follow it.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from actors.market_time import market_hours

REGIMES = ("calm", "trending", "crash", "vol_spike")
GENERATED_START_PRICE = 300.0
TRADING_DAYS = 252.0


@dataclass(frozen=True)
class MarketPath:
    kind: str  # "generated" or "history"
    name: str
    regime: str
    """The generated regime, or the window's name for real bars."""
    first: dt.date
    last: dt.date | None
    seed: int = 0
    sessions: int = 0
    history: str = ""
    vix: str = ""

    @classmethod
    def generated(cls, regime: str, seed: int, sessions: int, start: dt.date) -> MarketPath:
        return cls("generated", f"{regime}/s{seed}/{sessions}d@{start}", regime, start, None, seed, sessions)

    @classmethod
    def window(cls, history: str, first: dt.date, last: dt.date, vix: str = "") -> MarketPath:
        source = "arch" if history == "arch" else Path(history).stem
        name = f"{source}/{first}..{last}"  # a real window is its own regime: the robust choice is the best worst one
        return cls("history", name, name, first, last, history=history, vix=vix)

    def overrides(self) -> dict[str, Any]:
        """The `[sim]` settings that put this path in the history market (the bars file is written on demand)."""
        if self.kind == "history":
            return {"sim": {"market": "history", "history": self.history, "history_vix": self.vix}}
        return {"sim": {"market": "history", "history": str(self.bars_file()), "history_vix": "",
                        "history_price_scale": 1.0}}

    def bars_file(self) -> Path:
        """The generated bars as a CSV in this machine's temp directory, written once (atomically) per process set."""
        directory = Path(tempfile.gettempdir()) / "thetanode-sweep-paths"
        file = directory / f"{self.regime}-s{self.seed}-{self.sessions}d-{self.first}.csv"
        if not file.exists():
            directory.mkdir(parents=True, exist_ok=True)
            partial = file.with_suffix(f".{os.getpid()}.tmp")
            partial.write_text(generated_bars_csv(self.regime, self.seed, self.sessions, self.first))
            os.replace(partial, file)
        return file


def _regime_shape(regime: str, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Daily drift (log) and VIX level for each session of the regime."""
    t = np.arange(n)
    if regime == "calm":
        vix = 12.0 + np.cumsum(rng.normal(0, 0.3, n)) * 0.3
        drift = np.full(n, 0.08 / TRADING_DAYS)
    elif regime == "trending":
        vix = 13.0 + np.cumsum(rng.normal(0, 0.3, n)) * 0.3
        drift = np.full(n, 0.45 / TRADING_DAYS)
    elif regime == "crash":
        start = int(n * 0.4)
        days = np.clip(t - start, 0, None)
        falling = (t >= start) & (t < start + 7)
        fall = rng.uniform(0.20, 0.25)
        weights = np.array([0.35, 0.2, 0.15, 0.1, 0.1, 0.05, 0.05])
        drift = np.zeros(n)
        drift[falling] = np.log(1 - fall) * weights[: int(falling.sum())]
        drift[t >= start + 7] = 0.6 / TRADING_DAYS  # a partial recovery
        vix = np.where(t < start, 13.0, 13.0 + 32.0 * np.exp(-np.maximum(days - 6, 0) / 15.0))
    elif regime == "vol_spike":
        start = int(n * 0.45)
        days = np.clip(t - start, 0, None)
        vix = np.where(t < start, 13.0, 13.0 + 22.0 * np.minimum(days, 3) / 3 * np.exp(-np.maximum(days - 3, 0) / 8))
        drift = np.zeros(n)
    else:
        raise ValueError(f"unknown regime {regime!r}")
    return drift, np.clip(vix + rng.normal(0, 0.4, n), 9.0, 90.0)


def generated_bars_csv(regime: str, seed: int, sessions: int, start: dt.date) -> str:
    """`sessions` NYSE sessions of daily bars from `start` on (date, open, high, low, close, vix)."""
    rng = np.random.default_rng([REGIMES.index(regime), seed])
    days = [day for day, _, _ in market_hours().sessions_between(_ns(start), _ns(start) + sessions * 3 * 86_400 * 10**9)]
    days = days[:sessions]
    if len(days) < sessions:
        raise ValueError(f"the calendar has only {len(days)} sessions from {start}")
    drift, vix = _regime_shape(regime, sessions, rng)
    sigma = vix / 100.0 / math.sqrt(TRADING_DAYS) * 0.85  # realised volatility runs below implied, as in the market
    log_return = drift + sigma * rng.standard_normal(sessions)
    close = GENERATED_START_PRICE * np.exp(np.cumsum(log_return))
    previous = np.concatenate(([GENERATED_START_PRICE], close[:-1]))
    open_ = previous * np.exp(sigma * 0.25 * rng.standard_normal(sessions))
    high = np.maximum(open_, close) * np.exp(np.abs(sigma * 0.5 * rng.standard_normal(sessions)))
    low = np.minimum(open_, close) * np.exp(-np.abs(sigma * 0.5 * rng.standard_normal(sessions)))
    lines = ["date,open,high,low,close,vix"]
    lines += [f"{d},{o:.4f},{h:.4f},{lo:.4f},{c:.4f},{v:.2f}"
              for d, o, h, lo, c, v in zip(days, open_, high, low, close, vix, strict=True)]
    return "\n".join(lines) + "\n"


def _ns(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()) * 10**9
