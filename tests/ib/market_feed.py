"""The test gateway's market data, as IB really sends it.

- Streams send changes only: a subscription starts with every field once, then a tick goes out only when its value
  changed, so a quiet far-out-of-the-money option sends nothing at all.
- A side nobody quotes is price −1 with size 0 (the model's bid of 0 for a far wing, or a scripted `no_bid`);
  greeks IB could not compute are −1 (IV, underlying price) and −2 (delta, gamma, vega, theta).
- Lines are counted per username across every client and TWS window (`foreign_lines` stand for the others): one
  request beyond `line_limit` answers 101 and gets no data.
- Without a subscription (`permissions[symbol]`): "delayed" answers 10089 to a live request and, after
  reqMarketDataType(3|4), 10167 plus delayed ticks (66-68, 69/70, 80-83); "none" answers 354 live, 10168 delayed.
- Cancelling a request IB never started answers 300.
- Generic ticks asked with an option's request: open interest (101) and its implied volatility (106).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from messages import OptionContract, OptionQuote
from tests.ib import wire

TICK_BID_SIZE, TICK_BID, TICK_ASK, TICK_ASK_SIZE, TICK_LAST, TICK_LAST_SIZE = 0, 1, 2, 3, 4, 5
OPTION_BID, OPTION_ASK, OPTION_MODEL = 10, 11, 13
DELAYED_TICK = {TICK_BID_SIZE: 69, TICK_BID: 66, TICK_ASK: 67, TICK_ASK_SIZE: 70, TICK_LAST: 68, TICK_LAST_SIZE: 71,
                OPTION_BID: 80, OPTION_ASK: 81, OPTION_MODEL: 83}
LIVE, DELAYED = 1, 3
NO_PERMISSION = {
    (LIVE, "delayed"): (10089, "Requested market data requires additional subscription for API. See link in "
                               "'Market Data Connections' dialog for more details."),
    (LIVE, "none"): (354, "Requested market data is not subscribed."),
    (DELAYED, "none"): (10168, "Requested market data is not subscribed. Delayed market data is not enabled."),
}
DELAYED_SHOWN = (10167, "Requested market data is not subscribed. Displaying delayed market data.")
LINES_FULL = (101, "Max number of tickers has been reached.")


@dataclass
class DataFaults:
    """How the market looks to this login; change it while the test runs."""

    permissions: dict[str, str] = field(default_factory=dict)
    """symbol → "live" (the default), "delayed" (delayed data only) or "none"."""
    no_bid: set[OptionContract] = field(default_factory=set)
    """Options quoted bid −1 / size 0 (nobody bids), whatever the model says."""
    uncomputed_greeks: set[OptionContract] = field(default_factory=set)
    """Options whose model greeks IB sends as "not computed"."""
    silent: set[OptionContract] = field(default_factory=set)
    """Options that never send anything (an illiquid strike nobody quotes): a scan waits for them until its timeout."""
    foreign_lines: int = 0
    """Lines other clients and TWS windows of the same username hold."""
    line_limit: int = 100


@dataclass
class FeedClient:
    """A client's market-data state: what it streams and the last value of every tick it was sent."""

    data_type: int = LIVE
    streams: dict[int, tuple[str, Any]] = field(default_factory=dict)
    sent: dict[int, dict[int, tuple]] = field(default_factory=dict)
    delayed: set[int] = field(default_factory=set)


