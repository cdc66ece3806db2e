"""The simulated account's values, reported like IB's: net liquidation at mid marks, cash, and a defined-risk margin
per underlying and expiry (width × 100 × quantity − credit, actors/portfolio/margin.py) plus Reg T on shares."""

from __future__ import annotations

from collections.abc import Mapping

from actors.broker.sim.stock import SimShares
from actors.portfolio.margin import defined_risk_margin_usd
from messages import CONTRACT_MULTIPLIER, AccountValue, BrokerAccountValues, OptionContract

SIM_ACCOUNT = "SIM"


def account_values(positions: Mapping[OptionContract, int], costs: Mapping[OptionContract, float],
                   marks: Mapping[OptionContract, float], cash_usd: float, shares: SimShares,
                   underlying_mid: Mapping[str, float]) -> BrokerAccountValues:
    """`marks`: each held option's mid (one without a quote is marked at its cost)."""
    held = sorted(positions, key=str)
    value = sum(positions[c] * marks.get(c, costs[c] / positions[c]) for c in held)
    net_liquidation = cash_usd + value * CONTRACT_MULTIPLIER + shares.value_usd(underlying_mid)
    premium = {c: -costs[c] * CONTRACT_MULTIPLIER for c in held}
    margin = defined_risk_margin_usd(positions, premium)
    if margin is not None:  # shares: Reg T initial margin, half their value
        margin += shares.margin_usd(underlying_mid)
    values = {"NetLiquidation": net_liquidation, "TotalCashValue": cash_usd}
    if margin is not None:  # undefined risk: no number rather than a wrong one (risk then refuses to open)
        values |= {"InitMarginReq": margin, "MaintMarginReq": margin, "AvailableFunds": net_liquidation - margin,
                   "ExcessLiquidity": net_liquidation - margin, "BuyingPower": net_liquidation - margin}
    return BrokerAccountValues(account=SIM_ACCOUNT, values=tuple(
        AccountValue(key=key, value=f"{number:.2f}", currency="USD") for key, number in sorted(values.items())))
