"""Prove tests/ib/wire/ against the real ib_async client and decoder.

Server -> client messages are framed, split again and handed to ib_async's own
Decoder; client -> server messages are produced by ib_async's own Client,
over a real localhost socket or captured from its serialiser.  If ib_async
changes a layout, these tests fail rather than the gateway silently
mis-parsing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from ib_async import util as ib_util
from ib_async.client import Client
from ib_async.contract import ComboLeg, Contract, Option, TagValue
from ib_async.decoder import Decoder
from ib_async.objects import CommissionReport, ExecutionFilter
from ib_async.order import LimitOrder, Order, OrderComboLeg, OrderState
from ib_async.wrapper import Wrapper

from tests.ib import wire
from tests.ib.wire import (
    SERVER_VERSION,
    UNSET_DOUBLE,
    UNSET_INTEGER,
    CancelAccountUpdatesMulti,
    CancelMktData,
    CancelOrder,
    CancelPositions,
    FrameReader,
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
    StartApi,
    UnknownRequest,
    WireComboLeg,
    WireContract,
    WireError,
    WireOrder,
    frame,
    parse_request,
)

NY = ZoneInfo("US/Eastern")
ACCOUNT = "DU123456"

SPY_PUT = WireContract(
    con_id=700001,
    symbol="SPY",
    sec_type="OPT",
    last_trade_date="20261218",
    strike=580.0,
    right="P",
    multiplier="100",
    exchange="SMART",
    currency="USD",
    local_symbol="SPY   261218P00580000",
    trading_class="SPY",
)

IRON_CONDOR = WireContract(
    con_id=28812380,
    symbol="SPY",
    sec_type="BAG",
    exchange="SMART",
    currency="USD",
    combo_legs=[
        WireComboLeg(700001, 1, "SELL", "SMART"),
        WireComboLeg(700002, 1, "BUY", "SMART"),
        WireComboLeg(700003, 1, "SELL", "SMART"),
        WireComboLeg(700004, 1, "BUY", "SMART"),
    ],
)


class Recorder:
    """Stand-in for ib_async's Wrapper that records every callback made.

    Only names that really are Wrapper methods are accepted, so a decoder
    calling a name we did not expect fails loudly instead of being recorded,
    and the Client's optional per-packet hooks are hidden so they stay off.
    """

    _HOOKS = frozenset({"tcpDataArrived", "tcpDataProcessed"})

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        # execDetails reads these to localise naive execution times.
        self.ib = type("FakeIB", (), {"TimezoneTWS": "US/Eastern"})()
        self.defaultTimezone = dt.timezone.utc

    def __getattr__(self, name: str) -> Callable[..., None]:
        if name.startswith("_") or name in self._HOOKS:
            raise AttributeError(name)
        if not callable(getattr(Wrapper, name, None)):
            raise AttributeError(name)

        def record(*args: Any) -> None:
            self.calls.append((name, args))

        return record

    def named(self, name: str) -> list[tuple[Any, ...]]:
        return [args for n, args in self.calls if n == name]

    def only(self, name: str) -> tuple[Any, ...]:
        assert [n for n, _ in self.calls] == [name], self.calls
        return self.calls[0][1]


def decoder_errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.name.startswith("ib_async") and r.levelno >= logging.ERROR
    ]


@pytest.fixture(autouse=True)
def no_decoder_errors(caplog: pytest.LogCaptureFixture):
    # The Decoder swallows every exception into logging (and the Client logs
    # connection failures the same way); surface them as test failures.
    caplog.set_level(logging.ERROR, logger="ib_async.Decoder")
    caplog.set_level(logging.ERROR, logger="ib_async.client")
    yield
    errors = decoder_errors(caplog)
    assert not errors, "\n".join(r.getMessage() for r in errors)


def decode(msg: list[object]) -> Recorder:
    reader = FrameReader()
    messages = reader.feed(frame(msg))
    assert len(messages) == 1 and reader.buffered == 0
    recorder = Recorder()
    Decoder(recorder, SERVER_VERSION).interpret(messages[0])
    return recorder


def as_dict(obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}


def assert_same_fields(actual: Any, expected: Any) -> None:
    got, want = as_dict(actual), as_dict(expected)
    diff = {k: (got[k], want[k]) for k in want if got[k] != want[k]}
    assert not diff, f"(decoded, expected) differ: {diff}"


# --------------------------------------------------------------------------
# framing


def test_constants_match_ib_async():
    assert SERVER_VERSION == 176
    assert UNSET_DOUBLE == ib_util.UNSET_DOUBLE
    assert UNSET_INTEGER == ib_util.UNSET_INTEGER
    assert Client.MinClientVersion <= SERVER_VERSION <= Client.MaxClientVersion


def test_frame_field_formatting():
    data = frame(
        [True, False, None, 7, -3, 2.0, -1.23, 0.1 + 0.2, UNSET_DOUBLE, Decimal("1E+2"), "x y"]
    )
    assert data[:4] == len(data[4:]).to_bytes(4, "big")
    assert data[4:].split(b"\0") == [
        b"1",
        b"0",
        b"",
        b"7",
        b"-3",
        b"2",
        b"-1.23",
        b"0.30000000000000004",
        b"1.7976931348623157e+308",
        b"100",
        b"x y",
        b"",
    ]
    assert float("0.30000000000000004") == 0.1 + 0.2
    assert float("1.7976931348623157e+308") == UNSET_DOUBLE


def test_frame_rejects_what_would_desync_the_peer():
    with pytest.raises(WireError):
        frame(["a\0b"])
    with pytest.raises(WireError):
        frame([])
    with pytest.raises(TypeError):
        frame([["nested"]])


def test_frame_reader_handshake_then_frames_any_chunking():
    stream = (
        wire.client_handshake()
        + frame([71, 2, 7, ""])
        + frame([61, 1])
        + frame([1, "", "é"])
    )
    expected = [["API", "v157..178"], ["71", "2", "7", ""], ["61", "1"], ["1", "", "é"]]

    reader = FrameReader()
    assert reader.feed(stream) == expected
    assert reader.buffered == 0

    reader = FrameReader()
    got: list[list[str]] = []
    for i in range(len(stream)):
        got += reader.feed(stream[i : i + 1])
    assert got == expected

    assert parse_request(expected[0]) == Handshake(157, 178, "")
    reader = FrameReader()
    (hello,) = reader.feed(wire.client_handshake(options="+PACEAPI"))
    assert parse_request(hello) == Handshake(157, 178, "+PACEAPI")


def test_frame_reader_reads_server_stream_without_handshake():
    reader = FrameReader()
    data = frame([SERVER_VERSION, "20261125 14:30:00 UTC"]) + frame(wire.next_valid_id(1))
    assert reader.feed(data[:3]) == []
    assert reader.feed(data[3:]) == [["176", "20261125 14:30:00 UTC"], ["9", "1", "1"]]


def test_frame_reader_rejects_garbage():
    with pytest.raises(WireError, match="not NUL-terminated"):
        FrameReader().feed(b"\0\0\0\x03abc")
    with pytest.raises(WireError, match="exceeds"):
        FrameReader().feed(b"\x7f\0\0\0")
    with pytest.raises(WireError, match="UTF-8"):
        FrameReader().feed(b"\0\0\0\x02\xff\0")


# --------------------------------------------------------------------------
# server -> client: decoded by the real ib_async Decoder

SIMPLE_MESSAGES = [
    (wire.next_valid_id(42), "nextValidId", (42,)),
    (wire.managed_accounts(["DU1", "DU2"]), "managedAccounts", ("DU1,DU2",)),
    (wire.error(-1, 2104, "Market data farm connection is OK:usfarm"), "error",
     (-1, 2104, "Market data farm connection is OK:usfarm", "")),
    (wire.error(12, 201, "Rejected", '{"x":1}'), "error", (12, 201, "Rejected", '{"x":1}')),
    (wire.current_time(1764081000.9), "currentTime", (1764081000,)),
    (wire.tick_price(5, 1, 1.25, 10.0, 3), "priceSizeTick", (5, 1, 1.25, 10.0)),
    (wire.tick_size(5, 8, 1234.0), "tickSize", (5, 8, 1234.0)),
    (wire.tick_generic(5, 24, 0.1875), "tickGeneric", (5, 24, 0.1875)),
    (wire.tick_string(5, 45, "1764081000"), "tickString", (5, 45, "1764081000")),
    (wire.market_data_type(5, 3), "marketDataType", (5, 3)),
    (wire.tick_req_params(5, 0.01, "9c0001", 3), "tickReqParams", (5, 0.01, "9c0001", 3)),
    (wire.contract_details_end(6), "contractDetailsEnd", (6,)),
    (wire.sec_def_opt_params_end(7), "securityDefinitionOptionParameterEnd", (7,)),
    (wire.open_order_end(), "openOrderEnd", ()),
    (wire.completed_orders_end(), "completedOrdersEnd", ()),
    (wire.order_status(12, "Filled", 1.0, 0.0, -1.21, 99001, 0, -1.21, 7), "orderStatus",
     (12, "Filled", 1.0, 0.0, -1.21, 99001, 0, -1.21, 7, "", 0.0)),
    (wire.order_status(12, "PreSubmitted", 0.0, 2.0, 0.0, 99001, 11, 0.0, 7, "locate", 1.5),
     "orderStatus", (12, "PreSubmitted", 0.0, 2.0, 0.0, 99001, 11, 0.0, 7, "locate", 1.5)),
    (wire.exec_details_end(8), "execDetailsEnd", (8,)),
    (wire.position_end(), "positionEnd", ()),
    (wire.update_account_value("NetLiquidation", "100000.5", "USD", ACCOUNT),
     "updateAccountValue", ("NetLiquidation", "100000.5", "USD", ACCOUNT)),
    (wire.update_account_time("14:31"), "updateAccountTime", ("14:31",)),
    (wire.account_download_end(ACCOUNT), "accountDownloadEnd", (ACCOUNT,)),
    (wire.account_update_multi(9, ACCOUNT, "", "BuyingPower", "4000", "USD"),
     "accountUpdateMulti", (9, ACCOUNT, "", "BuyingPower", "4000", "USD")),
    (wire.account_update_multi_end(9), "accountUpdateMultiEnd", (9,)),
]


@pytest.mark.parametrize(
    ("msg", "callback", "args"), SIMPLE_MESSAGES, ids=[cb for _, cb, _ in SIMPLE_MESSAGES]
)
def test_simple_messages_decode(msg, callback, args):
    assert decode(msg).only(callback) == args


def test_tick_option_computation_decodes_greeks():
    msg = wire.tick_option_computation(
        5, 13, 0.182, -0.163, 1.37, 0.0, 0.0061, 0.52, -0.11, 601.5
    )
    assert decode(msg).only("tickOptionComputation") == (
        5, 13, 0, 0.182, -0.163, 1.37, 0.0, 0.0061, 0.52, -0.11, 601.5,
    )


def test_tick_option_computation_uses_tws_not_computed_markers():
    msg = wire.tick_option_computation(5, 10, *[None] * 8, tick_attrib=1)
    args = decode(msg).only("tickOptionComputation")
    assert args == (5, 10, 1, -1.0, -2.0, -1.0, -1.0, -2.0, -2.0, -2.0, -1.0)


def test_contract_details_decode():
    msg = wire.contract_details(
        6,
        SPY_PUT,
        market_name="SPY",
        min_tick=0.01,
        long_name="SPDR S&P 500 ETF TRUST",
        under_con_id=756733,
        trading_hours="20261125:0930-20261125:1600",
        liquid_hours="20261125:0930-20261125:1600",
        under_symbol="SPY",
        under_sec_type="STK",
        real_expiration_date="20261218",
        market_rule_ids="32,109",
    )
    req_id, cd = decode(msg).only("contractDetails")
    assert req_id == 6
    c = cd.contract
    assert (c.conId, c.symbol, c.secType, c.lastTradeDateOrContractMonth) == (
        700001, "SPY", "OPT", "20261218",
    )
    assert (c.strike, c.right, c.multiplier, c.exchange, c.currency) == (
        580.0, "P", "100", "SMART", "USD",
    )
    assert (c.localSymbol, c.tradingClass) == ("SPY   261218P00580000", "SPY")
    assert cd.marketName == "SPY"
    assert cd.minTick == 0.01
    assert cd.longName == "SPDR S&P 500 ETF TRUST"
    assert cd.underConId == 756733
    assert cd.timeZoneId == "US/Eastern"
    assert cd.tradingHours == "20261125:0930-20261125:1600"
    assert cd.contractMonth == "202612"
    assert (cd.underSymbol, cd.underSecType) == ("SPY", "STK")
    assert cd.realExpirationDate == "20261218"
    assert cd.marketRuleIds == "32,109"
    assert (cd.minSize, cd.sizeIncrement, cd.suggestedSizeIncrement) == (1.0, 1.0, 1.0)
    assert cd.priceMagnifier == 1
    assert cd.secIdList == []


def test_contract_details_long_name_survives_unicode_escape_decoding():
    name = "Soci\u00e9t\u00e9 G\u00e9n\u00e9rale \\ Ords"
    msg = wire.contract_details(1, SPY_PUT, "X", 0.01, name, 0)
    _, cd = decode(msg).only("contractDetails")
    assert cd.longName == name


def test_sec_def_opt_params_decode():
    msg = wire.sec_def_opt_params(
        7, "SMART", 756733, "SPY", "100", ["20261218", "20270115"], [575.0, 580.0, 582.5]
    )
    req_id, exchange, under_con_id, trading_class, multiplier, exps, strikes = decode(
        msg
    ).only("securityDefinitionOptionParameter")
    assert (req_id, exchange, trading_class, multiplier) == (7, "SMART", "SPY", "100")
    assert int(under_con_id) == 756733  # the decoder hands it over as str
    assert exps == ["20261218", "20270115"]
    assert strikes == [575.0, 580.0, 582.5]


def _order_leg_prices() -> list[OrderComboLeg]:
    return [OrderComboLeg(), OrderComboLeg(0.45), OrderComboLeg(), OrderComboLeg(0.12)]


def _iron_condor_order() -> WireOrder:
    return WireOrder(
        order_id=12,
        client_id=7,
        perm_id=99001,
        contract=IRON_CONDOR,
        action="BUY",
        total_quantity=1.0,
        order_type="LMT",
        lmt_price=-1.23,
        account=ACCOUNT,
        order_ref="IC-SPY-1-O1",
        combo_leg_prices=[None, 0.45, None, 0.12],
        smart_combo_routing_params=[("NonGuaranteed", "1")],
    )


def _expected_legs() -> list[ComboLeg]:
    return [
        ComboLeg(conId=700001, ratio=1, action="SELL", exchange="SMART"),
        ComboLeg(conId=700002, ratio=1, action="BUY", exchange="SMART"),
        ComboLeg(conId=700003, ratio=1, action="SELL", exchange="SMART"),
        ComboLeg(conId=700004, ratio=1, action="BUY", exchange="SMART"),
    ]


def test_open_order_bag_decodes_to_ib_async_defaults_plus_what_we_set():
    order = _iron_condor_order()
    order_id, contract, decoded, state = decode(wire.open_order(order, "Submitted")).only(
        "openOrder"
    )
    assert order_id == 12
    assert (contract.conId, contract.symbol, contract.secType) == (28812380, "SPY", "BAG")
    assert contract.comboLegs == _expected_legs()
    assert contract.comboLegsDescrip == "700001|-1,700002|1,700003|-1,700004|1"
    expected = Order(
        orderId=12,
        clientId=7,
        permId=99001,
        action="BUY",
        totalQuantity=1.0,
        orderType="LMT",
        lmtPrice=-1.23,
        tif="DAY",
        account=ACCOUNT,
        orderRef="IC-SPY-1-O1",
        orderComboLegs=_order_leg_prices(),
        smartComboRoutingParams=[TagValue("NonGuaranteed", "1")],
    )
    # Every one of Order's ~150 attributes is compared, so a field sent out
    # of place (or with the wrong unset marker) cannot go unnoticed.
    assert_same_fields(decoded, expected)
    assert_same_fields(state, OrderState(status="Submitted"))


def test_open_order_single_leg_market_order():
    order = WireOrder(
        order_id=13,
        client_id=7,
        perm_id=99002,
        contract=SPY_PUT,
        action="SELL",
        total_quantity=2.0,
        order_type="MKT",
        lmt_price=None,
        tif="GTC",
        parent_id=12,
        outside_rth=True,
        open_close="C",
    )
    msg = wire.open_order(order, "PreSubmitted")
    _, contract, decoded, state = decode(msg).only("openOrder")
    assert contract.comboLegs == [] and contract.conId == 700001 and contract.strike == 580.0
    expected = Order(
        orderId=13,
        clientId=7,
        permId=99002,
        action="SELL",
        totalQuantity=2.0,
        orderType="MKT",
        tif="GTC",
        parentId=12,
        outsideRth=True,
        openClose="C",
    )
    assert_same_fields(decoded, expected)
    assert decoded.lmtPrice == UNSET_DOUBLE
    assert state.status == "PreSubmitted"


def test_completed_order_decode():
    order = dataclasses.replace(_iron_condor_order(), filled_quantity=1.0)
    msg = wire.completed_order(
        order, "Filled", "20261125 15:01:02 America/New_York", "Filled Size: 1"
    )
    contract, decoded, state = decode(msg).only("completedOrder")
    assert contract.comboLegs == _expected_legs()
    expected = Order(
        permId=99001,  # completedOrder carries no orderId/clientId
        action="BUY",
        totalQuantity=1.0,
        orderType="LMT",
        lmtPrice=-1.23,
        tif="DAY",
        account=ACCOUNT,
        orderRef="IC-SPY-1-O1",
        orderComboLegs=_order_leg_prices(),
        smartComboRoutingParams=[TagValue("NonGuaranteed", "1")],
        filledQuantity=1.0,
    )
    assert_same_fields(decoded, expected)
    assert_same_fields(
        state,
        OrderState(
            status="Filled",
            completedTime="20261125 15:01:02 America/New_York",
            completedStatus="Filled Size: 1",
        ),
    )


def _exec_msg(time_str: str) -> list[object]:
    return wire.exec_details(
        -1, 12, SPY_PUT, "0000e0d5.6571a8b2.01.01", time_str, ACCOUNT, "CBOE",
        "SLD", 1.0, 0.87, 99001, 7, 1.0, 0.87, "IC-SPY-1-O1", last_liquidity=2,
    )


def test_exec_details_decode():
    msg = _exec_msg("20261125 14:30:05 US/Eastern")
    req_id, contract, ex = decode(msg).only("execDetails")
    assert req_id == -1
    assert (contract.conId, contract.strike, contract.right, contract.exchange) == (
        700001, 580.0, "P", "SMART",
    )
    assert ex.execId == "0000e0d5.6571a8b2.01.01"
    assert ex.orderRef == "IC-SPY-1-O1"
    assert (ex.orderId, ex.permId, ex.clientId) == (12, 99001, 7)
    assert (ex.side, ex.shares, ex.price) == ("SLD", 1.0, 0.87)
    assert (ex.cumQty, ex.avgPrice) == (1.0, 0.87)
    assert (ex.acctNumber, ex.exchange, ex.lastLiquidity) == (ACCOUNT, "CBOE", 2)
    assert ex.time == dt.datetime(2026, 11, 25, 14, 30, 5, tzinfo=NY)
    assert ex.time.tzinfo == dt.timezone.utc


def test_exec_details_naive_time_uses_tws_timezone():
    _, _, ex = decode(_exec_msg("20261125  14:30:05")).only("execDetails")
    assert ex.time == dt.datetime(2026, 11, 25, 14, 30, 5, tzinfo=NY)


def test_commission_report_decode():
    (report,) = decode(wire.commission_report("exec-1", 1.05)).only("commissionReport")
    assert report == CommissionReport("exec-1", 1.05, "USD", UNSET_DOUBLE, UNSET_DOUBLE, 0)
    (report,) = decode(wire.commission_report("exec-2", 0.65, "USD", -12.5)).only(
        "commissionReport"
    )
    assert (report.execId, report.commission, report.realizedPNL) == ("exec-2", 0.65, -12.5)


def test_position_and_portfolio_decode():
    account, contract, pos, avg = decode(wire.position(ACCOUNT, SPY_PUT, -2.0, 87.5)).only(
        "position"
    )
    assert (account, contract.conId, contract.exchange, pos, avg) == (
        ACCOUNT, 700001, "SMART", -2.0, 87.5,
    )
    stock = WireContract(
        756733, "SPY", "STK", exchange="SMART", primary_exchange="ARCA", currency="USD"
    )
    args = decode(
        wire.update_portfolio(stock, 100.0, 601.25, 60125.0, 590.0, 1125.0, 0.0, ACCOUNT)
    ).only("updatePortfolio")
    contract, *numbers, account = args
    assert contract.conId == 756733
    assert (contract.primaryExchange, contract.exchange) == ("ARCA", "")
    assert numbers == [100.0, 601.25, 60125.0, 590.0, 1125.0, 0.0]
    assert account == ACCOUNT


LONGEST_LAYOUTS = [
    wire.open_order(_iron_condor_order(), "Submitted"),
    wire.completed_order(_iron_condor_order(), "Filled", "t", "s"),
    wire.contract_details(1, SPY_PUT, "SPY", 0.01, "n", 756733),
    _exec_msg("20261125 14:30:05 US/Eastern"),
    wire.commission_report("e", 1.0),
    wire.position(ACCOUNT, SPY_PUT, 1.0, 1.0),
    wire.update_portfolio(SPY_PUT, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, ACCOUNT),
    wire.tick_price(1, 1, 1.0),
    wire.tick_option_computation(1, 13, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1),
]


@pytest.mark.parametrize("msg", LONGEST_LAYOUTS, ids=lambda m: f"msg{m[0]}")
def test_layout_has_no_slack(msg, caplog):
    # Dropping our last field must break the decoder: together with the
    # value checks above this shows the layout is exactly what it reads.
    decode(msg[:-1])
    assert decoder_errors(caplog), "decoder accepted a message one field short"
    caplog.clear()


# --------------------------------------------------------------------------
# client -> server: produced by the real ib_async Client


def _option() -> Option:
    return Option(
        "SPY", "20261218", 580.0, "P", "SMART", multiplier="100", currency="USD",
        tradingClass="SPY",
    )


def _bag() -> Contract:
    return Contract(
        secType="BAG",
        symbol="SPY",
        exchange="SMART",
        currency="USD",
        comboLegs=[
            ComboLeg(conId=700001, ratio=1, action="SELL", exchange="SMART"),
            ComboLeg(conId=700002, ratio=1, action="BUY", exchange="SMART"),
            ComboLeg(conId=700003, ratio=1, action="SELL", exchange="SMART"),
            ComboLeg(conId=700004, ratio=1, action="BUY", exchange="SMART"),
        ],
    )


def _limit_order() -> LimitOrder:
    return LimitOrder(
        "BUY",
        1,
        -1.23,
        orderRef="IC-SPY-1-O1",
        tif="DAY",
        account=ACCOUNT,
        orderComboLegs=_order_leg_prices(),
        smartComboRoutingParams=[TagValue("NonGuaranteed", "1")],
    )


EXPECTED_OPTION = WireContract(
    symbol="SPY",
    sec_type="OPT",
    last_trade_date="20261218",
    strike=580.0,
    right="P",
    multiplier="100",
    exchange="SMART",
    currency="USD",
    trading_class="SPY",
)


def _check_place_order(req: PlaceOrder, order_id: int) -> None:
    assert req.order_id == order_id
    assert req.contract.sec_type == "BAG" and req.contract.symbol == "SPY"
    assert [(leg.con_id, leg.ratio, leg.action) for leg in req.contract.combo_legs] == [
        (700001, 1, "SELL"),
        (700002, 1, "BUY"),
        (700003, 1, "SELL"),
        (700004, 1, "BUY"),
    ]
    for leg in req.contract.combo_legs:
        assert (leg.exchange, leg.open_close, leg.exempt_code) == ("SMART", 0, -1)
    assert (req.action, req.total_quantity, req.order_type) == ("BUY", 1.0, "LMT")
    assert req.lmt_price == -1.23
    assert req.aux_price is None
    assert (req.tif, req.account, req.order_ref) == ("DAY", ACCOUNT, "IC-SPY-1-O1")
    assert (req.transmit, req.parent_id) == (True, 0)
    assert (req.outside_rth, req.hidden) == (False, False)
    assert (req.open_close, req.origin, req.oca_group) == ("O", 0, "")
    assert req.combo_leg_prices == [None, 0.45, None, 0.12]
    assert req.smart_combo_routing_params == [("NonGuaranteed", "1")]


async def _until(predicate: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


async def _gateway_session() -> tuple[list[object], Recorder, int]:
    received: asyncio.Queue[object] = asyncio.Queue()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        frames = FrameReader()
        client_id = -1
        try:
            while data := await reader.read(65536):
                for fields in frames.feed(data):
                    req = parse_request(fields)
                    await received.put(req)
                    if isinstance(req, Handshake):
                        writer.write(frame([SERVER_VERSION, "20261125 14:30:00 UTC"]))
                    elif isinstance(req, StartApi):
                        client_id = req.client_id
                        writer.write(
                            frame(wire.next_valid_id(1))
                            + frame(wire.managed_accounts([ACCOUNT]))
                        )
                    elif isinstance(req, PlaceOrder):
                        echo = WireOrder(
                            req.order_id, client_id, 5550001, req.contract, req.action,
                            req.total_quantity, req.order_type, req.lmt_price, req.tif,
                            req.account, req.order_ref, req.transmit, req.combo_leg_prices,
                        )
                        writer.write(
                            frame(wire.open_order(echo, "PreSubmitted"))
                            + frame(
                                wire.order_status(
                                    req.order_id, "PreSubmitted", 0.0, req.total_quantity,
                                    0.0, 5550001, 0, 0.0, client_id,
                                )
                            )
                        )
                    await writer.drain()
        except Exception as exc:  # hand server-side failures to the test
            await received.put(exc)
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    recorder = Recorder()
    client = Client(recorder)
    try:
        await client.connectAsync("127.0.0.1", port, clientId=7, timeout=5)
        assert client.serverVersion() == SERVER_VERSION
        assert client.getAccounts() == [ACCOUNT]
        order_id = client.getReqId()

        client.reqMktData(1001, _option(), "100,101,106", False, False, [])
        client.reqMktData(1002, _bag(), "", True, False, [])
        client.cancelMktData(1001)
        client.placeOrder(order_id, _bag(), _limit_order())
        client.cancelOrder(order_id)
        client.reqContractDetails(1003, _option())
        client.reqSecDefOptParams(1004, "SPY", "", "STK", 756733)
        client.reqExecutions(1005, ExecutionFilter())
        client.reqPositions()
        client.cancelPositions()
        client.reqAccountUpdates(True, ACCOUNT)
        client.reqAccountUpdatesMulti(1006, ACCOUNT, "", False)
        client.cancelAccountUpdatesMulti(1006)
        client.reqCompletedOrders(False)
        client.reqOpenOrders()
        client.reqAllOpenOrders()
        client.reqAutoOpenOrders(True)
        client.reqIds(-1)
        client.reqCurrentTime()
        client.reqMarketDataType(3)
        client.reqManagedAccts()
        client.reqPnL(1007, ACCOUNT, "")
        sent_after_connect = 22

        requests = []
        for _ in range(2 + sent_after_connect):
            item = await asyncio.wait_for(received.get(), 5)
            if isinstance(item, Exception):
                raise item
            requests.append(item)
        await _until(lambda: recorder.named("orderStatus"), "orderStatus echo")
    finally:
        client.disconnect()
        await _until(lambda: recorder.named("setEventsDone"), "client disconnect", 2.0)
        server.close()
        await server.wait_closed()
    assert received.empty()
    return requests, recorder, order_id


def test_real_client_over_socket():
    requests, recorder, order_id = asyncio.run(asyncio.wait_for(_gateway_session(), 30))
    it = iter(requests)

    assert next(it) == Handshake(157, 178, "")
    assert next(it) == StartApi(client_id=7, optional_capabilities="")

    assert next(it) == ReqMktData(1001, EXPECTED_OPTION, "100,101,106", False, False)
    bag_md = next(it)
    assert isinstance(bag_md, ReqMktData) and bag_md.snapshot is True
    legs = bag_md.contract.combo_legs
    assert [(leg.con_id, leg.ratio, leg.action, leg.exchange) for leg in legs] == [
        (700001, 1, "SELL", "SMART"),
        (700002, 1, "BUY", "SMART"),
        (700003, 1, "SELL", "SMART"),
        (700004, 1, "BUY", "SMART"),
    ]
    assert next(it) == CancelMktData(1001)
    place = next(it)
    assert isinstance(place, PlaceOrder)
    _check_place_order(place, order_id)
    assert next(it) == CancelOrder(order_id, "")
    assert next(it) == ReqContractDetails(1003, EXPECTED_OPTION, False)
    assert next(it) == ReqSecDefOptParams(1004, "SPY", "", "STK", 756733)
    assert next(it) == ReqExecutions(1005, 0, "", "", "", "", "", "")
    assert next(it) == ReqPositions()
    assert next(it) == CancelPositions()
    assert next(it) == ReqAccountUpdates(True, ACCOUNT)
    assert next(it) == ReqAccountUpdatesMulti(1006, ACCOUNT, "", False)
    assert next(it) == CancelAccountUpdatesMulti(1006)
    assert next(it) == ReqCompletedOrders(False)
    assert next(it) == ReqOpenOrders()
    assert next(it) == ReqAllOpenOrders()
    assert next(it) == ReqAutoOpenOrders(True)
    assert next(it) == ReqIds(-1)
    assert next(it) == ReqCurrentTime()
    assert next(it) == ReqMarketDataType(3)
    assert next(it) == ReqManagedAccts()
    assert next(it) == UnknownRequest(92, ["1007", ACCOUNT, ""])
    assert next(it, None) is None

    # The gateway's replies went through the client's own decoder too.
    assert recorder.named("nextValidId") == [(1,)]
    assert recorder.named("managedAccounts") == [(ACCOUNT,)]
    ((echo_id, contract, order, state),) = recorder.named("openOrder")
    assert echo_id == order_id and order.clientId == 7 and order.permId == 5550001
    assert order.orderRef == "IC-SPY-1-O1" and order.lmtPrice == -1.23
    assert [leg.conId for leg in contract.comboLegs] == [700001, 700002, 700003, 700004]
    assert state.status == "PreSubmitted"
    assert recorder.named("orderStatus")[0][:3] == (order_id, "PreSubmitted", 0.0)


# --------------------------------------------------------------------------
# malformed input


def captured(call: Callable[[Client], None]) -> list[str]:
    """Fields ib_async's Client would put on the wire, without a socket."""
    client = Client(Recorder())
    client._serverVersion = SERVER_VERSION  # as the handshake would set it
    client.connState = Client.CONNECTED
    sent: list[str] = []
    client.sendMsg = sent.append  # type: ignore[method-assign]  # skip socket/throttle
    call(client)
    (msg,) = sent
    return msg.split("\0")[:-1]


