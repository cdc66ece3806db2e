"""Client -> server: a frame's fields parsed into its request (`parse_request`), strictly: a layout that moved is a
`WireError`, never a wrong value."""

from __future__ import annotations

import re
from collections.abc import Callable

from tests.ib.wire.cursor import INTEGER, Cursor
from tests.ib.wire.framing import UNSET_DOUBLE, WireError
from tests.ib.wire.requests import (
    CancelAccountUpdatesMulti,
    CancelMktData,
    CancelOrder,
    CancelPositions,
    Handshake,
    PlaceOrder,
    ReqAccountUpdates,
    ReqAccountUpdatesMulti,
    ReqAllOpenOrders,
    ReqAutoOpenOrders,
    ReqCompletedOrders,
    ReqContractDetails,
    ReqCurrentTime,
    ReqExecutions,
    ReqIds,
    ReqManagedAccts,
    ReqMarketDataType,
    ReqMktData,
    ReqOpenOrders,
    ReqPositions,
    ReqSecDefOptParams,
    Request,
    StartApi,
    UnknownRequest,
)
from tests.ib.wire.values import WireComboLeg

_HANDSHAKE = re.compile(r"v(\d+)(?:\.\.(\d+))?(?: (.*))?\Z", re.DOTALL)


def _parse_req_mkt_data(r: Cursor) -> ReqMktData:
    r.version(11)
    req_id = r.integer("reqId")
    contract = r.contract()
    if contract.sec_type == "BAG":
        for _ in range(r.count("combo leg count", 4)):
            contract.combo_legs.append(
                WireComboLeg(
                    con_id=r.integer("leg conId"),
                    ratio=r.integer("leg ratio"),
                    action=r.text("leg action"),
                    exchange=r.text("leg exchange"),
                )
            )
    delta_neutral = None
    if r.flag("deltaNeutralContract present"):
        delta_neutral = (
            r.integer("dnc conId"),
            r.number("dnc delta") or 0.0,
            r.number("dnc price") or 0.0,
        )
    req = ReqMktData(
        req_id=req_id,
        contract=contract,
        generic_ticks=r.text("genericTickList"),
        snapshot=r.flag("snapshot"),
        regulatory_snapshot=r.flag("regulatorySnapshot"),
        delta_neutral=delta_neutral,
        mkt_data_options=r.text("mktDataOptions"),
    )
    r.end()
    return req


def _parse_place_order(r: Cursor) -> PlaceOrder:
    # No version field.  Only the prefix up to the combo section is read:
    # the remaining ~100 fields describe order features we never use.
    order_id = r.integer("orderId")
    contract = r.contract()
    r.text("secIdType")
    r.text("secId")
    action = r.text("action")
    total_quantity = r.required_number("totalQuantity")
    order_type = r.text("orderType")
    lmt_price = r.number("lmtPrice")
    aux_price = r.number("auxPrice")
    tif = r.text("tif")
    oca_group = r.text("ocaGroup")
    account = r.text("account")
    open_close = r.text("openClose")
    origin = r.integer("origin", empty=0)
    order_ref = r.text("orderRef")
    transmit = r.flag("transmit")
    parent_id = r.integer("parentId", empty=0)
    r.flag("blockOrder")
    r.flag("sweepToFill")
    r.integer("displaySize", empty=0)
    r.integer("triggerMethod", empty=0)
    outside_rth = r.flag("outsideRth")
    hidden = r.flag("hidden")
    leg_prices: list[float | None] = []
    params: list[tuple[str, str]] = []
    if contract.sec_type == "BAG":
        for _ in range(r.count("combo leg count", 8)):
            contract.combo_legs.append(
                WireComboLeg(
                    con_id=r.integer("leg conId"),
                    ratio=r.integer("leg ratio"),
                    action=r.text("leg action"),
                    exchange=r.text("leg exchange"),
                    open_close=r.integer("leg openClose", empty=0),
                    short_sale_slot=r.integer("leg shortSaleSlot", empty=0),
                    designated_location=r.text("leg designatedLocation"),
                    exempt_code=r.integer("leg exemptCode", empty=-1),
                )
            )
        for _ in range(r.count("order combo leg count", 1)):
            leg_prices.append(r.number("order combo leg price"))
        for _ in range(r.count("smart combo routing param count", 2)):
            params.append((r.text("param tag"), r.text("param value")))
    what_if = _read_what_if(r)
    return PlaceOrder(
        order_id=order_id,
        contract=contract,
        action=action,
        total_quantity=total_quantity,
        order_type=order_type,
        lmt_price=lmt_price,
        aux_price=aux_price,
        tif=tif,
        oca_group=oca_group,
        account=account,
        open_close=open_close,
        origin=origin,
        order_ref=order_ref,
        transmit=transmit,
        parent_id=parent_id,
        outside_rth=outside_rth,
        combo_leg_prices=leg_prices,
        hidden=hidden,
        smart_combo_routing_params=params,
        what_if=what_if,
    )


