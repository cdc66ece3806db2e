"""Server -> client: open, completed and status reports of orders, executions and commissions. Each returns
fields for `frame()`."""

from __future__ import annotations

from collections.abc import Sequence

from tests.ib.wire.framing import UNSET_DOUBLE, UNSET_INTEGER
from tests.ib.wire.values import WireComboLeg, WireContract, WireOrder, contract_fields, unset_double


def _combo_description(legs: list[WireComboLeg]) -> str:
    # TWS summarises legs as "conId|signedRatio,..." with sells negative.
    return ",".join(
        f"{leg.con_id}|{-leg.ratio if leg.action.upper() == 'SELL' else leg.ratio}"
        for leg in legs
    )


def _combo_block(order: WireOrder) -> list[object]:
    # Shared by openOrder and completedOrder: contract legs (8 fields each),
    # per-leg order prices, smart combo routing params.  Counts are parsed
    # with bare int(), so they are always sent, even when zero.
    legs = order.contract.combo_legs
    out: list[object] = [len(legs)]
    for leg in legs:
        out += [
            leg.con_id,
            leg.ratio,
            leg.action,
            leg.exchange,
            leg.open_close,
            leg.short_sale_slot,
            leg.designated_location,
            leg.exempt_code,
        ]
    out.append(len(order.combo_leg_prices))
    out += [unset_double(p) for p in order.combo_leg_prices]
    out.append(len(order.smart_combo_routing_params))
    for tag, value in order.smart_combo_routing_params:
        out += [tag, value]
    return out


def _peg_bench_block(order: WireOrder) -> list[object]:
    # Only present for pegged-to-benchmark orders; we never model those, but
    # emitting neutral values keeps the rest of the message aligned.
    if order.order_type in {"PEG BENCH", "PEGBENCH"}:
        return [0, False, 0.0, 0.0, ""]
    return []


