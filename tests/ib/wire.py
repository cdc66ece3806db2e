"""Server side of the TWS API legacy text socket protocol, for a fake gateway.

The test gateway speaks to the *real* ``ib_async`` client over a real socket,
so everything here is written against what ib_async 2.1's ``Decoder`` (for
server -> client messages) and ``Client`` (for client -> server messages)
actually do at ``SERVER_VERSION``.  Field layouts were derived from reading
those two modules; when ib_async is upgraded, ``tests/ib/test_wire.py`` is the
tripwire that tells us a layout moved.

Wire format, both directions: a 4-byte big-endian payload length, then the
payload, which is a sequence of fields each terminated by a NUL byte.  The one
exception is the very first thing a client sends: ``b"API\\0"`` followed by a
length-prefixed, *not* NUL-terminated version range such as ``b"v157..178"``.

Encoders return plain field lists (not bytes) so a test can inspect or tamper
with a message before handing it to :func:`frame`.
"""

from __future__ import annotations

import math
import re
import struct
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

__all__ = [
    "API_SIGN",
    "MAX_MESSAGE_BYTES",
    "SERVER_VERSION",
    "UNSET_DOUBLE",
    "UNSET_INTEGER",
    "CancelAccountUpdatesMulti",
    "CancelMktData",
    "CancelOrder",
    "CancelPositions",
    "FrameReader",
    "Handshake",
    "PlaceOrder",
    "ReqAccountUpdates",
    "ReqAccountUpdatesMulti",
    "ReqAllOpenOrders",
    "ReqAutoOpenOrders",
    "ReqCompletedOrders",
    "ReqContractDetails",
    "ReqCurrentTime",
    "ReqExecutions",
    "ReqIds",
    "ReqManagedAccts",
    "ReqMarketDataType",
    "ReqMktData",
    "ReqOpenOrders",
    "ReqPositions",
    "ReqSecDefOptParams",
    "Request",
    "StartApi",
    "UnknownRequest",
    "WireComboLeg",
    "WireContract",
    "WireError",
    "WireOrder",
    "account_download_end",
    "account_update_multi",
    "account_update_multi_end",
    "client_handshake",
    "commission_report",
    "completed_order",
    "completed_orders_end",
    "contract_details",
    "contract_details_end",
    "current_time",
    "error",
    "exec_details",
    "exec_details_end",
    "frame",
    "managed_accounts",
    "market_data_type",
    "next_valid_id",
    "open_order",
    "open_order_end",
    "order_status",
    "parse_request",
    "position",
    "position_end",
    "sec_def_opt_params",
    "sec_def_opt_params_end",
    "tick_generic",
    "tick_option_computation",
    "tick_price",
    "tick_req_params",
    "tick_size",
    "tick_string",
    "update_account_time",
    "update_account_value",
    "update_portfolio",
]

# 176 is the newest version whose layouts are still the "classic" ones
# (openOrder keeps faProfile, execDetails has no pendingPriceRevision) while
# already carrying errorMsg's advancedOrderRejectJson, size rules in
# contractDetails and issuerId in reqContractDetails.
SERVER_VERSION = 176

# TWS marks "no value" with these sentinels rather than empty fields in most
# order/commission messages; ib_async's dataclass defaults use the same
# values, so sending them makes decoded objects equal ib_async's defaults.
UNSET_DOUBLE = sys.float_info.max
UNSET_INTEGER = 2**31 - 1

# Same ceiling the official API client enforces (MAX_MSG_LEN); a length above
# it means the stream is desynchronised, not that a huge message is coming.
MAX_MESSAGE_BYTES = 0xFFFFFF

API_SIGN = b"API\0"

_LENGTH = struct.Struct(">I")


class WireError(ValueError):
    """Raised for bytes or fields that do not form a valid message.

    A ValueError subclass so callers that already treat bad input as a value
    problem keep working, but distinct so a gateway can tell protocol faults
    from its own bugs (which must never surface as IndexError).
    """


# --------------------------------------------------------------------------
# framing


def _format_float(value: float) -> str:
    # Integral values go out without ".0" so a field the peer parses with
    # int() (sizes, ids passed as floats) still parses; everything else uses
    # repr, the shortest string float() reads back to the identical double.
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


