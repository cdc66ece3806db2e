import datetime as dt

import numpy as np

from actors.broker.sim.config import SimSection
from actors.broker.sim.generated import GeneratedQuoteSource
from actors.broker.sim.market import SimulatedMarket
from actors.market_data.chain import chain_contracts, listed_expiries, quote_contracts, skewed_iv
from actors.market_time import market_hours


def _ns(text: str) -> int:
    return int(dt.datetime.fromisoformat(text).timestamp() * 1e9)


def test_market_hours_know_holidays_and_early_closes():
    hours = market_hours()
    assert hours.is_open(_ns("2026-03-02T15:00:00+00:00"))
    assert not hours.is_open(_ns("2026-03-02T21:30:00+00:00"))
    assert not hours.is_open(_ns("2026-04-03T15:00:00+00:00"))  # Good Friday
    assert hours.is_open(_ns("2026-11-27T17:30:00+00:00"))  # day after Thanksgiving, before the 13:00 close
    assert not hours.is_open(_ns("2026-11-27T18:30:00+00:00"))
    assert hours.next_open(_ns("2026-04-02T21:00:00+00:00")) == _ns("2026-04-06T13:30:00+00:00")
    assert hours.open_ns_between(_ns("2026-03-06T00:00:00+00:00"), _ns("2026-03-09T00:00:00+00:00")) == 6.5 * 3600e9


def test_holiday_friday_expiry_moves_to_thursday():
    assert dt.date(2026, 4, 2) in listed_expiries(_ns("2026-03-02T15:00:00+00:00"), 30, 40)


def test_put_skew_and_spreads_widen_away_from_the_money():
    now = _ns("2026-03-02T15:00:00+00:00")
    strikes = np.array([520.0, 550.0, 580.0, 610.0])
    iv = skewed_iv(0.18, 580.0, strikes, np.full(4, 39 / 365))
    assert iv[0] > iv[1] > iv[2] > iv[3]
    quotes = quote_contracts(chain_contracts("SPY", 580.0, now, 30, 45), 580.0, 0.18, now, 0.04, 0.013)
    assert all(0 <= q.bid < q.ask for q in quotes)
    puts = sorted((q for q in quotes if q.contract.right == "P" and q.contract.expiry == dt.date(2026, 4, 10)),
                  key=lambda q: q.contract.strike)
    relative = [(q.ask - q.bid) / ((q.ask + q.bid) / 2) for q in puts if q.bid > 0.5]
    assert relative[0] > relative[len(relative) // 2]


def test_same_seed_same_market_and_prices_only_move_while_open():
    start = _ns("2026-03-02T14:30:00+00:00")
    steps = [start + n * 300 * 10**9 for n in range(1, 200)]

    def path(seed: int) -> list[float]:
        market = SimulatedMarket(("SPY", "QQQ"), seed, start)
        out = []
        for now in steps:
            market.advance(now)
            out.append(market.spot("SPY"))
        return out

    assert path(7) == path(7)
    assert path(7) != path(8)
    market = SimulatedMarket(("SPY",), 7, _ns("2026-03-02T21:00:00+00:00"))
    market.advance(_ns("2026-03-03T13:00:00+00:00"))
    assert market.spot("SPY") == 580.0


def test_generated_source_quotes_a_chain_with_greeks():
    start = _ns("2026-03-02T14:30:00+00:00")
    source = GeneratedQuoteSource(SimSection(), ("SPY",), start)
    assert source.advance(start + 300 * 10**9)
    chain = source.chain("SPY", 30, 45, start + 300 * 10**9)
    assert chain.quotes and all(q.iv > 0 and -1 <= q.delta <= 1 for q in chain.quotes)
    assert source.index_quotes(start)[0].symbol == "VIX"
    assert source.chain("XYZ", 30, 45, start).quotes == ()