CLIENT_CALLS: dict[str, Callable[[Client], None]] = {
    "reqMktData": lambda c: c.reqMktData(1, _bag(), "100,101,106", False, False, []),
    "cancelMktData": lambda c: c.cancelMktData(1),
    "placeOrder": lambda c: c.placeOrder(5, _bag(), _limit_order()),
    "cancelOrder": lambda c: c.cancelOrder(5),
    "reqOpenOrders": lambda c: c.reqOpenOrders(),
    "reqAccountUpdates": lambda c: c.reqAccountUpdates(True, ACCOUNT),
    "reqExecutions": lambda c: c.reqExecutions(3, ExecutionFilter()),
    "reqIds": lambda c: c.reqIds(1),
    "reqContractDetails": lambda c: c.reqContractDetails(4, _option()),
    "reqAutoOpenOrders": lambda c: c.reqAutoOpenOrders(True),
    "reqAllOpenOrders": lambda c: c.reqAllOpenOrders(),
    "reqManagedAccts": lambda c: c.reqManagedAccts(),
    "reqCurrentTime": lambda c: c.reqCurrentTime(),
    "reqMarketDataType": lambda c: c.reqMarketDataType(1),
    "reqPositions": lambda c: c.reqPositions(),
    "cancelPositions": lambda c: c.cancelPositions(),
    "startApi": lambda c: c.startApi(),
    "reqAccountUpdatesMulti": lambda c: c.reqAccountUpdatesMulti(6, ACCOUNT, "", True),
    "cancelAccountUpdatesMulti": lambda c: c.cancelAccountUpdatesMulti(6),
    "reqSecDefOptParams": lambda c: c.reqSecDefOptParams(7, "SPY", "", "STK", 756733),
    "reqCompletedOrders": lambda c: c.reqCompletedOrders(True),
}


