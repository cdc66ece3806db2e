import datetime as dt

import pytest

from actors.decision.config import CustomLeg, EntrySection
from actors.decision.entry_gates import entry_gate_failure
from actors.decision.strategies import NoCandidate, payoff_extremes, select_structure
from actors.market_data.chain import chain_contracts, quote_contracts
from messages import Leg, OptionContract, VolatilityStats

NOW = int(dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC).timestamp() * 1e9)
CHAIN = quote_contracts(chain_contracts("SPY", 580.0, NOW, 30, 45), 580.0, 0.18, NOW, 0.04, 0.013)
DELTA = {q.contract: q.delta for q in CHAIN}


def _select(**entry):
    return select_structure("SPY", CHAIN, NOW, EntrySection(**entry))


@pytest.mark.parametrize(
    ("kind", "shape"),
    [
        ("bull_put", [("P", 1), ("P", -1)]),
        ("bear_call", [("C", -1), ("C", 1)]),
        ("bull_call_debit", [("C", 1), ("C", -1)]),
        ("bear_put_debit", [("P", -1), ("P", 1)]),
    ],
)
def test_verticals_from_the_chain(kind, shape):
    candidate = _select(strategy=kind)
    assert not isinstance(candidate, NoCandidate), candidate
    assert [(leg.contract.right, leg.ratio) for leg in candidate.legs] == shape
    credit = kind in ("bull_put", "bear_call")
    assert (candidate.mid_price < 0) == credit
    width = abs(candidate.legs[0].contract.strike - candidate.legs[1].contract.strike)
    assert candidate.max_profit_usd + candidate.max_loss_usd == pytest.approx(width * 100, abs=0.02)


def test_skew_aware_condor_picks_each_side_by_its_own_delta():
    candidate = _select()
    short_put, short_call = candidate.legs[1].contract, candidate.legs[2].contract
    assert abs(abs(DELTA[short_put]) - 0.18) <= 0.04 and abs(DELTA[short_call] - 0.18) <= 0.04
    assert 580 - short_put.strike >= short_call.strike - 580  # put skew: the put side sits at least as far out


def test_custom_structure_from_config_and_unbounded_risk_refused():
    ratio_spread = _select(strategy="custom", custom_legs=(CustomLeg(right="P", delta=0.30, ratio=1),
                                                           CustomLeg(right="P", delta=0.15, ratio=-2)))
    assert not isinstance(ratio_spread, NoCandidate) and [leg.ratio for leg in ratio_spread.legs] == [1, -2]
    naked_call = _select(strategy="custom", custom_legs=(CustomLeg(right="C", delta=0.20, ratio=-1),))
    assert isinstance(naked_call, NoCandidate) and "unbounded" in naked_call.reason


def test_liquidity_and_credit_filters_explain_themselves():
    assert "no liquid" in _select(max_leg_spread=0.001).reason
    assert "of width" in _select(min_credit_to_width=0.9).reason


def test_payoff_extremes_of_an_iron_condor():
    contract = lambda k, r: OptionContract("SPY", dt.date(2026, 4, 10), k, r)  # noqa: E731
    legs = (Leg(contract(545, "P"), 1), Leg(contract(550, "P"), -1), Leg(contract(610, "C"), -1),
            Leg(contract(615, "C"), 1))
    assert payoff_extremes(legs, -1.5) == pytest.approx((1.5, 3.5))


def test_entry_gates():
    today = dt.date(2026, 3, 2)
    stats = VolatilityStats(symbol="SPY", atm_iv=0.2, iv_rank=20.0, iv_percentile=25.0, history_days=30)
    calm = EntrySection()
    assert entry_gate_failure("SPY", today, 18.0, None, calm) is None
    assert "blackout" in entry_gate_failure("SPY", today, 18.0, None, EntrySection(blackout_dates=(today,)))
    assert "VIX 40.0" in entry_gate_failure("SPY", today, 40.0, None, calm)
    banded = EntrySection(iv_rank_min=30.0, min_iv_history_days=20)
    assert "IV rank 20" in entry_gate_failure("SPY", today, 18.0, stats, banded)
    assert "no IV rank" in entry_gate_failure("SPY", today, 18.0, None, banded)
    young = VolatilityStats(symbol="SPY", atm_iv=0.2, iv_rank=50.0, iv_percentile=50.0, history_days=5)
    assert "need 20" in entry_gate_failure("SPY", today, 18.0, young, banded)
