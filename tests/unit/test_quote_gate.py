"""The quote gate's policy, the conservative marks of one-sided and quiet legs, and execution's refusal of a price
nobody can name."""

from __future__ import annotations

import datetime as dt
import math

import msgspec
import pytest

from actors.execution.config import ExecutionSection
from actors.execution.core import ExecutionCore
from actors.market_data.config import MarketDataSection
from actors.market_data.marks import MarkBook
from actors.market_data.quote_gate import QuoteGate
from actors.runtime.clock import VirtualClock
from actors.runtime.deterministic import DeterministicRuntime
from messages import (
    ActorFailed,
    Alert,
    BadTick,
    ChainSnapshot,
    CloseStrategy,
    IndexQuote,
    IntentApproved,
    IntentDenied,
    Leg,
    OptionContract,
    OptionQuote,
    PlaceOrder,
    UnderlyingQuote,
)

NOW = int(dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC).timestamp() * 1e9)
SECOND = 1_000_000_000
CALL = OptionContract("SPY", dt.date(2026, 4, 10), 615.0, "C")
PUT = OptionContract("SPY", dt.date(2026, 4, 10), 550.0, "P")


def _spy(mid: float, half: float = 0.05, last: float | None = None) -> UnderlyingQuote:
    return UnderlyingQuote(symbol="SPY", bid=mid - half, ask=mid + half, last=mid if last is None else last)


def _option(contract: OptionContract = CALL, bid: float = 1.0, ask: float = 1.1, **greeks: float) -> OptionQuote:
    fields = {"iv": 0.18, "delta": 0.2 if contract.right == "C" else -0.2, "gamma": 0.01, "vega": 0.5,
              "theta": -0.1, "underlying_price": 580.0, **greeks}
    return OptionQuote(contract=contract, bid=bid, ask=ask, **fields)


def _gate(**params: float) -> QuoteGate:
    gate = QuoteGate(MarketDataSection(**params), source="broker")
    assert gate.admit(_spy(580.0), NOW).accepted is not None
    assert gate.admit(IndexQuote(symbol="VIX", value=18.0), NOW).accepted is not None
    return gate


def _reason(gate: QuoteGate, quote, at: int = NOW + SECOND) -> str | None:  # noqa: ANN001 - any quote
    verdict = gate.admit(quote, at)
    bad = [n for n in verdict.notes if isinstance(n, BadTick)]
    return bad[0].reason if verdict.accepted is None else None


@pytest.mark.parametrize(("quote", "reason"), [
    (UnderlyingQuote(symbol="SPY", bid=0.0, ask=0.0, last=0.0), "non_positive"),
    (UnderlyingQuote(symbol="SPY", bid=-1.0, ask=580.05, last=580.0), "non_positive"),
    (UnderlyingQuote(symbol="SPY", bid=math.nan, ask=580.05, last=580.0), "non_finite"),
    (UnderlyingQuote(symbol="SPY", bid=580.0, ask=math.inf, last=580.0), "non_finite"),
    (UnderlyingQuote(symbol="SPY", bid=581.0, ask=579.0, last=580.0), "crossed"),
    (_spy(580.0, half=8.0), "wide"),
    (_spy(620.0), "jump"),
    (IndexQuote(symbol="VIX", value=-1.0), "non_positive"),
    (IndexQuote(symbol="VIX", value=math.nan), "non_finite"),
    (IndexQuote(symbol="VIX", value=180.0), "jump"),
    (_option(bid=math.nan), "non_finite"),
    (_option(bid=-1.0, ask=-1.0), "no_quote"),
    (_option(bid=1.2, ask=1.1), "crossed"),
])
def test_bad_ticks_are_rejected_with_their_reason(quote, reason):
    assert _reason(_gate(), quote) == reason


