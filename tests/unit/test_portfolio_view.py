"""The portfolio view every actor keeps: pending and open strategies, shared contracts, closes in flight, greeks."""

from __future__ import annotations

import datetime as dt

import msgspec

from actors.portfolio.greeks import GreekTotals, structure_greeks
from actors.portfolio.view import PortfolioView
from actors.risk.config import RiskSection
from actors.risk.core import RiskCore
from actors.runtime.clock import VirtualClock
from actors.runtime.deterministic import DeterministicRuntime
from messages import (
    IntentApproved,
    IntentDenied,
    Leg,
    OpenStrategy,
    OptionContract,
    OptionQuote,
    OrderOutcome,
    OrderPurpose,
    OrderTerminated,
    StrategyClosed,
    StrategyOpened,
    StrategyPositionChanged,
    StrategySettled,
)
from tests.unit.account_values import account_values

NOW = int(dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC).timestamp() * 1e9)
EXPIRY = dt.date(2026, 4, 10)
SHARED_PUT = OptionContract("SPY", EXPIRY, 550.0, "P")
WING = OptionContract("SPY", EXPIRY, 545.0, "P")
OTHER = OptionContract("QQQ", EXPIRY, 480.0, "P")


def _intent(strategy_id: str, symbol: str = "SPY", max_loss: float = 400.0) -> OpenStrategy:
    legs = (Leg(SHARED_PUT, -1), Leg(WING, 1)) if symbol == "SPY" else (Leg(OTHER, -1),)
    return OpenStrategy(strategy_id=strategy_id, kind="bull_put", symbol=symbol, legs=legs, quantity=1,
                        mid_price=-1.0, natural_price=-0.9, max_profit_usd=100.0, max_loss_usd=max_loss, reason="t")


def _opened(intent: OpenStrategy, max_loss: float = 410.0) -> StrategyOpened:
    return StrategyOpened(ts=NOW, strategy_id=intent.strategy_id, kind=intent.kind, symbol=intent.symbol,
                          legs=intent.legs, quantity=intent.quantity, entry_price=-1.0, max_profit_usd=90.0,
                          max_loss_usd=max_loss)


def _quote(contract: OptionContract, ts: int = NOW, delta: float = -0.2) -> OptionQuote:
    return OptionQuote(ts=ts, contract=contract, bid=1.0, ask=1.1, iv=0.2, delta=delta, gamma=0.01, vega=0.5,
                       theta=-0.1, underlying_price=580.0)


def _closed(strategy_id: str) -> StrategyClosed:
    return StrategyClosed(strategy_id=strategy_id, exit_price=-0.5, realized_pnl_usd=50.0, commissions_usd=2.6,
                          rule="take_profit")


def test_pending_then_open_then_closed_is_exposure_all_along_and_then_none():
    view = PortfolioView()
    first = _intent("A")
    view.add_pending(first)
    assert view.exposure("SPY") == 1 and view.symbols() == {"A": "SPY"}
    assert view.max_loss_at_risk_usd() == 400.0  # the intent's maximum loss until it fills
    view.apply(_opened(first))
    assert view.exposure("SPY") == 1 and view.max_loss_at_risk_usd() == 410.0  # now the fill-adjusted one
    view.apply(_closed("A"))
    assert view.exposure("SPY") == 0 and view.symbols() == {} and view.max_loss_at_risk_usd() == 0.0


def test_a_shared_contract_is_released_with_its_last_holder_and_its_quote_goes_with_it():
    view = PortfolioView()
    first, second = _intent("A"), _intent("B")
    assert set(view.apply(_opened(first)).held) == {SHARED_PUT, WING}
    assert view.apply(_opened(second)).held == ()  # already held: nothing new to subscribe
    view.apply(_quote(SHARED_PUT))
    assert view.holders_of(SHARED_PUT) == {"A", "B"}
    assert view.apply(_closed("A")).released == ()
    assert SHARED_PUT in view.quotes
    assert set(view.apply(_closed("B")).released) == {SHARED_PUT, WING}
    assert SHARED_PUT not in view.quotes and not view.holds(SHARED_PUT)


def test_an_unfilled_or_denied_opening_is_no_longer_exposure():
    view = PortfolioView()
    view.apply(IntentApproved(intent=_intent("A")))
    view.add_pending(_intent("B", symbol="QQQ"))
    view.apply(OrderTerminated(client_order_id="A-O1", strategy_id="A", purpose=OrderPurpose.OPEN,
                               status=OrderOutcome.CANCELLED, filled_quantity=0, avg_price=0.0))
    view.apply(IntentDenied(strategy_id="B", check="execution", reason="order still working"))
    assert view.symbols() == {}


def test_a_close_in_flight_is_released_when_refused_and_kept_when_filled():
    view = PortfolioView()
    view.apply(_opened(_intent("A")))
    view.mark_closing("A")
    view.apply(OrderTerminated(client_order_id="A-C1", strategy_id="A", purpose=OrderPurpose.CLOSE,
                               status=OrderOutcome.REJECTED, filled_quantity=0, avg_price=0.0))
    assert not view.holding("A").closing
    view.mark_closing("A")
    view.apply(IntentDenied(strategy_id="A", check="trading_state", reason="HALTED"))
    assert not view.holding("A").closing
    view.mark_closing("A")
    view.apply(OrderTerminated(client_order_id="A-C2", strategy_id="A", purpose=OrderPurpose.CLOSE,
                               status=OrderOutcome.FILLED, filled_quantity=-1, avg_price=-0.5))
    assert view.holding("A").closing  # filled: the StrategyClosed that follows ends it