def _format_field(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):  # before int: bool is an int subclass
        return "1" if value else "0"
    if isinstance(value, int):
        return str(int(value))  # int() so IntEnum members render as numbers
    if isinstance(value, float):
        return _format_float(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, str):
        if "\0" in value:
            raise WireError(f"field {value!r} contains NUL, which would split it")
        return value
    # Refuse rather than str(): a stray list or dataclass would otherwise be
    # sent as its repr and desynchronise the peer's field count silently.
    raise TypeError(f"cannot encode field of type {type(value).__name__}: {value!r}")


def frame(fields: Sequence[object]) -> bytes:
    """Serialise one message: length prefix plus NUL-terminated fields.

    bool -> "1"/"0", None -> "", int -> decimal, float -> shortest round-trip
    text ("1" rather than "1.0"), str verbatim.  Other types raise TypeError.
    """
    if not fields:
        raise WireError("cannot frame an empty message")
    payload = "".join(_format_field(f) + "\0" for f in fields).encode("utf-8")
    if len(payload) > MAX_MESSAGE_BYTES:
        raise WireError(f"message of {len(payload)} bytes exceeds {MAX_MESSAGE_BYTES}")
    return _LENGTH.pack(len(payload)) + payload


def client_handshake(
    min_version: int = 157, max_version: int = 178, options: str = ""
) -> bytes:
    """Bytes a client opens with; lets tests drive FrameReader without ib_async."""
    text = f"v{min_version}..{max_version}" + (f" {options}" if options else "")
    payload = text.encode("ascii")
    return API_SIGN + _LENGTH.pack(len(payload)) + payload


class FrameReader:
    """Incremental splitter of a byte stream into field lists.

    Socket reads split and merge messages arbitrarily, so bytes are buffered
    until a whole frame is present.  The client's opening handshake is
    recognised only at the very start of the stream and is returned in-band
    as ``["API", "v157..178"]`` (connect options, if any, stay in the second
    string) so a server loop can treat it like any other message and
    :func:`parse_request` turns it into :class:`Handshake`.  A stream that
    does not start with ``API\\0`` (e.g. server -> client traffic) is read as
    plain frames, which makes the reader usable on both sides.

    After a WireError the stream is unrecoverable (there is no resync marker
    in the protocol); drop the connection, as TWS does.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._at_start = True

    @property
    def buffered(self) -> int:
        """Bytes held back waiting for the rest of a frame."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[list[str]]:
        """Add received bytes; return every message now complete, in order."""
        self._buf += data
        messages: list[list[str]] = []
        while True:
            if self._at_start:
                if len(self._buf) < len(API_SIGN):
                    # Can't yet tell a handshake from a frame; a real frame
                    # starting with 'API\0' would be ~1 GB, beyond the limit.
                    if not API_SIGN.startswith(bytes(self._buf)):
                        self._at_start = False
                        continue
                    break
                if self._buf.startswith(API_SIGN):
                    payload = self._take_frame(len(API_SIGN))
                    if payload is None:
                        break
                    self._at_start = False
                    messages.append(["API", self._decode(payload).rstrip("\0")])
                    continue
                self._at_start = False
            payload = self._take_frame(0)
            if payload is None:
                break
            if not payload.endswith(b"\0"):
                raise WireError(
                    f"frame of {len(payload)} bytes is not NUL-terminated: "
                    f"{bytes(payload[:40])!r}"
                )
            messages.append(self._decode(payload[:-1]).split("\0"))
        return messages

    def _take_frame(self, offset: int) -> bytes | None:
        header_end = offset + _LENGTH.size
        if len(self._buf) < header_end:
            return None
        (length,) = _LENGTH.unpack_from(self._buf, offset)
        if length > MAX_MESSAGE_BYTES:
            raise WireError(f"frame length {length} exceeds {MAX_MESSAGE_BYTES}")
        end = header_end + length
        if len(self._buf) < end:
            return None
        payload = bytes(self._buf[header_end:end])
        del self._buf[:end]
        return payload

    @staticmethod
    def _decode(payload: bytes) -> str:
        try:
            return payload.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise WireError(f"frame is not valid UTF-8: {exc}") from None


# --------------------------------------------------------------------------
# shared value types


