"""Vectorised Black-Scholes-Merton with a continuous dividend yield: prices, greeks and implied volatility; and
discrete cash dividends by the escrowed-dividend model (`escrowed_spot`).

Every function takes numpy arrays (or scalars that broadcast) and never raises inside a loop: an input it cannot
price gives NaN, and the implied-volatility solver says why in a reason code per element.

Units: `t` in years (ACT/365 to the 16:00 New York close, see `year_fraction`), `sigma`, `r`, `q` annualised,
vega per one volatility point (0.01), theta per calendar day, rho per one rate point (0.01).
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtr

from actors.market_time import NEW_YORK, NS_PER_DAY, NS_PER_S

EXPIRY_CLOSE = dt.time(16, 0)
EX_DIVIDEND_OPEN = dt.time(9, 30)
"""A stock goes ex-dividend at the open of its ex-date: from then on its price no longer carries the dividend."""
NS_PER_YEAR = 365 * NS_PER_DAY
_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)

Array = NDArray[np.float64]


@functools.lru_cache(maxsize=4096)
def expiry_ns(expiry: dt.date) -> int:
    """The instant an equity option stops trading: 16:00 New York time on its expiry date (remembered: every quote of
    the simulated exchange asks, twice per contract, and a time-zone conversion cost more than its pricing)."""
    close = dt.datetime.combine(expiry, EXPIRY_CLOSE, tzinfo=NEW_YORK)
    return int(close.timestamp()) * NS_PER_S


def year_fraction(now_ns: int, expiry: dt.date) -> float:
    """ACT/365 years from `now_ns` to the expiry close; zero once expired."""
    return max(expiry_ns(expiry) - now_ns, 0) / NS_PER_YEAR


def ex_dividend_years(now_ns: int, ex_date: dt.date) -> float:
    """ACT/365 years from `now_ns` to the open of `ex_date`; negative once the stock trades ex."""
    opening = dt.datetime.combine(ex_date, EX_DIVIDEND_OPEN, tzinfo=NEW_YORK)
    return (int(opening.timestamp()) * NS_PER_S - now_ns) / NS_PER_YEAR


def pv_dividends(t: ArrayLike, r: ArrayLike, ex_times: ArrayLike, amounts: ArrayLike) -> Array:
    """Present value, per option of life `t` (years), of the cash dividends going ex within (0, t]: a dividend
    already ex (time <= 0) is in the price, one after expiry does not concern the option."""
    t = np.asarray(t, dtype=np.float64)
    r = np.asarray(r, dtype=np.float64)
    ex_times = np.atleast_1d(np.asarray(ex_times, dtype=np.float64))
    amounts = np.atleast_1d(np.asarray(amounts, dtype=np.float64))
    inside = (ex_times > 0) & (ex_times <= t[..., None])
    return np.sum(np.where(inside, amounts * np.exp(-r[..., None] * ex_times), 0.0), axis=-1)


def escrowed_spot(s: ArrayLike, t: ArrayLike, r: ArrayLike, ex_times: ArrayLike, amounts: ArrayLike) -> Array:
    """The escrowed-dividend model: an option on a stock paying known cash dividends is priced as one on the stock less
    the present value of the dividends it lives through (then with q = 0). It is the standard European treatment
    (Hull, "Options, Futures, and Other Derivatives", European options on dividend-paying stocks); it slightly
    underprices long-dated options (the whole spot's volatility is applied to a smaller base), negligible for the
    weeks-to-months options traded here. NaN where the dividends exceed the spot (no such stock)."""
    escrowed = np.asarray(s, dtype=np.float64) - pv_dividends(t, r, ex_times, amounts)
    return np.where(escrowed > 0, escrowed, np.nan)


def bsm_price_discrete(s: ArrayLike, k: ArrayLike, t: ArrayLike, sigma: ArrayLike, r: ArrayLike, is_call: ArrayLike,
                       ex_times: ArrayLike, amounts: ArrayLike) -> Array:
    """European value with discrete cash dividends (escrowed spot, no continuous yield)."""
    return bsm_price(escrowed_spot(s, t, r, ex_times, amounts), k, t, sigma, r, 0.0, is_call)


def _pdf(x: Array) -> Array:
    return _INV_SQRT_2PI * np.exp(-0.5 * x * x)


def _discounted_intrinsic(sign: Array, s: Array, k: Array, disc_q: Array, disc_r: Array) -> Array:
    """Value at zero time or zero volatility: the intrinsic value of the forward, discounted."""
    return np.maximum(sign * (s * disc_q - k * disc_r), 0.0)


def _sign(is_call: ArrayLike) -> Array:
    return np.where(np.asarray(is_call, dtype=bool), 1.0, -1.0)


@dataclass(frozen=True)
class Greeks:
    price: Array
    delta: Array
    gamma: Array
    vega: Array
    theta: Array
    rho: Array


def _d1_d2(s: Array, k: Array, t: Array, sigma: Array, r: Array, q: Array) -> tuple[Array, Array, Array]:
    with np.errstate(divide="ignore", invalid="ignore"):
        vol_sqrt_t = sigma * np.sqrt(t)
        d1 = (np.log(s / k) + (r - q + 0.5 * sigma * sigma) * t) / vol_sqrt_t
    return d1, d1 - vol_sqrt_t, vol_sqrt_t


def bsm_price(s: ArrayLike, k: ArrayLike, t: ArrayLike, sigma: ArrayLike, r: ArrayLike, q: ArrayLike,
              is_call: ArrayLike) -> Array:
    """Option value; at expiry (t = 0) or zero volatility, the discounted forward intrinsic value."""
    s, k, t, sigma, r, q = (np.asarray(a, dtype=np.float64) for a in (s, k, t, sigma, r, q))
    sign = _sign(is_call)
    d1, d2, _ = _d1_d2(s, k, t, sigma, r, q)
    disc_q, disc_r = np.exp(-q * t), np.exp(-r * t)
    value = sign * (s * disc_q * ndtr(sign * d1) - k * disc_r * ndtr(sign * d2))
    degenerate = (t <= 0) | (sigma <= 0)
    return np.where(degenerate, _discounted_intrinsic(sign, s, k, disc_q, disc_r), value)


def bsm_greeks(s: ArrayLike, k: ArrayLike, t: ArrayLike, sigma: ArrayLike, r: ArrayLike, q: ArrayLike,
               is_call: ArrayLike) -> Greeks:
    """Price and all first-order greeks (plus gamma) for every element at once."""
    s, k, t, sigma, r, q = (np.asarray(a, dtype=np.float64) for a in (s, k, t, sigma, r, q))
    sign = _sign(is_call)
    d1, d2, vol_sqrt_t = _d1_d2(s, k, t, sigma, r, q)
    disc_q, disc_r = np.exp(-q * t), np.exp(-r * t)
    nd1, nd2 = ndtr(sign * d1), ndtr(sign * d2)
    pdf_d1 = _pdf(d1)
    price = sign * (s * disc_q * nd1 - k * disc_r * nd2)
    delta = sign * disc_q * nd1
    with np.errstate(divide="ignore", invalid="ignore"):
        gamma = disc_q * pdf_d1 / (s * vol_sqrt_t)
        theta_year = (
            -s * disc_q * pdf_d1 * sigma / (2.0 * np.sqrt(t)) + sign * (q * s * disc_q * nd1 - r * k * disc_r * nd2)
        )
    vega = s * disc_q * pdf_d1 * np.sqrt(t) / 100.0
    rho = sign * k * t * disc_r * nd2 / 100.0
    degenerate = (t <= 0) | (sigma <= 0)
    if np.any(degenerate):
        in_the_money = sign * (s * disc_q - k * disc_r) > 0
        price = np.where(degenerate, _discounted_intrinsic(sign, s, k, disc_q, disc_r), price)
        delta = np.where(degenerate, np.where(in_the_money, sign * disc_q, 0.0), delta)
        gamma = np.where(degenerate, 0.0, gamma)
        vega = np.where(degenerate, 0.0, vega)
        theta_year = np.where(degenerate, 0.0, theta_year)
        rho = np.where(degenerate, 0.0, rho)
    return Greeks(price, delta, gamma, vega, theta_year / 365.0, rho)


class IvReason(IntEnum):
    OK = 0
    EXPIRED = 1
    BELOW_INTRINSIC = 2
    ABOVE_UPPER_BOUND = 3
    NO_CONVERGENCE = 4
    BAD_INPUT = 5


IV_LOW, IV_HIGH = 1e-4, 5.0


def implied_volatility(price: ArrayLike, s: ArrayLike, k: ArrayLike, t: ArrayLike, r: ArrayLike, q: ArrayLike,
                       is_call: ArrayLike, tolerance: float = 1e-8, max_iterations: int = 100) -> tuple[Array, NDArray[np.int8]]:
    """Implied volatility by safeguarded Newton: Newton steps inside a shrinking bisection bracket.

    Returns (iv, reason): iv is NaN wherever reason is not OK. A price at or below the intrinsic value, or above
    the no-arbitrage upper bound, has no implied volatility; neither has an expired option.
    """
    arrays = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in (price, s, k, t, r, q)))
    shape = arrays[0].shape
    price, s, k, t, r, q = (np.ravel(a) for a in arrays)  # 1-d inside: masks index scalars and arrays alike
    is_call = np.ravel(np.broadcast_to(np.asarray(is_call, dtype=bool), shape))
    sign = _sign(is_call)
    disc_q, disc_r = np.exp(-q * t), np.exp(-r * t)
    intrinsic = _discounted_intrinsic(sign, s, k, disc_q, disc_r)
    upper = np.where(is_call, s * disc_q, k * disc_r)
    reason = np.zeros(price.shape, dtype=np.int8)
    bad = ~np.isfinite(price) | ~np.isfinite(s) | ~np.isfinite(k) | (s <= 0) | (k <= 0) | (price < 0)
    reason[bad] = IvReason.BAD_INPUT
    reason[(reason == 0) & (t <= 0)] = IvReason.EXPIRED
    reason[(reason == 0) & (price <= intrinsic + 1e-12)] = IvReason.BELOW_INTRINSIC
    reason[(reason == 0) & (price >= upper)] = IvReason.ABOVE_UPPER_BOUND
    solvable = reason == 0
    low = np.full(price.shape, IV_LOW)
    high = np.full(price.shape, IV_HIGH)
    sigma = np.full(price.shape, 0.25)
    converged = ~solvable
    for _ in range(max_iterations):
        active = ~converged
        if not active.any():
            break
        greeks = bsm_greeks(s[active], k[active], t[active], sigma[active], r[active], q[active], is_call[active])
        diff = greeks.price - price[active]
        done = np.abs(diff) < tolerance
        too_high = diff > 0
        low[active] = np.where(too_high, low[active], sigma[active])
        high[active] = np.where(too_high, sigma[active], high[active])
        vega_per_unit = greeks.vega * 100.0
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = sigma[active] - diff / vega_per_unit
        inside = np.isfinite(newton) & (newton > low[active]) & (newton < high[active])
        next_sigma = np.where(inside, newton, 0.5 * (low[active] + high[active]))
        sigma[active] = np.where(done, sigma[active], next_sigma)
        narrow = (high[active] - low[active]) < 1e-12
        converged[active] = done | narrow
    unresolved = solvable & ~converged
    reason[unresolved] = IvReason.NO_CONVERGENCE
    check = bsm_price(s, k, t, sigma, r, q, is_call)
    reason[solvable & converged & (np.abs(check - price) > max(tolerance * 1e3, 1e-6))] = IvReason.NO_CONVERGENCE
    return np.where(reason == 0, sigma, np.nan).reshape(shape), reason.reshape(shape)
