"""IB market data as it really behaves, against the test gateway over a real socket: changes-only streams, one-sided
far wings with "not computed" greeks, permission errors, delayed data, the line limit (101), index option classes."""

from __future__ import annotations

import datetime as dt

import pytest

from actors.node import core_factories
from messages import (
    Alert,
    BadTick,
    ChainRequest,
    ChainSnapshot,
    CloseStrategy,
    DecisionRecord,
    IbConnected,
    IbError,
    OpenStrategy,
    OptionContract,
    OptionQuote,
    OptionQuotes,
    StrategyOpened,
    SubscribeQuotes,
    UnderlyingQuote,
)
from tests.ib.harness import MARKET_TIME, InProcessNode, ib_config, new_gateway
from tests.waiting import wait_for

pytestmark = pytest.mark.timeout(120)
SMALL_CHAIN = {"chain_strike_range_pct": 0.02}


@pytest.fixture
def gateway():
    gateway = new_gateway()
    yield gateway
    gateway.stop()


def _chain(node: InProcessNode, symbol: str = "SPY") -> ChainSnapshot:
    node.send(ChainRequest(symbol=symbol, min_dte=30, max_dte=45))
    return node.probe.wait(ChainSnapshot, lambda c: c.symbol == symbol, timeout=60)


def test_streams_send_only_changes(gateway):
    with InProcessNode(ib_config(gateway)) as node:
        node.probe.wait(UnderlyingQuote, lambda q: q.bid == 579.99)
        # the VIX stream may open after SPY's first quote, and SPY's last may be counted after its bid was seen: wait
        # for both streams' whole first quotes, or a late first tick would count as a change
        sent_by = gateway.feed.ticks_sent
        wait_for(lambda: sent_by[("stock", "SPY")] >= 3 and sent_by[("index", "VIX")] > 0, timeout=30)
        sent = sum(gateway.feed.ticks_sent.values())
        gateway.requote()
        gateway.requote()
        assert sum(gateway.feed.ticks_sent.values()) == sent  # nothing moved: IB says nothing
        gateway.set_underlying("SPY", 581.0)
        node.probe.wait(UnderlyingQuote, lambda q: q.bid == 580.99)
        assert sum(gateway.feed.ticks_sent.values()) == sent + 3  # SPY's bid, ask and last changed, nothing else


def test_a_long_wing_quoted_bid_minus_one_without_greeks_still_lets_the_catastrophe_rule_close(gateway):
    """The issue's reproduction: the long put wing has no bid and IB's greeks are "not computed" from the moment it is
    held; a +4.1% move must still close the condor by the catastrophe rule."""
    config = ib_config(gateway, ib={"chain_strike_range_pct": 0.08}, entry={"evaluate_interval_s": 2.0},
                       execution={"step_interval_s": 1.0, "deadline_s": 30.0})
    start_ns = int(MARKET_TIME.timestamp() * 1e9)
    node = InProcessNode(config, core_factories(config, "wing", None, start_ns))

    def blind_the_wing(message) -> None:  # noqa: ANN001 - any message
        if isinstance(message, OpenStrategy):
            wing = next(leg.contract for leg in message.legs if leg.ratio > 0 and leg.contract.right == "P")
            gateway.data_faults.no_bid.add(wing)
            gateway.data_faults.uncomputed_greeks.add(wing)

    node.runtime.observers.insert(0, blind_the_wing)
    with node:
        opened = node.probe.wait(StrategyOpened, timeout=90)
        wing = next(leg.contract for leg in opened.legs if leg.ratio > 0 and leg.contract.right == "P")
        node.probe.wait(OptionQuote, lambda q: q.contract == wing and q.bid == 0.0)
        node.probe.wait(BadTick, lambda b: b.key == str(wing) and b.reason == "greeks_uncomputed")
        gateway.set_underlying("SPY", round(580.0 * 1.041, 2))
        close = node.probe.wait(CloseStrategy, timeout=20)
        # the wing is marked conservatively: at 0 for want of a bid, or from the model when its last quote is behind
        # the move (which of the two depends on whether the wing's quote arrived before the jump)
        assert close.rule == "catastrophe" and f"conservative marks: {wing}" in close.reason
        assert node.probe.of(DecisionRecord, lambda r: r.rule == "conservative_mark")