@pytest.mark.parametrize("call", CLIENT_CALLS.values(), ids=CLIENT_CALLS.keys())
def test_every_truncation_is_a_wire_error(call):
    fields = captured(call)
    full = parse_request(fields)
    assert not isinstance(full, UnknownRequest)
    for cut in range(1, len(fields)):
        try:
            partial = parse_request(fields[:cut])
        except WireError as exc:
            assert "\n" not in str(exc)
            assert str(exc).startswith(f"message {fields[0]} (")
            continue
        # Only placeOrder may parse when cut, and only past the prefix we read.
        assert isinstance(full, PlaceOrder) and partial == full, (cut, partial)


def test_truncated_place_order():
    fields = captured(lambda c: c.placeOrder(5, _bag(), _limit_order()))
    _check_place_order(parse_request(fields), 5)
    # id, orderId, 12 contract fields, secIdType/secId, 19 order fields, then
    # legs (count + 4*8), order leg prices (count + 4), params (count + 2).
    prefix = 1 + 1 + 12 + 2 + 19 + (1 + 32) + (1 + 4) + (1 + 2)
    with pytest.raises(WireError, match=r"^message 3 \(placeOrder\): truncated.*sharesAllocation"):
        parse_request(fields[:prefix])  # the order's middle is read on, up to its whatIf flag
    with pytest.raises(WireError, match=r"^message 3 \(placeOrder\): .*param count 1"):
        parse_request(fields[: prefix - 1])
    with pytest.raises(WireError, match=r"^message 3 \(placeOrder\): truncated.*hidden"):
        parse_request(fields[: 1 + 1 + 12 + 2 + 18])
    with pytest.raises(WireError, match=r"placeOrder.*totalQuantity"):
        parse_request(fields[:17])


