"""The implied-volatility solver at the edges of what it can solve: each kind of bad input alone, the intrinsic value
and the no-arbitrage upper bound exactly, small but valid prices, and the types it returns."""

from __future__ import annotations

import numpy as np
import pytest

from actors.market_data.pricing import IvReason, bsm_greeks, bsm_price, implied_volatility

NAN = float("nan")


@pytest.mark.parametrize(("price", "s", "k"), [(NAN, 100.0, 100.0), (5.0, NAN, 100.0), (5.0, 100.0, NAN),
                                               (5.0, 0.0, 100.0), (5.0, 100.0, 0.0), (-0.01, 100.0, 100.0)])
def test_each_bad_input_alone_is_named_bad(price, s, k):
    iv, reason = implied_volatility(price, s, k, 0.5, 0.0, 0.0, True)
    assert reason == IvReason.BAD_INPUT and np.isnan(iv)


def test_prices_below_one_dollar_and_strikes_below_one_are_solvable():
    for s, k in ((0.8, 0.9), (1.0, 1.0), (0.5, 0.45)):
        price = float(bsm_price(s, k, 0.5, 0.4, 0.0, 0.0, True))
        iv, reason = implied_volatility(price, s, k, 0.5, 0.0, 0.0, True)
        assert reason == IvReason.OK and iv == pytest.approx(0.4, abs=1e-6), (s, k)


def test_a_price_at_the_intrinsic_value_has_no_implied_volatility():
    # a call 10 in the money, no carry: intrinsic is exactly 10
    for price in (10.0, 10.0 + 1e-12, 10.0 + 5e-13):
        assert implied_volatility(price, 100.0, 90.0, 0.5, 0.0, 0.0, True)[1] == IvReason.BELOW_INTRINSIC, price
    assert implied_volatility(10.01, 100.0, 90.0, 0.5, 0.0, 0.0, True)[1] == IvReason.OK


def test_a_price_at_the_no_arbitrage_bound_has_no_implied_volatility():
    t, r, q = 1.0, 0.05, 0.02
    call_bound = 100.0 * np.exp(-q * t)  # a call is never worth more than the discounted spot
    put_bound = 100.0 * np.exp(-r * t)  # a put never more than the discounted strike
    assert implied_volatility(call_bound, 100.0, 100.0, t, r, q, True)[1] == IvReason.ABOVE_UPPER_BOUND
    assert implied_volatility(put_bound, 100.0, 100.0, t, r, q, False)[1] == IvReason.ABOVE_UPPER_BOUND
    assert implied_volatility(call_bound * 1.01, 100.0, 100.0, t, r, q, True)[1] == IvReason.ABOVE_UPPER_BOUND
    assert implied_volatility(put_bound * 1.01, 100.0, 100.0, t, r, q, False)[1] == IvReason.ABOVE_UPPER_BOUND


def test_integer_inputs_give_float_volatilities_and_int8_reasons_in_the_input_shape():
    price = float(bsm_price(100, 100, 1, 0.3, 0, 0, True))
    iv, reason = implied_volatility([price, price], 100, 100, 1, 0, 0, 1)
    assert iv.dtype == np.float64 and reason.dtype == np.int8 and iv.shape == reason.shape == (2,)
    assert iv == pytest.approx([0.3, 0.3], abs=1e-6) and list(reason) == [IvReason.OK, IvReason.OK]


def test_newton_finds_an_ordinary_volatility_in_a_handful_of_steps_where_bisection_alone_could_not():
    strikes = np.array([80.0, 100.0, 120.0])
    price = bsm_price(100.0, strikes, 0.25, 0.3, 0.03, 0.01, True)
    iv, reason = implied_volatility(price, 100.0, strikes, 0.25, 0.03, 0.01, True, max_iterations=8)
    assert list(reason) == [IvReason.OK] * 3 and iv == pytest.approx([0.3] * 3, abs=1e-6)


def test_a_price_only_a_volatility_above_the_search_range_explains_is_reported_unsolved():
    # just under the call's upper bound: the bracket closes at the top of the range without matching the price
    iv, reason = implied_volatility(99.0, 100.0, 100.0, 0.1, 0.0, 0.0, True)
    assert reason == IvReason.NO_CONVERGENCE and np.isnan(iv)
    assert iv.shape == reason.shape == ()  # a scalar in, scalars out


def test_expired_and_zero_volatility_options_are_worth_the_discounted_forward_intrinsic_beside_live_ones():
    s, r, q = 100.0, 0.05, 0.02
    k = np.array([99.5, 100.0, 102.0, 100.0, 110.0, 100.0])
    t = np.array([0.0, 0.0, 0.5, 0.5, 0.5, 0.5])
    sigma = np.array([0.2, 0.2, 0.0, 0.0, 0.0, 0.2])
    is_call = np.array([True, True, True, False, False, True])
    g = bsm_greeks(s, k, t, sigma, np.array([0.0, 0.0, r, r, r, r]), np.array([0.0, 0.0, q, q, q, q]), is_call)
    dq, dr = np.exp(-q * 0.5), np.exp(-r * 0.5)
    # ITM by 0.50 at expiry; at the money at expiry; forwards: OTM call, OTM put, ITM put; a live call
    intrinsic = [0.5, 0.0, 0.0, 0.0, 110.0 * dr - 100.0 * dq]
    assert g.price[:5] == pytest.approx(intrinsic, abs=1e-12)
    assert list(g.delta[:5]) == [1.0, 0.0, 0.0, 0.0, -dq]
    for greek in (g.gamma, g.vega, g.theta, g.rho):
        assert list(greek[:5]) == [0.0] * 5
    live = bsm_greeks(s, 100.0, 0.5, 0.2, r, q, True)
    assert [g.price[5], g.delta[5], g.gamma[5], g.vega[5], g.theta[5], g.rho[5]] == [
        live.price, live.delta, live.gamma, live.vega, live.theta, live.rho]
    prices = bsm_price(s, k, t, sigma, np.array([0.0, 0.0, r, r, r, r]), np.array([0.0, 0.0, q, q, q, q]), is_call)
    assert prices[:5] == pytest.approx(intrinsic, abs=1e-12) and prices[5] == live.price


@pytest.mark.parametrize("tolerance", [1e-8, 1e-12])
def test_a_price_whose_volatility_lies_just_past_the_search_range_has_none(tolerance):
    """The bracket then closes on its edge (5.0) and the final check must see the price is not matched — also when the
    caller's tolerance is so tight that only the check's floor (1e-6) stands between a wrong answer and the caller."""
    from actors.market_data.pricing import IV_HIGH, IvReason, bsm_price, implied_volatility

    beyond = float(bsm_price(100.0, 100.0, 1.0, IV_HIGH + 1e-3, 0.0, 0.0, True))
    within = float(bsm_price(100.0, 100.0, 1.0, IV_HIGH - 0.1, 0.0, 0.0, True))
    iv, reason = implied_volatility([beyond, within], 100.0, 100.0, 1.0, 0.0, 0.0, True, tolerance=tolerance)
    assert reason[0] == IvReason.NO_CONVERGENCE and np.isnan(iv[0])
    assert reason[1] == 0 and iv[1] == pytest.approx(IV_HIGH - 0.1, abs=1e-4)