def test_permission_errors_alert_once_per_contract_not_per_request(gateway):
    gateway.data_faults.permissions["QQQ"] = "none"
    with InProcessNode(ib_config(gateway, entry={"symbols": ["SPY", "QQQ"]})) as node:
        node.probe.wait(IbError, lambda e: e.code == 354)
        node.probe.wait(UnderlyingQuote, lambda q: q.symbol == "SPY")
        gateway.send_error(1101, "Connectivity between IB and TWS has been restored- data lost.")
        node.probe.wait(IbError, lambda e: e.code == 354, count=2)  # asked again after the resubscribe...
        wait_for(lambda: node.probe.of(UnderlyingQuote, lambda q: q.symbol == "SPY")[-1].seq >
                 node.probe.of(IbError, lambda e: e.code == 1101)[0].seq, what="SPY resubscribed")
        alerts = node.probe.of(Alert, lambda a: "354" in a.text)
    assert len(alerts) == 1 and "QQQ" in alerts[0].text and alerts[0].level == "critical"  # ...alerted once
    assert not node.probe.of(Alert, lambda a: a.text.startswith("IB error 354"))  # not by the broker core too


def test_auto_market_data_falls_back_to_delayed_data_and_says_so(gateway):
    gateway.data_faults.permissions["SPY"] = "delayed"
    with InProcessNode(ib_config(gateway, ib={"market_data_type": "auto", **SMALL_CHAIN})) as node:
        node.probe.wait(IbError, lambda e: e.code == 10089)
        quote = node.probe.wait(UnderlyingQuote, lambda q: q.symbol == "SPY")  # delayed ticks 66/67/68
        assert (quote.bid, quote.ask) == (579.99, 580.01)
        fallback = node.probe.wait(Alert, lambda a: "falls back to delayed data" in a.text)
        node.probe.wait(Alert, lambda a: "10167" in a.text and "delayed" in a.text)
        chain = _chain(node)  # options quoted delayed too: greeks from tick type 83
        assert chain.quotes and all(q.iv > 0 for q in chain.quotes)
    assert "SPY" in fallback.text and gateway.feed.most_lines > 0


def test_without_auto_a_refused_symbol_is_not_quoted_and_alerted(gateway):
    gateway.data_faults.permissions["SPY"] = "delayed"
    with InProcessNode(ib_config(gateway)) as node:
        alert = node.probe.wait(Alert, lambda a: "10089" in a.text)
        assert alert.level == "critical" and 'market_data_type = "auto"' in alert.text
        node.probe.wait(IbConnected)
    assert not node.probe.of(UnderlyingQuote)


def test_line_limit_101_shrinks_the_chain_scan_and_every_contract_is_still_quoted(gateway):
    gateway.data_faults.foreign_lines = 92  # other clients and TWS windows: IB leaves this node 8 of its 90
    with InProcessNode(ib_config(gateway, ib=SMALL_CHAIN)) as node:
        node.probe.wait(UnderlyingQuote)
        chain = _chain(node)
        lines_full = node.probe.of(IbError, lambda e: e.code == 101)
    strikes = {q.contract.strike for q in chain.quotes}
    assert lines_full and len(chain.quotes) == 2 * len(strikes) > 20  # every put and call, in smaller batches
    assert gateway.feed.most_lines <= 8