@dataclass
class WireComboLeg:
    """One BAG leg; the trailing four fields only travel in order messages."""

    con_id: int
    ratio: int
    action: str
    exchange: str
    open_close: int = 0
    short_sale_slot: int = 0
    designated_location: str = ""
    exempt_code: int = -1


@dataclass
class WireContract:
    """The contract fields the wire carries, independent of ib_async's class."""

    con_id: int = 0
    symbol: str = ""
    sec_type: str = ""
    last_trade_date: str = ""
    strike: float = 0.0
    right: str = ""
    multiplier: str = ""
    exchange: str = ""
    primary_exchange: str = ""
    currency: str = ""
    local_symbol: str = ""
    trading_class: str = ""
    combo_legs: list[WireComboLeg] = field(default_factory=list)


@dataclass
class WireOrder:
    """An order as the gateway reports it back in openOrder/completedOrder.

    ``transmit`` is kept for the gateway's bookkeeping only: TWS never echoes
    it, so no encoder sends it.  ``lmt_price``/``aux_price`` None means unset.
    """

    order_id: int
    client_id: int
    perm_id: int
    contract: WireContract
    action: str
    total_quantity: float
    order_type: str
    lmt_price: float | None
    tif: str = "DAY"
    account: str = ""
    order_ref: str = ""
    transmit: bool = True
    combo_leg_prices: list[float | None] = field(default_factory=list)
    aux_price: float | None = None
    oca_group: str = ""
    open_close: str = "O"
    origin: int = 0
    parent_id: int = 0
    outside_rth: bool = False
    smart_combo_routing_params: list[tuple[str, str]] = field(default_factory=list)
    filled_quantity: float | None = None  # completedOrder only


def _unset_double(value: float | None) -> float:
    return UNSET_DOUBLE if value is None else value


def _contract_fields(c: WireContract, venue: str) -> list[object]:
    # The 11-field contract block used by openOrder, completedOrder,
    # execDetails, position and (with primaryExchange as venue) portfolio.
    return [
        c.con_id,
        c.symbol,
        c.sec_type,
        c.last_trade_date,
        c.strike,
        c.right,
        c.multiplier,
        venue,
        c.currency,
        c.local_symbol,
        c.trading_class,
    ]


# --------------------------------------------------------------------------
# server -> client encoders (each returns fields for frame())


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
    out += [_unset_double(p) for p in order.combo_leg_prices]
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
        *_contract_fields(c, c.exchange),
        o.action,
        o.total_quantity,
        o.order_type,
        _unset_double(o.lmt_price),
        _unset_double(o.aux_price),
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
        *_contract_fields(c, c.exchange),
        o.action,
        o.total_quantity,
        o.order_type,
        _unset_double(o.lmt_price),
        _unset_double(o.aux_price),
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
        _unset_double(o.filled_quantity),
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
        *_contract_fields(contract, contract.exchange),
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
        _unset_double(realized_pnl),
        UNSET_DOUBLE,  # yield
        0,  # yieldRedemptionDate
    ]