def test_good_quotes_pass_unchanged_and_a_missing_last_becomes_the_mid():
    gate = _gate()
    good = _spy(581.0)
    assert gate.admit(good, NOW + SECOND).accepted is good
    assert gate.admit(_spy(581.0, last=math.nan), NOW + SECOND).accepted.last == 581.0
    locked = UnderlyingQuote(symbol="SPY", bid=581.0, ask=581.0, last=581.0)
    assert gate.admit(locked, NOW + SECOND).accepted is locked


def test_a_one_sided_option_keeps_its_side_and_the_missing_one_becomes_zero():
    accepted = _gate().admit(_option(bid=-1.0, ask=0.05), NOW).accepted
    assert (accepted.bid, accepted.ask) == (0.0, 0.05)


def test_ibs_not_computed_greeks_are_repaired_by_the_model():
    gate = _gate()
    verdict = gate.admit(_option(bid=1.0, ask=1.1, iv=-1.0, delta=-2.0, gamma=-2.0, vega=-2.0, theta=-2.0,
                                 underlying_price=-1.0), NOW)
    quote = verdict.accepted
    assert 0 < quote.iv < 1 and 0 < quote.delta < 1 and quote.gamma > 0 and quote.vega > 0 and quote.theta < 0
    assert quote.underlying_price == 580.0  # the gate's last accepted SPY price
    assert [(n.reason, n.action) for n in verdict.notes if isinstance(n, BadTick)] == [("greeks_uncomputed",
                                                                                         "repaired")]
    # a one-sided quote cannot be solved for IV: the contract's last good IV prices it
    one_sided = gate.admit(_option(bid=-1.0, ask=0.3, iv=-1.0, delta=-2.0, gamma=-2.0, vega=-2.0, theta=-2.0), NOW)
    assert one_sided.accepted.iv == quote.iv
    # a leg IB never computed greeks for, one-sided from the first tick: its IV comes from the latest chain
    fresh_gate = _gate()
    fresh_gate.admit_chain(ChainSnapshot(symbol="SPY", underlying_price=580.0, quotes=(_option(PUT, iv=0.26),)), NOW)
    never = _option(OptionContract("SPY", PUT.expiry, 545.0, "P"), bid=-1.0, ask=0.3, iv=-1.0, delta=-2.0, gamma=-2.0,
                    vega=-2.0, theta=-2.0, underlying_price=-1.0)
    assert fresh_gate.admit(never, NOW).accepted.iv == 0.26  # the nearest strike of its expiry and right
    assert _reason(_gate(), never) == "greeks_uncomputed"  # no chain, no IV: rejected, never guessed


def test_a_jump_passes_when_options_the_index_or_a_second_tick_corroborate_it():
    gate = _gate()
    assert _reason(gate, _spy(610.0)) == "jump"
    assert _reason(gate, _spy(610.5)) is None  # a second tick at the new level: a real move
    gate = _gate()
    gate.admit(_option(underlying_price=612.0), NOW + SECOND)
    assert _reason(gate, _spy(612.0), NOW + 2 * SECOND) is None  # its options already trade at the new level
    gate = _gate()
    gate.admit(IndexQuote(symbol="VIX", value=24.0), NOW + SECOND)
    assert _reason(gate, _spy(540.0), NOW + 2 * SECOND) is None  # the index moved with it
    gate = _gate()
    assert _reason(gate, _spy(610.0)) == "jump"
    assert _reason(gate, _spy(580.1)) is None  # back to the old level: the jump was a bad print
    assert _reason(gate, _spy(610.0)) == "jump"  # and its level confirms nothing later


def test_alerts_are_rate_limited_per_symbol_and_reason_and_count_what_they_suppressed():
    gate = _gate(bad_tick_alert_interval_s=60)
    zero = UnderlyingQuote(symbol="SPY", bid=0.0, ask=0.0, last=0.0)
    alerts = [n for at in range(0, 70, 10) for n in gate.admit(zero, NOW + at * SECOND).notes
              if isinstance(n, Alert)]
    assert len(alerts) == 2 and "5 more since the last alert" in alerts[1].text
    crossed = UnderlyingQuote(symbol="SPY", bid=581.0, ask=579.0, last=580.0)
    assert any(isinstance(n, Alert) for n in gate.admit(crossed, NOW + 61 * SECOND).notes)


