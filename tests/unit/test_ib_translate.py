"""Pure IB translation and chain planning, on real ib_async objects."""

from __future__ import annotations

import datetime as dt

from ib_async import Contract, Option, Position, Ticker
from ib_async.objects import AccountValue, OptionComputation

from actors.broker.ib import translate
from actors.broker.ib.chain_plan import choose_expiries, choose_strikes
from messages import Leg, OptionContract, StockPosition

PUT = OptionContract("SPY", dt.date(2026, 4, 10), 550.0, "P")
CALL = OptionContract("SPY", dt.date(2026, 4, 10), 610.0, "C")


def test_contracts_round_trip_and_the_combo_carries_sides_and_positive_ratios():
    ib_option = translate.option(PUT)
    assert (ib_option.lastTradeDateOrContractMonth, ib_option.strike, ib_option.right) == ("20260410", 550.0, "P")
    assert translate.option_contract(ib_option) == PUT
    assert translate.option_contract(Contract(secType="STK", symbol="SPY")) is None
    bag = translate.combo((Leg(PUT, -2), Leg(CALL, 1)), {PUT: 11, CALL: 22})
    assert bag.secType == "BAG" and [(l.conId, l.ratio, l.action) for l in bag.comboLegs] == [(11, 2, "SELL"),
                                                                                             (22, 1, "BUY")]
    buy, sell = translate.combo_order("O1", 3, -1.234, "DU1"), translate.combo_order("O2", -1, -0.6, "DU1")
    assert (buy.action, buy.totalQuantity, buy.lmtPrice, buy.orderRef, buy.account) == ("BUY", 3, -1.23, "O1", "DU1")
    assert (sell.action, sell.totalQuantity, sell.lmtPrice) == ("SELL", 1, -0.6)


def test_an_option_quote_keeps_ibs_sentinels_for_the_quote_gate():
    ticker = Ticker(contract=Option("SPY", "20260410", 550.0, "P", "SMART"))
    assert translate.option_quote(PUT, ticker) is None  # IB said nothing yet
    ticker.bid, ticker.ask = 4.1, 4.3
    quote = translate.option_quote(PUT, ticker)  # no model greeks yet: IB's "not computed" markers
    assert (quote.iv, quote.delta, quote.gamma, quote.vega, quote.theta, quote.underlying_price) == (
        -1.0, -2.0, -2.0, -2.0, -2.0, -1.0)
    ticker.modelGreeks = OptionComputation(0, 0.21, -0.18, 4.2, 0.0, 0.011, 0.62, -0.15, 580.0)
    quote = translate.option_quote(PUT, ticker)
    assert (quote.bid, quote.ask, quote.iv, quote.delta, quote.vega, quote.underlying_price) == (
        4.1, 4.3, 0.21, -0.18, 0.62, 580.0)
    ticker.bid, ticker.bidSize = -1.0, 0.0  # ib_async 2.1 keeps IB's −1 / size 0 for a side nobody quotes
    ticker.modelGreeks = OptionComputation(0, None, None, 4.2, 0.0, None, -2.0, -2.0, None)
    quote = translate.option_quote(PUT, ticker)
    assert (quote.bid, quote.iv, quote.delta, quote.gamma, quote.vega, quote.underlying_price) == (
        -1.0, -1.0, -2.0, -2.0, -2.0, -1.0)


def test_an_index_underlying_is_quoted_at_its_level():
    ticker = Ticker(contract=Contract(secType="IND", symbol="SPX"))
    assert translate.underlying_quote("SPX", ticker) is None
    ticker.last = 5800.0
    quote = translate.underlying_quote("SPX", ticker)
    assert (quote.bid, quote.ask, quote.last) == (5800.0, 5800.0, 5800.0)
    assert translate.underlying("SPX", {"SPX": "CBOE"}).secType == "IND"
    assert translate.option(PUT, "SPXW").tradingClass == "SPXW"


def test_positions_keep_options_and_shares_of_the_account_and_name_anything_else():
    positions = [Position("DU1", translate.option(PUT), -2.0, 410.0), Position("DU1", Contract(secType="STK",
                 symbol="SPY"), 100.0, 580.0), Position("DU2", translate.option(CALL), 1.0, 90.0),
                 Position("DU1", Contract(secType="FUT", symbol="ES"), 1.0, 5000.0)]
    snapshot, other = translate.positions_snapshot(positions, "DU1")
    assert [(p.contract, p.quantity) for p in snapshot.positions] == [(PUT, -2)] and snapshot.complete
    assert snapshot.stock == (StockPosition(symbol="SPY", quantity=100, avg_cost=580.0),)
    assert other == ["FUT ES 1"]


def test_account_values_keep_what_a_trader_watches():
    values = [AccountValue("DU1", "NetLiquidation", "100000", "USD", ""), AccountValue("DU1", "Cushion", "0.9", "", ""),
              AccountValue("DU2", "NetLiquidation", "5", "USD", "")]
    assert [(v.key, v.value) for v in translate.account_values(values, "DU1").values] == [("NetLiquidation", "100000")]


def test_chain_plan_quotes_the_expiries_nearest_the_window_middle_and_strikes_near_spot():
    today = dt.date(2026, 3, 2)
    listed = ["20260320", "20260402", "20260410", "20260417", "20260515"]
    assert choose_expiries(listed, today, 30, 45, 1) == ["20260410"]  # 39 DTE, middle 37.5
    assert choose_expiries(listed, today, 30, 45, 2) == ["20260402", "20260410"]
    assert choose_expiries(listed, today, 60, 90, 1) == ["20260515"]
    assert choose_strikes([500, 550, 575.5, 580, 600, 640], 580.0, 0.05) == [575.5, 580.0, 600.0]