def position(
    account: str, contract: WireContract, position: float, avg_cost: float
) -> list[object]:
    """One reqPositions row; the decoder requires exactly this many fields."""
    return [
        61,
        3,
        account,
        *_contract_fields(contract, contract.exchange),
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
        *_contract_fields(contract, contract.primary_exchange),
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


# --------------------------------------------------------------------------
# client -> server requests
#
# One frozen dataclass per request the gateway acts on, named after the
# ib_async Client method that sends it.  They keep only what a gateway needs
# to answer; fields the client always sends but we never act on are checked
# for shape and dropped.


@dataclass(frozen=True)
class Handshake:
    """The ``API\\0`` preamble, as returned in-band by FrameReader."""

    min_client_version: int
    max_client_version: int
    connect_options: str = ""


@dataclass(frozen=True)
class StartApi:
    """Second step of connecting; the client id scopes order ids and echoes."""

    client_id: int
    optional_capabilities: str


@dataclass(frozen=True)
class ReqMktData:
    """BAG contracts carry their legs (4 fields each) only in this request."""

    req_id: int
    contract: WireContract
    generic_ticks: str
    snapshot: bool
    regulatory_snapshot: bool
    delta_neutral: tuple[int, float, float] | None = None  # conId, delta, price
    mkt_data_options: str = ""


@dataclass(frozen=True)
class CancelMktData:
    req_id: int


@dataclass(frozen=True)
class PlaceOrder:
    """The leading part of placeOrder a gateway needs; the rest is ignored.

    Unset prices (ib_async sends UNSET_DOUBLE as "") arrive as None, both for
    lmt/aux price and per-leg combo prices.
    """

    order_id: int
    contract: WireContract
    action: str
    total_quantity: float
    order_type: str
    lmt_price: float | None
    aux_price: float | None
    tif: str
    oca_group: str
    account: str
    open_close: str
    origin: int
    order_ref: str
    transmit: bool
    parent_id: int
    outside_rth: bool
    combo_leg_prices: list[float | None]
    hidden: bool = False
    smart_combo_routing_params: list[tuple[str, str]] = field(default_factory=list)
    what_if: bool = False
    """Order.whatIf: IB only reports the margin and commission the order would have; nothing is placed."""


@dataclass(frozen=True)
class CancelOrder:
    """manual_cancel_time is always sent from server 169 on, usually empty."""

    order_id: int
    manual_cancel_time: str


@dataclass(frozen=True)
class ReqOpenOrders:
    pass


@dataclass(frozen=True)
class ReqAllOpenOrders:
    pass


@dataclass(frozen=True)
class ReqAutoOpenOrders:
    auto_bind: bool


@dataclass(frozen=True)
class ReqCompletedOrders:
    """One of the few requests sent without a version field."""

    api_only: bool


@dataclass(frozen=True)
class ReqAccountUpdates:
    subscribe: bool
    account: str


@dataclass(frozen=True)
class ReqAccountUpdatesMulti:
    req_id: int
    account: str
    model_code: str
    ledger_and_nlv: bool


@dataclass(frozen=True)
class CancelAccountUpdatesMulti:
    req_id: int


@dataclass(frozen=True)
class ReqExecutions:
    """Filter fields are empty strings (client_id 0) when not filtering."""

    req_id: int
    client_id: int
    account: str
    time: str
    symbol: str
    sec_type: str
    exchange: str
    side: str


@dataclass(frozen=True)
class ReqIds:
    """TWS ignores the count and answers with a single nextValidId."""

    num_ids: int


@dataclass(frozen=True)
class ReqContractDetails:
    """issuer_id is only on the wire because SERVER_VERSION >= 176."""

    req_id: int
    contract: WireContract
    include_expired: bool
    sec_id_type: str = ""
    sec_id: str = ""
    issuer_id: str = ""


@dataclass(frozen=True)
class ReqSecDefOptParams:
    """Sent without a version field; fut_fop_exchange is empty for stocks."""

    req_id: int
    underlying_symbol: str
    fut_fop_exchange: str
    underlying_sec_type: str
    underlying_con_id: int


@dataclass(frozen=True)
class ReqPositions:
    pass


@dataclass(frozen=True)
class CancelPositions:
    pass


@dataclass(frozen=True)
class ReqMarketDataType:
    data_type: int


@dataclass(frozen=True)
class ReqCurrentTime:
    pass


@dataclass(frozen=True)
class ReqManagedAccts:
    pass


@dataclass(frozen=True)
class UnknownRequest:
    """A well-formed message we do not model; fields exclude the id."""

    msg_id: int
    fields: list[str]


Request = (
    Handshake
    | StartApi
    | ReqMktData
    | CancelMktData
    | PlaceOrder
    | CancelOrder
    | ReqOpenOrders
    | ReqAllOpenOrders
    | ReqAutoOpenOrders
    | ReqCompletedOrders
    | ReqAccountUpdates
    | ReqAccountUpdatesMulti
    | CancelAccountUpdatesMulti
    | ReqExecutions
    | ReqIds
    | ReqContractDetails
    | ReqSecDefOptParams
    | ReqPositions
    | CancelPositions
    | ReqMarketDataType
    | ReqCurrentTime
    | ReqManagedAccts
    | UnknownRequest
)

_INT = re.compile(r"[+-]?[0-9]+\Z")
_HANDSHAKE = re.compile(r"v(\d+)(?:\.\.(\d+))?(?: (.*))?\Z", re.DOTALL)


class _Cursor:
    """Reads one message's fields left to right, failing with WireError.

    Every read is bounds- and type-checked here so that parsers can be
    written as straight-line code and still never raise IndexError.
    """

    def __init__(self, msg_id: int, name: str, fields: list[str]) -> None:
        self.msg_id = msg_id
        self.name = name
        self.fields = fields
        self.pos = 1

    def fail(self, problem: str) -> WireError:
        return WireError(f"message {self.msg_id} ({self.name}): {problem}")

    def raw(self, what: str) -> str:
        if self.pos >= len(self.fields):
            raise self.fail(
                f"truncated: field {self.pos} ({what}) missing, "
                f"message has only {len(self.fields)} fields"
            )
        value = self.fields[self.pos]
        self.pos += 1
        return value

    def text(self, what: str) -> str:
        return self.raw(what)

    def integer(self, what: str, empty: int | None = None) -> int:
        value = self.raw(what)
        if value == "" and empty is not None:
            return empty
        if not _INT.match(value):
            raise self.fail(f"field {self.pos - 1} ({what}) is not an integer: {value!r}")
        return int(value)

    def number(self, what: str) -> float | None:
        # ib_async writes unset doubles as "" and math.inf as "Infinite".
        value = self.raw(what)
        if value == "":
            return None
        if value == "Infinite":
            return math.inf
        try:
            return float(value)
        except ValueError:
            raise self.fail(
                f"field {self.pos - 1} ({what}) is not a number: {value!r}"
            ) from None

    def required_number(self, what: str) -> float:
        value = self.number(what)
        if value is None:
            raise self.fail(f"field {self.pos - 1} ({what}) is empty")
        return value

    def flag(self, what: str) -> bool:
        return bool(self.integer(what, empty=0))

    def version(self, expected: int) -> None:
        got = self.integer("version")
        if got != expected:
            raise self.fail(f"unsupported version {got}, expected {expected}")

    def count(self, what: str, fields_each: int) -> int:
        # Bound the count by what is left so a corrupt count cannot make us
        # loop for ages before finally hitting the end of the message.
        n = self.integer(what)
        left = len(self.fields) - self.pos
        if n < 0 or n * fields_each > left:
            raise self.fail(f"{what} {n} does not fit the {left} remaining fields")
        return n

    def contract(self) -> WireContract:
        return WireContract(
            con_id=self.integer("conId", empty=0),
            symbol=self.text("symbol"),
            sec_type=self.text("secType"),
            last_trade_date=self.text("lastTradeDateOrContractMonth"),
            strike=self.number("strike") or 0.0,
            right=self.text("right"),
            multiplier=self.text("multiplier"),
            exchange=self.text("exchange"),
            primary_exchange=self.text("primaryExchange"),
            currency=self.text("currency"),
            local_symbol=self.text("localSymbol"),
            trading_class=self.text("tradingClass"),
        )

    def end(self) -> None:
        extra = len(self.fields) - self.pos
        if extra:
            raise self.fail(f"{extra} unexpected trailing field(s)")


def _parse_req_mkt_data(r: _Cursor) -> ReqMktData:
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


def _parse_place_order(r: _Cursor) -> PlaceOrder:
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


def _read_what_if(r: _Cursor) -> bool:
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


def _parse_req_contract_details(r: _Cursor) -> ReqContractDetails:
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


def _parse_req_executions(r: _Cursor) -> ReqExecutions:
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


def _parse_req_sec_def_opt_params(r: _Cursor) -> ReqSecDefOptParams:
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
    version: int | None, build: Callable[[_Cursor], Request]
) -> Callable[[_Cursor], Request]:
    # For fixed-layout messages: check the version, build, insist on no extras.
    def parse(r: _Cursor) -> Request:
        if version is not None:
            r.version(version)
        req = build(r)
        r.end()
        return req

    return parse


_PARSERS: dict[int, tuple[str, Callable[[_Cursor], Request]]] = {
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
    if not _INT.match(head):
        raise WireError(f"message id {head!r} is not an integer")
    msg_id = int(head)
    entry = _PARSERS.get(msg_id)
    if entry is None:
        return UnknownRequest(msg_id, list(fields[1:]))
    name, parser = entry
    return parser(_Cursor(msg_id, name, fields))
