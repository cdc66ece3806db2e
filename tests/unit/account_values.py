"""Account values as a broker reports them, for tests of cores that read the account."""

from __future__ import annotations

from messages import AccountValue, BrokerAccountValues


def account_values(net_liquidation_usd: float = 100_000.0, init_margin_usd: float = 0.0,
                   available_funds_usd: float | None = None, ts: int = 0) -> BrokerAccountValues:
    available = net_liquidation_usd - init_margin_usd if available_funds_usd is None else available_funds_usd
    values = {"NetLiquidation": net_liquidation_usd, "InitMarginReq": init_margin_usd, "AvailableFunds": available}
    return BrokerAccountValues(ts=ts, account="T", values=tuple(
        AccountValue(key=key, value=f"{value:.2f}", currency="USD") for key, value in values.items()))