def _read_what_if(r: Cursor) -> bool:
    """Skip placeOrder's middle (ib_async client.placeOrder at SERVER_VERSION, conditional blocks included) up to
    the whatIf flag."""
    for what in ("sharesAllocation", "discretionaryAmt", "goodAfterTime", "goodTillDate", "faGroup", "faMethod",
                 "faPercentage", "faProfile", "modelCode", "shortSaleSlot", "designatedLocation", "exemptCode",
                 "ocaType", "rule80A", "settlingFirm", "allOrNone", "minQty", "percentOffset", "eTradeOnly",
                 "firmQuoteOnly", "nbboPriceCap", "auctionStrategy", "startingPrice", "stockRefPrice", "delta",
                 "stockRangeLower", "stockRangeUpper", "overridePercentageConstraints", "volatility",
                 "volatilityType"):
        r.raw(what)
    if r.text("deltaNeutralOrderType"):
        for _ in range(9):
            r.raw("deltaNeutral field")
    else:
        r.raw("deltaNeutralAuxPrice")
    for what in ("continuousUpdate", "referencePriceType", "trailStopPrice", "trailingPercent", "scaleInitLevelSize",
                 "scaleSubsLevelSize"):
        r.raw(what)
    increment = r.number("scalePriceIncrement")
    if increment is not None and 0 < increment < UNSET_DOUBLE:
        for _ in range(7):
            r.raw("scale field")
    for what in ("scaleTable", "activeStartTime", "activeStopTime"):
        r.raw(what)
    if r.text("hedgeType"):
        r.raw("hedgeParam")
    for what in ("optOutSmartRouting", "clearingAccount", "clearingIntent", "notHeld"):
        r.raw(what)
    if r.flag("deltaNeutralContract present"):
        for _ in range(3):
            r.raw("deltaNeutralContract field")
    if r.text("algoStrategy"):
        for _ in range(r.count("algo param count", 2)):
            r.raw("algo tag")
            r.raw("algo value")
    r.raw("algoId")
    return r.flag("whatIf")


def _parse_req_contract_details(r: Cursor) -> ReqContractDetails:
    r.version(8)
    req = ReqContractDetails(
        req_id=r.integer("reqId"),
        contract=r.contract(),
        include_expired=r.flag("includeExpired"),
        sec_id_type=r.text("secIdType"),
        sec_id=r.text("secId"),
        issuer_id=r.text("issuerId"),  # sent from server version 176
    )
    r.end()
    return req


def _parse_req_executions(r: Cursor) -> ReqExecutions:
    r.version(3)
    req = ReqExecutions(
        req_id=r.integer("reqId"),
        client_id=r.integer("clientId", empty=0),
        account=r.text("acctCode"),
        time=r.text("time"),
        symbol=r.text("symbol"),
        sec_type=r.text("secType"),
        exchange=r.text("exchange"),
        side=r.text("side"),
    )
    r.end()
    return req


def _parse_req_sec_def_opt_params(r: Cursor) -> ReqSecDefOptParams:
    req = ReqSecDefOptParams(  # no version field
        req_id=r.integer("reqId"),
        underlying_symbol=r.text("underlyingSymbol"),
        fut_fop_exchange=r.text("futFopExchange"),
        underlying_sec_type=r.text("underlyingSecType"),
        underlying_con_id=r.integer("underlyingConId", empty=0),
    )
    r.end()
    return req