def open_order(order: WireOrder, status: str, what_if: Sequence[str] | None = None,
               commission: float = UNSET_DOUBLE) -> list[object]:
    """openOrder at server 176 (faProfile still present, < 177).

    With `what_if` it answers a what-if order: whatIf set and nine strings, before, change and after, each as
    initMargin, maintMargin, equityWithLoan (IB sends them as text, an unknown one as "1.7976931348623157E308").

    Every order attribute we do not model is sent as the value ib_async uses
    as its default (UNSET_DOUBLE/UNSET_INTEGER for sentinels, "0" for flags),
    so the decoded Order differs from ``Order()`` only where we set something.
    Flags must be "0"/"1": the decoder does ``bool(int(x))``.
    """
    o = order
    c = o.contract
    return [
        5,
        o.order_id,
        *contract_fields(c, c.exchange),
        o.action,
        o.total_quantity,
        o.order_type,
        unset_double(o.lmt_price),
        unset_double(o.aux_price),
        o.tif,
        o.oca_group,
        o.account,
        o.open_close,
        o.origin,
        o.order_ref,
        o.client_id,
        o.perm_id,
        o.outside_rth,
        False,  # hidden
        0.0,  # discretionaryAmt
        "",  # goodAfterTime
        "",  # sharesAllocation (deprecated, skipped by the decoder)
        "",  # faGroup
        "",  # faMethod
        "",  # faPercentage
        "",  # faProfile (server < 177)
        "",  # modelCode
        "",  # goodTillDate
        "",  # rule80A
        UNSET_DOUBLE,  # percentOffset
        "",  # settlingFirm
        0,  # shortSaleSlot
        "",  # designatedLocation
        -1,  # exemptCode
        0,  # auctionStrategy
        UNSET_DOUBLE,  # startingPrice
        UNSET_DOUBLE,  # stockRefPrice
        UNSET_DOUBLE,  # delta
        UNSET_DOUBLE,  # stockRangeLower
        UNSET_DOUBLE,  # stockRangeUpper
        0,  # displaySize
        False,  # blockOrder
        False,  # sweepToFill
        False,  # allOrNone
        UNSET_INTEGER,  # minQty
        0,  # ocaType
        False,  # eTradeOnly
        False,  # firmQuoteOnly
        UNSET_DOUBLE,  # nbboPriceCap
        o.parent_id,
        0,  # triggerMethod
        UNSET_DOUBLE,  # volatility
        UNSET_INTEGER,  # volatilityType
        "",  # deltaNeutralOrderType: non-empty would pull in 8 more fields
        UNSET_DOUBLE,  # deltaNeutralAuxPrice
        False,  # continuousUpdate
        UNSET_INTEGER,  # referencePriceType
        UNSET_DOUBLE,  # trailStopPrice
        UNSET_DOUBLE,  # trailingPercent
        UNSET_DOUBLE,  # basisPoints
        UNSET_INTEGER,  # basisPointsType
        _combo_description(c.combo_legs),
        *_combo_block(o),
        UNSET_INTEGER,  # scaleInitLevelSize
        UNSET_INTEGER,  # scaleSubsLevelSize
        UNSET_DOUBLE,  # scalePriceIncrement: unset skips the 7 scale fields
        "",  # hedgeType: non-empty would pull in hedgeParam
        False,  # optOutSmartRouting
        "",  # clearingAccount
        "",  # clearingIntent
        False,  # notHeld
        False,  # deltaNeutralContract present
        "",  # algoStrategy: non-empty would pull in algo params
        False,  # solicited
        what_if is not None,  # whatIf
        status,
        *(what_if if what_if is not None else [""] * 9),  # margin before/change/after: str-typed in ib_async
        commission,
        UNSET_DOUBLE,  # minCommission
        UNSET_DOUBLE,  # maxCommission
        "",  # commissionCurrency
        "",  # warningText
        False,  # randomizeSize
        False,  # randomizePrice
        *_peg_bench_block(o),
        0,  # conditions count
        "",  # adjustedOrderType
        UNSET_DOUBLE,  # triggerPrice
        UNSET_DOUBLE,  # trailStopPrice (again)
        UNSET_DOUBLE,  # lmtPriceOffset
        UNSET_DOUBLE,  # adjustedStopPrice
        UNSET_DOUBLE,  # adjustedStopLimitPrice
        UNSET_DOUBLE,  # adjustedTrailingAmount
        0,  # adjustableTrailingUnit
        "",  # softDollarTier name
        "",  # softDollarTier value
        "",  # softDollarTier displayName
        UNSET_DOUBLE,  # cashQty
        False,  # dontUseAutoPriceForHedge
        False,  # isOmsContainer
        False,  # discretionaryUpToLimitPrice
        False,  # usePriceMgmtAlgo
        UNSET_INTEGER,  # duration (>= 159)
        UNSET_INTEGER,  # postToAts (>= 160)
        False,  # autoCancelParent (>= 162)
        UNSET_INTEGER,  # minTradeQty (>= 170)
        UNSET_INTEGER,  # minCompeteSize
        UNSET_DOUBLE,  # competeAgainstBestOffset
        UNSET_DOUBLE,  # midOffsetAtWhole
        UNSET_DOUBLE,  # midOffsetAtHalf
    ]


def open_order_end() -> list[object]:
    """Completes reqOpenOrders/reqAllOpenOrders (and the connect-time dump)."""
    return [53, 1]