def test_place_order_what_if_flag():
    assert parse_request(captured(lambda c: c.placeOrder(5, _bag(), _limit_order()))).what_if is False
    what_if = _limit_order()
    what_if.whatIf = True
    assert parse_request(captured(lambda c: c.placeOrder(5, _bag(), what_if))).what_if is True


def test_non_numeric_and_malformed_fields():
    with pytest.raises(WireError, match="message id 'abc' is not an integer"):
        parse_request(["abc", "1"])
    with pytest.raises(WireError, match="empty message"):
        parse_request([])

    place = captured(lambda c: c.placeOrder(5, _bag(), _limit_order()))
    bad_id = ["3", "five", *place[2:]]
    with pytest.raises(WireError, match=r"placeOrder.*orderId.*'five'"):
        parse_request(bad_id)
    bad_count = list(place)
    bad_count[1 + 1 + 12 + 2 + 19] = "999"
    with pytest.raises(WireError, match="combo leg count 999"):
        parse_request(bad_count)

    with pytest.raises(WireError, match=r"cancelOrder.*trailing"):
        parse_request(["4", "1", "5", "", "extra"])
    with pytest.raises(WireError, match=r"reqMktData.*version 10"):
        parse_request(["1", "10", "1"])
    with pytest.raises(WireError, match=r"reqIds.*numIds"):
        parse_request(["8", "1", "1.5"])
    with pytest.raises(WireError, match="handshake"):
        parse_request(["API", "157-178"])

    assert parse_request(["92", "1", "DU1", ""]) == UnknownRequest(92, ["1", "DU1", ""])
