import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.market_data.pricing import (
    IvReason,
    bsm_greeks,
    bsm_price,
    expiry_ns,
    implied_volatility,
    year_fraction,
)

spots = st.floats(20, 2000)
moneyness = st.floats(0.5, 1.6)
times = st.floats(1 / 365, 2.0)
vols = st.floats(0.05, 1.5)
rates = st.floats(0.0, 0.08)
yields = st.floats(0.0, 0.05)
FAST = settings(max_examples=150, deadline=None)


@FAST
@given(spots, moneyness, times, vols, rates, yields)
def test_put_call_parity(s, m, t, sigma, r, q):
    k = s * m
    call = bsm_price(s, k, t, sigma, r, q, True)
    put = bsm_price(s, k, t, sigma, r, q, False)
    assert call - put == pytest.approx(s * np.exp(-q * t) - k * np.exp(-r * t), abs=1e-8 * s)


@FAST
@given(spots, st.floats(0.7, 1.3), st.floats(7 / 365, 2.0), st.floats(0.08, 1.0), rates, yields, st.booleans())
def test_greeks_match_finite_differences(s, m, t, sigma, r, q, is_call):
    k = s * m
    g = bsm_greeks(s, k, t, sigma, r, q, is_call)
    h = s * 1e-4

    def price(**kw):
        args = {"s": s, "k": k, "t": t, "sigma": sigma, "r": r, "q": q, "is_call": is_call} | kw
        return float(bsm_price(**args))

    delta = (price(s=s + h) - price(s=s - h)) / (2 * h)
    gamma = (price(s=s + h) - 2 * price() + price(s=s - h)) / (h * h)
    vega = (price(sigma=sigma + 1e-4) - price(sigma=sigma - 1e-4)) / 2e-4 / 100
    theta = -(price(t=t + 1e-5) - price(t=t - 1e-5)) / 2e-5 / 365
    rho = (price(r=r + 1e-5) - price(r=r - 1e-5)) / 2e-5 / 100
    assert float(g.delta) == pytest.approx(delta, abs=1e-5)
    assert float(g.gamma) == pytest.approx(gamma, rel=1e-3, abs=1e-5)
    assert float(g.vega) == pytest.approx(vega, rel=1e-4, abs=1e-6)
    assert float(g.theta) == pytest.approx(theta, rel=1e-3, abs=1e-5)
    assert float(g.rho) == pytest.approx(rho, rel=1e-3, abs=1e-6)


@FAST
@given(spots, st.floats(0.6, 1.5), st.floats(3 / 365, 2.0), st.floats(0.05, 1.2), rates, yields, st.booleans())
def test_implied_volatility_round_trips(s, m, t, sigma, r, q, is_call):
    k = s * m
    price = bsm_price(s, k, t, sigma, r, q, is_call)
    iv, reason = implied_volatility(price, s, k, t, r, q, is_call)
    if reason[()] == IvReason.OK:
        assert float(bsm_price(s, k, t, float(iv), r, q, is_call)) == pytest.approx(float(price), abs=1e-6)
        if float(bsm_greeks(s, k, t, sigma, r, q, is_call).vega) > 1e-3:  # else the price barely depends on vol
            assert float(iv) == pytest.approx(sigma, abs=1e-4)
    else:
        # only prices too close to intrinsic to carry volatility information may be refused
        assert reason[()] in (IvReason.BELOW_INTRINSIC, IvReason.NO_CONVERGENCE)
        assert float(price) - max(0.0, (s * np.exp(-q * t) - k * np.exp(-r * t)) * (1 if is_call else -1)) < 1e-6 * s


def test_iv_solver_explains_what_it_cannot_solve_without_raising():
    price = np.array([0.5, 25.0, 2.0, np.nan, 700.0])
    strikes = np.array([500.0, 550.0, 580.0, 580.0, 580.0])
    t = np.array([0.1, 0.1, 0.0, 0.1, 0.1])
    iv, reason = implied_volatility(price, 580.0, strikes, t, 0.04, 0.0, True)
    assert list(reason) == [IvReason.BELOW_INTRINSIC, IvReason.BELOW_INTRINSIC, IvReason.EXPIRED,
                            IvReason.BAD_INPUT, IvReason.ABOVE_UPPER_BOUND]
    assert np.isnan(iv).all()


def test_expired_option_is_worth_intrinsic_with_flat_greeks():
    g = bsm_greeks(580.0, [560.0, 600.0], 0.0, 0.2, 0.04, 0.0, [True, True])
    assert list(g.price) == [20.0, 0.0]
    assert list(g.delta) == [1.0, 0.0] and list(g.gamma) == [0.0, 0.0]


def test_year_fraction_counts_to_the_new_york_close():
    expiry = dt.date(2026, 4, 17)
    assert dt.datetime.fromtimestamp(expiry_ns(expiry) / 1e9, tz=dt.UTC).hour == 20  # 16:00 EDT
    one_day_before = expiry_ns(expiry) - 86_400 * 10**9
    assert year_fraction(one_day_before, expiry) == pytest.approx(1 / 365)
    assert year_fraction(expiry_ns(expiry) + 1, expiry) == 0.0
