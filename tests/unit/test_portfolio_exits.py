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


def test_a_kept_delta_book_judges_exactly_as_a_walk_of_the_whole_book():
    """Totals kept one changed strategy at a time (opens, requotes, resizes, closes) end the judgement only when
    clearly inside the limits; at a limit, just inside or beyond it, the answer is the walk's."""
    import random

    from actors.portfolio.delta_book import DeltaBook
    from messages import StrategyClosed, StrategyPositionChanged

    rng = random.Random(7)
    view, book = PortfolioView(), DeltaBook()
    opened: list[str] = []
    for step in range(300):
        roll = rng.random()
        if roll < 0.2 or not opened:
            strategy_id = f"S{step}"
            symbol = rng.choice(("SPY", "QQQ"))
            low = rng.choice((520.0, 530.0, 540.0))
            _open(view, strategy_id, symbol, (low, low + 20.0), rng.choice(("P", "C")), rng.randint(1, 5))
            opened.append(strategy_id)
        elif roll < 0.3:
            view.apply(StrategyClosed(strategy_id=opened.pop(rng.randrange(len(opened))), exit_price=0.0,
                                      realized_pnl_usd=0.0, commissions_usd=0.0, rule="t"))
        elif roll < 0.4:
            view.apply(StrategyPositionChanged(strategy_id=rng.choice(opened), quantity=rng.randint(1, 6),
                                               avg_entry_price=-1.0))
        else:
            held = view.holding(rng.choice(opened))
            for quote in quote_contracts([leg.contract for leg in held.legs], rng.uniform(560.0, 600.0), 0.18,
                                         NOW + step, 0.04, 0.013):
                view.apply(quote)
        walked = delta_exit(view, ExitSection(symbol_delta_exit=0, portfolio_delta_exit=0.001))
        deltas = {s: view.strategy_greeks(s).delta / 100 for s in view.open_ids()}
        totals = [abs(sum(d for s, d in deltas.items() if view.holding(s).symbol == symbol)) for symbol in ("SPY", "QQQ")]
        for limit in (*totals, max(totals) + 1e-12, max(totals) - 1e-12, 1e5, 0.5):
            params = ExitSection(symbol_delta_exit=limit, portfolio_delta_exit=limit * 2)
            assert delta_exit(view, params, book) == delta_exit(view, params), (step, limit)
        assert walked == delta_exit(view, ExitSection(symbol_delta_exit=0, portfolio_delta_exit=0.001), book)
        assert book.clearly_within(max(totals) + 1e-6, 0)  # the kept totals are the walk's, not merely larger
    assert book.clearly_within(1e6, 1e6) and not book.clearly_within(max(totals), 0)