def test_a_chain_drops_bad_quotes_with_one_summary_per_reason():
    chain = ChainSnapshot(symbol="SPY", underlying_price=580.0,
                          quotes=(_option(), _option(PUT, bid=-1.0, ask=-1.0), _option(PUT, bid=2.0, ask=1.0),
                                  _option(PUT, bid=-1.0, ask=-1.0)))
    verdict = _gate().admit_chain(chain, NOW)
    assert len(verdict.accepted.quotes) == 1
    assert sorted((n.reason, n.count) for n in verdict.notes if isinstance(n, BadTick)) == [("crossed", 1),
                                                                                          ("no_quote", 2)]


def test_marks_of_one_sided_and_quiet_legs_err_against_us_and_say_so():
    book = MarkBook(MarketDataSection(no_ask_penalty_pct=0.25))
    fresh = book.view(_option(PUT, bid=2.0, ask=2.2), long=False, quiet=False, spot=580.0, now_ns=NOW)
    assert (fresh.mark, fresh.natural, fresh.note) == (2.1, 2.2, "")
    long_no_bid = book.view(_option(bid=0.0, ask=0.05), long=True, quiet=False, spot=580.0, now_ns=NOW)
    assert (long_no_bid.mark, long_no_bid.natural) == (0.0, 0.0) and "no bid" in long_no_bid.note
    short_no_ask = book.view(_option(PUT, bid=1.5, ask=0.0), long=False, quiet=False, spot=580.0, now_ns=NOW)
    assert short_no_ask.mark >= 2.2 * 1.25 and "no ask" in short_no_ask.note
    quiet_short = book.view(_option(PUT, bid=2.0, ask=2.2), long=False, quiet=True, spot=560.0, now_ns=NOW)
    assert quiet_short.mark > 2.2 * 1.25 and quiet_short.delta < -0.2  # repriced at the lower spot
    quiet_long = book.view(_option(PUT, bid=2.0, ask=2.2), long=True, quiet=True, spot=580.0, now_ns=NOW)
    # quiet at an unchanged spot: the model value less the penalty, and a close sells it at no more than its bid
    assert "quiet" in quiet_long.note and "less 25%" in quiet_long.note and quiet_long.natural <= 2.0
    behind = book.view(_option(PUT, bid=2.0, ask=2.2), long=False, quiet=False, spot=556.0, now_ns=NOW)
    assert behind.mark > 2.2 * 1.25 and "behind" in behind.note  # priced off 580 while SPY trades 556
    assert all(math.isfinite(v.mark) for v in (fresh, long_no_bid, short_no_ask, quiet_short, behind))


def test_execution_refuses_an_intent_with_an_unusable_price_and_stays_alive():
    runtime = DeterministicRuntime([lambda: ExecutionCore(ExecutionSection())], VirtualClock(NOW))
    runtime.start()
    legs = (Leg(PUT, -1), Leg(CALL, 1))
    close = CloseStrategy(strategy_id="IC-1", symbol="SPY", legs=legs, quantity=-1, mid_price=math.nan,
                          natural_price=-1.0, rule="catastrophe", reason="t")
    runtime.inject(IntentApproved(intent=close))
    runtime.inject(IntentApproved(intent=msgspec.structs.replace(close, mid_price=-1.2)))
    history = runtime.history
    assert not [m for m in history if isinstance(m, ActorFailed)]
    denied = [m for m in history if isinstance(m, IntentDenied)]
    assert len(denied) == 1 and "unusable price" in denied[0].reason
    assert any(isinstance(m, Alert) and m.level == "critical" for m in history)
    assert [m.limit_price for m in history if isinstance(m, PlaceOrder)] == [-1.2]  # the next good intent goes out
