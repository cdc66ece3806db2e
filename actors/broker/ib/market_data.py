"""The IB session's market data: streams for the underlyings, the volatility index and every held leg, within the
market-data line budget (`market_data_lines.py`) they share with chain scans (`chain_scan.py`); IB's permission and
line-limit errors on either. Runs on the session's asyncio thread only.

IB as it really behaves: streams send changes only (a quiet far wing sends nothing for an hour); a side nobody
quotes is −1 with size 0; greeks IB could not compute are −1/−2; a contract without a data subscription answers
354, 10089 or 10168 (10167 and delayed ticks 66-68/80-83 with delayed data, 10090 when only part is subscribed);
more lines than the username's limit (across every client and TWS window) answers 101. Every quote goes through
the quote gate before it is published.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable

import msgspec
from ib_async import IB, Contract, Ticker

from actors.broker.ib import translate
from actors.broker.ib.chain_scan import ChainScan
from actors.broker.ib.config import MARKET_DATA_TYPES, IbSection
from actors.broker.ib.dividends import GENERIC_TICK as DIVIDENDS_TICK
from actors.broker.ib.dividends import IbDividends
from actors.broker.ib.market_data_lines import LineBudget, forget_ticker
from actors.market_data.config import MarketDataSection
from actors.market_data.quote_gate import QuoteGate
from actors.market_time import new_york_date
from actors.runtime.core import Context
from messages import (
    Alert,
    ChainRequest,
    Message,
    OptionContract,
    OptionQuote,
    OptionQuotes,
    SubscribeQuotes,
    UnsubscribeQuotes,
)
from messages.system import AlertLevel

LINES_FULL = 101
CANCEL_UNKNOWN = 300
NO_DATA_CODES = frozenset({354, 10089, 10168})
"""No market data will come for the request (not subscribed; 10168: delayed not enabled either)."""
DELAYED_SHOWN, PARTLY_SUBSCRIBED = 10167, 10090
DELAYED = MARKET_DATA_TYPES["delayed"]

Convert = Callable[[Ticker], Message | None]


class IbMarketData:
    def __init__(self, ib: IB, params: IbSection, market: MarketDataSection, symbols: tuple[str, ...],
                 held: Counter[OptionContract], ctx: Context, spawn: Callable[[Awaitable], object],
                 qualify: Callable[[list[OptionContract]], Awaitable[list[OptionContract]]],
                 qualified: dict[OptionContract, Contract]) -> None:
        self._ib = ib
        self._params = params
        self._symbols = symbols
        self._held = held
        self._ctx = ctx
        self._spawn = spawn
        self._qualify = qualify
        self._qualified = qualified
        self._gate = QuoteGate(market, source="ib_session", volatility_index=params.volatility_index)
        self._budget = LineBudget(params.market_data_lines)
        self._data_type = MARKET_DATA_TYPES[params.market_data_type]
        self._underlyings: dict[str, Contract] = {}
        self._streams: dict[str, Contract] = {}
        """What the node streams, by key ("stock:SPY", "option:SPY 2026-04-10 550P")..."""
        self._converters: dict[int, Convert] = {}
        """...and how each stream's ticks become a message, by conId (every streamed contract is qualified)."""
        self._denied: dict[str, int] = {}
        """Streams IB refused for want of a subscription: not asked again until the data type changes or a resync."""
        self._alerted: set[tuple[int, str]] = set()
        self._chains = ChainScan(ib, params, self._budget, self._gate, ctx, self._streams, qualified,
                                 self._qualify_underlying, spawn, self._alert)
        self._dividends = IbDividends(ib, ctx.publish, lambda: new_york_date(ctx.now()))

    # lifecycle ---------------------------------------------------------------------------------------------------
    async def on_connect(self) -> None:
        self._ib.reqMarketDataType(self._data_type)
        self._streams.clear()  # the new connection holds no subscriptions yet
        self._converters.clear()
        self._budget.streams = 0
        self._denied.clear()
        self._dividends.reset()
        await self.stream_all()

    async def resubscribe(self) -> None:
        for contract in self._streams.values():
            self._ib.cancelMktData(contract)
        self._streams.clear()
        self._converters.clear()
        self._budget.streams = 0
        self._denied.clear()
        self._dividends.reset()
        await self.stream_all()

    async def serve(self, message: Message) -> None:
        match message:
            case SubscribeQuotes():
                self._held.update(message.contracts)
                await self.stream_all()
            case UnsubscribeQuotes():
                self._held.subtract(message.contracts)
                for contract in message.contracts:
                    if self._held[contract] <= 0:
                        self._gate.forget(contract)
                self._held = +self._held
                await self.stream_all()
            case ChainRequest():
                self._chains.request(message)

    # streams -----------------------------------------------------------------------------------------------------
    async def stream_all(self) -> None:
        """Stream the underlyings, the volatility index and every held leg; nothing beyond the line budget."""
        if not self._ib.isConnected():
            return
        params = self._params
        vix = params.volatility_index
        wanted: dict[str, tuple[Contract, Convert]] = {}
        for key, contract, convert in (
            (f"index:{vix}", translate.index(vix, params.volatility_index_exchange),
             lambda t: translate.index_quote(vix, t)),
            *((f"stock:{symbol}", translate.underlying(symbol, params.index_underlyings),
               lambda t, s=symbol: translate.underlying_quote(s, t))
              for symbol in sorted(set(self._symbols) | {c.symbol for c in self._held})),
        ):
            qualified = await self._qualify_underlying(key, contract)
            if qualified is not None:
                wanted[key] = (qualified, convert)
        held = sorted(self._held, key=str)
        await self._qualify(held)
        for contract in held:
            qualified = self._qualified.get(contract)
            if qualified is None:
                self._alert_once("critical", 0, str(contract), f"IB does not know {contract}: no quotes for a held leg")
                continue
            wanted[f"option:{contract}"] = (qualified, lambda t, c=contract: translate.option_quote(c, t))
        for key in [k for k in self._streams if k not in wanted]:
            contract = self._streams.pop(key)
            self._converters.pop(contract.conId, None)
            self._dividends.forget(contract.conId)
            self._budget.streams -= 1
            self._ib.cancelMktData(contract)
        for key, (contract, convert) in wanted.items():
            if key in self._streams or key in self._denied:
                continue
            if not self._take_stream_line():
                self._alert("critical", f"market-data lines exhausted ({self._budget.limit}): "
                                        f"{key.partition(':')[2]} is not quoted")
                continue
            generic = self._params.generic_ticks if key.startswith("option:") else ""
            if contract.secType == "STK":  # a stock's dividends (tick 456): the early-assignment exit's input
                generic = DIVIDENDS_TICK
                self._dividends.watch(contract.conId, key.partition(":")[2])
            self._ib.reqMktData(contract, generic, False, False)
            self._streams[key] = contract
            self._converters[contract.conId] = convert

    def _take_stream_line(self) -> bool:
        """A held leg outranks a chain scan: with no line free, one scan line is given back (its contract is scanned
        again in a later batch)."""
        if self._budget.free() <= 0:
            self._chains.give_back_line()
        if self._budget.free() <= 0:
            return False
        self._budget.streams += 1
        return True

    async def _qualify_underlying(self, key: str, contract: Contract) -> Contract | None:
        """Underlyings and the index by key; ib_async streams only contracts IB has given a conId."""
        if key not in self._underlyings:
            results = await asyncio.wait_for(self._ib.qualifyContractsAsync(contract),
                                             self._params.chain_quote_timeout_s)
            if not results or not isinstance(results[0], Contract) or not results[0].conId:
                self._alert_once("critical", 0, key, f"IB does not know {key.partition(':')[2]}: not quoted")
                return None
            self._underlyings[key] = results[0]
        return self._underlyings[key]

    def on_tickers(self, tickers: set[Ticker]) -> None:
        """What one read from the socket updated: the underlyings and the index a message each, every option quote
        the gate let through in one burst (`OptionQuotes`, each quote timed by this read), even a lone one: a burst
        merged in a mailbox must never overtake a single quote of the same contract queued behind it."""
        now = self._ctx.now()
        options: list[OptionQuote] = []
        for ticker in tickers:
            convert = self._converters.get(ticker.contract.conId)  # chain-scan tickers have none: not streamed
            quote = convert(ticker) if convert is not None else None
            if quote is None:
                continue
            verdict = self._gate.admit(quote, now)
            if isinstance(verdict.accepted, OptionQuote):
                for note in verdict.notes:
                    self._ctx.publish(note)
                options.append(verdict.accepted)
            else:
                verdict.publish(self._ctx)
        if options:
            self._ctx.publish(OptionQuotes(ts=now, quotes=tuple(msgspec.structs.replace(quote, ts=now)
                                                               for quote in options)))

    # what IB says about market data ------------------------------------------------------------------------------
    def on_error(self, code: int, text: str, contract: Contract | None) -> None:
        if contract is None or code == CANCEL_UNKNOWN:
            return
        key = next((k for k, c in self._streams.items() if c.conId and c.conId == contract.conId), None)
        option = translate.option_contract(contract)
        scanned = option if option is not None and self._chains.scanning(option) else None
        name = key.partition(":")[2] if key else str(option or contract.symbol)
        if code == LINES_FULL:
            self._on_lines_full(key, scanned, name, text)
        elif code in NO_DATA_CODES:
            self._on_no_data(code, key, scanned, name, text, contract.symbol)
        elif code == DELAYED_SHOWN:
            self._alert_once("warning", code, contract.symbol, f"IB {code} {text}: {contract.symbol} quotes are "
                                                               f"delayed (15-20 min late)")
        elif code == PARTLY_SUBSCRIBED:
            self._alert_once("warning", code, name, f"IB {code} {text}: {name} only partly subscribed")

    def _on_lines_full(self, key: str | None, scanned: OptionContract | None, name: str, text: str) -> None:
        if scanned is not None:
            self._chains.drop(scanned, retry=True, cancel=False)
            self._budget.learn()
            return
        if key is None:
            return
        self._drop_stream(key)
        self._budget.learn()
        if self._chains.give_back_line():  # a line freed: the stream asks again
            self._spawn(self.stream_all())
            return
        self._alert_once("critical", LINES_FULL, name,
                         f"IB 101 {text}: market-data lines exhausted at IB ({self._budget.limit} held by this "
                         f"node; other clients or TWS windows use the rest): {name} is not quoted")

    def _on_no_data(self, code: int, key: str | None, scanned: OptionContract | None, name: str, text: str,
                    symbol: str) -> None:
        if scanned is not None:
            self._chains.drop(scanned, retry=self._params.market_data_type == "auto" and self._data_type != DELAYED,
                              cancel=False)
        if key is not None:
            self._drop_stream(key)
            self._denied[key] = code
        if self._params.market_data_type == "auto" and self._data_type != DELAYED:
            self._data_type = DELAYED
            self._ib.reqMarketDataType(DELAYED)
            self._alert("warning", f"IB {code} {text}: no live market data for {name}; ib.market_data_type = "
                                   f"\"auto\" falls back to delayed data (15-20 min late) for every new request")
            self._denied.clear()
            self._spawn(self.stream_all())
            return
        subject = name if scanned is None else f"{symbol} options"
        self._alert_once("critical", code, subject, f"IB {code} {text}: no market data for {subject}; subscribe to "
                                                   f"it at IB or set ib.market_data_type = \"auto\"")

    def _drop_stream(self, key: str) -> None:
        """A request IB refused holds no line; cancelling it would only earn a 300."""
        contract = self._streams.pop(key)
        self._converters.pop(contract.conId, None)
        self._budget.streams -= 1
        forget_ticker(self._ib, contract)

    def _alert(self, level: AlertLevel, text: str) -> None:
        self._ctx.publish(Alert(level=level, source="ib_session", text=text))

    def _alert_once(self, level: AlertLevel, code: int, subject: str, text: str) -> None:
        """Once per code and contract (or symbol) for the session's life, not once per request."""
        if (code, subject) not in self._alerted:
            self._alerted.add((code, subject))
            self._alert(level, text)
