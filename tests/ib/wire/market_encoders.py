"""Server -> client: the session (ids, accounts, errors, time), market data ticks, contracts and option chains.
Each returns fields for `frame()`."""

from __future__ import annotations

from tests.ib.wire.values import WireContract


def next_valid_id(order_id: int) -> list[object]:
    """ib_async snoops this (with managedAccounts) to finish connecting."""
    return [9, 1, order_id]


def managed_accounts(accounts: list[str]) -> list[object]:
    """Must be non-empty for ib_async to consider the API ready."""
    return [15, 1, ",".join(accounts)]


def error(
    req_id: int, code: int, text: str, advanced_order_reject_json: str = ""
) -> list[object]:
    """errMsg; the JSON field exists from server 166 and must be present."""
    return [4, 2, req_id, code, text, advanced_order_reject_json]


def current_time(epoch_s: float) -> list[object]:
    """The decoder int()s the value, so fractions are dropped here."""
    return [49, 1, int(epoch_s)]


def tick_price(
    req_id: int, tick_type: int, price: float, size: float = 0.0, attrib_mask: int = 0
) -> list[object]:
    """tickPrice carries its size too; ib_async reports both in one callback.

    attrib_mask bits: 1 canAutoExecute, 2 pastLimit, 4 preOpen.
    """
    return [1, 6, req_id, tick_type, price, size, attrib_mask]


def tick_size(req_id: int, tick_type: int, size: float) -> list[object]:
    """Stand-alone size tick (e.g. volume, open interest)."""
    return [2, 6, req_id, tick_type, size]


def tick_generic(req_id: int, tick_type: int, value: float) -> list[object]:
    """Numeric ticks without size, e.g. historical/implied volatility."""
    return [45, 6, req_id, tick_type, value]


def tick_string(req_id: int, tick_type: int, value: str) -> list[object]:
    """Text ticks, e.g. last timestamp or dividends."""
    return [46, 6, req_id, tick_type, value]


def tick_option_computation(
    req_id: int,
    tick_type: int,
    implied_vol: float | None,
    delta: float | None,
    opt_price: float | None,
    pv_dividend: float | None,
    gamma: float | None,
    vega: float | None,
    theta: float | None,
    und_price: float | None,
    tick_attrib: int = 0,
) -> list[object]:
    """Greeks tick; None becomes TWS's "not computed" marker.

    TWS uses -1 for not-computed vol/prices and -2 for not-computed greeks,
    and ib_async's wrapper maps exactly those back to None.  There is no
    version field since server 156 (tickAttrib took its place).
    """

    def mark(value: float | None, missing: float) -> float:
        return missing if value is None else value

    return [
        21,
        req_id,
        tick_type,
        tick_attrib,
        mark(implied_vol, -1.0),
        mark(delta, -2.0),
        mark(opt_price, -1.0),
        mark(pv_dividend, -1.0),
        mark(gamma, -2.0),
        mark(vega, -2.0),
        mark(theta, -2.0),
        mark(und_price, -1.0),
    ]


def market_data_type(req_id: int, data_type: int) -> list[object]:
    """1 live, 2 frozen, 3 delayed, 4 delayed-frozen."""
    return [58, 1, req_id, data_type]


def tick_req_params(
    req_id: int, min_tick: float, bbo_exchange: str, snapshot_permissions: int
) -> list[object]:
    """First reply to reqMktData; no version field."""
    return [81, req_id, min_tick, bbo_exchange, snapshot_permissions]


def contract_details(
    req_id: int,
    contract: WireContract,
    market_name: str,
    min_tick: float,
    long_name: str,
    under_con_id: int,
    time_zone_id: str = "US/Eastern",
    trading_hours: str = "",
    liquid_hours: str = "",
    under_symbol: str = "",
    under_sec_type: str = "",
    real_expiration_date: str = "",
    *,
    order_types: str = "LMT,MKT",
    valid_exchanges: str = "",
    price_magnifier: int = 1,
    contract_month: str | None = None,
    market_rule_ids: str = "",
    stock_type: str = "",
    min_size: float = 1.0,
    size_increment: float = 1.0,
    suggested_size_increment: float = 1.0,
) -> list[object]:
    """contractData at server >= 164: no version field, size rules at the end.

    The decoder runs longName through ``unicode-escape`` decoding, so it is
    escaped here; otherwise a backslash or any non-ASCII name would arrive
    mangled.  contract_month defaults to YYYYMM of the expiry for derivatives.
    """
    c = contract
    if contract_month is None:
        is_dated = c.sec_type in {"OPT", "FOP", "FUT", "WAR"}
        contract_month = c.last_trade_date[:6] if is_dated else ""
    return [
        10,
        req_id,
        c.symbol,
        c.sec_type,
        c.last_trade_date,  # "lastTimes": date, optionally " time tz"
        c.strike,
        c.right,
        c.exchange,
        c.currency,
        c.local_symbol,
        market_name,
        c.trading_class,
        c.con_id,
        min_tick,
        c.multiplier,
        order_types,
        valid_exchanges or c.exchange,
        price_magnifier,
        under_con_id,
        long_name.encode("unicode-escape").decode("ascii"),
        c.primary_exchange,
        contract_month,
        "",  # industry
        "",  # category
        "",  # subcategory
        time_zone_id,
        trading_hours,
        liquid_hours,
        "",  # evRule
        "",  # evMultiplier: int-typed in ib_async, so empty rather than "0.0"
        0,  # secIdList count: int() without fallback, must not be empty
        1,  # aggGroup
        under_symbol,
        under_sec_type,
        market_rule_ids,
        real_expiration_date,
        stock_type,
        min_size,
        size_increment,
        suggested_size_increment,
    ]


def contract_details_end(req_id: int) -> list[object]:
    """Completes a reqContractDetails request."""
    return [52, 1, req_id]


def sec_def_opt_params(
    req_id: int,
    exchange: str,
    underlying_con_id: int,
    trading_class: str,
    multiplier: str,
    expirations: list[str],
    strikes: list[float],
) -> list[object]:
    """One option chain per exchange; both lists are count-prefixed."""
    return [
        75,
        req_id,
        exchange,
        underlying_con_id,
        trading_class,
        multiplier,
        len(expirations),
        *expirations,
        len(strikes),
        *strikes,
    ]


def sec_def_opt_params_end(req_id: int) -> list[object]:
    """Completes reqSecDefOptParams; no version field."""
    return [76, req_id]
