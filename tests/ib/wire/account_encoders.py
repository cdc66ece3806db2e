"""Server -> client: positions, account values and portfolio updates. Each returns fields for `frame()`."""

from __future__ import annotations

from tests.ib.wire.values import WireContract, contract_fields


def position(
    account: str, contract: WireContract, position: float, avg_cost: float
) -> list[object]:
    """One reqPositions row; the decoder requires exactly this many fields."""
    return [
        61,
        3,
        account,
        *contract_fields(contract, contract.exchange),
        position,
        avg_cost,
    ]


def position_end() -> list[object]:
    """Completes reqPositions."""
    return [62, 1]


def update_account_value(
    key: str, value: str, currency: str, account: str
) -> list[object]:
    """Account values are strings on the wire (some are not numeric)."""
    return [6, 2, key, value, currency, account]


def update_portfolio(
    contract: WireContract,
    position: float,
    market_price: float,
    market_value: float,
    average_cost: float,
    unrealized_pnl: float,
    realized_pnl: float,
    account: str,
) -> list[object]:
    """portfolioValue carries primaryExchange where other messages put exchange.

    All numbers are parsed with bare float(), so none may be empty.
    """
    return [
        7,
        8,
        *contract_fields(contract, contract.primary_exchange),
        position,
        market_price,
        market_value,
        average_cost,
        unrealized_pnl,
        realized_pnl,
        account,
    ]


def update_account_time(time_str: str) -> list[object]:
    """TWS sends "HH:MM" here, the time of the last account update."""
    return [8, 1, time_str]


def account_download_end(account: str) -> list[object]:
    """Ends the initial reqAccountUpdates snapshot."""
    return [54, 1, account]


def account_update_multi(
    req_id: int, account: str, model_code: str, key: str, value: str, currency: str
) -> list[object]:
    """One reqAccountUpdatesMulti value."""
    return [73, 1, req_id, account, model_code, key, value, currency]


def account_update_multi_end(req_id: int) -> list[object]:
    """Ends the reqAccountUpdatesMulti snapshot."""
    return [74, 1, req_id]
