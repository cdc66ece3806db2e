"""The option-chain model the simulated exchange quotes: listed expiries and strikes, volatility skew, spreads.

Pure and vectorised: given spot, ATM implied volatility and time, it prices every contract with Black-Scholes-
Merton (pricing.py) and quotes it with a bid/ask that widens away from the money and with volatility.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np

from actors.market_time import new_york_date
from actors.market_time import market_hours
from actors.market_data.pricing import bsm_greeks, ex_dividend_years, pv_dividends, year_fraction
from messages import OptionContract, OptionQuote

STRIKE_RANGE = 0.15
"""Strikes are listed within ±15% of spot: far enough for 5-delta wings at 45 DTE in a 30-vol market."""
FINE_STEP_RANGE = 0.05
SKEW_SLOPE = 0.10
"""IV change per unit of standardised moneyness ln(K/S)/(σ√t): negative slope = put skew."""
SMILE_CURVATURE = 0.02
MIN_TIME_YEARS = 1.0 / (365 * 24 * 60)
"""One minute: keeps greeks finite in an option's last moments."""
TICK = 0.01


def strike_step(spot: float) -> float:
    return 1.0 if spot >= 50 else 0.5


def listed_strikes(spot: float) -> list[float]:
    """Fine steps near the money, five-point steps further out (as listed for SPY-like underlyings)."""
    step = strike_step(spot)
    low, high = spot * (1 - STRIKE_RANGE), spot * (1 + STRIKE_RANGE)
    near_low, near_high = spot * (1 - FINE_STEP_RANGE), spot * (1 + FINE_STEP_RANGE)
    coarse = 5 * step
    strikes = {round(k * step, 2) for k in range(int(np.ceil(near_low / step)), int(np.floor(near_high / step)) + 1)}
    strikes |= {round(k * coarse, 2) for k in range(int(np.ceil(low / coarse)), int(np.floor(high / coarse)) + 1)}
    return sorted(strikes)


def listed_expiries(now_ns: int, min_dte: int, max_dte: int) -> list[dt.date]:
    """Weekly Friday expiries within the DTE window, moved to the previous session when Friday is a holiday."""
    today = new_york_date(now_ns)
    hours = market_hours()
    expiries = []
    for offset in range(min_dte, max_dte + 1):
        day = today + dt.timedelta(days=offset)
        if day.weekday() == 4:
            expiry = hours.last_session_on_or_before(day)
            if expiry >= today:
                expiries.append(expiry)
    return expiries


def skewed_iv(atm_iv: float, spot: float, strikes: np.ndarray, t: np.ndarray) -> np.ndarray:
    standardised = np.log(strikes / spot) / (atm_iv * np.sqrt(np.maximum(t, MIN_TIME_YEARS)))
    factor = 1.0 - SKEW_SLOPE * standardised + SMILE_CURVATURE * standardised**2
    return atm_iv * np.clip(factor, 0.6, 3.0)


def quote_contracts(
    contracts: Sequence[OptionContract],
    spot: float,
    atm_iv: float,
    now_ns: int,
    rate: float,
    dividend_yield: float,
    dividends: Sequence[tuple[dt.date, float]] = (),
) -> list[OptionQuote]:
    """Quotes for `contracts` of one underlying; expired contracts are not quoted. With `dividends` (ex-date, cash
    amount) the underlying's dividends are those, priced discretely (escrowed spot, pricing.py) instead of by the
    continuous `dividend_yield`: a deep in-the-money call then trades below intrinsic before an ex-date, as a
    European would, which is what makes its American holder exercise."""
    live = [c for c in contracts if year_fraction(now_ns, c.expiry) > 0]
    if not live:
        return []
    strikes = np.array([c.strike for c in live])
    t = np.maximum(np.array([year_fraction(now_ns, c.expiry) for c in live]), MIN_TIME_YEARS)
    is_call = np.array([c.right == "C" for c in live])
    iv = skewed_iv(atm_iv, spot, strikes, t)
    if dividends:
        ex_times = [ex_dividend_years(now_ns, ex_date) for ex_date, _ in dividends]
        priced_spot = spot - pv_dividends(t, rate, ex_times, [amount for _, amount in dividends])
        greeks = bsm_greeks(priced_spot, strikes, t, iv, rate, 0.0, is_call)
    else:
        greeks = bsm_greeks(spot, strikes, t, iv, rate, dividend_yield, is_call)
    moneyness = np.abs(np.log(strikes / spot)) / (atm_iv * np.sqrt(t))
    half_spread = np.maximum(0.01, greeks.price * 0.015) * (1.0 + 0.25 * moneyness) * np.clip(atm_iv / 0.18, 0.7, 3.0)
    half_spread = np.minimum(half_spread, np.maximum(0.05, greeks.price * 0.25))
    bids = np.maximum(np.floor((greeks.price - half_spread) / TICK) * TICK, 0.0)
    asks = np.maximum(np.ceil((greeks.price + half_spread) / TICK) * TICK, bids + TICK)
    return [
        OptionQuote(
            ts=now_ns,
            contract=contract,
            bid=round(float(bids[i]), 2),
            ask=round(float(asks[i]), 2),
            iv=round(float(iv[i]), 6),
            delta=round(float(greeks.delta[i]), 6),
            gamma=round(float(greeks.gamma[i]), 6),
            vega=round(float(greeks.vega[i]), 6),
            theta=round(float(greeks.theta[i]), 6),
            underlying_price=round(spot, 4),
        )
        for i, contract in enumerate(live)
    ]


def chain_contracts(symbol: str, spot: float, now_ns: int, min_dte: int, max_dte: int) -> list[OptionContract]:
    return [
        OptionContract(symbol, expiry, strike, right)
        for expiry in listed_expiries(now_ns, min_dte, max_dte)
        for strike in listed_strikes(spot)
        for right in ("P", "C")
    ]
