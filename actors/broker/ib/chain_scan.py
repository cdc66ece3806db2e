"""The IB session's chain scans: a `ChainRequest` answered with `reqSecDefOptParams`, the contract details of the
`ib.chain_expiries` expiries nearest the middle of the DTE window, and quotes of the strikes within
`ib.chain_strike_range_pct` of spot, published as one `ChainSnapshot` through the quote gate. Runs on the session's
asyncio thread only.

One scan per symbol at a time. Quotes come in batches of the market-data lines free at each batch (the budget the
session's streams share, `market_data_lines.py`); a held leg's own stream is read, never cancelled; a held leg
outranks a scan, so a contract whose line was taken back (by a held leg, or by IB's 101) is scanned once more.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable

from ib_async import IB, Contract, Ticker

from actors.broker.ib import translate
from actors.broker.ib.chain_plan import choose_expiries, choose_strikes
from actors.broker.ib.config import IbSection
from actors.broker.ib.market_data_lines import LineBudget, forget_ticker
from actors.market_data.quote_gate import QuoteGate
from actors.market_time import new_york_date
from actors.runtime.core import Context
from messages import ChainRequest, ChainSnapshot, OptionContract, OptionQuote
from messages.system import AlertLevel

QUOTE_POLL_S = 0.05
SCAN_SHARE_OF_PACING = 0.75
"""Chain scans use this share of `ib.max_requests_per_s`, leaving the rest for orders, cancels and resyncs."""


class ChainScan:
    def __init__(self, ib: IB, params: IbSection, budget: LineBudget, gate: QuoteGate, ctx: Context,
                 streams: dict[str, Contract], qualified: dict[OptionContract, Contract],
                 qualify_underlying: Callable[[str, Contract], Awaitable[Contract | None]],
                 spawn: Callable[[Awaitable], object], alert: Callable[[AlertLevel, str], None]) -> None:
        self._ib = ib
        self._params = params
        self._budget = budget
        self._gate = gate
        self._ctx = ctx
        self._streams = streams
        """The session's streams by key (held legs: "option:<contract>"), read for the legs a scan covers."""
        self._qualified = qualified
        self._qualify_underlying = qualify_underlying
        self._spawn = spawn
        self._alert = alert
        self._in_flight: set[str] = set()
        """Symbols being scanned: a second request for one is answered by the scan under way."""
        self._scan: dict[OptionContract, Contract] = {}
        """The current batch: the contracts holding a scan line."""
        self._dropped: list[OptionContract] = []
        """Contracts of the batch whose line was taken back: scanned once more."""

    def request(self, request: ChainRequest) -> None:
        if request.symbol not in self._in_flight:  # one scan answers both
            self._in_flight.add(request.symbol)
            self._spawn(self._chain(request))

    def scanning(self, contract: OptionContract) -> bool:
        return contract in self._scan

    def give_back_line(self) -> bool:
        """The contract scanned last gives its line back (scanned again in a later batch); False when the scan holds
        no line."""
        if not self._scan:
            return False
        self.drop(next(reversed(self._scan)), retry=True)
        return True

    async def _chain(self, request: ChainRequest) -> None:
        try:
            quotes, spot = await self._chain_quotes(request)
        except (OSError, asyncio.TimeoutError, ConnectionError, LookupError) as exc:
            self._alert("warning", f"option chain of {request.symbol} unavailable: {exc!r}")
            quotes, spot = [], 0.0
        finally:
            self._in_flight.discard(request.symbol)
        chain = ChainSnapshot(symbol=request.symbol, underlying_price=round(spot, 4), quotes=tuple(quotes))
        self._gate.admit_chain(chain, self._ctx.now()).publish(self._ctx)

    async def _chain_quotes(self, request: ChainRequest) -> tuple[list[OptionQuote], float]:
        params, ib = self._params, self._ib
        timeout = params.chain_quote_timeout_s
        symbol = request.symbol
        underlying = await self._qualify_underlying(
            f"stock:{symbol}", translate.underlying(symbol, params.index_underlyings))
        if underlying is None:
            raise LookupError(f"IB does not know {symbol}")
        spot = await self._spot(symbol, timeout)
        chains = await asyncio.wait_for(ib.reqSecDefOptParamsAsync(symbol, "", underlying.secType, underlying.conId),
                                        timeout)
        listed = [c for c in chains if c.exchange == translate.EXCHANGE] or list(chains)
        trading_class = params.trading_classes.get(symbol) or symbol
        chain = next((c for c in listed if c.tradingClass == trading_class), None)
        if chain is None:
            raise LookupError(f"IB lists no {trading_class} options on {symbol}")
        today = new_york_date(self._ctx.now())
        expiries = choose_expiries(chain.expirations, today, request.min_dte, request.max_dte, params.chain_expiries)
        strikes = set(choose_strikes(chain.strikes, spot, params.chain_strike_range_pct))
        contracts: dict[OptionContract, Contract] = {}
        for expiry in expiries:
            probe = translate.option(OptionContract(symbol, dt.datetime.strptime(expiry, "%Y%m%d").date(), 0.0, "C"),
                                     chain.tradingClass)
            probe.strike, probe.right = 0.0, ""
            for details in await asyncio.wait_for(ib.reqContractDetailsAsync(probe), timeout):
                ours = translate.option_contract(details.contract)
                if ours is not None and ours.strike in strikes:
                    contracts[ours] = details.contract
                    self._qualified.setdefault(ours, details.contract)
        return await self._scan_quotes(contracts, timeout), spot

    async def _scan_quotes(self, contracts: dict[OptionContract, Contract], timeout: float) -> list[OptionQuote]:
        """Quote `contracts` in batches of the lines free at each batch; a held leg's own stream is read, never
        cancelled; a contract whose line was taken back (by a held leg, or by IB's 101) is scanned once more."""
        pending = sorted(contracts, key=lambda c: (c.expiry, c.strike, c.right))
        retried: set[OptionContract] = set()
        quotes: list[OptionQuote] = []
        while pending:
            streamed = {c: self._ib.ticker(self._streams[f"option:{c}"]) for c in pending
                        if f"option:{c}" in self._streams}
            pending = [c for c in pending if c not in streamed]
            size = self._budget.free()
            if size <= 0 and pending:
                self._alert("warning", f"no market-data line free for a chain scan: {len(pending)} contracts of "
                                       f"{pending[0].symbol} not quoted")
                pending = []
            batch, pending = pending[:max(size, 0)], pending[max(size, 0):]
            self._budget.scan += len(batch)
            self._scan = {c: contracts[c] for c in batch}
            tickers: dict[OptionContract, Ticker] = {}
            try:
                for c in batch:
                    ticker = self._ib.reqMktData(contracts[c], self._params.generic_ticks, False, False)
                    tickers[c] = self._fresh(ticker)
                    await self._pace()
                quotes += await self._await_quotes(tickers, {c: t for c, t in streamed.items() if t}, timeout)
            finally:
                for c in list(self._scan):
                    self.drop(c, retry=False, cancel=True)
                    await self._pace()
            again = [c for c in self._dropped if c not in retried]
            retried.update(again)
            self._dropped = []
            pending = again + pending
        return quotes

    async def _pace(self) -> None:
        """A scan's hundreds of requests go out below the pacing budget: ib_async queues whatever exceeds it, and an
        order placed meanwhile would wait behind the whole queue (6 s measured against the test gateway)."""
        if self._ib.isConnected():
            await asyncio.sleep(1.0 / (self._params.max_requests_per_s * SCAN_SHARE_OF_PACING))

    @staticmethod
    def _fresh(ticker: Ticker) -> Ticker:
        """ib_async keeps one ticker per contract: a contract scanned before still shows that scan's quote, and a
        scan must not take it for the answer to this request (no tick can arrive before the next await)."""
        ticker.bid = ticker.ask = ticker.bidSize = ticker.askSize = float("nan")
        ticker.modelGreeks = None
        return ticker

    def drop(self, contract: OptionContract, retry: bool, cancel: bool = True) -> None:
        """Give a scanned contract's line back: cancelled at IB, or, for a request IB refused (`cancel` False), only
        forgotten; with `retry` it is scanned once more in a later batch."""
        ib_contract = self._scan.pop(contract)
        self._budget.scan -= 1
        if retry:
            self._dropped.append(contract)
        if cancel and self._ib.isConnected():
            self._ib.cancelMktData(ib_contract)
        elif not cancel:
            forget_ticker(self._ib, ib_contract)

    async def _await_quotes(self, scanning: dict[OptionContract, Ticker], streamed: dict[OptionContract, Ticker],
                            timeout: float) -> list[OptionQuote]:
        """Until every contract still scanned has both sides and model greeks, or the timeout: then what arrived."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            tickers = {**{c: t for c, t in scanning.items() if c in self._scan}, **streamed}
            complete = all(t.modelGreeks is not None and translate.option_quote(c, t) for c, t in tickers.items())
            if complete or asyncio.get_running_loop().time() >= deadline:
                quotes = (translate.option_quote(c, t) for c, t in tickers.items())
                return [q for q in quotes if q is not None]
            await asyncio.sleep(QUOTE_POLL_S)

    async def _spot(self, symbol: str, timeout: float) -> float:
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            price = self._gate.last_price(symbol)  # a price the gate accepted, never a bad print
            if price is not None:
                return price
            await asyncio.sleep(QUOTE_POLL_S)
        raise LookupError(f"no quote for {symbol} within {timeout:g}s")