def _simple(
    version: int | None, build: Callable[[Cursor], Request]
) -> Callable[[Cursor], Request]:
    # For fixed-layout messages: check the version, build, insist on no extras.
    def parse(r: Cursor) -> Request:
        if version is not None:
            r.version(version)
        req = build(r)
        r.end()
        return req

    return parse


_PARSERS: dict[int, tuple[str, Callable[[Cursor], Request]]] = {
    1: ("reqMktData", _parse_req_mkt_data),
    2: ("cancelMktData", _simple(2, lambda r: CancelMktData(r.integer("reqId")))),
    3: ("placeOrder", _parse_place_order),
    4: (
        "cancelOrder",
        _simple(
            1,
            lambda r: CancelOrder(
                r.integer("orderId"), r.text("manualCancelOrderTime")
            ),
        ),
    ),
    5: ("reqOpenOrders", _simple(1, lambda r: ReqOpenOrders())),
    6: (
        "reqAccountUpdates",
        _simple(
            2, lambda r: ReqAccountUpdates(r.flag("subscribe"), r.text("acctCode"))
        ),
    ),
    7: ("reqExecutions", _parse_req_executions),
    8: ("reqIds", _simple(1, lambda r: ReqIds(r.integer("numIds")))),
    9: ("reqContractDetails", _parse_req_contract_details),
    15: (
        "reqAutoOpenOrders",
        _simple(1, lambda r: ReqAutoOpenOrders(r.flag("bAutoBind"))),
    ),
    16: ("reqAllOpenOrders", _simple(1, lambda r: ReqAllOpenOrders())),
    17: ("reqManagedAccts", _simple(1, lambda r: ReqManagedAccts())),
    49: ("reqCurrentTime", _simple(1, lambda r: ReqCurrentTime())),
    59: (
        "reqMarketDataType",
        _simple(1, lambda r: ReqMarketDataType(r.integer("marketDataType"))),
    ),
    61: ("reqPositions", _simple(1, lambda r: ReqPositions())),
    64: ("cancelPositions", _simple(1, lambda r: CancelPositions())),
    71: (
        "startApi",
        _simple(
            2, lambda r: StartApi(r.integer("clientId"), r.text("optionalCapabilities"))
        ),
    ),
    76: (
        "reqAccountUpdatesMulti",
        _simple(
            1,
            lambda r: ReqAccountUpdatesMulti(
                r.integer("reqId"),
                r.text("account"),
                r.text("modelCode"),
                r.flag("ledgerAndNLV"),
            ),
        ),
    ),
    77: (
        "cancelAccountUpdatesMulti",
        _simple(1, lambda r: CancelAccountUpdatesMulti(r.integer("reqId"))),
    ),
    78: ("reqSecDefOptParams", _parse_req_sec_def_opt_params),
    99: (
        "reqCompletedOrders",
        _simple(None, lambda r: ReqCompletedOrders(r.flag("apiOnly"))),
    ),
}


def _parse_handshake(fields: list[str]) -> Handshake:
    if len(fields) != 2:
        raise WireError(f"handshake: expected 2 fields, got {len(fields)}")
    match = _HANDSHAKE.match(fields[1])
    if not match:
        raise WireError(f"handshake: bad version range {fields[1]!r}")
    low = int(match.group(1))
    high = int(match.group(2) or low)
    if low > high:
        raise WireError(f"handshake: empty version range {fields[1]!r}")
    return Handshake(low, high, match.group(3) or "")


def parse_request(fields: list[str]) -> Request:
    """Turn one client message (as from FrameReader) into a Request.

    Raises WireError for anything malformed: empty message, non-integer id,
    missing, extra or non-numeric fields, unexpected version numbers.
    Unmodelled but numerically-identified messages become UnknownRequest.
    """
    if not fields:
        raise WireError("empty message")
    if fields[0] == "API":
        return _parse_handshake(fields)
    head = fields[0]
    if not INTEGER.match(head):
        raise WireError(f"message id {head!r} is not an integer")
    msg_id = int(head)
    entry = _PARSERS.get(msg_id)
    if entry is None:
        return UnknownRequest(msg_id, list(fields[1:]))
    name, parser = entry
    return parser(Cursor(msg_id, name, fields))