def test_held_legs_take_lines_from_a_chain_scan_in_flight(gateway):
    config = ib_config(gateway, ib={"market_data_lines": 10, "chain_quote_timeout_s": 5.0, **SMALL_CHAIN})
    with InProcessNode(config) as node:
        node.probe.wait(UnderlyingQuote)
        first = _chain(node)
        held = tuple(q.contract for q in first.quotes[-4:])
        silent = {q.contract for q in first.quotes[:8]}  # the next scan's first batch waits for these
        gateway.data_faults.silent.update(silent)
        node.send(ChainRequest(symbol="SPY", min_dte=30, max_dte=45))
        wait_for(lambda: gateway.lines_in_use() == 10, what="a chain scan holding every free line")
        node.send(SubscribeQuotes(contracts=held))
        quoted = [node.probe.wait(OptionQuote, lambda q, c=c: q.contract == c and q.seq > first.seq) for c in held]
        second = node.probe.wait(ChainSnapshot, count=2, timeout=90)
    assert max(q.seq for q in quoted) < second.seq  # the held legs did not wait for the scan to end
    assert gateway.feed.most_lines <= 10  # the budget holds streams and scans together
    assert {q.contract for q in second.quotes} == {q.contract for q in first.quotes} - silent
    assert not node.probe.of(Alert, lambda a: "lines exhausted" in a.text)


def test_generic_ticks_are_asked_only_when_configured(gateway):
    with InProcessNode(ib_config(gateway, ib=SMALL_CHAIN)) as node:
        node.probe.wait(UnderlyingQuote)
        _chain(node)
    assert set(gateway.generic_ticks_requested) == {""}
    with InProcessNode(ib_config(gateway, ib={"generic_ticks": "100,101,106", **SMALL_CHAIN})) as node:
        node.probe.wait(UnderlyingQuote)
        _chain(node)
    assert "100,101,106" in gateway.generic_ticks_requested


THIRD_FRIDAY = dt.date(2026, 4, 17)


@pytest.mark.parametrize("classes", [{"SPX": "SPXW"}, {"SPX": ""}], ids=["SPXW", "no-trading-class"])
def test_index_options_need_their_trading_class(gateway, classes):
    gateway.set_underlying("SPX", 5800.0)
    leg = OptionContract("SPX", THIRD_FRIDAY, 5500.0, "P")  # SPX and SPXW both list it: ambiguous without a class
    config = ib_config(gateway, entry={"symbols": ["SPX"]}, ib={"trading_classes": classes,
                                                                 "chain_strike_range_pct": 0.01})
    with InProcessNode(config) as node:
        node.probe.wait(UnderlyingQuote, lambda q: q.symbol == "SPX" and q.bid == 5800.0)
        node.send(SubscribeQuotes(contracts=(leg,)))
        if classes["SPX"]:
            assert node.probe.wait(OptionQuote, lambda q: q.contract == leg).ask > 0
            chain = _chain(node, "SPX")
            assert chain.quotes and {q.contract.symbol for q in chain.quotes} == {"SPX"}
        else:
            node.probe.wait(Alert, lambda a: f"IB does not know {leg}" in a.text)
            assert not node.probe.of(OptionQuote)


def test_a_market_move_reaches_the_actors_as_one_burst_of_the_legs_it_requoted(gateway):
    """IB sends a quote interval's ticks together and ib_async hands over every ticker one read updated: the option
    quotes among them travel as one `OptionQuotes`, each quote timed by that read, the underlying's beside it."""
    with InProcessNode(ib_config(gateway, ib=SMALL_CHAIN)) as node:
        node.probe.wait(UnderlyingQuote)
        chain = _chain(node)
        held = {q.contract for q in chain.quotes[:4]}
        node.send(SubscribeQuotes(contracts=tuple(held)))
        for contract in held:
            node.probe.wait(OptionQuote, lambda q, c=contract: q.contract == c)
        gateway.set_underlying("SPY", 590.0)
        burst = node.probe.wait(OptionQuotes, lambda b: held <= {q.contract for q in b.quotes}
                                and all(q.underlying_price == 590.0 for q in b.quotes))
        node.probe.wait(UnderlyingQuote, lambda q: q.last == 590.0)  # the underlying goes as its own message
    assert len({q.contract for q in burst.quotes}) == len(burst.quotes)  # one quote per contract
    assert all(q.ts == burst.ts for q in burst.quotes)
