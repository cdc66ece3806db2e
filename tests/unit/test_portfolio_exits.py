"""Book exits: a symbol's or the portfolio's delta beyond its limit closes the position adding the most delta that way."""

from __future__ import annotations

import datetime as dt

from actors.decision.config import ExitSection
from actors.decision.portfolio_exits import delta_exit
from actors.market_data.chain import quote_contracts
from actors.portfolio.view import PortfolioView
from messages import Leg, OptionContract, StrategyOpened

NOW = int(dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC).timestamp() * 1e9)
EXPIRY = dt.date(2026, 4, 10)


def _open(view: PortfolioView, strategy_id: str, symbol: str, strikes: tuple[float, float], right: str, quantity: int):
    legs = (Leg(OptionContract(symbol, EXPIRY, strikes[0], right), 1), Leg(OptionContract(symbol, EXPIRY, strikes[1], right), -1))
    view.apply(StrategyOpened(strategy_id=strategy_id, kind="v", symbol=symbol, legs=legs, quantity=quantity,
                              entry_price=-1.0, max_profit_usd=100.0, max_loss_usd=400.0))
    for quote in quote_contracts([leg.contract for leg in legs], 580.0, 0.18, NOW, 0.04, 0.013):
        view.apply(quote)


def _book() -> PortfolioView:
    view = PortfolioView()
    _open(view, "A", "SPY", (530.0, 550.0), "P", 2)   # bull put: positive delta
    _open(view, "B", "SPY", (530.0, 550.0), "P", 5)   # the same, more of it: adds the most
    _open(view, "C", "SPY", (630.0, 610.0), "C", 1)   # bear call: negative delta, never the one to close
    return view


def test_a_symbol_breach_closes_the_position_adding_the_most_delta_its_way():
    chosen = delta_exit(_book(), ExitSection(symbol_delta_exit=0.5, portfolio_delta_exit=0))
    assert chosen is not None and (chosen.strategy_id, chosen.rule) == ("B", "symbol_delta")


def test_within_limits_or_off_nothing_closes():
    assert delta_exit(_book(), ExitSection(symbol_delta_exit=100.0, portfolio_delta_exit=100.0)) is None
    assert delta_exit(_book(), ExitSection(symbol_delta_exit=0, portfolio_delta_exit=0)) is None


def test_one_close_at_a_time_per_scope():
    view = _book()
    view.mark_closing("B")
    assert delta_exit(view, ExitSection(symbol_delta_exit=0.5, portfolio_delta_exit=0)) is None


def test_the_portfolio_limit_spans_symbols():
    view = PortfolioView()
    _open(view, "Q", "QQQ", (530.0, 550.0), "P", 3)
    _open(view, "S", "SPY", (530.0, 550.0), "P", 2)
    chosen = delta_exit(view, ExitSection(symbol_delta_exit=100.0, portfolio_delta_exit=0.4))
    assert chosen is not None and (chosen.strategy_id, chosen.rule) == ("Q", "portfolio_delta")