class MarketFeed:
    def __init__(self, spot: Callable[[str], float | None], vix: Callable[[], float],
                 option_quote: Callable[[OptionContract], OptionQuote | None]) -> None:
        self._spot = spot
        self._vix = vix
        self._option_quote = option_quote
        self.faults = DataFaults()
        self.most_lines = 0
        """The most lines this login's clients held at once."""
        self.ticks_sent: Counter[tuple[str, Any]] = Counter()
        """Ticks sent per stream, keyed by what was subscribed: ("stock", "SPY"), ("index", "VIX"), ..."""

    def lines_in_use(self, clients: list[FeedClient]) -> int:
        return sum(len(c.streams) for c in clients)

    def subscribe(self, feed: FeedClient, clients: list[FeedClient], send: Callable[[list[object]], None],
                  req_id: int, stream: tuple[str, Any]) -> bool:
        """Start a stream, or answer why not (101, permissions). True when data will flow."""
        if self.lines_in_use(clients) + self.faults.foreign_lines >= self.faults.line_limit:
            send(wire.error(req_id, *LINES_FULL))
            return False
        symbol = stream[1] if stream[0] != "option" else stream[1].symbol
        permission = self.faults.permissions.get(symbol, "live")
        delayed = permission == "delayed" and feed.data_type >= DELAYED
        refusal = NO_PERMISSION.get((min(feed.data_type, DELAYED), permission))
        if permission != "live" and not delayed:
            send(wire.error(req_id, *(refusal or NO_PERMISSION[(LIVE, "none")])))
            return False
        feed.streams[req_id] = stream
        feed.sent[req_id] = {}
        if delayed:
            feed.delayed.add(req_id)
            send(wire.error(req_id, *DELAYED_SHOWN))
        self.most_lines = max(self.most_lines, self.lines_in_use(clients))
        send(wire.market_data_type(req_id, DELAYED if delayed else LIVE))
        self.quote(feed, send, req_id)
        return True

    def cancel(self, feed: FeedClient, send: Callable[[list[object]], None], req_id: int) -> None:
        if feed.streams.pop(req_id, None) is None:
            send(wire.error(req_id, 300, f"Can't find EId with tickerId:{req_id}"))
        feed.sent.pop(req_id, None)
        feed.delayed.discard(req_id)

    def quote(self, feed: FeedClient, send: Callable[[list[object]], None], req_id: int) -> None:
        """Send the ticks of one stream whose values changed since the client last heard them."""
        kind, what = feed.streams[req_id]
        ticks = self._ticks(kind, what)
        last = feed.sent[req_id]
        for tick_type, payload in ticks:
            if last.get(tick_type) == payload:
                continue
            last[tick_type] = payload
            self.ticks_sent[(kind, what)] += 1
            wire_type = DELAYED_TICK.get(tick_type, tick_type) if req_id in feed.delayed else tick_type
            if tick_type in (OPTION_BID, OPTION_ASK, OPTION_MODEL):
                send(wire.tick_option_computation(req_id, wire_type, *payload))
            else:
                send(wire.tick_price(req_id, wire_type, *payload))

    def generic_ticks(self, send: Callable[[list[object]], None], req_id: int, option: OptionContract,
                      generic_ticks: str) -> None:
        """Open interest (101) and the option's implied volatility (106), as IB answers those generic ticks."""
        quote = self._option_quote(option)
        requested = set(generic_ticks.split(","))
        if quote is None:
            return
        if "101" in requested:
            send(wire.tick_size(req_id, 27 if option.right == "C" else 28, 1000.0))
        if "106" in requested:
            send(wire.tick_generic(req_id, 24, quote.iv))

    def _ticks(self, kind: str, what: Any) -> list[tuple[int, tuple]]:
        if kind == "stock":
            spot = self._spot(what)
            if spot is None:
                return []
            return [(TICK_BID, (round(spot - 0.01, 2), 100)), (TICK_ASK, (round(spot + 0.01, 2), 100)),
                    (TICK_LAST, (spot, 1))]
        if kind == "index":
            return [(TICK_LAST, (self._vix() if what == "VIX" else self._spot(what), 0))]
        quote = self._option_quote(what)
        if quote is None or what in self.faults.silent:
            return []
        no_bid = quote.bid <= 0 or what in self.faults.no_bid
        bid = (-1.0, 0) if no_bid else (quote.bid, 10)
        mid = quote.ask / 2 if no_bid else (quote.bid + quote.ask) / 2
        if what in self.faults.uncomputed_greeks:
            greeks: tuple = (None, None, None, None, None, None, None, None)
        else:
            greeks = (quote.iv, quote.delta, mid, 0.0, quote.gamma, quote.vega, quote.theta, quote.underlying_price)
        return [(TICK_BID, bid), (TICK_ASK, (quote.ask, 10)),
                *((tick_type, greeks) for tick_type in (OPTION_BID, OPTION_ASK, OPTION_MODEL))]