def test_quotes_an_intent_carries_never_overwrite_newer_ones():
    view = PortfolioView()
    view.apply(_quote(SHARED_PUT, ts=NOW + 10, delta=-0.3))
    view.note_quotes([_quote(SHARED_PUT, ts=NOW, delta=-0.2), _quote(WING, ts=NOW, delta=-0.1)])
    assert view.quotes[SHARED_PUT].delta == -0.3 and view.quotes[WING].delta == -0.1


def test_greeks_by_symbol_count_only_fully_quoted_strategies_at_their_current_size():
    view = PortfolioView()
    view.apply(_opened(_intent("A")))
    view.apply(_opened(_intent("Q", symbol="QQQ")))
    view.apply(_quote(SHARED_PUT, delta=-0.3))
    view.apply(_quote(OTHER, delta=-0.25))
    assert view.strategy_greeks("A") is None  # the wing was never quoted
    assert set(view.greeks_by_symbol()) == {"QQQ"}
    view.apply(_quote(WING, delta=-0.1))
    view.apply(StrategyPositionChanged(strategy_id="A", quantity=2, avg_entry_price=-1.0))
    spy = view.greeks_by_symbol()["SPY"]  # short the -0.3 put, long the -0.1 wing, two units of 100 shares
    assert spy == GreekTotals(delta=40.0, gamma=0.0, vega=0.0, theta=0.0)


def test_an_intent_execution_refused_no_longer_counts_against_the_position_limit():
    """Risk approves, execution refuses (e.g. an order still working): the strategy never opens, so it must not hold
    one of `max_positions` forever."""
    runtime = DeterministicRuntime([lambda: RiskCore(RiskSection(max_positions=1))], VirtualClock(NOW))
    runtime.start()
    runtime.inject(account_values())
    quotes = tuple(_quote(leg.contract) for leg in _intent("A").legs)
    runtime.inject(msgspec.structs.replace(_intent("A"), leg_quotes=quotes))
    runtime.inject(IntentDenied(strategy_id="A", check="execution", reason="order A-O1 still working"))
    runtime.inject(msgspec.structs.replace(_intent("B"), leg_quotes=quotes))
    verdicts = [(type(m).__name__, getattr(m, "check", "")) for m in runtime.history
                if isinstance(m, (IntentApproved, IntentDenied)) and getattr(m, "check", "") != "execution"]
    assert verdicts == [("IntentApproved", ""), ("IntentApproved", "")]


def test_greeks_follow_every_change_of_a_strategys_quotes_size_and_legs():
    """Greeks are kept between calls: each change that moves them must show at once, the others' stay as they are."""
    view = PortfolioView()
    view.apply(_opened(_intent("A")))
    view.apply(_opened(_intent("B")))  # shares the short put with A
    view.apply(_opened(_intent("Q", symbol="QQQ")))
    for contract, delta in ((SHARED_PUT, -0.3), (WING, -0.1), (OTHER, -0.25)):
        view.apply(_quote(contract, delta=delta))
    assert view.strategy_greeks("A").delta == view.strategy_greeks("B").delta == 20.0
    assert view.strategy_greeks("Q").delta == 25.0
    view.apply(_quote(SHARED_PUT, ts=NOW + 1, delta=-0.4))  # a quote of a leg both hold
    assert view.strategy_greeks("A").delta == view.strategy_greeks("B").delta == 30.0
    view.note_quotes([_quote(WING, ts=NOW + 2, delta=-0.2)])  # a quote an intent carries
    assert view.strategy_greeks("A").delta == 20.0 and view.strategy_greeks("Q").delta == 25.0
    view.apply(StrategyPositionChanged(strategy_id="A", quantity=3, avg_entry_price=-1.0))
    assert view.strategy_greeks("A").delta == 60.0 and view.strategy_greeks("B").delta == 20.0
    view.apply(StrategySettled(strategy_id="B", symbol="SPY", settled=(), stock_quantity=0, stock_avg_price=0.0,
                               realized_pnl_usd=0.0, legs_left=(Leg(WING, 1),)))
    assert view.strategy_greeks("B").delta == -20.0  # only the long wing is left
    view.apply(_closed("A"))
    view.apply(_opened(_intent("A")))  # the same id again: its own size, not the old one's
    assert view.strategy_greeks("A") is None  # its short put's quote left with its last holder
    view.apply(_quote(SHARED_PUT, ts=NOW + 3, delta=-0.3))
    assert view.strategy_greeks("A").delta == 10.0


DELTA_CONDOR = tuple(Leg(OptionContract("SPY", dt.date(2026, 3, 20), strike, right), ratio)
                     for strike, right, ratio in ((565.0, "P", 1), (570.0, "P", -1), (590.0, "C", -1), (595.0, "C", 1)))


def test_the_book_delta_is_the_greeks_delta():
    view = PortfolioView()
    view.apply(StrategyOpened(strategy_id="IC-1", kind="iron_condor", symbol="SPY", legs=DELTA_CONDOR, quantity=3,
                              entry_price=-1.6, max_profit_usd=480.0, max_loss_usd=1020.0))
    assert view.strategy_delta("IC-1") is None  # never quoted
    for n, (leg, delta) in enumerate(zip(DELTA_CONDOR, (-0.0813, -0.2117, 0.2291, 0.0937))):
        view.apply(OptionQuote(contract=leg.contract, bid=1.0, ask=1.1, delta=delta, gamma=0.01, vega=0.1,
                               theta=-0.02, iv=0.18, underlying_price=580.0, ts=n + 1))
        if n < 3:
            assert view.strategy_delta("IC-1") is None
    expected = structure_greeks(DELTA_CONDOR, 3, view.quotes).delta
    assert view.strategy_delta("IC-1") == expected  # worked out alone
    assert view.strategy_greeks("IC-1").delta == expected and view.strategy_delta("IC-1") == expected  # and cached