def completed_order(
    order: WireOrder, status: str, completed_time: str, completed_status: str
) -> list[object]:
    """completedOrder: like openOrder but a different field order and no ids.

    The message carries neither orderId nor clientId (only permId), so the
    decoded Order has orderId == clientId == 0 whatever WireOrder says.
    """
    o = order
    c = o.contract
    return [
        101,
        *contract_fields(c, c.exchange),
        o.action,
        o.total_quantity,
        o.order_type,
        unset_double(o.lmt_price),
        unset_double(o.aux_price),
        o.tif,
        o.oca_group,
        o.account,
        o.open_close,
        o.origin,
        o.order_ref,
        o.perm_id,
        o.outside_rth,
        False,  # hidden
        0.0,  # discretionaryAmt
        "",  # goodAfterTime
        "",  # faGroup
        "",  # faMethod
        "",  # faPercentage
        "",  # faProfile (server < 177)
        "",  # modelCode
        "",  # goodTillDate
        "",  # rule80A
        UNSET_DOUBLE,  # percentOffset
        "",  # settlingFirm
        0,  # shortSaleSlot
        "",  # designatedLocation
        -1,  # exemptCode
        UNSET_DOUBLE,  # startingPrice
        UNSET_DOUBLE,  # stockRefPrice
        UNSET_DOUBLE,  # delta
        UNSET_DOUBLE,  # stockRangeLower
        UNSET_DOUBLE,  # stockRangeUpper
        0,  # displaySize
        False,  # sweepToFill
        False,  # allOrNone
        UNSET_INTEGER,  # minQty
        0,  # ocaType
        0,  # triggerMethod
        UNSET_DOUBLE,  # volatility
        UNSET_INTEGER,  # volatilityType
        "",  # deltaNeutralOrderType
        UNSET_DOUBLE,  # deltaNeutralAuxPrice
        False,  # continuousUpdate
        UNSET_INTEGER,  # referencePriceType
        UNSET_DOUBLE,  # trailStopPrice
        UNSET_DOUBLE,  # trailingPercent
        _combo_description(c.combo_legs),
        *_combo_block(o),
        UNSET_INTEGER,  # scaleInitLevelSize
        UNSET_INTEGER,  # scaleSubsLevelSize
        UNSET_DOUBLE,  # scalePriceIncrement
        "",  # hedgeType
        "",  # clearingAccount
        "",  # clearingIntent
        False,  # notHeld
        False,  # deltaNeutralContract present
        "",  # algoStrategy
        False,  # solicited
        status,
        False,  # randomizeSize
        False,  # randomizePrice
        *_peg_bench_block(o),
        0,  # conditions count
        UNSET_DOUBLE,  # trailStopPrice (again)
        UNSET_DOUBLE,  # lmtPriceOffset
        UNSET_DOUBLE,  # cashQty
        False,  # dontUseAutoPriceForHedge
        False,  # isOmsContainer
        "",  # autoCancelDate
        unset_double(o.filled_quantity),
        0,  # refFuturesConId
        False,  # autoCancelParent
        "",  # shareholder
        False,  # imbalanceOnly
        False,  # routeMarketableToBbo
        0,  # parentPermId
        completed_time,
        completed_status,
        UNSET_INTEGER,  # minTradeQty (>= 170)
        UNSET_INTEGER,  # minCompeteSize
        UNSET_DOUBLE,  # competeAgainstBestOffset
        UNSET_DOUBLE,  # midOffsetAtWhole
        UNSET_DOUBLE,  # midOffsetAtHalf
    ]


def completed_orders_end() -> list[object]:
    """Completes reqCompletedOrders; the message is just its id."""
    return [102]


def order_status(
    order_id: int,
    status: str,
    filled: float,
    remaining: float,
    avg_fill_price: float,
    perm_id: int,
    parent_id: int,
    last_fill_price: float,
    client_id: int,
    why_held: str = "",
    mkt_cap_price: float = 0.0,
) -> list[object]:
    """orderStatus has had no version field since mktCapPrice was added."""
    return [
        3,
        order_id,
        status,
        filled,
        remaining,
        avg_fill_price,
        perm_id,
        parent_id,
        last_fill_price,
        client_id,
        why_held,
        mkt_cap_price,
    ]


def exec_details(
    req_id: int,
    order_id: int,
    contract: WireContract,
    exec_id: str,
    time_str: str,
    account: str,
    exchange: str,
    side: str,
    shares: float,
    price: float,
    perm_id: int,
    client_id: int,
    cum_qty: float,
    avg_price: float,
    order_ref: str,
    *,
    liquidation: int = 0,
    model_code: str = "",
    last_liquidity: int = 0,
) -> list[object]:
    """executionData without version field and (< 178) pendingPriceRevision.

    Live fills use req_id -1.  time_str is "YYYYMMDD HH:MM:SS Zone" or
    "YYYYMMDD  HH:MM:SS" (two spaces); the latter is interpreted by ib_async
    in the TWS login time zone.  side is "BOT"/"SLD" as TWS reports it.
    """
    return [
        11,
        req_id,
        order_id,
        *contract_fields(contract, contract.exchange),
        exec_id,
        time_str,
        account,
        exchange,
        side,
        shares,
        price,
        perm_id,
        client_id,
        liquidation,
        cum_qty,
        avg_price,
        order_ref,
        "",  # evRule
        "",  # evMultiplier
        model_code,
        last_liquidity,
    ]


def exec_details_end(req_id: int) -> list[object]:
    """Completes reqExecutions."""
    return [55, 1, req_id]


def commission_report(
    exec_id: str,
    commission: float,
    currency: str = "USD",
    realized_pnl: float | None = None,
) -> list[object]:
    """commissionReport; an unknown realized P&L goes out as UNSET_DOUBLE.

    That is what TWS sends for opening fills, and ib_async's wrapper turns it
    (and the always-unset yield) into 0.0.
    """
    return [
        59,
        1,
        exec_id,
        commission,
        currency,
        unset_double(realized_pnl),
        UNSET_DOUBLE,  # yield
        0,  # yieldRedemptionDate
    ]
