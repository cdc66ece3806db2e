"""The seeded simulated market: underlying paths, a volatility regime and a VIX-like index.

Prices move only while the exchange is open (trading time drives variance), by geometric Brownian motion with
Poisson jumps. Volatility follows a two-state regime (calm / stressed) that can switch at each step; the index
quotes implied volatility as the regime's volatility plus a variance risk premium. Every draw comes from one
seeded generator per symbol, so the same seed and the same sequence of `advance` times give the same market.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np

from actors.market_time import market_hours

TRADING_DAYS_PER_YEAR = 252
SESSION_NS = int(6.5 * 3600 * 1e9)


@dataclass(frozen=True)
class UnderlyingProfile:
    spot: float
    beta: float
    """Volatility relative to the broad index: the symbol's ATM IV is VIX/100 × beta."""


PROFILES = {
    "SPY": UnderlyingProfile(580.0, 1.0),
    "QQQ": UnderlyingProfile(500.0, 1.25),
    "IWM": UnderlyingProfile(220.0, 1.35),
}
DEFAULT_PROFILE = UnderlyingProfile(100.0, 1.3)


@dataclass(frozen=True)
class RegimeModel:
    calm_vol: float = 0.13
    stressed_vol: float = 0.30
    calm_to_stressed_per_year: float = 1.0
    stressed_to_calm_per_year: float = 6.0
    jumps_per_year: float = 2.0
    jump_mean: float = -0.025
    jump_std: float = 0.02
    drift: float = 0.06
    risk_premium_vol: float = 0.03
    """Implied over realised volatility: why selling premium pays on average."""


class SimulatedMarket:
    def __init__(self, symbols: tuple[str, ...], seed: int, start_ns: int, model: RegimeModel | None = None) -> None:
        self._model = model or RegimeModel()
        self._hours = market_hours()
        self._symbols = tuple(sorted(set(symbols)))
        self._spots = {s: PROFILES.get(s, DEFAULT_PROFILE).spot for s in self._symbols}
        self._rngs = {s: np.random.default_rng([seed, zlib.crc32(s.encode())]) for s in self._symbols}
        self._regime_rng = np.random.default_rng([seed, 0])
        self._stressed = False
        self._now_ns = start_ns

    @property
    def symbols(self) -> tuple[str, ...]:
        return self._symbols

    @property
    def now_ns(self) -> int:
        return self._now_ns

    def realized_vol(self) -> float:
        return self._model.stressed_vol if self._stressed else self._model.calm_vol

    def vix(self) -> float:
        return round(100.0 * (self.realized_vol() + self._model.risk_premium_vol), 2)

    def atm_iv(self, symbol: str) -> float:
        return self.vix() / 100.0 * PROFILES.get(symbol, DEFAULT_PROFILE).beta

    def spot(self, symbol: str) -> float:
        return self._spots[symbol]

    def advance(self, now_ns: int) -> None:
        """Evolve every path over the open-market time between the last step and `now_ns`."""
        if now_ns <= self._now_ns:
            return
        open_ns = self._hours.open_ns_between(self._now_ns, now_ns)
        self._now_ns = now_ns
        if open_ns == 0:
            return
        dt_years = open_ns / SESSION_NS / TRADING_DAYS_PER_YEAR
        self._switch_regime(dt_years)
        model = self._model
        for symbol in self._symbols:
            rng = self._rngs[symbol]
            vol = self.realized_vol() * PROFILES.get(symbol, DEFAULT_PROFILE).beta
            diffusion = (model.drift - 0.5 * vol * vol) * dt_years + vol * math.sqrt(dt_years) * rng.standard_normal()
            jumps = rng.poisson(model.jumps_per_year * dt_years)
            jump = float(np.sum(rng.normal(model.jump_mean, model.jump_std, size=jumps))) if jumps else 0.0
            self._spots[symbol] = round(self._spots[symbol] * math.exp(diffusion + jump), 4)

    def _switch_regime(self, dt_years: float) -> None:
        rate = self._model.stressed_to_calm_per_year if self._stressed else self._model.calm_to_stressed_per_year
        if self._regime_rng.random() < 1.0 - math.exp(-rate * dt_years):
            self._stressed = not self._stressed
