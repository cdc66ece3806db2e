"""Prove tests/ib/wire/ server -> client messages against ib_async's own Decoder, field by field, with no slack."""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from ib_async.contract import ComboLeg, TagValue
from ib_async.objects import CommissionReport
from ib_async.order import Order, OrderState

from tests.ib import wire
from tests.ib.wire import UNSET_DOUBLE, WireComboLeg, WireContract, WireOrder
from tests.ib.wire_checks import (
    ACCOUNT,
    assert_same_fields,
    decode,
    decoder_errors,
    no_decoder_errors,  # noqa: F401  (autouse fixture, applies by being imported)
    order_leg_prices,
)

NY = ZoneInfo("US/Eastern")

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
        orderComboLegs=order_leg_prices(),
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
        orderComboLegs=order_leg_prices(),
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
