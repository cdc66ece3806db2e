"""Discrete cash dividends in the pricing module: the escrowed-dividend model against a textbook value, a plain
closed-form reference, and its edges (dividend before now, after expiry, on the expiry day, larger than the spot)."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from actors.market_data.pricing import (
    bsm_price,
    bsm_price_discrete,
    escrowed_spot,
    ex_dividend_years,
    expiry_ns,
    pv_dividends,
    year_fraction,
)


def _reference_call(s: float, k: float, t: float, sigma: float, r: float) -> float:
    """Black-Scholes with math.erf only: nothing shared with the code under test."""
    n = lambda x: 0.5 * (1 + math.erf(x / math.sqrt(2)))  # noqa: E731
    d1 = (math.log(s / k) + (r + sigma * sigma / 2) * t) / (sigma * math.sqrt(t))
    return s * n(d1) - k * math.exp(-r * t) * n(d1 - sigma * math.sqrt(t))


def test_hulls_worked_example_of_a_european_call_with_two_cash_dividends():
    # Hull's example: S 40, K 40, r 9%, vol 30%, six months, 0.50 going ex in two and in five months: PV of the
    # dividends 0.9742, escrowed spot 39.0258, call 3.67.
    ex_times, amounts = [2 / 12, 5 / 12], [0.5, 0.5]
    assert float(pv_dividends(0.5, 0.09, ex_times, amounts)) == pytest.approx(0.9742, abs=1e-4)
    assert float(escrowed_spot(40.0, 0.5, 0.09, ex_times, amounts)) == pytest.approx(39.0258, abs=1e-4)
    assert float(bsm_price_discrete(40.0, 40.0, 0.5, 0.3, 0.09, True, ex_times, amounts)) == pytest.approx(3.67, abs=5e-3)


def test_matches_the_plain_formula_at_the_escrowed_spot():
    pv = 1.25 * math.exp(-0.04 * 0.1)
    expected = _reference_call(600.0 - pv, 580.0, 0.2, 0.18, 0.04)
    got = float(bsm_price_discrete(600.0, 580.0, 0.2, 0.18, 0.04, True, [0.1], [1.25]))
    assert got == pytest.approx(expected, abs=1e-9)


def test_dividends_outside_the_options_life_change_nothing():
    plain = float(bsm_price(100.0, 95.0, 0.25, 0.2, 0.03, 0.0, True))
    already_ex = float(bsm_price_discrete(100.0, 95.0, 0.25, 0.2, 0.03, True, [-0.01, 0.0], [1.0, 1.0]))
    after_expiry = float(bsm_price_discrete(100.0, 95.0, 0.25, 0.2, 0.03, True, [0.3], [1.0]))
    assert already_ex == pytest.approx(plain) and after_expiry == pytest.approx(plain)


def test_a_dividend_lowers_calls_and_raises_puts_per_option_by_its_own_life():
    t = np.array([0.05, 0.2])  # the dividend goes ex at 0.1: only the longer option lives through it
    calls = bsm_price_discrete(100.0, 100.0, t, 0.2, 0.03, True, [0.1], [2.0])
    puts = bsm_price_discrete(100.0, 100.0, t, 0.2, 0.03, False, [0.1], [2.0])
    plain_calls = bsm_price(100.0, 100.0, t, 0.2, 0.03, 0.0, True)
    plain_puts = bsm_price(100.0, 100.0, t, 0.2, 0.03, 0.0, False)
    assert calls[0] == pytest.approx(plain_calls[0]) and puts[0] == pytest.approx(plain_puts[0])
    assert calls[1] < plain_calls[1] and puts[1] > plain_puts[1]
    # put-call parity with the dividends' present value: C - P = S - PV(D) - K e^{-rT}
    pv = 2.0 * math.exp(-0.03 * 0.1)
    assert calls[1] - puts[1] == pytest.approx(100.0 - pv - 100.0 * math.exp(-0.03 * 0.2), abs=1e-9)


def test_a_deep_in_the_money_call_before_the_ex_date_is_worth_less_than_intrinsic_as_a_european():
    # why an American holder exercises: alive (European, through the dividend) it is worth less than exercised, once
    # the dividend exceeds the interest on the strike over the rest of its life (560 × 4% × 10/365 = 0.61)
    value = float(bsm_price_discrete(600.0, 560.0, 10 / 365, 0.15, 0.04, True, [1 / 365], [1.80]))
    assert value < 600.0 - 560.0


def test_dividends_above_the_spot_price_nothing_rather_than_a_negative_spot():
    assert math.isnan(float(escrowed_spot(1.0, 0.5, 0.0, [0.1], [2.0])))
    assert math.isnan(float(bsm_price_discrete(1.0, 1.0, 0.5, 0.2, 0.0, True, [0.1], [2.0])))


def test_a_stock_trades_ex_from_the_open_of_its_ex_date():
    ex_date = dt.date(2026, 3, 20)
    open_ns = int(dt.datetime(2026, 3, 20, 13, 30, tzinfo=dt.UTC).timestamp()) * 1_000_000_000  # 09:30 New York
    assert ex_dividend_years(open_ns - 1, ex_date) > 0 >= ex_dividend_years(open_ns, ex_date)
    # a dividend going ex on the expiry day is inside the option's life (the open comes before the 16:00 expiry)
    now = open_ns - 86_400 * 1_000_000_000
    assert 0 < ex_dividend_years(now, ex_date) < year_fraction(now, ex_date)
    assert expiry_ns(ex_date) > open_ns
