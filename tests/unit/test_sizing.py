"""Sizing: fixed units, or units whose max loss is a fraction of net liquidation, capped per order."""

from __future__ import annotations

import datetime as dt

from actors.decision.config import EntrySection
from actors.decision.sizing import Sized, size_entry
from actors.decision.strategies import StructureCandidate
from messages import Leg, OptionContract

EXPIRY = dt.date(2026, 4, 10)


def _candidate(ratio: int = 1) -> StructureCandidate:
    legs = (Leg(OptionContract("SPY", EXPIRY, 545.0, "P"), ratio), Leg(OptionContract("SPY", EXPIRY, 550.0, "P"), -ratio))
    return StructureCandidate(kind="bull_put", symbol="SPY", legs=legs, mid_price=-1.5, natural_price=-1.4,
                              max_profit_usd=150.0, max_loss_usd=350.0, reason="t", leg_quotes=())


def test_fixed_sizing_keeps_the_configured_quantity_and_ignores_the_account():
    sized = size_entry(_candidate(), EntrySection(), None, 10)
    assert sized == Sized(1, 150.0, 350.0, "")


def test_risk_pct_floors_the_budget_over_one_units_max_loss():
    params = EntrySection(sizing="risk_pct", risk_per_trade_pct=0.02)
    sized = size_entry(_candidate(), params, 60_000.0, 10)  # 1 200 / 350 = 3.4
    assert isinstance(sized, Sized) and (sized.quantity, sized.max_loss_usd, sized.max_profit_usd) == (3, 1050.0, 450.0)


def test_risk_pct_is_capped_by_contracts_per_leg():
    params = EntrySection(sizing="risk_pct", risk_per_trade_pct=0.5)
    sized = size_entry(_candidate(ratio=2), params, 1_000_000.0, 10)
    assert isinstance(sized, Sized) and sized.quantity == 5 and "capped" in sized.detail


def test_risk_pct_opens_nothing_below_one_unit_or_without_net_liquidation():
    params = EntrySection(sizing="risk_pct", risk_per_trade_pct=0.02)
    assert "below one unit" in size_entry(_candidate(), params, 10_000.0, 10)
    assert "net liquidation" in size_entry(_candidate(), params, None, 10)
